import type { DeliveryReport, Gap, RelayStats } from "../contract.ts";
import type { ParsedFrame } from "../jetstream/parsed-frame.ts";
import { displayEndpoint } from "../jetstream/request.ts";
import type { PackedBatch } from "../queue/packer.ts";
import { detectGap } from "../stream/gap.ts";
import type { StreamHooks } from "../stream/stream.ts";
import { countDelivery, countFrame, emptyCounters, percentile, recordGap, restoreCounters, type StatCounters } from "./relay-stats.ts";
import { TrafficCounters } from "./traffic.ts";
import { CostMeter } from "../cost/cost-meter.ts";
import { queueUnits } from "../cost/cost-model.ts";

const LATENCY_SAMPLES = 1000;
/** ConsumerTooSlow times kept (for /health: repeated within a window). */
const CONSUMER_TOO_SLOW_KEPT = 10;

/**
 * The live relay's statistics in memory: the counters saved with the alarm (relay-stats.ts), traffic per
 * second and minute, delivery latencies, and the stream hooks that feed them. Apart from the position,
 * which the relay object saves on its own.
 */
export class LiveStats {
  counters: StatCounters = emptyCounters();
  private traffic = new TrafficCounters();
  private latencies: number[] = [];
  /** What Cloudflare bills, counted for the cost estimate (in memory only). */
  meter = new CostMeter(Date.now());
  /** Newest event time seen (for the lag). */
  newestEventUs: number | null = null;
  private frameTimeMs = -1;
  private frameTimeIso = "";

  /** Counters as saved by an earlier object (tolerating fields added or renamed since). */
  restore(saved: unknown): void {
    this.counters = restoreCounters(saved);
    this.traffic = new TrafficCounters(this.counters.perMinute);
  }

  /** What to save: the counters with the last hour per minute. */
  toSave(nowMs: number): StatCounters {
    this.counters.perMinute = this.traffic.perMinute(nowMs);
    return this.counters;
  }

  /** Starts counting again; unacknowledged gaps stay. */
  reset(resetAt: string): void {
    const openGaps = this.counters.gaps.filter((g) => !g.acknowledged);
    this.counters = { ...emptyCounters(), gaps: openGaps, gapsDetected: openGaps.length, statsResetAt: resetAt };
    this.traffic = new TrafficCounters();
    this.latencies = [];
    this.meter = new CostMeter(Date.parse(resetAt) || Date.now());
  }

  acknowledgeGaps(): number {
    let acknowledged = 0;
    for (const gap of this.counters.gaps) {
      if (!gap.acknowledged) {
        gap.acknowledged = true;
        acknowledged++;
      }
    }
    return acknowledged;
  }

  recordGap(gap: Gap): void {
    recordGap(this.counters, gap);
  }

  /** The consumer's report of a batch. */
  settled(report: DeliveryReport): void {
    countDelivery(this.counters, report);
    const m = this.meter;
    m.add("objectCalls");
    m.add("consumerInvocations");
    m.add("deliveredEvents", report.delivered);
    m.add("webhookRequests", report.requests);
    m.add("retriedMessages", report.billing?.retriedMessages ?? 0);
    m.add("followUpMessages", report.billing?.followUpMessages ?? 0);
    m.add("deadLetterQueueMessages", report.billing?.deadLetterQueueMessages ?? 0);
    for (const ms of report.latenciesMs) this.latencies.push(ms);
    if (this.latencies.length > LATENCY_SAMPLES) this.latencies.splice(0, this.latencies.length - LATENCY_SAMPLES);
  }

  sent(batch: PackedBatch): void {
    const q = this.counters.queue;
    q.messagesSent += batch.messages.length;
    q.eventsEnqueued += batch.eventCount;
    q.bytesSent += batch.bytes;
    let units = 0;
    for (const m of batch.messages) units += queueUnits(m.bytes);
    q.billedUnits += units;
    this.meter.add("relayUnits", units);
    this.meter.add("relayMessages", batch.messages.length);
  }

  /** The live stream's hooks that count (gapThresholdUs: the legacy wire's gap heuristic). */
  hooks(gapThresholdUs: number): StreamHooks {
    const c = () => this.counters;
    return {
      frame: (frame, forwarded, now) => this.frame(frame, forwarded, now),
      firstEvent: (requestedUs, timeUs, endpoint, now) => {
        const gap = detectGap(requestedUs, timeUs, gapThresholdUs, displayEndpoint(endpoint), new Date(now));
        if (gap) {
          this.recordGap(gap);
          console.warn(`jetstream-relay: gap detected, events from ${gap.from} to ${gap.to} were not available`);
        }
      },
      gap: (gap) => {
        this.recordGap(gap);
        console.warn(`jetstream-relay: gap, events from ${gap.from} to ${gap.to} (seq ${gap.fromSeq ?? "?"} → ${gap.toSeq ?? "?"}) are no longer kept by ${gap.endpoint}`);
      },
      consumerTooSlow: () => {
        c().consumerTooSlow++;
        c().consumerTooSlowAt = [...c().consumerTooSlowAt, new Date().toISOString()].slice(-CONSUMER_TOO_SLOW_KEPT);
      },
      reconnecting: () => void c().reconnects++,
      oversized: () => void c().queue.oversizedEvents++,
      called: (calls) => void (c().queue.sendCalls += calls),
      paused: (why, waiting) => {
        c().queue.backpressurePauses++;
        console.warn(`jetstream-relay: pausing ingestion (${why}): ${waiting} events wait for the queue`);
      },
    };
  }

  /** The counting part of GET /stats (the relay object adds position, ledger, storage and replay). */
  view(nowMs: number): Omit<RelayStats, "cursor" | "position" | "startedAt" | "storage" | "replay" | "delivery"> & { delivery: Omit<RelayStats["delivery"], "unackedMessages" | "oldestUnackedUs"> } {
    const c = this.counters;
    return {
      consumerTooSlow: c.consumerTooSlow,
      eventCounts: c.eventCounts,
      totalEvents: c.totalEvents,
      totalReceived: c.totalReceived,
      lastEventTime: c.lastEventTime,
      operationCounts: c.operationCounts,
      kindCounts: c.kindCounts,
      forwarded: c.forwarded,
      skipped: c.skipped,
      malformed: c.malformed,
      rates: this.traffic.rates(nowMs),
      lagSeconds: lagSeconds(this.newestEventUs, nowMs),
      delivery: {
        delivered: c.delivery.delivered,
        retried: c.delivery.retried,
        failed: c.delivery.failed,
        deadLettered: c.delivery.deadLettered,
        webhookRequests: c.delivery.webhookRequests,
        lastError: c.delivery.lastError,
        lastErrorAt: c.delivery.lastErrorAt,
        lastSuccessAt: c.delivery.lastSuccessAt,
        latencyMs: { p50: percentile(this.latencies, 50), p99: percentile(this.latencies, 99) },
        lagSeconds: lagSeconds(c.delivery.newestDeliveredTimeUs, nowMs),
      },
      queue: { ...c.queue },
      reconnects: c.reconnects,
      gapsDetected: c.gapsDetected,
      gaps: c.gaps,
      perMinute: this.traffic.perMinute(nowMs),
      statsResetAt: c.statsResetAt,
    };
  }

  private frame(frame: ParsedFrame, forwarded: boolean, now: number): void {
    // Many frames arrive within one millisecond during a flood: format the time once per millisecond.
    if (now !== this.frameTimeMs) {
      this.frameTimeMs = now;
      this.frameTimeIso = new Date(now).toISOString();
    }
    countFrame(this.counters, frame, forwarded, this.frameTimeIso);
    this.meter.counts.frames++;
    this.traffic.record(now, 1, forwarded ? 1 : 0);
    if (frame.type !== "malformed" && (this.newestEventUs === null || frame.timeUs > this.newestEventUs)) this.newestEventUs = frame.timeUs;
  }
}

export function lagSeconds(timeUs: number | null, nowMs: number): number | null {
  return timeUs === null ? null : Math.max(0, Math.round((nowMs - timeUs / 1000) / 100) / 10);
}
