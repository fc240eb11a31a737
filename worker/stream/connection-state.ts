import type { ConnectionState } from "../contract.ts";

/**
 * The state of one stream's connection: the relay's public states, plus `stopped` for a stream that is
 * not meant to read (a replay before it starts or after it ended). `config-error` leads nowhere: a relay
 * with an invalid configuration has no stream at all.
 */
export type LinkState = ConnectionState | "stopped";

/** What happens to the connection; the state machine below says where each leads. */
export type ConnectionEvent =
  | "start" // begin an attempt (first start, after backoff, after a pause, or forced)
  | "opened" // the server accepted the upgrade
  | "failed" // the attempt failed or the socket ended (close, error, stall)
  | "pause" // backpressure: stop reading
  | "stop"; // stop reading for good (a replay reached its end, or was cancelled)

const TRANSITIONS: Record<LinkState, Partial<Record<ConnectionEvent, LinkState>>> = {
  "config-error": {},
  stopped: { start: "connecting", stop: "stopped" },
  backoff: { start: "connecting", pause: "paused", stop: "stopped" },
  connecting: { opened: "connected", failed: "backoff", start: "connecting", pause: "paused", stop: "stopped" },
  connected: { failed: "backoff", pause: "paused", start: "connecting", stop: "stopped" },
  paused: { start: "connecting", pause: "paused", stop: "stopped" },
};

/** The next state, or null when the event does not apply in this state (it is then ignored). */
export function nextState(state: LinkState, event: ConnectionEvent): LinkState | null {
  return TRANSITIONS[state][event] ?? null;
}
