import { fromException, refused, type TransportError } from "./transport-errors.ts";

/**
 * Opens a WebSocket to a Jetstream `/subscribe` URL from a Durable Object. `fetch` with an Upgrade header
 * (rather than `new WebSocket`) gives the HTTP status and body of a refused upgrade, so "server said 400:
 * invalid collection" can be reported.
 */
export async function openJetstreamSocket(httpUrl: string, timeoutMs: number): Promise<{ socket: WebSocket } | { error: TransportError }> {
  let response: Response;
  // A timer cleared once the upgrade is answered, not AbortSignal.timeout(): the signal stays tied to the
  // upgraded socket, and workerd cuts the WebSocket (1006) when it fires after the upgrade.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException("the upgrade took too long", "TimeoutError")), timeoutMs);
  try {
    response = await fetch(httpUrl, { headers: { Upgrade: "websocket" }, signal: controller.signal });
  } catch (error) {
    clearTimeout(timer);
    return { error: fromException(error) };
  }
  const socket = response.webSocket;
  if (response.status !== 101 || !socket) {
    const body = await response.text().catch(() => "");
    clearTimeout(timer);
    return { error: refused(response.status, body) };
  }
  clearTimeout(timer);
  socket.accept();
  return { socket };
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
