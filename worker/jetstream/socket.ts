import { scrubUrl } from "../config/redact.ts";
import type { SubscribeRequest } from "./request.ts";
import { readAtMost } from "../read-at-most.ts";
import { closed, fromException, refused, type TransportError } from "./transport-errors.ts";

/** What is read of a refused upgrade's body. */
const REFUSAL_BODY_BYTES = 16 * 1024;

/**
 * Opens a WebSocket to a Jetstream `/subscribe` URL from a Durable Object. `fetch` with an Upgrade header
 * (rather than `new WebSocket`) gives the HTTP status and body of a refused upgrade, so "server said 400:
 * invalid collection" can be reported.
 */
export async function openJetstreamSocket(httpUrl: string, timeoutMs: number, protocol?: string): Promise<{ socket: WebSocket } | { error: TransportError }> {
  let response: Response;
  // A timer cleared once the upgrade is answered, not AbortSignal.timeout(): the signal stays tied to the
  // upgraded socket, and workerd cuts the WebSocket (1006) when it fires after the upgrade.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException("the upgrade took too long", "TimeoutError")), timeoutMs);
  try {
    const headers: Record<string, string> = { Upgrade: "websocket" };
    if (protocol) headers["Sec-WebSocket-Protocol"] = protocol;
    response = await fetch(httpUrl, { headers, signal: controller.signal });
  } catch (error) {
    clearTimeout(timer);
    const failure = fromException(error);
    // The runtime's message may quote the URL, and the endpoint's credentials with it: status and logs show it.
    return { error: { ...failure, message: scrubUrl(failure.message, httpUrl, "the endpoint") } };
  }
  const socket = response.webSocket;
  if (response.status !== 101 || !socket) {
    // The refusal's first words (an XRPC error is a few hundred bytes); the rest, however long, is not read.
    const head = await readAtMost(response.body, REFUSAL_BODY_BYTES);
    clearTimeout(timer);
    return { error: refused(response.status, new TextDecoder().decode(head.bytes)) };
  }
  clearTimeout(timer);
  socket.accept();
  return { socket };
}

export interface SocketHandlers {
  onFrame(data: string | ArrayBuffer): void;
  /** The attempt or the socket ended; called once per cause (callers ignore causes of an old attempt). */
  onEnd(error: TransportError): void;
}

/**
 * Opens a subscription (live or replay): the socket, its listeners and the `options_update` when the
 * filters did not fit in the URL. Null when it did not open (`onEnd` was told why) or when `stillWanted()`
 * turned false meanwhile (a newer attempt superseded this one; the socket is closed).
 */
export async function subscribe(request: SubscribeRequest, timeoutMs: number, stillWanted: () => boolean, handlers: SocketHandlers): Promise<WebSocket | null> {
  const opened = await openJetstreamSocket(request.url, timeoutMs, request.protocol);
  if (!stillWanted()) {
    if ("socket" in opened) closeQuietly(opened.socket, "superseded");
    return null;
  }
  if ("error" in opened) {
    handlers.onEnd(opened.error);
    return null;
  }
  const socket = opened.socket;
  socket.addEventListener("message", (event) => handlers.onFrame(event.data));
  socket.addEventListener("close", (event) => handlers.onEnd(closed(event.code, event.reason)));
  socket.addEventListener("error", (event) => handlers.onEnd({ kind: "protocol", message: `socket error: ${(event as ErrorEvent).message ?? "unknown"}` }));
  if (request.optionsUpdate !== null) {
    try {
      socket.send(request.optionsUpdate);
    } catch (error) {
      closeQuietly(socket, "options_update failed");
      handlers.onEnd({ kind: "protocol", message: `could not send options_update: ${String(error)}` });
      return null;
    }
  }
  return socket;
}

export function closeQuietly(socket: WebSocket, reason: string): void {
  try {
    socket.close(1000, reason.slice(0, 120));
  } catch {
    // already closed
  }
}

/** Frame payload as text: Jetstream sends text frames; a binary frame is decoded if it is valid UTF-8. */
export function frameText(data: string | ArrayBuffer): string | null {
  if (typeof data === "string") return data;
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(data);
  } catch {
    return null;
  }
}
