import { DurableObject } from "cloudflare:workers";
import { parseRelayConfig, type RelayConfig } from "./config.ts";
import type {
  ConfigProblem,
  ConnectionState,
  DeliveryReport,
  Env,
  HealthReport,
  RelayStats,
  RelayStatus,
  ReplayProgress,
  ReplayRequest,
} from "./contract.ts";
import { backoffDelay, planReconnect } from "./ingest/backoff.ts";
import { BlobStore } from "./ingest/blob-store.ts";
import { nextState, type ConnectionEvent } from "./ingest/connection-state.ts";
import { parseFrame, shouldForward, type ForwardFilter } from "./ingest/event.ts";
import { detectGap, isoFromUs } from "./ingest/gap.ts";
import { healthReasons } from "./ingest/health.ts";
import { collectionMatcher } from "./ingest/identifiers.ts";
import { closeQuietly, frameText, subscribe } from "./ingest/jetstream-socket.ts";
import { Ledger, resumeCursor } from "./ingest/ledger.ts";
import { enqueue } from "./queue/enqueue.ts";
import { leadingMessages, Packer, QUEUE_LIMITS, type PackedBatch } from "./queue/packer.ts";
import { eventToQueue, type EventToQueue } from "./queue/queued-event.ts";
import { countDelivery, countFrame, emptyCounters, percentile, recordGap, restoreCounters, type StatCounters } from "./ingest/relay-stats.ts";
import { buildSubscribeRequest, displayEndpoint } from "./ingest/subscribe-url.ts";
import { TrafficCounters } from "./ingest/traffic.ts";
import { stalled, type TransportError } from "./ingest/transport-errors.ts";
import { replaySettingProblems } from "./ingest/replay-plan.ts";
import { ReplayRunner } from "./ingest/replay-session.ts";

/** Keys of the persisted state (Durable Object storage). */
const KEY = { cursor: "cursor", oldestUnacked: "oldestUnacked", stats: "stats" } as const;
const LATENCY_SAMPLES = 1000;
/** Retry of a failed send to the queue: first delay and cap. */
const SEND_RETRY = { baseMs: 250, maxMs: 30_000, healthyAfterMs: 0, failoverAfter: 1 };
/** A call to the queue that has not settled by then counts as failed (and is retried: duplicates, never loss). */
const SEND_TIMEOUT_MS = 30_000;

/**
 * The ingestion Durable Object: holds the Jetstream WebSocket, filters, counts and packs events into
 * queue messages, keeps the cursor, and is the source of statistics, status and health.
 *
 * It starts by itself: the constructor loads the saved state and connects; a self-rescheduling alarm is
 * heartbeat and watchdog (persists state, replaces a silent socket, reconnects after eviction/deploy).
 * The saved cursor never passes an event that is not yet durably in the queue.
 */
export class JetstreamRelay extends DurableObject<Env> {
  private readonly config: RelayConfig | null;
  private readonly problems: ConfigProblem[];
  private readonly warnings: ConfigProblem[];
  private readonly filter: ForwardFilter | null;
  private readonly blobs: BlobStore;
  private readonly packer: Packer;
  private readonly ledger = new Ledger();
  private readonly startedAt = new Date();
  private readonly ledgerPrefix = crypto.randomUUID().slice(0, 8);
  private ledgerSeq = 0;

  private state: ConnectionState;
  private socket: WebSocket | null = null;
  /** Generation of the current attempt: events of older sockets are ignored. */
  private generation = 0;
  private endpointIndex = 0;
  private failures = 0;
  private rewindNext = false;
  private attempts = 0;
  private connectingSince: number | null = null;
  private connectedAt: number | null = null;
  private disconnectedSince: number | null = Date.now();
  private lastFrameAt: number | null = null;
  private nextAttemptAt: number | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private lastError: { message: string; at: string } | null = null;
  /** Cursor asked for by the current connection (before any failover rewind), for gap detection. */
  private gapBaseUs: number | null = null;
  private awaitingFirstEvent = false;

  /** Saved cursor as loaded at start (the resume point). */
  private savedCursor: number | null = null;
  /** time_us of the last event processed (any kind): the cursor when nothing waits for the queue. */
  private lastReceivedUs: number | null = null;
  private newestEventUs: number | null = null;

  private sending = false;
  private frameTimeMs = -1;
  private frameTimeIso = "";
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private sendFailures = 0;

  private counters: StatCounters = emptyCounters();
  private traffic = new TrafficCounters();
  private latencies: number[] = [];
  private storageError: string | null = null;
  /** False until the saved state was read: without it the relay neither connects nor persists (it would lose its cursor). */
  private loaded = false;
  /** Operator-requested replay of a past window (time travel): its own connection, never the live cursor. */
  private readonly replays = new ReplayRunner(this.env, this.ctx.storage, {
    config: () => this.config,
    endpoint: () => this.config!.endpoints[this.endpointIndex],
    liveCursor: () => this.cursor(),
    send: (bodies) => enqueue(this.env.EVENTS, bodies, SEND_TIMEOUT_MS),
    putBlob: (id, text) => this.blobs.put(id, text),
    recordGap: (gap) => recordGap(this.counters, gap),
  });

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const parsed = parseRelayConfig(env);
    this.config = parsed.config;
    this.problems = parsed.problems;
    this.warnings = replaySettingProblems(env);
    this.state = this.config ? "backoff" : "config-error";
    this.packer = new Packer({ ...QUEUE_LIMITS, maxEventsPerMessage: this.config?.settings.maxEventsPerMessage ?? QUEUE_LIMITS.maxEventsPerMessage });
    this.filter = this.config
      ? { wantsCollection: collectionMatcher(this.config.patterns), dids: this.config.dids.length > 0 ? new Set(this.config.dids) : null, kinds: new Set(this.config.kinds) }
      : null;
    this.blobs = new BlobStore(ctx.storage.sql);
    void ctx.blockConcurrencyWhile(async () => {
      await this.load();
      if (this.config) await this.scheduleAlarm();
    }).then(() => {
      if (this.config && this.loaded) void this.openConnection();
    });
  }

  // ------------------------------------------------------------------------------------------------
  // RPC methods

  /** Start (or keep) the connection and the watchdog alarm; returns the status. */
  async ensureRunning(): Promise<RelayStatus> {
    if (this.config) {
      await this.scheduleAlarm();
      this.watchdog();
    }
    return this.getStatus();
  }

  async getStats(): Promise<RelayStats> {
    const now = Date.now();
    const c = this.counters;
    const oldestUnacked = this.ledger.oldest();
    return {
      cursor: this.cursor(),
      eventCounts: c.eventCounts,
      totalEvents: c.totalEvents,
      totalReceived: c.totalReceived,
      lastEventTime: c.lastEventTime,
      operationCounts: c.operationCounts,
      kindCounts: c.kindCounts,
      forwarded: c.forwarded,
      skipped: c.skipped,
      malformed: c.malformed,
      rates: this.traffic.rates(now),
      lagSeconds: lagSeconds(this.newestEventUs, now),
      delivery: {
        delivered: c.delivery.delivered,
        retried: c.delivery.retried,
        failed: c.delivery.failed,
        deadLettered: c.delivery.deadLettered,
        webhookRequests: c.delivery.webhookRequests,
        unackedMessages: this.ledger.size,
        oldestUnackedUs: oldestUnacked,
        lastError: c.delivery.lastError,
        lastErrorAt: c.delivery.lastErrorAt,
        lastSuccessAt: c.delivery.lastSuccessAt,
        latencyMs: { p50: percentile(this.latencies, 50), p99: percentile(this.latencies, 99) },
        lagSeconds: lagSeconds(c.delivery.newestDeliveredTimeUs, now),
      },
      queue: { ...c.queue },
      reconnects: c.reconnects,
      gapsDetected: c.gapsDetected,
      gaps: c.gaps,
      perMinute: this.traffic.perMinute(now),
      startedAt: this.startedAt.toISOString(),
      statsResetAt: c.statsResetAt,
      storage: { ok: this.storageError === null, lastError: this.storageError },
      replay: this.replays.current(),
    };
  }

  async getStatus(): Promise<RelayStatus> {
    const cursor = this.cursor();
    const endpoint = this.config ? displayEndpoint(this.config.endpoints[this.endpointIndex]) : null;
    return {
      state: this.state,
      connected: this.state === "connected",
      endpoint,
      endpoints: this.config?.endpoints ?? [],
      cursor,
      cursorTime: cursor === null ? null : isoFromUs(cursor),
      lagSeconds: lagSeconds(this.newestEventUs, Date.now()),
      lastError: this.lastError?.message ?? null,
      lastErrorAt: this.lastError?.at ?? null,
      reconnects: this.counters.reconnects,
      connectedSince: this.connectedAt === null ? null : new Date(this.connectedAt).toISOString(),
      lastFrameAt: this.lastFrameAt === null ? null : new Date(this.lastFrameAt).toISOString(),
      nextAttemptAt: this.state === "backoff" && this.nextAttemptAt !== null ? new Date(this.nextAttemptAt).toISOString() : null,
      configErrors: this.problems,
      configWarnings: this.warnings,
      config: this.config?.public ?? null,
    };
  }

  async getHealth(): Promise<HealthReport> {
    const now = Date.now();
    const reasons = healthReasons(
      {
        nowMs: now,
        state: this.state,
        configErrors: this.problems,
        disconnectedSinceMs: this.state === "connected" ? null : this.disconnectedSince,
        lastError: this.lastError?.message ?? null,
        lastFrameMs: this.lastFrameAt ?? this.startedAt.getTime(),
        deliveryLastErrorAt: this.counters.delivery.lastErrorAt,
        deliveryLastSuccessAt: this.counters.delivery.lastSuccessAt,
        oldestUnackedUs: this.ledger.oldest(),
        storageError: this.storageError,
        gaps: this.counters.gaps,
      },
      this.config?.settings ?? { healthDisconnectedMs: 0, healthStaleMs: 0, healthDeliveryMs: 0 },
    );
    return { healthy: reasons.length === 0, reasons, checkedAt: new Date(now).toISOString() };
  }

  /** Reset statistics (never the cursor, never unacknowledged gaps). */
  async resetStats(): Promise<{ resetAt: string }> {
    const resetAt = new Date().toISOString();
    const openGaps = this.counters.gaps.filter((g) => !g.acknowledged);
    this.counters = { ...emptyCounters(), gaps: openGaps, gapsDetected: openGaps.length, statsResetAt: resetAt };
    this.traffic = new TrafficCounters();
    this.latencies = [];
    await this.persist();
    return { resetAt };
  }

  /** Force a reconnect from the saved cursor. */
  async reconnect(): Promise<RelayStatus> {
    if (this.config) {
      this.dropSocket("reconnect requested");
      this.failures = 0;
      void this.openConnection();
    }
    return this.getStatus();
  }

  /** Mark every detected gap as seen by an operator (it leaves /health's reasons). */
  async acknowledgeGaps(): Promise<{ acknowledged: number }> {
    let acknowledged = 0;
    for (const gap of this.counters.gaps) {
      if (!gap.acknowledged) {
        gap.acknowledged = true;
        acknowledged++;
      }
    }
    await this.persist();
    return { acknowledged };
  }

  /** Called by the queue consumer after each batch. */
  async settle(report: DeliveryReport): Promise<void> {
    this.ledger.settle(report);
    countDelivery(this.counters, report);
    for (const ms of report.latenciesMs) this.latencies.push(ms);
    if (this.latencies.length > LATENCY_SAMPLES) this.latencies.splice(0, this.latencies.length - LATENCY_SAMPLES);
    if (report.blobsDone.length > 0) {
      try {
        this.blobs.delete(report.blobsDone);
      } catch (error) {
        this.storageFailed(error);
      }
    }
  }

  /** The text of an oversized event stored as a blob, or null if it is gone. */
  async getBlob(id: string): Promise<string | null> {
    return this.blobs.get(id);
  }

  /** Replays a past window alongside live delivery; throws "refused: …" when it cannot (too old, one running). */
  async startReplay(request: ReplayRequest): Promise<ReplayProgress> {
    return this.replays.start(request);
  }
  async getReplay(): Promise<ReplayProgress | null> {
    return this.replays.current();
  }
  async cancelReplay(): Promise<ReplayProgress | null> {
    return this.replays.cancel();
  }

  // ------------------------------------------------------------------------------------------------
  // Heartbeat and watchdog

  override async alarm(): Promise<void> {
    if (!this.config) return;
    try {
      if (!this.loaded) await this.load();
      await this.persist();
      this.watchdog();
      await this.replays.tick();
    } finally {
      await this.scheduleAlarm();
    }
  }

  private async scheduleAlarm(): Promise<void> {
    if (!this.config) return;
    try {
      const at = await this.ctx.storage.getAlarm();
      const next = Date.now() + this.config.settings.alarmMs;
      if (at === null || at > next) await this.ctx.storage.setAlarm(next);
    } catch (error) {
      this.storageFailed(error);
    }
  }

  /** Brings the connection back to where it should be; called by the alarm and ensureRunning(). */
  private watchdog(): void {
    if (!this.loaded) return;
    const settings = this.config!.settings;
    const now = Date.now();
    if (this.state === "connected" && now - Math.max(this.lastFrameAt ?? 0, this.connectedAt ?? 0) > settings.stallMs) {
      this.connectionEnded(this.generation, stalled(settings.stallMs / 1000));
    } else if (this.state === "connecting" && this.connectingSince !== null && now - this.connectingSince > settings.connectTimeoutMs * 2) {
      this.connectionEnded(this.generation, { kind: "timeout", message: "connection attempt did not finish" });
    } else if (this.state === "backoff" && (this.nextAttemptAt === null || now >= this.nextAttemptAt)) {
      void this.openConnection();
    } else if (this.state === "paused") {
      if (this.packer.size === 0) void this.openConnection();
      else void this.flush();
    }
    if (this.packer.size > 0 && !this.sending && this.flushTimer === null) void this.flush();
  }

  // ------------------------------------------------------------------------------------------------
  // Connection

  private transition(event: ConnectionEvent): boolean {
    const next = nextState(this.state, event);
    if (next === null) return false;
    if (this.state === "connected" && next !== "connected") this.disconnectedSince = Date.now();
    if (next === "connected") this.disconnectedSince = null;
    this.state = next;
    return true;
  }

  private async openConnection(): Promise<void> {
    const config = this.config;
    if (!config || !this.loaded || !this.transition("start")) return;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const generation = ++this.generation;
    if (this.attempts++ > 0) this.counters.reconnects++;
    this.connectingSince = Date.now();

    const endpoint = config.endpoints[this.endpointIndex];
    const base = this.cursor();
    const rewind = this.rewindNext && base !== null ? config.settings.failoverRewindUs : 0;
    this.rewindNext = false;
    const cursor = base === null ? null : base - rewind;
    const request = buildSubscribeRequest(endpoint, { collections: config.collections, dids: config.dids }, cursor);

    const socket = await subscribe(request, config.settings.connectTimeoutMs, () => generation === this.generation, {
      onFrame: (data) => this.onFrame(data, generation),
      onEnd: (error) => this.connectionEnded(generation, error),
    });
    if (!socket) return;
    this.socket = socket;

    this.transition("opened");
    this.connectingSince = null;
    this.connectedAt = Date.now();
    this.gapBaseUs = base;
    this.awaitingFirstEvent = true;
    // Events of this connection start at `cursor`: that is where the cursor stands before the first.
    if (cursor !== null) this.lastReceivedUs = cursor;
  }

  /** The socket or the attempt ended (close, error, refusal, stall): plan the next attempt. */
  private connectionEnded(generation: number, error: TransportError): void {
    if (generation !== this.generation || (this.state !== "connecting" && this.state !== "connected")) return;
    const config = this.config!;
    // Measured before dropSocket(), which forgets when the connection was made.
    const connectedForMs = this.connectedAt === null ? null : Date.now() - this.connectedAt;
    this.generation++;
    this.dropSocket(error.message);
    this.lastError = { message: error.message, at: new Date().toISOString() };
    this.connectedAt = null;
    this.connectingSince = null;
    const plan = planReconnect(
      { failures: this.failures, endpointIndex: this.endpointIndex },
      { connectedForMs },
      config.endpoints.length,
      config.settings.backoff,
      Math.random(),
    );
    this.failures = plan.failures;
    if (plan.switched) {
      this.endpointIndex = plan.endpointIndex;
      this.rewindNext = true;
    }
    console.warn(`jetstream-relay: ${error.message}; next attempt in ${plan.delayMs} ms on ${displayEndpoint(config.endpoints[this.endpointIndex])}`);
    this.transition("failed");
    this.nextAttemptAt = Date.now() + plan.delayMs;
    this.reconnectTimer = setTimeout(() => void this.openConnection(), plan.delayMs);
  }

  private dropSocket(reason: string): void {
    this.generation++;
    if (this.socket) closeQuietly(this.socket, reason);
    this.socket = null;
    if (this.state === "connected" || this.state === "connecting") {
      this.connectedAt = null;
      this.connectingSince = null;
    }
  }

  // ------------------------------------------------------------------------------------------------
  // Frames

  private onFrame(data: string | ArrayBuffer, generation: number): void {
    if (generation !== this.generation) return;
    const now = Date.now();
    this.lastFrameAt = now;
    const text = frameText(data);
    const frame = text === null ? ({ type: "malformed", reason: "binary frame" } as const) : parseFrame(text);
    const forward = shouldForward(frame, this.filter!);
    // Many frames arrive within one millisecond during a flood: format the time once per millisecond.
    if (now !== this.frameTimeMs) {
      this.frameTimeMs = now;
      this.frameTimeIso = new Date(now).toISOString();
    }
    countFrame(this.counters, frame, forward, this.frameTimeIso);
    this.traffic.record(now, 1, forward ? 1 : 0);
    if (frame.type === "malformed") return;

    if (this.awaitingFirstEvent) {
      this.awaitingFirstEvent = false;
      const gap = detectGap(this.gapBaseUs, frame.timeUs, this.config!.settings.gapThresholdUs, displayEndpoint(this.config!.endpoints[this.endpointIndex]), new Date(now));
      if (gap) {
        recordGap(this.counters, gap);
        console.warn(`jetstream-relay: gap detected, events from ${gap.from} to ${gap.to} were not available`);
      }
    }
    if (this.newestEventUs === null || frame.timeUs > this.newestEventUs) this.newestEventUs = frame.timeUs;

    if (forward) {
      let queued: EventToQueue;
      try {
        queued = eventToQueue(text!, frame.did, frame.timeUs, now, (id, blobText) => this.blobs.put(id, blobText));
      } catch (error) {
        // Without its blob the event cannot be queued: stop here, so the cursor stays before it and it is read again.
        this.storageFailed(error);
        this.dropSocket("storage failed");
        this.transition("failed");
        this.nextAttemptAt = Date.now() + 5000;
        return;
      }
      if (queued.oversized) this.counters.queue.oversizedEvents++;
      // Before the very first event there is no cursor: resuming at this event's own time (inclusive) then loses nothing.
      this.packer.add({ event: queued.event, bytes: queued.bytes, timeUs: frame.timeUs, cursorBefore: this.lastReceivedUs ?? this.savedCursor ?? frame.timeUs });
      this.lastReceivedUs = frame.timeUs;
      const s = this.config!.settings;
      if (this.packer.size > s.maxBufferedEvents || this.packer.bytes > s.maxBufferedBytes) this.pause("buffer full");
      this.scheduleFlush();
    } else {
      this.lastReceivedUs = frame.timeUs;
    }
  }

  /** Backpressure: stop reading; reading resumes from the cursor once everything is enqueued. */
  private pause(why: string): void {
    if (this.state === "paused") return;
    this.counters.queue.backpressurePauses++;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    console.warn(`jetstream-relay: pausing ingestion (${why}): ${this.packer.size} events wait for the queue`);
    this.dropSocket(`paused: ${why}`);
    this.lastError = { message: `paused: ${why}`, at: new Date().toISOString() };
    this.transition("pause");
  }

  // ------------------------------------------------------------------------------------------------
  // Queue

  private cursor(): number | null {
    const oldest = this.packer.oldest;
    if (oldest) return oldest.cursorBefore;
    return this.lastReceivedUs ?? this.savedCursor;
  }

  private scheduleFlush(): void {
    if (this.sending) return;
    if (this.packer.hasFullBatch) {
      if (this.flushTimer !== null) clearTimeout(this.flushTimer);
      this.flushTimer = null;
      void this.flush(true);
    } else if (this.flushTimer === null) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        void this.flush();
      }, this.config!.settings.flushMs);
    }
  }

  /**
   * One batch at a time (ingest/enqueue.ts), in arrival order; the events leave the buffer only once the
   * queue has them.
   * `fullOnly` (a message filled up): send full messages only; the rest waits for more events or the
   * flush interval, so that messages are not cut half-empty under load.
   */
  private async flush(fullOnly = false): Promise<void> {
    if (this.sending || this.packer.size === 0) return;
    this.sending = true;
    let retryInMs: number | null = null;
    try {
      while (this.packer.size > 0) {
        // After a refusal, smaller messages: they fit even where a computed size fell short.
        const batch = this.packer.peekBatch(() => `${this.ledgerPrefix}-${++this.ledgerSeq}`, { fullOnly, cautious: this.sendFailures > 0 });
        if (!batch) break;
        const outcome = await enqueue(this.env.EVENTS, batch.messages.map((m) => m.body), SEND_TIMEOUT_MS);
        this.counters.queue.sendCalls += outcome.calls;
        if (outcome.accepted > 0) this.sent(leadingMessages(batch, outcome.accepted));
        if (outcome.accepted < batch.messages.length) {
          this.sendFailed(outcome.error);
          retryInMs = backoffDelay(this.sendFailures, SEND_RETRY, Math.random());
          break;
        }
        if (this.state === "paused" && this.packer.size === 0) void this.openConnection();
        if (!this.packer.hasFullBatch) break;
        fullOnly = true;
      }
    } finally {
      this.sending = false;
    }
    if (retryInMs !== null) {
      this.flushTimer ??= setTimeout(() => {
        this.flushTimer = null;
        void this.flush();
      }, retryInMs);
    } else if (this.packer.size > 0) {
      this.scheduleFlush();
    }
  }

  private sent(batch: PackedBatch): void {
    this.sendFailures = 0;
    for (const m of batch.messages) this.ledger.add(m.body.ledgerId, m.oldestTimeUs);
    this.packer.commit(batch);
    const q = this.counters.queue;
    q.messagesSent += batch.messages.length;
    q.eventsEnqueued += batch.eventCount;
    q.bytesSent += batch.bytes;
    for (const m of batch.messages) q.billedUnits += Math.max(1, Math.ceil(m.bytes / 65_536));
  }

  private sendFailed(error: unknown): void {
    this.sendFailures++;
    const message = `queue send failed (${this.sendFailures}× in a row): ${error instanceof Error ? error.message : String(error)}`;
    console.warn(`jetstream-relay: ${message}`);
    this.lastError = { message, at: new Date().toISOString() };
    if (this.sendFailures >= this.config!.settings.sendFailuresBeforePause) this.pause("the queue refuses messages");
  }

  // ------------------------------------------------------------------------------------------------
  // Persistence

  private async load(): Promise<void> {
    try {
      const saved = await this.ctx.storage.get<unknown>([KEY.cursor, KEY.oldestUnacked, KEY.stats]);
      const cursor = saved.get(KEY.cursor);
      const oldest = saved.get(KEY.oldestUnacked);
      this.counters = restoreCounters(saved.get(KEY.stats));
      this.traffic = new TrafficCounters(this.counters.perMinute);
      const maxRewindUs = this.config?.settings.maxRewindUs ?? 0;
      this.savedCursor = resumeCursor(typeof cursor === "number" ? cursor : null, typeof oldest === "number" ? oldest : null, maxRewindUs);
      this.lastReceivedUs = this.savedCursor;
      this.loaded = true;
      await this.replays.restore();
    } catch (error) {
      this.storageFailed(error);
      if (!this.loaded) {
        this.lastError = { message: "could not read the saved cursor: not connecting until storage answers (tried again on every alarm)", at: new Date().toISOString() };
      }
    }
  }

  /** Writes cursor, oldest unacknowledged event and statistics: on every alarm, whatever the traffic. */
  private async persist(): Promise<void> {
    if (!this.loaded) return;
    const cursor = this.cursor();
    if (cursor !== null && this.config) this.ledger.pruneOlderThan(cursor - this.config.settings.maxRewindUs);
    this.counters.perMinute = this.traffic.perMinute(Date.now());
    try {
      await this.ctx.storage.put({ [KEY.cursor]: cursor, [KEY.oldestUnacked]: this.ledger.oldest(), [KEY.stats]: this.counters });
      this.storageError = null;
    } catch (error) {
      this.storageFailed(error);
    }
  }

  private storageFailed(error: unknown): void {
    this.storageError = `${new Date().toISOString()}: ${error instanceof Error ? error.message : String(error)}`;
    console.error(`jetstream-relay: storage failed, continuing in memory: ${this.storageError}`);
  }
}

function lagSeconds(timeUs: number | null, nowMs: number): number | null {
  return timeUs === null ? null : Math.max(0, Math.round((nowMs - timeUs / 1000) / 100) / 10);
}
