/**
 * The worker's bindings (declared in env.d.ts), and (re-exported) the shapes every part agrees on —
 * see api-types.ts.
 */

export * from "./api-types.ts";
export type { CompactEvent, LegacyMessageBody, MessageOrigin, QueuedEvent, QueueMessage, QueueMessageBody, WholeEventsBody } from "./queue/message.ts";

/** Bindings of the worker, and its variables (declared once, in env.d.ts). */
export type Env = Cloudflare.Env;
