/**
 * The bench's measured figures the cost estimates rest on (docs/performance.md's table of 2026-12-07,
 * median of 3 runs; quoted there under the current table): what the relay cannot measure about itself on Cloudflare (CPU) and what docs/cost.md
 * scales to a month.
 */
export const BENCH_MEASURED_ON = "2026-12-07";

export type DeliveryMode = "batch" | "per-event" | "baseline";

/**
 * workerd's CPU per event delivered, in ms: an upper bound of the queue consumer's CPU (it also counts
 * the relay object's reading and the local queue's broker, which Cloudflare does not bill as CPU time).
 */
export const CPU_MS_PER_EVENT: Record<DeliveryMode, number> = { batch: 0.019, "per-event": 0.232, baseline: 0.427 };

/** A packed queue message of the flood: ~119.6 KB for 200 events (5.0 messages per 1,000 events). */
export const PACKED_MESSAGE_BYTES = 119_600;
export const EVENTS_PER_PACKED_MESSAGE = 200;
/** An event as queued, on average (the packed message's bytes over its events). */
export const QUEUED_EVENT_BYTES = PACKED_MESSAGE_BYTES / EVENTS_PER_PACKED_MESSAGE;
/** The baseline's one-event message: ≈0.7 KB. */
export const SINGLE_EVENT_MESSAGE_BYTES = 700;
