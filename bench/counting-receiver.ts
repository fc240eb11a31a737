/**
 * The benchmark's webhook: answers 200 at once and only counts — requests, events, distinct events —
 * and, per distinct event, the delay from when the upstream sent it. No body is kept.
 */
import { createServer } from "node:http";
import type { Socket } from "node:net";
import { timesOf } from "./event-time.ts";

export interface CountingReceiver {
  url: string;
  readonly requests: number;
  /** TCP connections the relay opened to the webhook. */
  readonly connections: number;
  /** Events received, duplicates included. */
  readonly events: number;
  /** Distinct events (by time_us, unique per event in the benchmark). */
  readonly distinct: number;
  readonly firstAt: number | null;
  readonly lastAt: number | null;
  /** Milliseconds from the upstream's first send to the first receipt here, one per distinct event that has a send time. */
  delays(): number[];
  /** Resolves once `count` distinct events arrived, or after `timeoutMs` (false). */
  waitForDistinct(count: number, timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export async function startCountingReceiver(sentAt: (timeUs: number) => number | undefined): Promise<CountingReceiver> {
  let requests = 0;
  let connections = 0;
  let events = 0;
  let firstAt: number | null = null;
  let lastAt: number | null = null;
  const seen = new Set<number>();
  const delays: number[] = [];
  const waiters = new Set<() => void>();
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const now = Date.now();
      requests++;
      firstAt ??= now;
      lastAt = now;
      for (const timeUs of timesOf(Buffer.concat(chunks).toString("utf8"))) {
        events++;
        if (seen.has(timeUs)) continue;
        seen.add(timeUs);
        const sent = sentAt(timeUs);
        if (sent !== undefined) delays.push(now - sent);
      }
      res.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
      res.end("ok");
      for (const wake of waiters) wake();
    });
  });
  server.on("connection", (socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;

  return {
    url: `http://127.0.0.1:${port}/hook`,
    get requests() {
      return requests;
    },
    get connections() {
      return connections;
    },
    get events() {
      return events;
    },
    get distinct() {
      return seen.size;
    },
    get firstAt() {
      return firstAt;
    },
    get lastAt() {
      return lastAt;
    },
    delays: () => delays,
    waitForDistinct(count, timeoutMs) {
      return new Promise((resolve) => {
        const check = () => {
          if (seen.size < count) return;
          finish(true);
        };
        const finish = (ok: boolean) => {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(ok);
        };
        const timer = setTimeout(() => finish(false), timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
