import { readFile, readdir } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { closeServer, EventLog, JetstreamFeed, refuseUpgrade, splitJsonLines, wireForPath } from "./jetstream-replay.ts";
import { V2_PATH } from "./jetstream-v2-frames.ts";
import { packageRoot } from "./package-paths.ts";

export interface PlaybackOptions {
  /** Recorded events, one JSON text each. */
  events: readonly string[];
  /** Events per second; 0 = all at once. */
  rate: number;
  /** Start over when the file is done. */
  loop: boolean;
  /** Keep the recorded time_us instead of stamping each event with the time it is played (then it looks live). */
  keepTimes: boolean;
  host?: string;
  port?: number;
  /** Called after each batch of played events with the running total. */
  onPlayed?: (total: number) => void;
  /** Called when a client connects or disconnects, with the number connected. */
  onClients?: (count: number) => void;
}

export interface Playback {
  /** ws://HOST:PORT/subscribe */
  url: string;
  /** ws://HOST:PORT/xrpc/network.bsky.jetstream.subscribeEvents (the same events on the v2 wire) */
  v2Url: string;
  port: number;
  log: EventLog;
  played(): number;
  /** Resolves when every event was played (never with `loop`). */
  finished: Promise<void>;
  close(): Promise<void>;
}

/** The bundled real Jetstream events (test/fixtures/jetstream/*.jsonl), for `--demo`. */
export async function demoEvents(): Promise<string[]> {
  const dir = join(packageRoot(), "test", "fixtures", "jetstream");
  const files = (await readdir(dir)).filter((f) => f.endsWith(".jsonl")).sort();
  const lines: string[] = [];
  for (const file of files) lines.push(...splitJsonLines(await readFile(join(dir, file), "utf8")));
  return lines.filter((line) => timeUsOf(line) !== null);
}

export async function readEventsFile(path: string): Promise<{ events: string[]; skipped: number }> {
  const lines = splitJsonLines(await readFile(path, "utf8"));
  const events = lines.filter((line) => timeUsOf(line) !== null);
  return { events, skipped: lines.length - events.length };
}

function timeUsOf(line: string): number | null {
  try {
    const value = (JSON.parse(line) as { time_us?: unknown }).time_us;
    return typeof value === "number" && Number.isSafeInteger(value) ? value : null;
  } catch {
    return null;
  }
}

/** The event with another time_us; the rest of its text stays byte for byte as recorded. */
export function withTimeUs(line: string, timeUs: number): string {
  const original = timeUsOf(line);
  if (original === null) return line;
  return line.replace(new RegExp(`("time_us"\\s*:\\s*)${original}(?!\\d)`), `$1${timeUs}`);
}

/**
 * Serves recorded events as a Jetstream `/subscribe` endpoint, and as the v2 one at
 * `/xrpc/network.bsky.jetstream.subscribeEvents` (the shared Jetstream-compatible core: inclusive cursor
 * replay, wantedCollections, wantedDids; on v2 seqs from 1, kinds/collections/dids). Nothing is played until the first client
 * connects — like a live server, a client without a cursor only sees what happens after it connected —
 * then the events are appended at the given rate, stamped with the current time unless `keepTimes`.
 */
export async function startPlayback(options: PlaybackOptions): Promise<Playback> {
  const host = options.host ?? "127.0.0.1";
  const log = new EventLog();
  let wakeOnConnect: () => void = () => {};
  const firstClient = new Promise<void>((resolve) => (wakeOnConnect = resolve));
  const feed = new JetstreamFeed(log, (subscriber) => {
    wakeOnConnect();
    options.onClients?.(feed.subscribers.size);
    subscriber.socket.once("close", () => options.onClients?.(feed.subscribers.size));
  });
  const server = createServer((req, res) => {
    res.writeHead(req.url === "/" ? 200 : 404, { "content-type": "text/plain" });
    res.end(req.url === "/" ? `jetstream-relay playback: ${played} of ${options.events.length} events played; subscribe at /subscribe\n` : "not found\n");
  });
  server.on("upgrade", (req, socket, head) => {
    const wire = wireForPath(new URL(req.url ?? "/", "http://localhost").pathname);
    if (wire === null) refuseUpgrade(socket, 404, "not found");
    else feed.handleUpgrade(req, socket, head, wire);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const port = (server.address() as { port: number }).port;
  const shownHost = host.includes(":") ? `[${host}]` : host;

  let played = 0;
  let closed = false;
  let lastUs = 0;
  const stamp = (line: string) => {
    if (options.keepTimes) return line;
    lastUs = Math.max(Date.now() * 1000, lastUs + 1);
    return withTimeUs(line, lastUs);
  };
  const finished = (async () => {
    await firstClient;
    const perTick = options.rate > 0 ? Math.max(1, Math.round(options.rate / 10)) : options.events.length;
    const tickMs = options.rate > 0 ? (perTick / options.rate) * 1000 : 0;
    do {
      for (let i = 0; i < options.events.length && !closed; i += perTick) {
        const batch = options.events.slice(i, i + perTick).map(stamp);
        played += log.append(batch);
        options.onPlayed?.(played);
        if (tickMs > 0) await new Promise((resolve) => setTimeout(resolve, tickMs));
      }
    } while (options.loop && !closed && options.events.length > 0);
  })();

  return {
    url: `ws://${shownHost}:${port}/subscribe`,
    v2Url: `ws://${shownHost}:${port}${V2_PATH}`,
    port,
    log,
    played: () => played,
    finished,
    async close() {
      closed = true;
      wakeOnConnect();
      await closeServer(server, feed);
    },
  };
}
