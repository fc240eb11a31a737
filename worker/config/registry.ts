import { LOGIN_FAILURES_ALLOWED, LOGIN_WINDOW_MS } from "../http/login-throttle.ts";
import { MAX_WANTED_COLLECTIONS, MAX_WANTED_DIDS } from "../jetstream/identifiers.ts";
import { parseCollections, parseDids, parseEndpoints, parseKinds } from "./filter-parsers.ts";
import { isUnset, numberVariable, type Reading, type Variable } from "./variable.ts";
import { parseBearerToken, parseEventFormat, parseWebhookSecret, parseWebhookUrl } from "./webhook-parsers.ts";

/**
 * Every variable the worker reads: its part, whether it is required, its default, what it accepts, its
 * parser and its meaning. The configuration table of docs/configuration.md (bin/config-table.ts), the CLI's `dev` and
 * `init` checks and the worker's settings (settings.ts) all come from here; add a variable here only.
 */

/** Bluesky's v2 hosts on the v2 path (the numbered legacy hosts still work when named in JETSTREAM_URL). */
export const DEFAULT_ENDPOINTS = [
  "wss://jetstream.us-east.bsky.network/xrpc/network.bsky.jetstream.subscribeEvents",
  "wss://jetstream.us-west.bsky.network/xrpc/network.bsky.jetstream.subscribeEvents",
];

const thousands = (n: number) => String(n).replace(/\B(?=(\d{3})+$)/g, ",");

/** The relay's filter: what it asks Jetstream for and forwards. */
export const INGEST_FILTER = {
  collections: {
    variable: "JETSTREAM_COLLECTIONS",
    part: "ingest",
    required: "yes",
    shownDefault: "—",
    accepts: `comma-separated NSIDs or prefixes ending in \`.*\`, at most ${MAX_WANTED_COLLECTIONS}`,
    doc: "the collections to forward, e.g. `app.bsky.feed.post,app.bsky.graph.*`",
    parse: parseCollections,
  },
  endpoints: {
    variable: "JETSTREAM_URL",
    part: "ingest",
    required: "no",
    shownDefault: "Bluesky's v2 hosts (us-east, us-west) on the v2 path",
    accepts: "comma-separated `ws://` or `wss://` URLs without query string; the path picks the wire: `…/xrpc/network.bsky.jetstream.subscribeEvents` (v2) or `…/subscribe` (legacy)",
    doc: "the Jetstream endpoints, tried in order with failover",
    parse: (raw: unknown) => parseEndpoints(raw, DEFAULT_ENDPOINTS),
  },
  dids: {
    variable: "JETSTREAM_DIDS",
    part: "ingest",
    required: "no",
    shownDefault: "— (every repository)",
    accepts: `comma-separated DIDs (\`did:plc:…\`, \`did:web:…\`), at most ${thousands(MAX_WANTED_DIDS)}`,
    doc: "forward the events of these repositories only",
    parse: parseDids,
  },
  kinds: {
    variable: "JETSTREAM_KINDS",
    part: "ingest",
    required: "no",
    shownDefault: "`commit`",
    accepts: "any of `commit,identity,account,sync` (`sync` on the v2 wire only)",
    doc: "which kinds of events to forward",
    parse: parseKinds,
  },
} satisfies Record<string, Variable>;

/** The ingestion tuning variables. */
export const INGEST_TUNING = {
  alarmSeconds: numberVariable({ variable: "JETSTREAM_ALARM_SECONDS", part: "ingest", fallback: 5, min: 1, max: 60, integer: false, meaning: "heartbeat/watchdog period; state is persisted this often", doc: "heartbeat/watchdog period: the relay's alarm persists cursor and statistics this often and checks the socket" }),
  stallSeconds: numberVariable({ variable: "JETSTREAM_STALL_SECONDS", part: "ingest", fallback: 60, min: 1, max: 3600, integer: false, meaning: "a socket silent this long is replaced", doc: "a socket without any frame for this long is replaced" }),
  connectTimeoutSeconds: numberVariable({ variable: "JETSTREAM_CONNECT_TIMEOUT_SECONDS", part: "ingest", fallback: 15, min: 1, max: 120, integer: false, meaning: "longest wait for the server to accept the upgrade", doc: "longest wait for Jetstream to accept the WebSocket upgrade" }),
  backoffBaseSeconds: numberVariable({ variable: "JETSTREAM_BACKOFF_BASE_SECONDS", part: "ingest", fallback: 1, min: 0.01, max: 60, integer: false, meaning: "first reconnect delay, doubled per failure, with jitter", doc: "first reconnect delay, doubled per consecutive failure, with jitter" }),
  backoffMaxSeconds: numberVariable({ variable: "JETSTREAM_BACKOFF_MAX_SECONDS", part: "ingest", fallback: 60, min: 0.01, max: 3600, integer: false, meaning: "longest reconnect delay", doc: "longest reconnect delay (at least the base)" }),
  healthySeconds: numberVariable({ variable: "JETSTREAM_HEALTHY_SECONDS", part: "ingest", fallback: 30, min: 1, max: 3600, integer: false, meaning: "a connection up this long resets the backoff", doc: "a connection that stayed up this long resets the backoff" }),
  failoverAfter: numberVariable({ variable: "JETSTREAM_FAILOVER_AFTER", part: "ingest", fallback: 2, min: 1, max: 100, integer: true, meaning: "consecutive failures on one endpoint before trying the next", doc: "consecutive failures on one endpoint before moving to the next of `JETSTREAM_URL`" }),
  failoverRewindSeconds: numberVariable({ variable: "JETSTREAM_FAILOVER_REWIND_SECONDS", part: "ingest", fallback: 10, min: 0, max: 3600, integer: false, meaning: "cursor rewind when switching endpoints", doc: "cursor rewind when switching endpoints (instances stamp `time_us` differently)" }),
  maxRewindSeconds: numberVariable({ variable: "JETSTREAM_MAX_REWIND_SECONDS", part: "ingest", fallback: 3600, min: 0, max: 172_800, integer: false, meaning: "on start, resume at most this far behind the saved cursor", doc: "on start, resume at most this far behind the saved cursor" }),
  gapThresholdSeconds: numberVariable({ variable: "JETSTREAM_GAP_THRESHOLD_SECONDS", part: "ingest", fallback: 60, min: 1, max: 86_400, integer: false, meaning: "first event after a resume later than the cursor by more than this is a gap", doc: "a resume whose first event is this much later than the cursor is recorded as a gap" }),
  flushMs: numberVariable({ variable: "JETSTREAM_FLUSH_MS", part: "ingest", fallback: 0, min: 0, max: 10_000, integer: true, meaning: "longest wait before a partly filled queue message is sent (0: group commit)", doc: "`0`: group commit — a queue message leaves as soon as the previous send resolved, with whatever waits, partly filled ones spaced by `JETSTREAM_SEND_SPACING_MS` (low latency; packing grows with the load). Above 0: a partly filled message waits up to this long for more events (the earlier rule: fewer queue messages at low rates, more latency)" }),
  sendSpacingMs: numberVariable({ variable: "JETSTREAM_SEND_SPACING_MS", part: "ingest", fallback: 200, min: 0, max: 10_000, integer: true, meaning: "with group commit, partly filled queue messages leave at most this often", doc: "with group commit (`JETSTREAM_FLUSH_MS=0`): a partly filled queue message leaves at most once per this long (full ones at once; an event after a quiet spell at once), so that messages fill with the load — 200 ms keeps the queue bill of the earlier 200 ms flush at every rate ([cost](cost.md)); `100` halves the wait at low rates for up to twice the queue operations; `0`: as soon as the previous send resolved, however small" }),
  maxEventsPerMessage: numberVariable({ variable: "JETSTREAM_MAX_EVENTS_PER_MESSAGE", part: "ingest", fallback: 1000, min: 1, max: 1000, integer: true, meaning: "events per queue message at most (1 = one message per event)", doc: "events per queue message at most (messages also stay under ~120 KB, which binds first by default); `1` = one message per event, as the original design did (the benchmark's baseline)" }),
  maxBufferedEvents: numberVariable({ variable: "JETSTREAM_MAX_BUFFERED_EVENTS", part: "ingest", fallback: 20_000, min: 100, max: 1_000_000, integer: true, meaning: "events waiting for the queue before reading pauses", doc: "events waiting for the queue before reading pauses" }),
  maxBufferedBytes: numberVariable({ variable: "JETSTREAM_MAX_BUFFERED_BYTES", part: "ingest", fallback: 16_000_000, min: 300_000, max: 64_000_000, integer: true, meaning: "bytes waiting for the queue before reading pauses", doc: "bytes waiting for the queue before reading pauses" }),
  sendFailuresBeforePause: numberVariable({ variable: "JETSTREAM_SEND_FAILURES_BEFORE_PAUSE", part: "ingest", fallback: 3, min: 1, max: 1000, integer: true, meaning: "consecutive failed attempts to enqueue before reading pauses", doc: "consecutive failed attempts to enqueue before reading pauses" }),
  healthDisconnectedSeconds: numberVariable({ variable: "HEALTH_DISCONNECTED_SECONDS", part: "ingest", fallback: 120, min: 1, max: 86_400, integer: false, meaning: "disconnected this long makes /health unhealthy", doc: "`/health` reports `disconnected` after this long without a connection" }),
  healthStaleSeconds: numberVariable({ variable: "HEALTH_STALE_SECONDS", part: "ingest", fallback: 300, min: 1, max: 86_400, integer: false, meaning: "no frame this long makes /health unhealthy", doc: "`/health` reports `stale` after this long without any frame" }),
  healthDeliverySeconds: numberVariable({ variable: "HEALTH_DELIVERY_SECONDS", part: "ingest", fallback: 300, min: 1, max: 86_400, integer: false, meaning: "failing delivery with events unacknowledged this long makes /health unhealthy", doc: "`/health` reports `delivery-failing` when delivery fails and an event waits longer than this" }),
};

/** Where and how the queue consumer delivers. */
export const DELIVERY_WEBHOOK = {
  webhookUrl: {
    variable: "WEBHOOK_URL",
    part: "delivery",
    required: "yes",
    shownDefault: "—",
    accepts: "an `http://` or `https://` URL",
    doc: "where events are POSTed",
    parse: parseWebhookUrl,
  },
  bearerToken: {
    variable: "WEBHOOK_BEARER_TOKEN",
    part: "delivery",
    required: "no",
    shownDefault: "—",
    accepts: "printable ASCII without spaces",
    doc: "sent as `Authorization: Bearer …`",
    parse: parseBearerToken,
  },
  signingKey: {
    variable: "WEBHOOK_SECRET",
    part: "delivery",
    required: "no",
    shownDefault: "— (unsigned)",
    accepts: "`whsec_` followed by base64",
    doc: "Standard Webhooks signing secret; when set every request is signed",
    parse: parseWebhookSecret,
  },
  eventFormat: {
    variable: "WEBHOOK_EVENT_FORMAT",
    part: "delivery",
    required: "no",
    shownDefault: "`as-received`",
    accepts: "`as-received` or `v1`",
    doc: "the body of each event. `as-received`: exactly as Jetstream sent it (on the v2 wire, the message's `payload` object). `v1`: v2 events as the legacy Jetstream JSON (`did`, `time_us`, `kind`, `commit{…}`), for receivers written for the legacy wire; legacy events go unchanged either way. The `webhook-id` is the same in both",
    parse: parseEventFormat,
  },
} satisfies Record<string, Variable>;

/** The delivery tuning variables. */
export const DELIVERY_TUNING = {
  batchSize: numberVariable({ variable: "WEBHOOK_BATCH_SIZE", part: "delivery", fallback: 1, min: 1, max: 100, integer: true, meaning: "events per webhook request (1 = one POST per event; more = batch mode, a JSON array)", doc: "events per webhook request; more than 1 turns on batch mode (a JSON array per request)" }),
  maxBatchBytes: numberVariable({ variable: "WEBHOOK_MAX_BATCH_BYTES", part: "delivery", fallback: 1_000_000, min: 1000, max: 100_000_000, integer: true, meaning: "batch mode: bytes of one request body at most (the events are split over several requests past it)", doc: "batch mode: a request body stays under this many bytes; the events of a batch are split over several requests past it (an event larger than the bound alone goes in a request of its own). Many receivers limit bodies, e.g. Express's `express.json()` to 100 KB by default: set `100000` for those" }),
  concurrency: numberVariable({ variable: "WEBHOOK_CONCURRENCY", part: "delivery", fallback: 6, min: 1, max: 100, integer: true, meaning: "repositories (DIDs) delivered in parallel (a Worker invocation keeps at most 6 connections open at once)", doc: "repositories (DIDs) delivered in parallel per queue batch. A Worker invocation keeps at most 6 connections waiting for an answer at once (Cloudflare's limit): more requests only queue inside the runtime, where their timeout already runs, so the default is 6" }),
  timeoutSeconds: numberVariable({ variable: "WEBHOOK_TIMEOUT_SECONDS", part: "delivery", fallback: 15, min: 0.1, max: 300, integer: false, meaning: "timeout of one webhook request", doc: "timeout of one webhook request (a timeout is retried); Standard Webhooks recommends 15 to 30 s" }),
  maxAttempts: numberVariable({ variable: "WEBHOOK_MAX_ATTEMPTS", part: "delivery", fallback: 10, min: 1, max: 100, integer: true, meaning: "delivery attempts per event before it is dead-lettered", doc: "delivery attempts per event before it is dead-lettered" }),
  maxRequestsPerBatch: numberVariable({ variable: "WEBHOOK_MAX_REQUESTS_PER_BATCH", part: "delivery", fallback: 1000, min: 1, max: 10_000, integer: true, meaning: "webhook requests per queue batch; keep it below your plan's subrequests per invocation (Paid 10,000, Free 50) with ~10 to spare", doc: "webhook requests one queue batch starts at most; the rest of its events go on at once in a follow-up message (no attempt counted). Each request is a subrequest, which Cloudflare limits per invocation (Workers Paid 10,000, Workers Free 50): keep it ~10 below yours, e.g. `40` on the Free plan" }),
  retryBaseSeconds: numberVariable({ variable: "WEBHOOK_RETRY_BASE_SECONDS", part: "delivery", fallback: 5, min: 1, max: 3600, integer: true, meaning: "first retry delay, doubled per attempt, with jitter", doc: "first retry delay, doubled per attempt with jitter" }),
  retryMaxSeconds: numberVariable({ variable: "WEBHOOK_RETRY_MAX_SECONDS", part: "delivery", fallback: 900, min: 1, max: 43200, integer: true, meaning: "longest retry delay", doc: "longest retry delay, at least the base (a longer `Retry-After` is still honoured, up to 12 h)" }),
  deadLetterMaxEvents: numberVariable({ variable: "DEAD_LETTER_MAX_EVENTS", part: "delivery", fallback: 100_000, min: 1, max: 1_000_000, integer: true, meaning: "bound of the dead-letter store; past it the oldest are evicted and counted", doc: "bound of the dead-letter store; past it the oldest entries are evicted and counted" }),
  deadLetterMaxBytes: numberVariable({ variable: "DEAD_LETTER_MAX_BYTES", part: "delivery", fallback: 1_000_000_000, min: 10_000_000, max: 9_000_000_000, integer: true, meaning: "bound of the dead-letter store's event texts in bytes; past it the oldest are evicted and counted", doc: "bound of the dead-letter store's event texts in bytes (a Durable Object holds at most 10 GB); past it the oldest entries are evicted and counted" }),
};

/** Time travel's variables. */
export const REPLAY_TUNING = {
  retentionHours: numberVariable({ variable: "JETSTREAM_RETENTION_HOURS", part: "replay", fallback: 24, min: 0.001, max: 720, integer: false, meaning: "how far back the Jetstream server keeps events; older replay requests are refused", doc: 'how far back the Jetstream server keeps events; an older replay start is refused ([incident response](incident-response.md))' }),
  idleSeconds: numberVariable({ variable: "JETSTREAM_REPLAY_IDLE_SECONDS", part: "replay", fallback: 10, min: 0.1, max: 3600, integer: false, meaning: "a replay connection silent this long is renewed from its position; a renewed one that brings nothing ends the replay", doc: "a replay connection quiet this long is renewed from its position, or ends a replay whose window is past" }),
};

/** An admin token shorter than this is a configuration problem (and is not used). */
export const MIN_ADMIN_TOKEN_LENGTH = 32;

/** The cost estimate's variables (worker/cost/): which plan's prices, and a budget to warn past. */
export const COST_ESTIMATE = {
  plan: {
    variable: "CLOUDFLARE_PLAN",
    part: "cost",
    required: "no",
    shownDefault: "`paid`",
    accepts: "`paid` or `free`",
    doc: "the Workers plan the cost estimate prices (`/stats` `cost`, [cost](cost.md)): `paid` (Workers Paid, $5 a month with allowances) or `free` (daily allowances, past which operations fail)",
    parse(raw: unknown): Reading<"paid" | "free"> {
      const text = isUnset(raw) ? "paid" : String(raw).trim().toLowerCase();
      if (text === "paid" || text === "free") return { value: text };
      return { wrong: `CLOUDFLARE_PLAN is ${JSON.stringify(String(raw).slice(0, 40))}, neither paid nor free`, fix: "Set CLOUDFLARE_PLAN to paid or free (or remove it: the default is paid)." };
    },
  },
  budgetUsdPerMonth: {
    variable: "COST_BUDGET_USD_PER_MONTH",
    part: "cost",
    required: "no",
    shownDefault: "— (no budget)",
    accepts: "a number of US dollars, 0–1,000,000",
    doc: "warn (`/status`, `/health` notes, `stats`) when the projected month at the last hour's rates costs more than this",
    parse(raw: unknown): Reading<number | null> {
      if (isUnset(raw)) return { value: null };
      const text = String(raw).trim().replace(/^\$/, "");
      const n = Number(text);
      if (text !== "" && Number.isFinite(n) && n >= 0 && n <= 1_000_000) return { value: n };
      return { wrong: `COST_BUDGET_USD_PER_MONTH is ${JSON.stringify(String(raw).slice(0, 40))}, not a number of dollars from 0 to 1,000,000`, fix: "Set COST_BUDGET_USD_PER_MONTH to a monthly budget in US dollars, e.g. 10, or remove it." };
    },
  },
} satisfies Record<string, Variable>;

const TRUE = ["true", "1", "yes"];
const FALSE = ["false", "0", "no"];

/** Who may call the HTTP routes. */
export const HTTP_ACCESS = {
  adminToken: {
    variable: "ADMIN_TOKEN",
    part: "http",
    required: "for control",
    shownDefault: "— (control routes refuse)",
    accepts: `text of at least ${MIN_ADMIN_TOKEN_LENGTH} characters`,
    doc: `bearer token the control endpoints require (\`jetstream-relay init\` generates one); a shorter one is not used. After ${LOGIN_FAILURES_ALLOWED} wrong tokens within ${LOGIN_WINDOW_MS / 60_000} minutes a client (by \`CF-Connecting-IP\`) gets 429 until the ${LOGIN_WINDOW_MS / 60_000} minutes are over ([HTTP API](http-api.md))`,
    stops: "it is not used: the control routes (and protected read routes) refuse until it is fixed",
    parse(raw: unknown) {
      if (typeof raw !== "string" || raw === "") return { value: null };
      // Its length only, never its value: problems are shown on the public /health.
      if (raw.length < MIN_ADMIN_TOKEN_LENGTH) {
        return {
          wrong: `ADMIN_TOKEN is shorter than ${MIN_ADMIN_TOKEN_LENGTH} characters, too easy to guess`,
          fix: "Set a long random token, e.g. `openssl rand -base64 32 | npx wrangler secret put ADMIN_TOKEN` (`jetstream-relay init` generates one; locally: ADMIN_TOKEN in .dev.vars).",
        };
      }
      return { value: raw };
    },
  },
  protectReadRoutes: {
    variable: "PROTECT_READ_ROUTES",
    part: "http",
    required: "no",
    shownDefault: "`false`",
    accepts: "`true` or `false` (also `1`/`0`, `yes`/`no`)",
    doc: "`true`: the read routes (`/stats`, `/stats/html`, `/status`, `/metrics`, `GET /replay`) need the admin token too; `/` and `/health` stay open",
    parse(raw: unknown) {
      const text = isUnset(raw) ? "false" : String(raw).trim().toLowerCase();
      if (TRUE.includes(text)) return { value: true };
      if (FALSE.includes(text)) return { value: false };
      return {
        wrong: `PROTECT_READ_ROUTES is ${JSON.stringify(String(raw))}, which is neither true nor false`,
        fix: "Set PROTECT_READ_ROUTES to true or false (or remove it: the default is false).",
      };
    },
  },
} satisfies Record<string, Variable>;

/** Every variable, in the order of docs/configuration.md. */
export const VARIABLES: readonly Variable[] = [
  DELIVERY_WEBHOOK.webhookUrl,
  INGEST_FILTER.collections,
  DELIVERY_WEBHOOK.bearerToken,
  DELIVERY_WEBHOOK.signingKey,
  HTTP_ACCESS.adminToken,
  INGEST_FILTER.endpoints,
  INGEST_FILTER.dids,
  INGEST_FILTER.kinds,
  DELIVERY_WEBHOOK.eventFormat,
  ...Object.values(DELIVERY_TUNING),
  HTTP_ACCESS.protectReadRoutes,
  ...Object.values(INGEST_TUNING),
  ...Object.values(REPLAY_TUNING),
  ...Object.values(COST_ESTIMATE),
];

/** Every variable's name. */
export const VARIABLE_NAMES: readonly string[] = VARIABLES.map((v) => v.variable);
