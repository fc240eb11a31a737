import type { ConfigProblem, ConnectionState, DeliveryPause, Gap, HealthReason } from "../contract.ts";
import type { IngestSettings } from "../config.ts";
import { isoFromUs } from "../time-us.ts";

/** What the health verdict looks at (a snapshot of the relay object's state). */
export interface HealthInput {
  nowMs: number;
  state: ConnectionState;
  configErrors: ConfigProblem[];
  /** Since when the relay is not connected (null while connected). */
  disconnectedSinceMs: number | null;
  lastError: string | null;
  /** Last frame received, or when the relay started if none yet. */
  lastFrameMs: number;
  deliveryLastErrorAt: string | null;
  deliveryLastSuccessAt: string | null;
  oldestUnackedUs: number | null;
  storageError: string | null;
  gaps: Gap[];
  /** When the latest ConsumerTooSlow error frames came (ISO times, oldest first). */
  consumerTooSlowAt?: string[];
  /** Set while webhook delivery is paused by a 410 Gone answer. */
  deliveryPause?: DeliveryPause | null;
  /** The queue consumer's latest failure to store dead letters (cleared by a later success). */
  deadLetterStoreError?: { message: string; at: string } | null;
}

/** ConsumerTooSlow this often within the window makes the relay unhealthy (once is the server's normal advice). */
export const CONSUMER_TOO_SLOW = { count: 3, windowMs: 15 * 60_000 };

/** Reasons with stable codes; healthy when there are none. Pure. */
export function healthReasons(h: HealthInput, s: Pick<IngestSettings, "healthDisconnectedMs" | "healthStaleMs" | "healthDeliveryMs">): HealthReason[] {
  const reasons: HealthReason[] = [];
  if (h.state === "config-error") {
    const list = h.configErrors.map((p) => `${p.variable}: ${p.message}`).join(" ");
    reasons.push({ code: "config-error", message: `Configuration invalid, not connecting. ${list}` });
    return reasons;
  }
  if (h.disconnectedSinceMs !== null && h.nowMs - h.disconnectedSinceMs > s.healthDisconnectedMs) {
    const seconds = Math.round((h.nowMs - h.disconnectedSinceMs) / 1000);
    const why = h.state === "paused" ? "paused by backpressure (the queue is not keeping up)" : (h.lastError ?? "not connected");
    reasons.push({ code: "disconnected", message: `Not connected to Jetstream for ${seconds} s: ${why}.` });
  }
  if (h.nowMs - h.lastFrameMs > s.healthStaleMs) {
    reasons.push({ code: "stale", message: `No event from Jetstream for ${Math.round((h.nowMs - h.lastFrameMs) / 1000)} s.` });
  }
  if (h.deliveryPause) {
    const waiting = h.oldestUnackedUs === null ? "" : `; the oldest waits since ${isoFromUs(h.oldestUnackedUs)}`;
    reasons.push({ code: "webhook-gone", message: `Webhook delivery is paused: the webhook answered 410 Gone at ${h.deliveryPause.since} (it asks not to be sent anything more). The events wait in the queue, none is dead-lettered${waiting}. Resume delivery once the receiver wants events again.` });
  }
  const failing = h.deliveryLastErrorAt !== null && (h.deliveryLastSuccessAt === null || h.deliveryLastErrorAt > h.deliveryLastSuccessAt);
  // While paused, failing delivery is the pause itself (one reason, not two).
  if (failing && !h.deliveryPause && h.oldestUnackedUs !== null && h.nowMs - h.oldestUnackedUs / 1000 > s.healthDeliveryMs) {
    reasons.push({ code: "delivery-failing", message: `Webhook delivery is failing (last error at ${h.deliveryLastErrorAt}) and events wait since ${isoFromUs(h.oldestUnackedUs)}.` });
  }
  if (h.storageError !== null) {
    reasons.push({ code: "storage", message: `Durable Object storage is failing (working in memory, cursor not saved): ${h.storageError}` });
  }
  const slow = (h.consumerTooSlowAt ?? []).filter((at) => h.nowMs - Date.parse(at) <= CONSUMER_TOO_SLOW.windowMs);
  if (slow.length >= CONSUMER_TOO_SLOW.count) {
    reasons.push({ code: "consumer-too-slow", message: `Jetstream closed the connection as too slow ${slow.length} times in ${CONSUMER_TOO_SLOW.windowMs / 60_000} min (ConsumerTooSlow): the relay reconnects each time, but it does not keep up. Check /stats (backpressure, queue) and the worker's CPU.` });
  }
  if (h.deadLetterStoreError) {
    reasons.push({ code: "dead-letters-not-stored", message: `The dead-letter store refused dead letters at ${h.deadLetterStoreError.at} (${h.deadLetterStoreError.message}); their queue messages are tried again every minute until it takes them.` });
  }
  const open = h.gaps.filter((g) => !g.acknowledged);
  if (open.length > 0) {
    const g = open[open.length - 1];
    const seqs = g.exact ? ` (exact: seq ${g.fromSeq ?? "?"} → ${g.toSeq ?? "?"}, the server said ${g.reason?.split(":")[0] ?? "so"})` : "";
    reasons.push({ code: "gap", message: `${open.length} unacknowledged gap(s) in the stream; latest: events from ${g.from} to ${g.to} were not available from ${g.endpoint}${seqs}. Acknowledge them once handled.` });
  }
  return reasons;
}
