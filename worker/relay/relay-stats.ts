import type { DeliveryReport, Gap, MinuteBucket, QueueStats } from "../contract.ts";
import type { ParsedFrame } from "../jetstream/legacy-frame.ts";
import { displayEndpoint } from "../jetstream/request.ts";

/**
 * The counters behind RelayStats, as persisted (JSON). Pure: the relay object owns one, updates it in
 * memory on every frame/send/settle and writes it out with the periodic persist only.
 */
export interface StatCounters {
  eventCounts: Record<string, number>;
  operationCounts: Record<string, Record<string, number>>;
  kindCounts: Record<string, number>;
  totalEvents: number;
  totalReceived: number;
  forwarded: number;
  skipped: number;
  malformed: number;
  lastEventTime: string | null;
  queue: QueueStats;
  delivery: {
    delivered: number;
    retried: number;
    failed: number;
    deadLettered: number;
    webhookRequests: number;
    lastError: string | null;
    lastErrorAt: string | null;
    lastSuccessAt: string | null;
    newestDeliveredTimeUs: number | null;
  };
  reconnects: number;
  /** ConsumerTooSlow error frames (v2), and when the latest ones came (for /health). */
  consumerTooSlow: number;
  consumerTooSlowAt: string[];
  gapsDetected: number;
  gaps: Gap[];
  perMinute: MinuteBucket[];
  statsResetAt: string | null;
}

/**
 * Collections counted by name at most; past it the least counted are folded into `other`. Anyone can
 * publish records of a collection nobody else uses, and a prefix filter forwards them all: unbounded, the
 * counters would outgrow memory and the 2 MB a stored value may take.
 */
export const MAX_COLLECTIONS_COUNTED = 1000;
/** What is kept by name when the counters are folded: the most counted. */
const COLLECTIONS_KEPT = 500;
export const OTHER_COLLECTIONS = "other";

/** Gaps kept in the statistics (the oldest are dropped past this; the count stays). */
export const MAX_GAPS_KEPT = 50;

export function emptyCounters(): StatCounters {
  return {
    eventCounts: {},
    operationCounts: {},
    kindCounts: {},
    totalEvents: 0,
    totalReceived: 0,
    forwarded: 0,
    skipped: 0,
    malformed: 0,
    lastEventTime: null,
    queue: { eventsEnqueued: 0, messagesSent: 0, sendCalls: 0, bytesSent: 0, billedUnits: 0, oversizedEvents: 0, backpressurePauses: 0 },
    delivery: {
      delivered: 0,
      retried: 0,
      failed: 0,
      deadLettered: 0,
      webhookRequests: 0,
      lastError: null,
      lastErrorAt: null,
      lastSuccessAt: null,
      newestDeliveredTimeUs: null,
    },
    reconnects: 0,
    consumerTooSlow: 0,
    consumerTooSlowAt: [],
    gapsDetected: 0,
    gaps: [],
    perMinute: [],
    statsResetAt: null,
  };
}

/** Restores persisted counters, tolerating fields added since they were written. */
export function restoreCounters(saved: unknown): StatCounters {
  const base = emptyCounters();
  if (typeof saved !== "object" || saved === null) return base;
  const s = saved as Partial<StatCounters>;
  const restored = { ...base, ...s, queue: knownFields(base.queue, s.queue), delivery: knownFields(base.delivery, s.delivery) };
  foldCollections(restored);
  withoutSecrets(restored);
  return restored;
}

/**
 * Counters saved by earlier versions may hold what is no longer shown publicly: an endpoint's
 * credentials in a gap, the webhook's answer in the last delivery error.
 */
function withoutSecrets(c: StatCounters): void {
  c.gaps = c.gaps.map((gap) => {
    try {
      return { ...gap, endpoint: displayEndpoint(gap.endpoint) };
    } catch {
      return gap;
    }
  });
  const answered = /^webhook answered HTTP \d+/.exec(c.delivery.lastError ?? "");
  if (answered) c.delivery.lastError = answered[0];
}

/** Saved values of the fields `base` has (a field an older version saved, since renamed, is dropped). */
function knownFields<T extends object>(base: T, saved: Partial<T> | undefined): T {
  const result = { ...base };
  for (const key of Object.keys(base) as (keyof T)[]) if (saved && saved[key] !== undefined) result[key] = saved[key] as T[keyof T];
  return result;
}

export function countFrame(c: StatCounters, frame: ParsedFrame, forwarded: boolean, nowIso: string): void {
  c.totalReceived++;
  if (frame.type === "malformed") {
    c.malformed++;
    return;
  }
  const kind = frame.type === "unknown-kind" ? "unknown" : frame.type;
  c.kindCounts[kind] = (c.kindCounts[kind] ?? 0) + 1;
  c.lastEventTime = nowIso;
  if (!forwarded) {
    c.skipped++;
    return;
  }
  c.forwarded++;
  if (frame.type === "commit") {
    c.totalEvents++;
    let key = frame.collection;
    const count = c.eventCounts[key];
    if (count === undefined) {
      let names = namesCounted(c.eventCounts);
      if (names >= MAX_COLLECTIONS_COUNTED) {
        foldCollections(c);
        names = namesCounted(c.eventCounts);
      }
      if (names >= MAX_COLLECTIONS_COUNTED) key = OTHER_COLLECTIONS;
      else if (key !== OTHER_COLLECTIONS) nameCounts.set(c.eventCounts, names + 1);
    }
    c.eventCounts[key] = (c.eventCounts[key] ?? 0) + 1;
    const ops = (c.operationCounts[key] ??= {});
    ops[frame.operation] = (ops[frame.operation] ?? 0) + 1;
  }
}

/** How many names a counter object holds, kept beside it rather than counted on every new name. */
const nameCounts = new WeakMap<Record<string, number>, number>();

function namesCounted(counts: Record<string, number>): number {
  let n = nameCounts.get(counts);
  if (n === undefined) {
    n = Object.keys(counts).length;
    nameCounts.set(counts, n);
  }
  return n;
}

/** Keeps the most counted collections by name and adds up the rest under `other` (totals unchanged). */
export function foldCollections(c: Pick<StatCounters, "eventCounts" | "operationCounts">): void {
  const names = Object.keys(c.eventCounts).filter((n) => n !== OTHER_COLLECTIONS);
  if (names.length <= COLLECTIONS_KEPT) return;
  names.sort((a, b) => c.eventCounts[b] - c.eventCounts[a]);
  const otherOps = (c.operationCounts[OTHER_COLLECTIONS] ??= {});
  for (const name of names.slice(COLLECTIONS_KEPT)) {
    c.eventCounts[OTHER_COLLECTIONS] = (c.eventCounts[OTHER_COLLECTIONS] ?? 0) + c.eventCounts[name];
    delete c.eventCounts[name];
    for (const [op, n] of Object.entries(c.operationCounts[name] ?? {})) otherOps[op] = (otherOps[op] ?? 0) + n;
    delete c.operationCounts[name];
  }
  nameCounts.delete(c.eventCounts);
}

export function countDelivery(c: StatCounters, report: DeliveryReport): void {
  const d = c.delivery;
  d.delivered += report.delivered;
  d.retried += report.retried;
  d.failed += report.failed;
  d.deadLettered += report.deadLettered;
  d.webhookRequests += report.requests;
  if (report.lastError) {
    d.lastError = report.lastError.message;
    d.lastErrorAt = report.lastError.at;
  }
  if (report.lastSuccessAt && (!d.lastSuccessAt || report.lastSuccessAt > d.lastSuccessAt)) d.lastSuccessAt = report.lastSuccessAt;
  if (report.newestDeliveredTimeUs !== undefined && (d.newestDeliveredTimeUs === null || report.newestDeliveredTimeUs > d.newestDeliveredTimeUs)) {
    d.newestDeliveredTimeUs = report.newestDeliveredTimeUs;
  }
}

export function recordGap(c: StatCounters, gap: Gap): void {
  c.gapsDetected++;
  c.gaps.push(gap);
  if (c.gaps.length > MAX_GAPS_KEPT) c.gaps.splice(0, c.gaps.length - MAX_GAPS_KEPT);
}

/** Percentile of a sample (nearest rank), null when empty. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
