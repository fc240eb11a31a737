import type { ConfigProblem, WorkerVars } from "../api-types.ts";
import type { BackoffSettings } from "../backoff.ts";
import type { EventFormat } from "../delivery/event-body.ts";
import type { EventKind } from "../jetstream/parsed-frame.ts";
import type { CollectionPattern } from "../jetstream/identifiers.ts";
import { COST_ESTIMATE, DELIVERY_TUNING, DELIVERY_WEBHOOK, HTTP_ACCESS, INGEST_FILTER, INGEST_TUNING, REPLAY_TUNING, VARIABLES } from "./registry.ts";
import type { Part, ValueOf, Variable } from "./variable.ts";

/**
 * The worker's variables read into settings, part by part, with one policy for a bad value: it is never
 * used and never replaced by a default. It is reported (the variable, what is wrong, the fix, and what
 * stops meanwhile), and the part that needs it stops until it is fixed — without a crash loop:
 * - ingest, delivery: the relay does not connect (state `config-error`, /health 503); the queue consumer
 *   keeps every message (retried later) instead of delivering;
 * - replay: replays are refused, the relay runs (a warning: GET /status `configWarnings`);
 * - http: the read routes are protected (fail closed);
 * - cost: the cost estimate is off (a warning, like replay's).
 */

/** What stops while a variable of the part is bad (the end of its problem's message). */
const STOPPED: Record<Part, string> = {
  ingest: "the relay does not connect until it is fixed",
  delivery: "the relay does not connect and webhook delivery is paused until it is fixed (events wait in the queue)",
  replay: "replays are refused until it is fixed",
  http: "the read routes are protected until it is fixed",
  cost: "the cost estimate is off until it is fixed",
};

export interface IngestSettings {
  /** Heartbeat/watchdog period: the alarm persists state and checks the socket this often. */
  alarmMs: number;
  /** A socket silent for longer than this is replaced. */
  stallMs: number;
  backoff: BackoffSettings;
  /** Rewind of the cursor when switching endpoints (time_us differ between instances). */
  failoverRewindUs: number;
  /** On start, resume at most this far behind the saved cursor. */
  maxRewindUs: number;
  /** A resume whose first event is later than the cursor by more than this is a gap. */
  gapThresholdUs: number;
  /** Longest wait before a partly filled queue message is sent; 0: group commit. */
  flushMs: number;
  /** Group commit: least time between two sends of a partly filled message. */
  sendSpacingMs: number;
  /** Events per queue message at most (1 = one message per event). */
  maxEventsPerMessage: number;
  /** Backpressure bounds: past either, reading stops until the queue caught up. */
  maxBufferedEvents: number;
  maxBufferedBytes: number;
  /** Consecutive failed attempts to enqueue before reading stops. */
  sendFailuresBeforePause: number;
  connectTimeoutMs: number;
  /** Health: disconnected for longer than this is unhealthy. */
  healthDisconnectedMs: number;
  /** Health: no frame for longer than this is unhealthy. */
  healthStaleMs: number;
  /** Health: failing delivery with unacknowledged events older than this is unhealthy. */
  healthDeliveryMs: number;
}

/** What the relay asks Jetstream for, where, and how it runs. */
export interface IngestConfig {
  collections: string[];
  patterns: CollectionPattern[];
  dids: string[];
  kinds: EventKind[];
  endpoints: string[];
  settings: IngestSettings;
}

/** The validated settings of webhook delivery. */
export interface DeliveryConfig {
  webhookUrl: string;
  /** HMAC key: the base64-decoded part of `WEBHOOK_SECRET` after `whsec_`; null = requests are not signed. */
  signingKey: Uint8Array | null;
  bearerToken: string | null;
  /** What the webhook receives of each event: as received, or v2 events in the legacy shape (delivery/event-body.ts). */
  eventFormat: EventFormat;
  /** Events per webhook request: 1 = one POST per event (the default), more = batch mode (a JSON array). */
  batchSize: number;
  /** Batch mode: bytes of one request body at most (a single event larger than that goes alone). */
  maxBatchBytes: number;
  /** Repositories (DIDs) delivered in parallel; the events of one DID always go one after another. */
  concurrency: number;
  /** How long one webhook request may take before it counts as failed (and is retried). */
  timeoutMs: number;
  /** Delivery attempts per event before it is dead-lettered. */
  maxAttempts: number;
  /** First retry delay; it doubles with each attempt (with jitter) up to `retryMaxSeconds`. */
  retryBaseSeconds: number;
  retryMaxSeconds: number;
  /** Bound of the dead-letter store; past it the oldest entries are evicted (and counted). */
  deadLetterMaxEvents: number;
  /** Bound of the dead-letter store's event texts, in bytes (evicted like `deadLetterMaxEvents`). */
  deadLetterMaxBytes: number;
  /**
   * Webhook requests one queue batch starts at most; the rest of its events go on at once in a follow-up
   * message. Each request is a subrequest, and Cloudflare limits those per invocation (Workers Paid
   * 10,000, Free 50): past the limit every call fails, including the follow-up send itself.
   */
  maxRequestsPerBatch: number;
}

export interface ReplaySettings {
  retentionUs: number;
  idleMs: number;
}

export interface HttpSettings {
  adminToken: string | null;
  /** ADMIN_TOKEN is set but too short to be used (reported as a problem; the token routes refuse). */
  adminTokenRefused: boolean;
  /** Read routes need the admin token too (also while PROTECT_READ_ROUTES is bad: fail closed). */
  protectReadRoutes: boolean;
}

/** The cost estimate's settings (worker/cost/). */
export interface CostSettings {
  plan: "paid" | "free";
  /** Warn past this projected monthly spend (US dollars); null: no budget. */
  budgetUsdPerMonth: number | null;
}

export interface WorkerSettings {
  /** Null while a variable of the part is bad (see `byPart`). */
  ingest: IngestConfig | null;
  delivery: DeliveryConfig | null;
  replay: ReplaySettings | null;
  /** Never null: while PROTECT_READ_ROUTES is bad, the read routes are protected. */
  http: HttpSettings;
  /** Null while a cost variable is bad. */
  cost: CostSettings | null;
  /** Each part's problems. */
  byPart: Record<Part, ConfigProblem[]>;
  /** What stops the relay, delivery or opens no read route: ingest's, delivery's and http's problems. */
  problems: ConfigProblem[];
  /** What turns a feature off only: replay's and cost's problems (GET /status `configWarnings`). */
  warnings: ConfigProblem[];
}

// The same env object serves every request of an isolate: its settings are read once. The raw values are
// compared too (38 reads), since tests change variables on the same object.
const cache = new WeakMap<object, { raw: unknown[]; settings: WorkerSettings }>();

/** The settings of these variables; read once per env object, shared (frozen: do not change them). */
export function readSettings(env: WorkerVars): WorkerSettings {
  const raw = VARIABLES.map((v) => env[v.variable]);
  const cached = cache.get(env);
  if (cached && cached.raw.every((value, i) => value === raw[i])) return cached.settings;
  const settings = deepFreeze(parseSettings(env));
  cache.set(env, { raw, settings });
  return settings;
}

function parseSettings(env: WorkerVars): WorkerSettings {
  const byPart: Record<Part, ConfigProblem[]> = { ingest: [], delivery: [], replay: [], http: [], cost: [] };
  const report = (v: Variable, wrong: string, fix: string) => byPart[v.part].push({ variable: v.variable, message: `${wrong}; ${v.stops ?? STOPPED[v.part]}.`, fix });
  const read = <V extends Variable>(v: V): { value: ValueOf<V> } | null => {
    const reading = v.parse(env[v.variable]);
    if ("value" in reading) return reading as { value: ValueOf<V> };
    report(v, reading.wrong, reading.fix);
    return null;
  };
  /** The group's values, or null when any is bad (each bad one reported). */
  const readAll = <G extends Record<string, Variable>>(group: G): { [K in keyof G]: ValueOf<G[K]> } | null => {
    const values: Record<string, unknown> = {};
    let complete = true;
    for (const [key, v] of Object.entries(group)) {
      const reading = read(v);
      if (reading) values[key] = reading.value;
      else complete = false;
    }
    return complete ? (values as { [K in keyof G]: ValueOf<G[K]> }) : null;
  };
  /** A bound below its base (both valid on their own). */
  const belowBase = (max: Variable, base: Variable, maxValue: number, baseValue: number) => {
    if (maxValue >= baseValue) return false;
    report(max, `${max.variable} (${maxValue}) is below ${base.variable} (${baseValue})`, `Set ${max.variable} to at least ${base.variable}, or unset both.`);
    return true;
  };

  let ingest: IngestConfig | null = null;
  const filter = readAll(INGEST_FILTER);
  const t = readAll(INGEST_TUNING);
  const backoffOk = t !== null && !belowBase(INGEST_TUNING.backoffMaxSeconds, INGEST_TUNING.backoffBaseSeconds, t.backoffMaxSeconds, t.backoffBaseSeconds);
  if (filter && t && backoffOk) {
    const ms = (seconds: number) => Math.round(seconds * 1000);
    const us = (seconds: number) => Math.round(seconds * 1e6);
    ingest = {
      collections: filter.collections.names,
      patterns: filter.collections.patterns,
      dids: filter.dids,
      kinds: filter.kinds,
      endpoints: filter.endpoints,
      settings: {
        alarmMs: ms(t.alarmSeconds),
        stallMs: ms(t.stallSeconds),
        backoff: { baseMs: ms(t.backoffBaseSeconds), maxMs: ms(t.backoffMaxSeconds), healthyAfterMs: ms(t.healthySeconds), failoverAfter: t.failoverAfter },
        failoverRewindUs: us(t.failoverRewindSeconds),
        maxRewindUs: us(t.maxRewindSeconds),
        gapThresholdUs: us(t.gapThresholdSeconds),
        flushMs: t.flushMs,
        sendSpacingMs: t.sendSpacingMs,
        maxEventsPerMessage: t.maxEventsPerMessage,
        maxBufferedEvents: t.maxBufferedEvents,
        maxBufferedBytes: t.maxBufferedBytes,
        sendFailuresBeforePause: t.sendFailuresBeforePause,
        connectTimeoutMs: ms(t.connectTimeoutSeconds),
        healthDisconnectedMs: ms(t.healthDisconnectedSeconds),
        healthStaleMs: ms(t.healthStaleSeconds),
        healthDeliveryMs: ms(t.healthDeliverySeconds),
      },
    };
  }

  let delivery: DeliveryConfig | null = null;
  const webhook = readAll(DELIVERY_WEBHOOK);
  const d = readAll(DELIVERY_TUNING);
  const retryOk = d !== null && !belowBase(DELIVERY_TUNING.retryMaxSeconds, DELIVERY_TUNING.retryBaseSeconds, d.retryMaxSeconds, d.retryBaseSeconds);
  if (webhook && d && retryOk) {
    delivery = {
      ...webhook,
      batchSize: d.batchSize,
      maxBatchBytes: d.maxBatchBytes,
      concurrency: d.concurrency,
      timeoutMs: Math.round(d.timeoutSeconds * 1000),
      maxAttempts: d.maxAttempts,
      retryBaseSeconds: d.retryBaseSeconds,
      retryMaxSeconds: d.retryMaxSeconds,
      deadLetterMaxEvents: d.deadLetterMaxEvents,
      deadLetterMaxBytes: d.deadLetterMaxBytes,
      maxRequestsPerBatch: d.maxRequestsPerBatch,
    };
  }

  const r = readAll(REPLAY_TUNING);
  const replay = r && { retentionUs: Math.round(r.retentionHours * 3600e6), idleMs: Math.round(r.idleSeconds * 1000) };

  const cost = readAll(COST_ESTIMATE);

  const tokenReading = read(HTTP_ACCESS.adminToken);
  const adminToken = tokenReading?.value ?? null;
  const adminTokenRefused = tokenReading === null;
  // Fail closed: a typo must not leave the read routes open when the operator meant to protect them.
  const protectReadRoutes = read(HTTP_ACCESS.protectReadRoutes)?.value ?? true;
  if (protectReadRoutes && adminToken === null && !adminTokenRefused) {
    byPart.http.push({
      variable: HTTP_ACCESS.adminToken.variable,
      message: "PROTECT_READ_ROUTES is on but ADMIN_TOKEN is not set: every read route refuses.",
      fix: "Set the token with `npx wrangler secret put ADMIN_TOKEN` (locally: ADMIN_TOKEN in .dev.vars).",
    });
  }

  return {
    ingest,
    delivery,
    replay,
    http: { adminToken, adminTokenRefused, protectReadRoutes },
    cost,
    byPart,
    problems: [...byPart.ingest, ...byPart.delivery, ...byPart.http],
    warnings: [...byPart.replay, ...byPart.cost],
  };
}

/** Freezes plain objects and arrays (a key's bytes, a typed array, cannot be frozen and are left as they are). */
function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value) || Object.isFrozen(value)) return value;
  for (const inner of Object.values(value)) deepFreeze(inner);
  return Object.freeze(value);
}
