// What a webhook answer (or the lack of one) means for the event: acknowledged, worth retrying,
// permanently refused, or (410 Gone) a sign to stop sending at all.
import { scrubUrl } from "../config/redact.ts";
import { errorMessage } from "../errors.ts";
import { MAX_DELAY_SECONDS } from "../queue/limits.ts";

/**
 * `reason` is shown on the public statistics (lastError); `detail`, the start of the webhook's answer,
 * only where the admin token is needed (the dead letter's error): a receiver's error page may quote the
 * request, its URL or its headers.
 */
export type Outcome =
  | { kind: "ack" }
  | { kind: "retry"; reason: string; detail?: string; retryAfterSeconds?: number }
  | { kind: "permanent"; reason: string; detail?: string }
  /** 410 Gone: the receiver wants nothing more from this sender (Standard Webhooks): delivery pauses. */
  | { kind: "gone"; reason: string };

/** The reason with the webhook's answer: for the dead letter (admin routes) only. */
export function fullReason(outcome: { reason: string; detail?: string }): string {
  return outcome.detail ? `${outcome.reason}: ${outcome.detail}` : outcome.reason;
}

/** The delay of a retry: the backoff, or the webhook's `Retry-After` when that is longer. */
export function retryDelaySeconds(backoff: number, retryAfterSeconds: number | undefined): number {
  return Math.min(MAX_DELAY_SECONDS, Math.max(backoff, retryAfterSeconds ?? 0));
}

export function classifyResponse(status: number, retryAfter: string | null, detail: string, nowMs: number): Outcome {
  if (status >= 200 && status < 300) return { kind: "ack" };
  const reason = `webhook answered HTTP ${status}`;
  const withDetail = detail ? { detail } : {};
  if (status >= 500 || status === 408 || status === 429) {
    const seconds = parseRetryAfter(retryAfter, nowMs);
    return seconds === undefined ? { kind: "retry", reason, ...withDetail } : { kind: "retry", reason, ...withDetail, retryAfterSeconds: seconds };
  }
  if (status === 410) return { kind: "gone", reason: `${reason} (Gone: the receiver asks to stop sending; delivery is paused, the events wait)` };
  if (status >= 300 && status < 400) return { kind: "permanent", reason: `${reason} (redirects are not followed; set WEBHOOK_URL to the final URL)`, ...withDetail };
  return { kind: "permanent", reason, ...withDetail };
}

/** A request that got no answer. The URL is kept out of the reason (whole or in part): it may carry a token and reasons are shown. */
export function classifyFailure(error: unknown, timeoutMs: number, webhookUrl: string): Outcome {
  const name = error instanceof Error ? error.name : "";
  if (name === "TimeoutError" || name === "AbortError") return { kind: "retry", reason: `webhook did not answer within ${timeoutMs} ms` };
  const message = scrubUrl(errorMessage(error), webhookUrl, "WEBHOOK_URL");
  return { kind: "retry", reason: `webhook request failed: ${message}` };
}

/** `Retry-After` as seconds from now: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text), MAX_DELAY_SECONDS);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.min(Math.max(0, Math.ceil((date - nowMs) / 1000)), MAX_DELAY_SECONDS);
}
