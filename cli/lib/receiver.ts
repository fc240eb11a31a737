import { createServer, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";

/** What the built-in receiver saw of one webhook request. */
export interface ReceivedDelivery {
  at: Date;
  method: string;
  path: string;
  webhookId: string | null;
  signed: boolean;
  /** The events in the body (one, or several in batch mode); unparsable bodies give []. */
  events: unknown[];
  bytes: number;
}

export interface Receiver {
  /** The URL to POST to (http://127.0.0.1:PORT/webhook). */
  url: string;
  received(): number;
  close(): Promise<void>;
}

/**
 * The local webhook receiver of `jetstream-relay dev`: accepts every POST with 200 and hands a summary
 * of it to `onDelivery` (which prints it). It never stores what arrives.
 */
export async function startReceiver(options: { host?: string; port?: number; onDelivery: (d: ReceivedDelivery) => void }): Promise<Receiver> {
  const host = options.host ?? "127.0.0.1";
  let count = 0;
  const sockets = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      let events: unknown[] = [];
      try {
        const parsed = JSON.parse(body.toString("utf8")) as unknown;
        events = Array.isArray(parsed) ? parsed : [parsed];
      } catch {
        events = [];
      }
      count += events.length || 1;
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
      const header = (name: string) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v.join(", ") : (v ?? null);
      };
      options.onDelivery({
        at: new Date(),
        method: req.method ?? "POST",
        path: new URL(req.url ?? "/", "http://x").pathname,
        webhookId: header("webhook-id"),
        signed: header("webhook-signature") !== null,
        events,
        bytes: body.length,
      });
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/webhook`,
    received: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One line per event, for a person: kind, collection/operation, repository, record key — of a legacy event or a v2 payload. */
export function describeEvent(event: unknown): string {
  const e = (event ?? {}) as { $type?: string; kind?: string; did?: string; seq?: number; commit?: { operation?: string; collection?: string; rkey?: string }; operation?: string; collection?: string; rkey?: string };
  const v2Kind = typeof e.$type === "string" && e.$type.startsWith("network.bsky.jetstream.subscribeEvents#") ? e.$type.slice(e.$type.indexOf("#") + 1) : null;
  const kind = v2Kind ?? e.kind;
  const commit = v2Kind ? e : e.commit;
  const what = kind === "commit" ? `${commit?.operation ?? "?"} ${commit?.collection ?? "?"}/${commit?.rkey ?? "?"}` : (kind ?? "event");
  return `${what}  ${e.did ?? ""}${v2Kind && e.seq !== undefined ? `  seq ${e.seq}` : ""}`.trim();
}
