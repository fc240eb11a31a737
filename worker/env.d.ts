// The worker's bindings and variables, declared once: the type of `env` from "cloudflare:workers",
// of the worker's handlers and of both Durable Objects (modules name it `Env` from contract.ts).
// A global declaration that no module imports, so the Durable Object classes below are referenced from
// here only and no module imports them for their types (that made an import circle through the worker).
declare namespace Cloudflare {
  type RelayWorkerVars = import("./api-types.ts").WorkerVars;

  interface Env extends RelayWorkerVars {
    /** The ingestion object (one instance, named "relay"). */
    RELAY: DurableObjectNamespace<import("./relay/relay-object.ts").JetstreamRelay>;
    /** The dead-letter store (one instance, named "dead-letters"). */
    DEAD_LETTERS: DurableObjectNamespace<import("./delivery/dead-letter-store.ts").DeadLetterStore>;
    /** Producer binding of the events queue. */
    EVENTS: Queue<import("./api-types.ts").QueueMessageBody>;
  }
}
