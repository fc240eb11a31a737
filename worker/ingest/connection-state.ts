import type { ConnectionState } from "../contract.ts";

/** What happens to the connection; the state machine below says where each leads. */
export type ConnectionEvent =
  | "start" // begin an attempt (first start, after backoff, after a pause, or forced)
  | "opened" // the server accepted the upgrade
  | "failed" // the attempt failed or the socket ended (close, error, stall)
  | "pause" // backpressure: stop reading
  | "config-invalid";

const TRANSITIONS: Record<ConnectionState, Partial<Record<ConnectionEvent, ConnectionState>>> = {
  "config-error": {},
  backoff: { start: "connecting", pause: "paused", "config-invalid": "config-error" },
  connecting: { opened: "connected", failed: "backoff", start: "connecting", pause: "paused", "config-invalid": "config-error" },
  connected: { failed: "backoff", pause: "paused", start: "connecting", "config-invalid": "config-error" },
  paused: { start: "connecting", pause: "paused", "config-invalid": "config-error" },
};

/** The next state, or null when the event does not apply in this state (it is then ignored). */
export function nextState(state: ConnectionState, event: ConnectionEvent): ConnectionState | null {
  return TRANSITIONS[state][event] ?? null;
}
