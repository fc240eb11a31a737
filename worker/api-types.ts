/**
 * The shapes every part of jetstream-relay agrees on: the worker's variables, what the Durable Objects'
 * RPC methods take and return, and therefore what the HTTP API serves as JSON and what the CLI reads. Change a shape here and every part follows.
 * Pure types only (no Workers runtime types), so that the CLI can share them; the worker's bindings
 * are in contract.ts.
 */

import type { CostReport } from "./cost/cost-report.ts";

/** The worker's variables and secrets (names fixed by the product brief). */
export interface WorkerVars {
  WEBHOOK_URL?: string;
  JETSTREAM_COLLECTIONS?: string;
  WEBHOOK_BEARER_TOKEN?: string;
  WEBHOOK_SECRET?: string;
  ADMIN_TOKEN?: string;
  JETSTREAM_URL?: string;
  JETSTREAM_DIDS?: string;
  JETSTREAM_KINDS?: string;
  /** Any further tuning variable (each documented in docs/configuration.md, validated, with a safe default). */
  [name: string]: unknown;
}


/** Name of the queue the events travel on, and of its dead-letter queue (as in wrangler.jsonc). */
export const EVENTS_QUEUE = "jetstream-relay-events";
export const DEAD_LETTER_QUEUE = "jetstream-relay-dlq";
/** The one instance name of each Durable Object. */
export const RELAY_OBJECT_NAME = "relay";
export const DEAD_LETTER_OBJECT_NAME = "dead-letters";

// ---------------------------------------------------------------------------------------------------
// What the queue consumer reports (the messages themselves are in worker/queue/message.ts)

/** What the queue consumer tells the relay object after handling a batch. */
export interface DeliveryReport {
  /** Ledger ids that need nothing more (delivered, dead-lettered, or handed to a follow-up message). */
  settled: string[];
  /** Follow-up messages the consumer enqueued for events that must be retried. */
  pending: { ledgerId: string; oldestTimeUs: number }[];
  delivered: number;
  retried: number;
  /** Permanently failed (non-retryable 4xx) — they were dead-lettered too. */
  failed: number;
  deadLettered: number;
  /** Webhook requests made (one per event, or one per batch in batch mode). */
  requests: number;
  lastError?: { message: string; at: string };
  lastSuccessAt?: string;
  /** Milliseconds from receipt at the relay to webhook acknowledgement, one per delivered event (may be sampled). */
  latenciesMs: number[];
  /** time_us of the newest event acknowledged by the webhook. */
  newestDeliveredTimeUs?: number;
  /** Blob ids of oversized events that were delivered or dead-lettered (the relay may delete them). */
  blobsDone: string[];
  /** Set when the webhook answered 410 Gone: delivery is to pause (the relay object keeps the pause). */
  gone?: { at: string; reason: string };
  /** Events put back on the queue, unsent, because delivery is paused. */
  held?: number;
  /** What the batch cost in queue operations beyond its messages' one read and delete (for the cost estimate). */
  billing?: {
    /** Messages handed back to the queue (`retry`): read again. */
    retriedMessages: number;
    /** Follow-up messages the consumer enqueued. */
    followUpMessages: number;
    /** Messages taken from the dead-letter queue. */
    deadLetterQueueMessages: number;
  };
  /** Set when the consumer stored dead letters: null when the store took them, else why it did not. */
  deadLetterStoreError?: string | null;
}

/**
 * Webhook delivery paused because the webhook answered `410 Gone` (Standard Webhooks: stop sending
 * here). The events wait in the queue, none is dead-lettered, until an operator resumes delivery
 * (POST /webhook/resume) or WEBHOOK_URL changes.
 */
export interface DeliveryPause {
  /** When the webhook answered 410 (ISO). */
  since: string;
  /** What it answered (the status only: the body may carry anything and /health is public). */
  reason: string;
  /** Events put back on the queue since then (one that comes round again counts again); counted since the relay object started. */
  held: number;
}

/** The answer of POST /webhook/resume. */
export interface DeliveryResume {
  /** False when delivery was not paused (nothing to do). */
  resumed: boolean;
  /** The pause it ended, if any. */
  pause: DeliveryPause | null;
}

// ---------------------------------------------------------------------------------------------------
// Configuration problems

export interface ConfigProblem {
  /** The variable at fault, e.g. "JETSTREAM_COLLECTIONS". */
  variable: string;
  /** What is wrong, in a sentence. */
  message: string;
  /** How to fix it, in a sentence. */
  fix: string;
}

// ---------------------------------------------------------------------------------------------------
// Statistics, status and health (the JSON of GET /stats, /status, /health)

export interface Gap {
  /** The saved cursor we resumed from (unix µs) and its ISO time. */
  fromUs: number;
  from: string;
  /** time_us of the first event the server sent after the resume, and its ISO time. */
  toUs: number;
  to: string;
  detectedAt: string;
  endpoint: string;
  acknowledged: boolean;
  /**
   * On the v2 wire the server says what it no longer has (CursorTooOld, OutdatedCursor): the gap is
   * exact, whatever its size, and names the seqs (`fromSeq`: the last one asked for, if any; `toSeq`:
   * where the server resumed). Absent on the legacy wire, where a gap is inferred from a threshold.
   */
  exact?: boolean;
  fromSeq?: number | null;
  toSeq?: number | null;
  /** What the server said, in its words. */
  reason?: string;
}

/** Which Jetstream protocol an endpoint speaks: chosen by its path. */
export type JetstreamWire = "v2" | "legacy";

/** Where the relay (or a replay) stands in the stream: the newest event handled, on the instance it came from. */
export interface StreamPosition {
  /** The endpoint the position belongs to (each instance has its own clock and seq space); null if unknown. */
  endpoint: string | null;
  wire: JetstreamWire | null;
  /** The instance's seq (v2 only): the exact resume point on that instance. */
  seq: number | null;
  /** Time of the event (unix µs; on v2 its display time, never moved backwards). */
  timeUs: number;
  time: string;
}

export interface DeliveryStats {
  delivered: number;
  retried: number;
  failed: number;
  deadLettered: number;
  webhookRequests: number;
  /** Queue messages enqueued but not yet settled by the consumer. */
  unackedMessages: number;
  /** time_us of the oldest event not yet acknowledged by the webhook, if any. */
  oldestUnackedUs: number | null;
  lastError: string | null;
  lastErrorAt: string | null;
  lastSuccessAt: string | null;
  /** Receipt → webhook acknowledgement, over recent deliveries. */
  latencyMs: { p50: number | null; p99: number | null };
  /** Seconds between now and the newest event the webhook acknowledged. */
  lagSeconds: number | null;
}

export interface QueueStats {
  eventsEnqueued: number;
  messagesSent: number;
  /** Calls the live stream made to the queue, failed ones included: `send` (one message) or `sendBatch` (several small ones). */
  sendCalls: number;
  bytesSent: number;
  /** 64 KB units of the messages sent (each message counts its own started units of 64,000 bytes, ~100 bytes of metadata included): what Cloudflare bills. */
  billedUnits: number;
  /** Events too large for a queue message, stored as blobs and delivered from there. */
  oversizedEvents: number;
  /** Times ingestion paused because the queue could not keep up (backpressure). */
  backpressurePauses: number;
}

export interface MinuteBucket {
  /** ISO time of the minute's start. */
  minute: string;
  received: number;
  forwarded: number;
}

export interface RelayStats {
  // Field names kept from the original design:
  /** Saved cursor (unix µs of the newest event durably enqueued or skipped), null before the first. */
  cursor: number | null;
  /** The full position: the cursor's endpoint, wire and (v2) seq. */
  position: StreamPosition | null;
  /** ConsumerTooSlow error frames received (v2). */
  consumerTooSlow: number;
  /** Forwarded commit events per collection. */
  eventCounts: Record<string, number>;
  /** Forwarded commit events in total. */
  totalEvents: number;
  /** Every event received from Jetstream (including skipped and malformed). */
  totalReceived: number;
  /** ISO time at which the newest event was received, null before the first. */
  lastEventTime: string | null;

  /** Forwarded commit events per collection and operation (create/update/delete). */
  operationCounts: Record<string, Record<string, number>>;
  /** Received events by kind ("commit", "identity", "account", "unknown"). */
  kindCounts: Record<string, number>;
  /** Events forwarded to the queue (commits of wanted collections, plus identity/account if enabled). */
  forwarded: number;
  /** Events received but not forwarded (other kinds, other collections). */
  skipped: number;
  /** Frames that were not valid Jetstream events (counted and skipped). */
  malformed: number;
  rates: { receivedPerSecond: number; forwardedPerSecond: number };
  /** Seconds between now and the newest event's time_us. */
  lagSeconds: number | null;
  delivery: DeliveryStats;
  queue: QueueStats;
  reconnects: number;
  gapsDetected: number;
  gaps: Gap[];
  /** Events per minute over the last hour, oldest first. */
  perMinute: MinuteBucket[];
  startedAt: string;
  statsResetAt: string | null;
  storage: { ok: boolean; lastError: string | null };
  /** The month projected at the last hour's rates (docs/cost.md); null while CLOUDFLARE_PLAN or COST_BUDGET_USD_PER_MONTH is bad. */
  cost?: CostReport | null;
  /** Set while an operator-requested replay is running (and after, until the next one). */
  replay: ReplayProgress | null;
}

export type ConnectionState =
  | "config-error" // configuration invalid: not connecting (see configErrors)
  | "connecting"
  | "connected"
  | "backoff" // waiting before the next attempt
  | "paused"; // backpressure: reading stopped until the queue catches up

export interface RelayStatus {
  state: ConnectionState;
  connected: boolean;
  /** The endpoint in use or being tried (URL without credentials or query string). */
  endpoint: string | null;
  endpoints: string[];
  cursor: number | null;
  cursorTime: string | null;
  lagSeconds: number | null;
  lastError: string | null;
  lastErrorAt: string | null;
  reconnects: number;
  connectedSince: string | null;
  lastFrameAt: string | null;
  nextAttemptAt: string | null;
  /** The wire of the endpoint in use. */
  wire: JetstreamWire | null;
  /** The full position (the `cursor` above is its time). */
  position: StreamPosition | null;
  /** ConsumerTooSlow error frames received (v2): the server found the relay too slow and closed. */
  consumerTooSlow: number;
  configErrors: ConfigProblem[];
  /** Settings that do not stop relaying but turn a feature off until fixed (replays: JETSTREAM_RETENTION_HOURS, JETSTREAM_REPLAY_IDLE_SECONDS). */
  configWarnings: ConfigProblem[];
  /** Notes that do not make the relay unhealthy: the projected cost past the plan's allowance or the budget. */
  notes?: HealthReason[];
  /** The effective configuration, secrets omitted. */
  config: PublicConfig | null;
  /** Set while webhook delivery is paused by a 410 Gone answer (resume: POST /webhook/resume). */
  deliveryPause?: DeliveryPause | null;
}

export interface PublicConfig {
  /** The webhook's scheme and host only: its path, query and credentials may be its secret. */
  webhookOrigin: string;
  /** The first 8 hex digits of the SHA-256 of WEBHOOK_URL (as parsed), to tell two webhooks apart. */
  webhookFingerprint: string;
  collections: string[];
  dids: number;
  kinds: string[];
  endpoints: string[];
  batchMode: boolean;
  webhookSigned: boolean;
  webhookBearer: boolean;
  adminTokenSet: boolean;
}

export interface HealthReason {
  /** Stable machine-readable code, e.g. "config-error", "disconnected", "stale", "delivery-failing", "gap". */
  code: string;
  message: string;
}

export interface HealthReport {
  healthy: boolean;
  reasons: HealthReason[];
  /** Notes that do not make it unhealthy (the projected cost past the plan's allowance or the budget). */
  notes?: HealthReason[];
  checkedAt: string;
}

// ---------------------------------------------------------------------------------------------------
// Dead-letter store (the JSON of GET /dlq)

export interface DeadLetter {
  /** The event's webhook-id (stable idempotency key). */
  id: string;
  /** The event as received (parsed JSON); for a stub, what identifies the lost event. */
  event: unknown;
  error: string;
  attempts: number;
  failedAt: string;
  /** True while a replay of it is on its way (it leaves the store once delivered). */
  replaying?: boolean;
  /** True when the event's text was lost and only its reference is kept: a replay skips it (never sent as the event). */
  stub?: boolean;
}

export interface DeadLetterPage {
  total: number;
  events: DeadLetter[];
  /** Pass as `offset` to get the next page; null on the last page. */
  nextOffset: number | null;
  /** The next page's path and query (`/dlq?offset=…&limit=…`), null on the last page. */
  next: string | null;
  /** Why the page ends: it has `limit` rows, or the next row would pass the byte budget (`maxBytes`), or it is the last. */
  limitedBy: "rows" | "bytes" | null;
  /** UTF-8 bytes of the page's event texts (a page holds at least one event, however large). */
  bytes: number;
  /** Dead letters dropped because the store was full (oldest first); counted, never silent. */
  evicted: number;
}

export type DeadLetterSelection = { ids: string[] } | { all: true };

/** POST /dlq/replay: a selection (with an optional job id the caller chose), or only a job id (resume/attach). */
export type DeadLetterReplayRequest = (DeadLetterSelection & { job?: string }) | { job: string };

/**
 * A replay of dead letters, run by the store in the background. It replays the selected rows present
 * when it started (rows added later, including events that fail again, are not part of it), each at
 * most once: rows already on their way (replaying) and stubs are skipped.
 */
export interface DeadLetterReplayJob {
  id: string;
  state: "running" | "done" | "failed";
  /** "all", or how many ids were asked for. */
  selection: "all" | { ids: number };
  /** Rows selected when it started. */
  total: number;
  /** Sent to the queue (they leave the store once the webhook accepts them). */
  sent: number;
  /** Not sent: already on their way, or stubs without their text. */
  skipped: number;
  /** 0..1 */
  progress: number;
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
  /** Why it failed; a failed job resumes where it stopped when its id is posted again. */
  error: string | null;
}

/** The answer of POST /dlq/replay and GET /dlq/replay/:id. `attached`: the job already existed (nothing new was started). */
export interface DeadLetterReplayAnswer {
  job: DeadLetterReplayJob;
  attached: boolean;
}

// ---------------------------------------------------------------------------------------------------
// Time travel (operator-requested replay of a window of the past)

export interface ReplayRequest {
  /** Start of the window, unix µs (inclusive). */
  fromUs: number;
  /** End of the window, unix µs (exclusive); absent = up to the live position at the time of the request. */
  toUs?: number;
  /** Only these collections (exact NSIDs or prefix.*); absent = the relay's collections. */
  collections?: string[];
}

export interface ReplayProgress {
  id: string;
  state: "running" | "done" | "failed" | "cancelled";
  from: string;
  to: string;
  fromUs: number;
  toUs: number;
  collections: string[];
  /** time_us of the newest replayed event so far. */
  positionUs: number | null;
  /** 0..1 */
  progress: number;
  eventsReplayed: number;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
  /** Set when the server no longer had the start of the window (its first event came much later than `from`). */
  gap?: Gap | null;
}
