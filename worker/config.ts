import type { ConfigProblem, WorkerVars, PublicConfig } from "./api-types.ts";
import { parseDeliveryConfig } from "./delivery/delivery-config.ts";
import type { BackoffSettings } from "./backoff.ts";
import { parseTuning, type Tuning } from "./tuning.ts";
import type { EventKind } from "./ingest/event.ts";
import { isValidDid, MAX_WANTED_COLLECTIONS, MAX_WANTED_DIDS, parseWantedCollections, type CollectionPattern } from "./ingest/identifiers.ts";

/**
 * The ingestion configuration, parsed and validated from the worker's variables. Pure. Any problem
 * (here or in delivery's variables) is reported with what is wrong and how to fix it, and the relay then
 * refuses to run rather than guess: there is no silent fallback for an invalid value.
 */

export const DEFAULT_ENDPOINTS = [
  "wss://jetstream1.us-east.bsky.network/subscribe",
  "wss://jetstream2.us-east.bsky.network/subscribe",
  "wss://jetstream1.us-west.bsky.network/subscribe",
  "wss://jetstream2.us-west.bsky.network/subscribe",
];

const KINDS: readonly EventKind[] = ["commit", "identity", "account"];

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
  /** Longest wait before a partly filled queue message is sent. */
  flushMs: number;
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

export interface RelayConfig {
  collections: string[];
  patterns: CollectionPattern[];
  dids: string[];
  kinds: EventKind[];
  endpoints: string[];
  settings: IngestSettings;
  public: PublicConfig;
}

/** The ingestion tuning variables (each documented in the README with its default). */
export const INGEST_TUNING = {
  alarmSeconds: { variable: "JETSTREAM_ALARM_SECONDS", fallback: 5, min: 1, max: 60, integer: false, meaning: "heartbeat/watchdog period; state is persisted this often" },
  stallSeconds: { variable: "JETSTREAM_STALL_SECONDS", fallback: 60, min: 1, max: 3600, integer: false, meaning: "a socket silent this long is replaced" },
  backoffBaseSeconds: { variable: "JETSTREAM_BACKOFF_BASE_SECONDS", fallback: 1, min: 0.01, max: 60, integer: false, meaning: "first reconnect delay, doubled per failure, with jitter" },
  backoffMaxSeconds: { variable: "JETSTREAM_BACKOFF_MAX_SECONDS", fallback: 60, min: 0.01, max: 3600, integer: false, meaning: "longest reconnect delay" },
  healthySeconds: { variable: "JETSTREAM_HEALTHY_SECONDS", fallback: 30, min: 1, max: 3600, integer: false, meaning: "a connection up this long resets the backoff" },
  failoverAfter: { variable: "JETSTREAM_FAILOVER_AFTER", fallback: 2, min: 1, max: 100, integer: true, meaning: "consecutive failures on one endpoint before trying the next" },
  failoverRewindSeconds: { variable: "JETSTREAM_FAILOVER_REWIND_SECONDS", fallback: 10, min: 0, max: 3600, integer: false, meaning: "cursor rewind when switching endpoints" },
  maxRewindSeconds: { variable: "JETSTREAM_MAX_REWIND_SECONDS", fallback: 3600, min: 0, max: 172_800, integer: false, meaning: "on start, resume at most this far behind the saved cursor" },
  gapThresholdSeconds: { variable: "JETSTREAM_GAP_THRESHOLD_SECONDS", fallback: 60, min: 1, max: 86_400, integer: false, meaning: "first event after a resume later than the cursor by more than this is a gap" },
  flushMs: { variable: "JETSTREAM_FLUSH_MS", fallback: 200, min: 1, max: 10_000, integer: true, meaning: "longest wait before a partly filled queue message is sent" },
  maxEventsPerMessage: { variable: "JETSTREAM_MAX_EVENTS_PER_MESSAGE", fallback: 1000, min: 1, max: 1000, integer: true, meaning: "events per queue message at most (1 = one message per event)" },
  maxBufferedEvents: { variable: "JETSTREAM_MAX_BUFFERED_EVENTS", fallback: 20_000, min: 100, max: 1_000_000, integer: true, meaning: "events waiting for the queue before reading pauses" },
  maxBufferedBytes: { variable: "JETSTREAM_MAX_BUFFERED_BYTES", fallback: 16_000_000, min: 300_000, max: 64_000_000, integer: true, meaning: "bytes waiting for the queue before reading pauses" },
  sendFailuresBeforePause: { variable: "JETSTREAM_SEND_FAILURES_BEFORE_PAUSE", fallback: 3, min: 1, max: 1000, integer: true, meaning: "consecutive failed attempts to enqueue before reading pauses" },
  connectTimeoutSeconds: { variable: "JETSTREAM_CONNECT_TIMEOUT_SECONDS", fallback: 15, min: 1, max: 120, integer: false, meaning: "longest wait for the server to accept the upgrade" },
  healthDisconnectedSeconds: { variable: "HEALTH_DISCONNECTED_SECONDS", fallback: 120, min: 1, max: 86_400, integer: false, meaning: "disconnected this long makes /health unhealthy" },
  healthStaleSeconds: { variable: "HEALTH_STALE_SECONDS", fallback: 300, min: 1, max: 86_400, integer: false, meaning: "no frame this long makes /health unhealthy" },
  healthDeliverySeconds: { variable: "HEALTH_DELIVERY_SECONDS", fallback: 300, min: 1, max: 86_400, integer: false, meaning: "failing delivery with events unacknowledged this long makes /health unhealthy" },
} satisfies Record<string, Tuning>;

export function parseRelayConfig(env: WorkerVars): { config: RelayConfig | null; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const delivery = parseDeliveryConfig(env);
  problems.push(...delivery.problems);

  const collections = parseCollections(env.JETSTREAM_COLLECTIONS, problems);
  const dids = parseDids(env.JETSTREAM_DIDS, problems);
  const kinds = parseKinds(env.JETSTREAM_KINDS, problems);
  const endpoints = parseEndpoints(env.JETSTREAM_URL, problems);
  const n = (t: Tuning) => parseTuning(env[t.variable], t, problems);
  const T = INGEST_TUNING;
  const ms = (t: Tuning) => Math.round(n(t) * 1000);
  const settings: IngestSettings = {
    alarmMs: ms(T.alarmSeconds),
    stallMs: ms(T.stallSeconds),
    backoff: {
      baseMs: ms(T.backoffBaseSeconds),
      maxMs: ms(T.backoffMaxSeconds),
      healthyAfterMs: ms(T.healthySeconds),
      failoverAfter: n(T.failoverAfter),
    },
    failoverRewindUs: Math.round(n(T.failoverRewindSeconds) * 1e6),
    maxRewindUs: Math.round(n(T.maxRewindSeconds) * 1e6),
    gapThresholdUs: Math.round(n(T.gapThresholdSeconds) * 1e6),
    flushMs: n(T.flushMs),
    maxEventsPerMessage: n(T.maxEventsPerMessage),
    maxBufferedEvents: n(T.maxBufferedEvents),
    maxBufferedBytes: n(T.maxBufferedBytes),
    sendFailuresBeforePause: n(T.sendFailuresBeforePause),
    connectTimeoutMs: ms(T.connectTimeoutSeconds),
    healthDisconnectedMs: ms(T.healthDisconnectedSeconds),
    healthStaleMs: ms(T.healthStaleSeconds),
    healthDeliveryMs: ms(T.healthDeliverySeconds),
  };
  if (settings.backoff.maxMs < settings.backoff.baseMs) {
    problems.push({
      variable: T.backoffMaxSeconds.variable,
      message: `${T.backoffMaxSeconds.variable} is below ${T.backoffBaseSeconds.variable}.`,
      fix: `Set ${T.backoffMaxSeconds.variable} to at least ${T.backoffBaseSeconds.variable}, or unset both.`,
    });
  }

  if (problems.length > 0 || !delivery.config || !collections || !dids || !kinds || !endpoints) return { config: null, problems };
  return {
    problems,
    config: {
      collections: collections.names,
      patterns: collections.patterns,
      dids,
      kinds,
      endpoints,
      settings,
      public: {
        webhookUrl: redactUrl(delivery.config.webhookUrl),
        collections: collections.names,
        dids: dids.length,
        kinds,
        endpoints,
        batchMode: delivery.config.batchSize > 1,
        webhookSigned: delivery.config.signingKey !== null,
        webhookBearer: delivery.config.bearerToken !== null,
        adminTokenSet: typeof env.ADMIN_TOKEN === "string" && env.ADMIN_TOKEN !== "",
      },
    },
  };
}

/** Credentials in a URL (user:pass@ or a query string) are not shown. */
function redactUrl(href: string): string {
  const url = new URL(href);
  if (url.username || url.password) {
    url.username = "***";
    url.password = "";
  }
  if (url.search) url.search = "?…";
  return url.href;
}

function list(value: unknown): string[] | null {
  if (value === undefined || value === null) return null;
  const text = String(value).trim();
  if (text === "") return null;
  return text.split(",").map((s) => s.trim());
}

const PREFIX_SEGMENT = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

function parseCollections(value: unknown, problems: ConfigProblem[]): { names: string[]; patterns: CollectionPattern[] } | null {
  const variable = "JETSTREAM_COLLECTIONS";
  const example = "e.g. app.bsky.feed.post,app.bsky.graph.*";
  const items = list(value);
  if (!items) {
    problems.push({ variable, message: "JETSTREAM_COLLECTIONS is not set: the relay does not know which collections to forward.", fix: `Set it to a comma-separated list of NSIDs or prefixes, ${example}.` });
    return null;
  }
  const bad: string[] = [];
  for (const item of items) {
    if (item === "*") {
      problems.push({ variable, message: "`*` is rejected by Jetstream (HTTP 400): it is not a collection.", fix: `List the collections or prefixes you want, ${example}.` });
      return null;
    }
    if (item === "") bad.push("(empty entry)");
    // Stricter than the server for prefixes (it takes anything ending in `.*`): each part must look like an NSID segment.
    else if (item.endsWith(".*") && !item.slice(0, -2).split(".").every((s) => PREFIX_SEGMENT.test(s))) bad.push(item);
  }
  const parsed = parseWantedCollections(items.filter((i) => i !== ""));
  if ("error" in parsed && parsed.error.startsWith("invalid collection: ")) bad.push(parsed.error.slice("invalid collection: ".length));
  if (bad.length > 0) {
    problems.push({
      variable,
      message: `Not a valid collection NSID or prefix: ${[...new Set(bad)].slice(0, 5).join(", ")}.`,
      fix: `Use full NSIDs (at least three dot-separated parts, letters/digits/hyphens) or prefixes ending in .*, ${example}.`,
    });
    return null;
  }
  if ("error" in parsed) {
    problems.push({ variable, message: `Too many collections: Jetstream accepts at most ${MAX_WANTED_COLLECTIONS}.`, fix: "Use prefixes (app.bsky.feed.*) to cover several collections, or run several relays with disjoint filters." });
    return null;
  }
  return { names: [...new Set(items)], patterns: parsed.patterns };
}

function parseDids(value: unknown, problems: ConfigProblem[]): string[] | null {
  const variable = "JETSTREAM_DIDS";
  const items = list(value);
  if (!items) return [];
  const bad = items.filter((d) => !isValidDid(d));
  if (bad.length > 0) {
    problems.push({ variable, message: `Not a valid DID: ${bad.slice(0, 5).map((d) => d || "(empty entry)").join(", ")}${bad.length > 5 ? ` and ${bad.length - 5} more` : ""}.`, fix: "Use comma-separated DIDs such as did:plc:abc123 or did:web:example.com, or unset JETSTREAM_DIDS." });
    return null;
  }
  const unique = [...new Set(items)];
  if (unique.length > MAX_WANTED_DIDS) {
    problems.push({ variable, message: `Too many DIDs (${unique.length}): Jetstream accepts at most ${MAX_WANTED_DIDS}.`, fix: "Filter on fewer repositories, or run several relays with disjoint DID lists." });
    return null;
  }
  return unique;
}

function parseKinds(value: unknown, problems: ConfigProblem[]): EventKind[] | null {
  const items = list(value);
  if (!items) return ["commit"];
  const bad = items.filter((k) => !KINDS.includes(k as EventKind));
  if (bad.length > 0) {
    problems.push({ variable: "JETSTREAM_KINDS", message: `Unknown event kind: ${bad.map((k) => k || "(empty entry)").join(", ")}.`, fix: "Use any of commit, identity, account (comma-separated), or unset it for commit only." });
    return null;
  }
  return [...new Set(items as EventKind[])];
}

function parseEndpoints(value: unknown, problems: ConfigProblem[]): string[] | null {
  const items = list(value);
  if (!items) return DEFAULT_ENDPOINTS;
  const endpoints: string[] = [];
  for (const item of items) {
    let url: URL | null = null;
    try {
      url = new URL(item);
    } catch {
      url = null;
    }
    if (!url || (url.protocol !== "ws:" && url.protocol !== "wss:") || url.search !== "" || url.hash !== "") {
      problems.push({
        variable: "JETSTREAM_URL",
        message: `Not a Jetstream endpoint: "${item.slice(0, 200) || "(empty entry)"}" (expected ws:// or wss://…/subscribe without query string).`,
        fix: "Set JETSTREAM_URL to comma-separated wss://HOST/subscribe URLs, or unset it for the public Bluesky instances.",
      });
      return null;
    }
    endpoints.push(url.href);
  }
  return [...new Set(endpoints)];
}
