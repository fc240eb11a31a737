// While the webhook has answered 410 Gone, nothing is sent: the events of each batch go round the queue
// again (follow-up messages, no attempt counted, nothing dead-lettered) until delivery is resumed.
import type { DeliveryPause } from "../api-types.ts";
import type { DeliveryConfig } from "./delivery-config.ts";

/**
 * How long held events wait before they come round again: a tenth of the time paused so far, between
 * WEBHOOK_RETRY_BASE_SECONDS and WEBHOOK_RETRY_MAX_SECONDS. Short pauses end quickly after a resume; a
 * long one costs few queue operations (each round re-enqueues the backlog).
 */
export function holdSeconds(pausedForMs: number, config: Pick<DeliveryConfig, "retryBaseSeconds" | "retryMaxSeconds">): number {
  return Math.min(config.retryMaxSeconds, Math.max(config.retryBaseSeconds, Math.round(pausedForMs / 10_000)));
}

/** The follow-up group of held events (a RetryGroup of batch-delivery.ts): no attempt counted, the hold as their delay. */
export function holdGroup(pause: DeliveryPause | null, nowMs: number, config: Pick<DeliveryConfig, "retryBaseSeconds" | "retryMaxSeconds">): { attempts: 0; retryAfterSeconds: number } {
  const since = pause ? Date.parse(pause.since) : nowMs;
  return { attempts: 0, retryAfterSeconds: holdSeconds(Math.max(0, nowMs - (Number.isNaN(since) ? nowMs : since)), config) };
}
