import { errorMessage } from "../errors.ts";
/** A small classification of why a Jetstream connection attempt or socket ended, for status and logs. */
export type TransportErrorKind =
  | "refused" // the server answered the upgrade with an HTTP error (4xx/5xx)
  | "network" // could not reach the server
  | "timeout" // the upgrade took too long
  | "closed" // the socket closed (with or without a close frame)
  | "stalled" // no frame for longer than the stall timeout
  | "protocol"; // anything else the socket reported

export interface TransportError {
  kind: TransportErrorKind;
  message: string;
  /** HTTP status of a refused upgrade. */
  status?: number;
  /** The XRPC error envelope of a refusal, when the server sent one (v2): `{error, message}`. */
  xrpc?: { error: string; message: string };
}

export function refused(status: number, body: string): TransportError {
  const text = body.trim().replace(/\s+/g, " ").slice(0, 300);
  const hint = status === 400 && !body.includes("CursorTooOld") ? " (the server rejected the request: check JETSTREAM_COLLECTIONS / JETSTREAM_DIDS)" : "";
  const xrpc = xrpcError(body);
  return { kind: "refused", status, message: `server said ${status}${text ? `: ${text}` : ""}${hint}`, ...(xrpc ? { xrpc } : {}) };
}

function xrpcError(body: string): { error: string; message: string } | null {
  if (!body.trimStart().startsWith("{")) return null;
  try {
    const value = JSON.parse(body) as Record<string, unknown>;
    return typeof value.error === "string" ? { error: value.error, message: typeof value.message === "string" ? value.message : "" } : null;
  } catch {
    return null;
  }
}

export function fromException(error: unknown): TransportError {
  const message = errorMessage(error);
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return { kind: "timeout", message: "the server did not answer the upgrade in time" };
  }
  if (/network|connect|refused|reset|dns|host|unreachable/i.test(message)) return { kind: "network", message: `network error: ${message}` };
  // workerd words a failed DNS lookup or an unreachable host this way, with nothing more specific.
  if (/^internal error; reference = /.test(message)) {
    return { kind: "network", message: `could not reach the server (DNS lookup or network failed; workerd ${message})` };
  }
  return { kind: "protocol", message };
}

export function closed(code: number, reason: string): TransportError {
  // 1006: the connection dropped without a close frame (old servers, proxies, crashes).
  const how = code === 1006 ? "closed without a close frame (1006)" : `closed by the server (${code}${reason ? `: ${reason}` : ""})`;
  return { kind: "closed", message: `socket ${how}` };
}

export function stalled(seconds: number): TransportError {
  return { kind: "stalled", message: `no frame for more than ${seconds} s: replaced the socket` };
}
