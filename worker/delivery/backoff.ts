import { MAX_DELAY_SECONDS } from "../queue/limits.ts";

/**
 * Delay before attempt `attempts + 1`, after `attempts` failed ones (≥ 1): exponential from `baseSeconds`,
 * capped at `maxSeconds`, with "equal jitter" (between half and all of it) so that retries spread out.
 */
export function backoffSeconds(attempts: number, baseSeconds: number, maxSeconds: number, random: () => number): number {
  const exponential = Math.min(maxSeconds, baseSeconds * 2 ** Math.min(Math.max(attempts - 1, 0), 30));
  return Math.max(1, Math.ceil(exponential / 2 + (random() * exponential) / 2));
}

/** The delay of a retry: the backoff, or the webhook's `Retry-After` when that is longer. */
export function retryDelaySeconds(backoff: number, retryAfterSeconds: number | undefined): number {
  return Math.min(MAX_DELAY_SECONDS, Math.max(backoff, retryAfterSeconds ?? 0));
}
