/**
 * The worker's bindings, and (re-exported) the shapes every part agrees on — see api-types.ts — and
 * what travels through the queue (queue/message.ts).
 */
import type { WorkerVars } from "./api-types.ts";
import type { QueueMessageBody } from "./queue/message.ts";

export * from "./api-types.ts";
export type { CompactEvent, LegacyMessageBody, MessageOrigin, QueuedEvent, QueueMessage, QueueMessageBody, WholeEventsBody } from "./queue/message.ts";

/** Bindings of the worker, and its variables. */
export interface Env extends WorkerVars {
  /** The ingestion object (one instance, named "relay"). */
  RELAY: DurableObjectNamespace<import("./relay-object.ts").JetstreamRelay>;
  /** The dead-letter store (one instance, named "dead-letters"). */
  DEAD_LETTERS: DurableObjectNamespace<import("./dead-letter-store.ts").DeadLetterStore>;
  /** Producer binding of the events queue. */
  EVENTS: Queue<QueueMessageBody>;
}
