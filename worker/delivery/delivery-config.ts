import type { ConfigProblem, WorkerVars } from "../api-types.ts";
import { parseTuning, type Tuning } from "../tuning.ts";

/** The validated settings of webhook delivery. */
export interface DeliveryConfig {
  webhookUrl: string;
  /** HMAC key: the base64-decoded part of `WEBHOOK_SECRET` after `whsec_`; null = requests are not signed. */
  signingKey: Uint8Array | null;
  bearerToken: string | null;
  /** Events per webhook request: 1 = one POST per event (the default), more = batch mode (a JSON array). */
  batchSize: number;
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
  /**
   * Webhook requests one queue batch starts at most; the rest of its events go on at once in a follow-up
   * message. Each request is a subrequest, and Cloudflare limits those per invocation (Workers Paid
   * 10,000, Free 50): past the limit every call fails, including the follow-up send itself.
   */
  maxRequestsPerBatch: number;
}

export const TUNING = {
  batchSize: { variable: "WEBHOOK_BATCH_SIZE", fallback: 1, min: 1, max: 100, integer: true, meaning: "events per webhook request (1 = one POST per event; more = batch mode, a JSON array)" },
  concurrency: { variable: "WEBHOOK_CONCURRENCY", fallback: 10, min: 1, max: 100, integer: true, meaning: "repositories (DIDs) delivered in parallel" },
  timeoutSeconds: { variable: "WEBHOOK_TIMEOUT_SECONDS", fallback: 10, min: 0.1, max: 300, integer: false, meaning: "timeout of one webhook request" },
  maxAttempts: { variable: "WEBHOOK_MAX_ATTEMPTS", fallback: 10, min: 1, max: 100, integer: true, meaning: "delivery attempts per event before it is dead-lettered" },
  retryBaseSeconds: { variable: "WEBHOOK_RETRY_BASE_SECONDS", fallback: 5, min: 1, max: 3600, integer: true, meaning: "first retry delay, doubled per attempt, with jitter" },
  retryMaxSeconds: { variable: "WEBHOOK_RETRY_MAX_SECONDS", fallback: 900, min: 1, max: 43200, integer: true, meaning: "longest retry delay" },
  maxRequestsPerBatch: { variable: "WEBHOOK_MAX_REQUESTS_PER_BATCH", fallback: 1000, min: 1, max: 10_000, integer: true, meaning: "webhook requests per queue batch; keep it below your plan's subrequests per invocation (Paid 10,000, Free 50) with ~10 to spare" },
  deadLetterMaxEvents: { variable: "DEAD_LETTER_MAX_EVENTS", fallback: 100_000, min: 1, max: 1_000_000, integer: true, meaning: "bound of the dead-letter store; past it the oldest are evicted and counted" },
} satisfies Record<string, Tuning>;

const SECRET_PATTERN = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

/**
 * Validates the delivery variables. `config` is null when the webhook cannot be called correctly
 * (URL missing or invalid, secret or token malformed); a bad tuning value is reported and its
 * default used.
 */
export function parseDeliveryConfig(env: WorkerVars): { config: DeliveryConfig | null; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const webhookUrl = parseWebhookUrl(env.WEBHOOK_URL, problems);
  const signingKey = parseSecret(env.WEBHOOK_SECRET, problems);
  const bearerToken = parseBearerToken(env.WEBHOOK_BEARER_TOKEN, problems);
  const tuning = (t: Tuning) => parseTuning(env[t.variable], t, problems, `; using the default ${t.fallback}`);

  const retryBaseSeconds = tuning(TUNING.retryBaseSeconds);
  let retryMaxSeconds = tuning(TUNING.retryMaxSeconds);
  if (retryMaxSeconds < retryBaseSeconds) {
    problems.push({
      variable: TUNING.retryMaxSeconds.variable,
      message: `WEBHOOK_RETRY_MAX_SECONDS (${retryMaxSeconds}) is below WEBHOOK_RETRY_BASE_SECONDS (${retryBaseSeconds}); using ${retryBaseSeconds}.`,
      fix: "Set WEBHOOK_RETRY_MAX_SECONDS to at least WEBHOOK_RETRY_BASE_SECONDS.",
    });
    retryMaxSeconds = retryBaseSeconds;
  }
  const settings = {
    batchSize: tuning(TUNING.batchSize),
    concurrency: tuning(TUNING.concurrency),
    timeoutMs: Math.round(tuning(TUNING.timeoutSeconds) * 1000),
    maxAttempts: tuning(TUNING.maxAttempts),
    retryBaseSeconds,
    retryMaxSeconds,
    deadLetterMaxEvents: tuning(TUNING.deadLetterMaxEvents),
    maxRequestsPerBatch: tuning(TUNING.maxRequestsPerBatch),
  };
  if (webhookUrl === null || signingKey === undefined || bearerToken === undefined) return { config: null, problems };
  return { config: { webhookUrl, signingKey, bearerToken, ...settings }, problems };
}

/** The dead-letter bound alone (the store needs nothing else); invalid values fall back to the default. */
export function deadLetterMaxEvents(env: WorkerVars): number {
  return parseTuning(env[TUNING.deadLetterMaxEvents.variable], TUNING.deadLetterMaxEvents, []);
}

function present(value: unknown): value is string | number {
  return (typeof value === "string" && value.trim() !== "") || typeof value === "number";
}

function parseWebhookUrl(value: unknown, problems: ConfigProblem[]): string | null {
  if (!present(value)) {
    problems.push({
      variable: "WEBHOOK_URL",
      message: "WEBHOOK_URL is not set: there is nowhere to deliver events (they are kept in the queue meanwhile).",
      fix: "Set WEBHOOK_URL to your endpoint, e.g. `wrangler secret put WEBHOOK_URL` with https://example.com/hook.",
    });
    return null;
  }
  const text = String(value).trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    problems.push({
      variable: "WEBHOOK_URL",
      message: "WEBHOOK_URL is not a valid absolute URL (events are kept in the queue meanwhile).",
      fix: "Set WEBHOOK_URL to a full URL such as https://example.com/hook.",
    });
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    problems.push({
      variable: "WEBHOOK_URL",
      message: `WEBHOOK_URL must use http or https, not ${url.protocol.replace(":", "")} (events are kept in the queue meanwhile).`,
      fix: "Set WEBHOOK_URL to an http:// or https:// URL.",
    });
    return null;
  }
  return url.href;
}

/** The HMAC key; null when unset; undefined when set but malformed. */
function parseSecret(value: unknown, problems: ConfigProblem[]): Uint8Array | null | undefined {
  if (!present(value)) return null;
  const match = SECRET_PATTERN.exec(String(value).trim());
  let key: Uint8Array | undefined;
  if (match) {
    try {
      key = Uint8Array.from(atob(match[1]), (c) => c.charCodeAt(0));
    } catch {
      key = undefined;
    }
  }
  if (!key || key.length === 0) {
    problems.push({
      variable: "WEBHOOK_SECRET",
      message: "WEBHOOK_SECRET is not a Standard Webhooks secret (`whsec_` followed by base64); nothing is delivered unsigned meanwhile.",
      fix: "Set WEBHOOK_SECRET to `whsec_` + base64 of 24 to 64 random bytes, e.g. `whsec_$(openssl rand -base64 32)`.",
    });
    return undefined;
  }
  return key;
}

/** The token; null when unset; undefined when it cannot be sent in a header. */
function parseBearerToken(value: unknown, problems: ConfigProblem[]): string | null | undefined {
  if (!present(value)) return null;
  const token = String(value).trim();
  if (!/^[\x21-\x7e]+$/.test(token)) {
    problems.push({
      variable: "WEBHOOK_BEARER_TOKEN",
      message: "WEBHOOK_BEARER_TOKEN contains spaces or characters that cannot be sent in an HTTP header; nothing is delivered meanwhile.",
      fix: "Use a token of printable ASCII characters without spaces.",
    });
    return undefined;
  }
  return token;
}

