/**
 * A switchable HTTP gate in front of the webhook receiver, on a fixed port, to take the webhook down
 * "for a while" and bring it back: "open" forwards every request to the receiver, "error" answers every
 * request with a status (e.g. 503) itself, "refuse" closes the listening socket so that connections are
 * refused (ECONNREFUSED), as when the webhook's host is down.
 */
import { createServer, request as httpRequest, type Server } from "node:http";
import type { Socket } from "node:net";

export type GateMode = { kind: "open" } | { kind: "error"; status: number } | { kind: "refuse" };

export interface WebhookGate {
  /** http://127.0.0.1:PORT — the gate's own address (same port across refuse/open). */
  base: string;
  set(mode: GateMode): Promise<void>;
  /** Requests the gate answered itself with an error status. */
  readonly refusedWithStatus: number;
  close(): Promise<void>;
}

export async function startWebhookGate(target: string): Promise<WebhookGate> {
  const to = new URL(target);
  let mode: GateMode = { kind: "open" };
  let answered = 0;
  const sockets = new Set<Socket>();

  const newServer = (): Server => {
    const server = createServer((req, res) => {
      if (mode.kind === "error") {
        answered++;
        req.resume();
        res.writeHead(mode.status, { "content-type": "text/plain" });
        res.end(`webhook down (status ${mode.status})`);
        return;
      }
      const upstream = httpRequest({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on("error", () => res.destroy());
      req.pipe(upstream);
    });
    server.on("connection", (socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    return server;
  };

  let server: Server | null = newServer();
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;

  const stop = async () => {
    if (!server) return;
    const closing = server;
    server = null;
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => closing.close(() => resolve()));
  };

  return {
    base: `http://127.0.0.1:${port}`,
    get refusedWithStatus() {
      return answered;
    },
    async set(next) {
      mode = next;
      if (next.kind === "refuse") await stop();
      else if (!server) {
        server = newServer();
        await new Promise<void>((resolve, reject) => {
          server!.once("error", reject);
          server!.listen(port, "127.0.0.1", resolve);
        });
      }
    },
    close: stop,
  };
}
