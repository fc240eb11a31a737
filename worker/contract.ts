/**
 * The worker's bindings, and (re-exported) the shapes every part agrees on — see api-types.ts.
 */
import type { QueueMessageBody, WorkerVars } from "./api-types.ts";

export * from "./api-types.ts";

/** Bindings of the worker, and its variables. */
export interface Env extends WorkerVars {
  /** The ingestion object (one instance, named "relay"). */
  RELAY: DurableObjectNamespace<import("./relay-object.ts").JetstreamRelay>;
  /** The dead-letter store (one instance, named "dead-letters"). */
  DEAD_LETTERS: DurableObjectNamespace<import("./dead-letter-store.ts").DeadLetterStore>;
  /** Producer binding of the events queue. */
  EVENTS: Queue<QueueMessageBody>;
}

