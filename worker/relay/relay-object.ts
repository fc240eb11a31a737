import { DurableObject } from "cloudflare:workers";
import { parseRelayConfig, type RelayConfig } from "../config.ts";
import type {
  ConfigProblem,
  ConnectionState,
  DeliveryPause,
  DeliveryReport,
  DeliveryResume,
  Env,
  HealthReport,
  RelayStats,
  RelayStatus,
  ReplayProgress,
  ReplayRequest,
  StreamPosition,
} from "../contract.ts";
import { BlobStore, SettledBlobs } from "./blob-store.ts";
import { DeliveryPauseStore, PAUSE_KEY } from "./delivery-pause-store.ts";
import type { LinkState } from "../stream/connection-state.ts";
import { enqueue } from "../queue/enqueue.ts";
import { shouldForward, type ForwardFilter } from "../jetstream/legacy-frame.ts";
import { isoFromUs } from "../time-us.ts";
import { healthReasons } from "./health.ts";
import { collectionMatcher } from "../jetstream/identifiers.ts";
import { Ledger } from "../stream/ledger.ts";
import { Packer, QUEUE_LIMITS } from "../queue/packer.ts";
import { lagSeconds, LiveStats } from "./live-stats.ts";
import { replaySettingProblems } from "../replay/replay-plan.ts";
import { ReplayRunner } from "../replay/replay-session.ts";
import { displayEndpoint, wireOf } from "../jetstream/request.ts";
import { resumePosition, savedForm, type Position } from "../stream/position.ts";
import { streamSettings } from "../stream/settings.ts";
import { Stream } from "../stream/stream.ts";
import { errorMessage } from "../errors.ts";
import { readSettings, type CostSettings } from "../config/settings.ts";
import { costReport, type CostReport } from "../cost/cost-report.ts";
import { CPU_MS_PER_EVENT } from "../cost/bench-figures.ts";

/** Keys of the persisted state (Durable Object storage): the position apart from the statistics. */
const KEY = { cursor: "cursor", position: "position", oldestUnacked: "oldestUnacked", oldestUnackedFrom: "oldestUnackedFrom", stats: "stats", deliveryPause: PAUSE_KEY } as const;
/** Rows each save writes: the position's four keys, the statistics' one, the alarm's one; a start reads six keys. */
const ROWS = { position: 4, stats: 1, alarm: 1, load: 6 } as const;
/** The cron trigger of wrangler.jsonc wakes the worker once a minute: a Workers request the relay cannot count. */
const CRON_REQUESTS_PER_SECOND = 1 / 60;
/** A call to the queue that has not settled by then counts as failed (and is retried: duplicates, never loss). */
const SEND_TIMEOUT_MS = 30_000;

/** The parts of a relay whose configuration is valid. */
interface Running {
  config: RelayConfig;
  stream: Stream;
}

/**
 * The ingestion Durable Object: a thin shell around the live stream (stream/stream.ts) — its RPC methods,
 * its alarm and its storage — and the source of statistics, status and health.
 *
 * It starts by itself: the constructor loads the saved position and connects; a self-rescheduling alarm
 * is heartbeat and watchdog (saves position and statistics, replaces a silent socket, reconnects after
 * eviction/deploy). The saved position never passes an event that is not yet durably in the queue.
 */
export class JetstreamRelay extends DurableObject<Env> {
  /** Null while the configuration is invalid: the object then only reports what is wrong. */
  private readonly running: Running | null;
  private readonly problems: ConfigProblem[];
  private readonly warnings: ConfigProblem[];
  /** The cost estimate's plan and budget; null while one of them is bad (reported in configWarnings). */
  private readonly costSettings: CostSettings | null;
  private readonly blobs: BlobStore;
  /** Webhook delivery paused by a 410 Gone (asked by the consumer once per batch). */
  private readonly deliveryPause: DeliveryPauseStore;
  private readonly settledBlobs: SettledBlobs;
  /** The consumer's latest failure to store dead letters, until a later store succeeds (a /health reason). */
  private deadLetterStoreError: { message: string; at: string } | null = null;
  private readonly ledger = new Ledger();
  private readonly startedAt = new Date();
  private readonly ledgerPrefix = crypto.randomUUID().slice(0, 8);
  private ledgerSeq = 0;
  private readonly stats = new LiveStats();
  private storageError: string | null = null;
  /** False until the saved state was read: without it the relay neither connects nor saves (it would lose its position). */
  private loaded = false;
  /** Operator-requested replay of a past window (time travel): its own stream, never the live position. */
  private readonly replays: ReplayRunner;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const parsed = parseRelayConfig(env);
    this.problems = parsed.problems;
    this.warnings = replaySettingProblems(env);
    this.costSettings = readSettings(env).cost;
    this.blobs = new BlobStore(ctx.storage.sql);
    this.deliveryPause = new DeliveryPauseStore(ctx.storage, env.WEBHOOK_URL, (error) => this.storageFailed(error));
    this.settledBlobs = new SettledBlobs(ctx.storage.sql);
    this.running = parsed.config ? { config: parsed.config, stream: this.liveStream(parsed.config) } : null;
    this.replays = new ReplayRunner(env, ctx.storage, {
      config: () => this.running?.config ?? null,
      endpointIndex: () => this.running?.stream.connection.endpointNumber ?? 0,
      liveCursor: () => this.cursor(),
      send: (bodies) => enqueue(this.env.EVENTS, bodies, SEND_TIMEOUT_MS),
      putBlob: (id, text) => this.blobs.put(id, text),
      recordGap: (gap) => this.stats.recordGap(gap),
    });
    void ctx.blockConcurrencyWhile(async () => {
      await this.load();
      if (this.running) await this.scheduleAlarm();
    }).then(() => {
      if (this.loaded) this.running?.stream.start();
    });
  }

  private liveStream(config: RelayConfig): Stream {
    const filter: ForwardFilter = { wantsCollection: collectionMatcher(config.patterns), dids: config.dids.length > 0 ? new Set(config.dids) : null, kinds: new Set(config.kinds) };
    const limits = { ...QUEUE_LIMITS, maxEventsPerMessage: config.settings.maxEventsPerMessage };
    return new Stream(
      streamSettings(config),
      {
        label: "jetstream-relay",
        ready: () => this.loaded,
        subscription: { collections: config.collections, dids: config.dids, kinds: config.kinds },
        judge: (frame) => (shouldForward(frame, filter) ? "forward" : "skip"),
        newPacker: () => new Packer(limits),
        nextLedgerId: () => `${this.ledgerPrefix}-${++this.ledgerSeq}`,
        send: (bodies) => enqueue(this.env.EVENTS, bodies, SEND_TIMEOUT_MS),
        putBlob: (id, text) => {
          this.stats.meter.add("rowsWritten");
          return this.blobs.put(id, text);
        },
      },
      {
        ...this.stats.hooks(config.settings.gapThresholdUs),
        positionMoved: () => void this.savePosition(),
        sent: (batch) => {
          for (const m of batch.messages) this.ledger.add(m.body.ledgerId, m.oldestTimeUs, m.first);
          this.stats.sent(batch);
        },
        trouble: (message) => {
          if (message.startsWith("storage failed")) this.storageFailed(message);
        },
      },
      { state: "backoff", position: null },
    );
  }

  // ------------------------------------------------------------------------------------------------
  // RPC methods

  /** Start (or keep) the connection and the watchdog alarm; returns the status. */
  async ensureRunning(): Promise<RelayStatus> {
    this.stats.meter.add("objectCalls");
    if (this.running) {
      await this.scheduleAlarm();
      if (this.loaded) this.running.stream.watchdog(Date.now());
    }
    return this.getStatus();
  }

  async getStats(): Promise<RelayStats> {
    const now = Date.now();
    const view = this.stats.view(now);
    return {
      cursor: this.cursor(),
      position: this.publicPosition(),
      ...view,
      delivery: { ...view.delivery, unackedMessages: this.ledger.size, oldestUnackedUs: this.ledger.oldest() },
      startedAt: this.startedAt.toISOString(),
      storage: { ok: this.storageError === null, lastError: this.storageError },
      cost: this.cost(now),
      replay: this.replays.current(),
    };
  }

  async getStatus(): Promise<RelayStatus> {
    const cursor = this.cursor();
    const connection = this.running?.stream.connection;
    const times = connection?.times;
    const error = connection?.error ?? null;
    return {
      state: connection ? publicState(connection.current) : "config-error",
      connected: connection?.current === "connected",
      endpoint: connection ? displayEndpoint(connection.endpoint) : null,
      endpoints: this.running?.config.public.endpoints ?? [],
      cursor,
      cursorTime: cursor === null ? null : isoFromUs(cursor),
      lagSeconds: lagSeconds(this.stats.newestEventUs, Date.now()),
      lastError: error?.message ?? null,
      lastErrorAt: error?.at ?? null,
      reconnects: this.stats.counters.reconnects,
      connectedSince: isoOrNull(times?.connectedAt),
      lastFrameAt: isoOrNull(times?.lastFrameAt),
      nextAttemptAt: isoOrNull(times?.nextAttemptAt),
      wire: connection ? wireOf(connection.endpoint) : null,
      position: this.publicPosition(),
      consumerTooSlow: this.stats.counters.consumerTooSlow,
      configErrors: this.problems,
      configWarnings: this.streamWarnings(),
      notes: this.cost(Date.now())?.warnings ?? [],
      config: this.running?.config.public ?? null,
      deliveryPause: await this.deliveryPause.get(),
    };
  }

  async getHealth(): Promise<HealthReport> {
    const now = Date.now();
    const running = this.running;
    const connection = running?.stream.connection;
    const reasons = healthReasons(
      {
        nowMs: now,
        state: connection ? publicState(connection.current) : "config-error",
        configErrors: this.problems,
        disconnectedSinceMs: connection?.times.disconnectedSince ?? null,
        lastError: connection?.error?.message ?? null,
        // A frame a resume sent again is no sign of life of the stream.
        lastFrameMs: running?.stream.lastNewFrameAt ?? this.startedAt.getTime(),
        deliveryLastErrorAt: this.stats.counters.delivery.lastErrorAt,
        deliveryLastSuccessAt: this.stats.counters.delivery.lastSuccessAt,
        oldestUnackedUs: this.ledger.oldest(),
        storageError: this.storageError,
        gaps: this.stats.counters.gaps,
        consumerTooSlowAt: this.stats.counters.consumerTooSlowAt,
        deliveryPause: await this.deliveryPause.get(),
        deadLetterStoreError: this.deadLetterStoreError,
      },
      running?.config.settings ?? { healthDisconnectedMs: 0, healthStaleMs: 0, healthDeliveryMs: 0 },
    );
    return { healthy: reasons.length === 0, reasons, notes: this.cost(now)?.warnings ?? [], checkedAt: new Date(now).toISOString() };
  }

  /** Reset statistics (never the cursor, never unacknowledged gaps). */
  async resetStats(): Promise<{ resetAt: string }> {
    const resetAt = new Date().toISOString();
    this.stats.reset(resetAt);
    await this.saveStats();
    return { resetAt };
  }

  /** Force a reconnect from the saved cursor. */
  async reconnect(): Promise<RelayStatus> {
    if (this.loaded) this.running?.stream.reconnect("reconnect requested");
    return this.getStatus();
  }

  /** Mark every detected gap as seen by an operator (it leaves /health's reasons). */
  async acknowledgeGaps(): Promise<{ acknowledged: number }> {
    const acknowledged = this.stats.acknowledgeGaps();
    await this.saveStats();
    return { acknowledged };
  }

  /** Called by the queue consumer after each batch. */
  async settle(report: DeliveryReport): Promise<void> {
    this.ledger.settle(report);
    this.stats.settled(report);
    if (report.gone) await this.deliveryPause.pause(report.gone);
    if (report.held) this.deliveryPause.countHeld(report.held);
    if (report.deadLetterStoreError !== undefined) {
      this.deadLetterStoreError = report.deadLetterStoreError === null ? null : { message: report.deadLetterStoreError, at: new Date().toISOString() };
    }
    if (report.blobsDone.length > 0) {
      try {
        this.settledBlobs.record(report.blobsDone, Date.now());
        this.blobs.delete(report.blobsDone);
      } catch (error) {
        this.storageFailed(error);
      }
    }
  }

  /** Whether webhook delivery is paused by a 410 Gone: the consumer asks once per batch. */
  async getDeliveryPause(): Promise<DeliveryPause | null> {
    this.stats.meter.add("objectCalls");
    return this.deliveryPause.get();
  }

  /** Ends a pause of webhook delivery (POST /webhook/resume): the held events are delivered again. */
  async resumeDelivery(): Promise<DeliveryResume> {
    return this.deliveryPause.resume();
  }

  /** The text of an oversized event stored as a blob, or null if it is gone. */
  async getBlob(id: string): Promise<string | null> {
    this.stats.meter.add("objectCalls");
    this.stats.meter.add("rowsRead");
    return this.blobs.get(id);
  }

  /** Whether a blob that is gone was settled (its event delivered or dead-lettered with its text) in the last days. */
  async blobSettled(id: string): Promise<boolean> {
    return this.settledBlobs.has(id);
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
    this.stats.meter.add("alarms");
    this.stats.meter.tick(Date.now());
    if (!this.running) return;
    try {
      if (!this.loaded) await this.load();
      if (this.loaded) {
        await this.saveState();
        this.running.stream.watchdog(Date.now());
        await this.replays.tick();
      }
    } finally {
      await this.scheduleAlarm();
    }
  }

  private async scheduleAlarm(): Promise<void> {
    if (!this.running) return;
    try {
      const at = await this.ctx.storage.getAlarm();
      this.stats.meter.add("rowsRead");
      const next = Date.now() + this.running.config.settings.alarmMs;
      if (at === null || at > next) {
        await this.ctx.storage.setAlarm(next);
        this.stats.meter.add("rowsWritten", ROWS.alarm);
      }
    } catch (error) {
      this.storageFailed(error);
    }
  }

  // ------------------------------------------------------------------------------------------------
  // Frames and the queue

  private position(): Position | null {
    return this.loaded ? (this.running?.stream.position() ?? null) : null;
  }

  /** The configuration's warnings, and what the stream found it cannot do as configured. */
  private streamWarnings(): ConfigProblem[] {
    const left = this.running?.stream.unfilteredDids ?? 0;
    if (left === 0) return this.warnings;
    return [
      ...this.warnings,
      {
        variable: "JETSTREAM_DIDS",
        message: `${left} DIDs do not fit a v2 request's URL (16 KB): the server sends the events of every repository in the collections, and the relay filters by DID itself (more traffic, nothing lost)`,
        fix: "Filter on fewer DIDs, or name a legacy endpoint (…/subscribe) in JETSTREAM_URL, which takes the DIDs in a message.",
      },
    ];
  }

  /** The month projected at the last hour's rates on the configured plan (null while a cost setting is bad). */
  private cost(now: number): CostReport | null {
    if (!this.costSettings) return null;
    const batchMode = this.running?.config.public.batchMode ?? false;
    const onePerMessage = this.running?.config.settings.maxEventsPerMessage === 1;
    const mode = batchMode ? "batch" : onePerMessage ? "baseline" : "per-event";
    const measured = this.stats.meter.activity(now, { otherWorkerRequestsPerSecond: CRON_REQUESTS_PER_SECOND, consumerCpuMsPerEvent: CPU_MS_PER_EVENT[mode], storedGb: this.storedGb() });
    return costReport(measured.activity, { seconds: measured.windowSeconds, since: measured.since }, this.costSettings.plan, this.costSettings.budgetUsdPerMonth);
  }

  /** The relay object's SQLite database size in GB (the dead-letter store's is not counted). */
  private storedGb(): number {
    try {
      return this.ctx.storage.sql.databaseSize / 1e9;
    } catch {
      return 0;
    }
  }

  private publicPosition(): StreamPosition | null {
    const p = this.position();
    if (p === null) return null;
    return { endpoint: p.instance === null ? null : displayEndpoint(p.instance), wire: p.instance === null ? null : wireOf(p.instance), seq: p.seq ?? null, timeUs: p.timeUs, time: isoFromUs(p.timeUs) };
  }

  private cursor(): number | null {
    return this.position()?.timeUs ?? null;
  }

  // ------------------------------------------------------------------------------------------------
  // Storage

  private async load(): Promise<void> {
    try {
      const saved = await this.ctx.storage.get<unknown>([KEY.cursor, KEY.position, KEY.oldestUnacked, KEY.oldestUnackedFrom, KEY.stats, KEY.deliveryPause]);
      this.stats.restore(saved.get(KEY.stats));
      this.deliveryPause.restore(saved.get(KEY.deliveryPause));
      this.stats.meter.add("rowsRead", ROWS.load);
      const position = resumePosition(
        { position: saved.get(KEY.position), cursor: saved.get(KEY.cursor), oldestUnacked: saved.get(KEY.oldestUnacked), oldestUnackedFrom: saved.get(KEY.oldestUnackedFrom) },
        this.running?.config.settings.maxRewindUs ?? 0,
      );
      this.running?.stream.restore(position);
      this.loaded = true;
      await this.replays.restore();
    } catch (error) {
      this.storageFailed(error);
      if (!this.loaded) this.running?.stream.connection.note("could not read the saved cursor: not connecting until storage answers (tried again on every alarm)");
    }
  }

  /** Saves position and statistics: on every alarm, whatever the traffic. */
  private async saveState(): Promise<void> {
    const position = this.position();
    if (position !== null && this.running) this.ledger.pruneOlderThan(position.timeUs - this.running.config.settings.maxRewindUs);
    const positionSaved = await this.savePosition();
    const statsSaved = await this.saveStats();
    if (positionSaved && statsSaved) this.storageError = null;
  }

  /**
   * The position on its own, so that statistics that cannot be written never keep it from being saved.
   * Also written at once when the position first exists or moves to another instance (stream hook).
   */
  private async savePosition(): Promise<boolean> {
    if (!this.loaded) return false;
    const { position, cursor } = savedForm(this.position());
    try {
      const oldest = this.ledger.oldestEntry();
      await this.ctx.storage.put({
        [KEY.cursor]: cursor,
        [KEY.position]: position,
        [KEY.oldestUnacked]: oldest?.timeUs ?? null,
        [KEY.oldestUnackedFrom]: oldest && oldest.seq != null ? { instance: oldest.instance ?? null, seq: oldest.seq } : null,
      });
      this.stats.meter.add("rowsWritten", ROWS.position);
      return true;
    } catch (error) {
      this.storageFailed(error);
      return false;
    }
  }

  private async saveStats(): Promise<boolean> {
    if (!this.loaded) return false;
    try {
      await this.ctx.storage.put(KEY.stats, this.stats.toSave(Date.now()));
      this.stats.meter.add("rowsWritten", ROWS.stats);
      return true;
    } catch (error) {
      this.storageFailed(error);
      return false;
    }
  }

  private storageFailed(error: unknown): void {
    this.storageError = `${new Date().toISOString()}: ${errorMessage(error)}`;
    console.error(`jetstream-relay: storage failed, continuing in memory: ${this.storageError}`);
  }
}

/** The stream's `stopped` never happens to the live relay; were it to, it would show as a backoff. */
function publicState(state: LinkState): ConnectionState {
  return state === "stopped" ? "backoff" : state;
}

function isoOrNull(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}
