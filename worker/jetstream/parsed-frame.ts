/** What the relay reads of one Jetstream event, whichever wire it came on (event.ts, event-v2.ts). */

/** Event kinds: `sync` exists on the v2 wire only. */
export type EventKind = "commit" | "identity" | "account" | "sync";

export type ParsedFrame =
  | { type: "commit"; did: string; timeUs: number; collection: string; operation: string; seq?: number }
  | { type: "identity" | "account" | "sync"; did: string; timeUs: number; seq?: number }
  /** A well-formed event of a kind this relay does not know (counted, skipped; it still has a time). */
  | { type: "unknown-kind"; did: string; timeUs: number; kind: string; seq?: number }
  | { type: "malformed"; reason: string };

/** A frame that is a Jetstream event (it has a did and a time; on v2 a seq). */
export type EventFrame = Exclude<ParsedFrame, { type: "malformed" }>;
