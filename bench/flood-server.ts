/**
 * The benchmark's upstream: a Jetstream-compatible server (legacy `/subscribe` and v2) (the replay core of
 * cli/lib/jetstream-replay.ts) that, on command, floods its subscriber with a prepared list of events as
 * fast as the subscriber reads. It records when each event was first sent, for the delay to the webhook.
 */
import { createServer } from "node:http";
import { closeServer, EventLog, JetstreamFeed, refuseUpgrade, wireForPath, type Subscriber } from "../cli/lib/jetstream-replay.ts";
import { V2_PATH } from "../cli/lib/jetstream-v2-frames.ts";
import { timeOf } from "./event-time.ts";

export interface FloodServer {
  /** The legacy `/subscribe` endpoint, and the v2 one: the same log on either wire. */
  url: string;
  v2Url: string;
  /** Subscriptions so far (the relay reconnects after a backpressure pause). */
  readonly connections: number;
  /** Frames sent over all connections (a reconnect sends again from the cursor). */
  readonly framesSent: number;
  /** epoch ms of the first frame sent since the last flood(), null before. */
  readonly firstSentAt: number | null;
  /** epoch ms at which the event with this time_us was first sent (undefined if never). */
  sentAt(timeUs: number): number | undefined;
  /** Appends the events at once: the connected subscriber receives them as fast as it reads (v2 frames are built first). */
  flood(events: readonly string[]): void;
  close(): Promise<void>;
}

/** `v2`: the relay reads the v2 wire, so frames are built before each flood. */
export async function startFloodServer(options: { v2?: boolean } = {}): Promise<FloodServer> {
  const log = new EventLog();
  const firstSent = new Map<number, number>();
  let connections = 0;
  let framesSent = 0;
  let firstSentAt: number | null = null;

  const feed = new JetstreamFeed(log, (subscriber: Subscriber) => {
    connections++;
    const socket = subscriber.socket;
    const send = socket.send.bind(socket) as (data: string) => void;
    // Every frame the subscriber sends passes here: note the time of the event's first send.
    socket.send = ((data: string) => {
      const now = Date.now();
      framesSent++;
      firstSentAt ??= now;
      const timeUs = timeOf(data);
      if (timeUs !== null && !firstSent.has(timeUs)) firstSent.set(timeUs, now);
      send(data);
    }) as typeof socket.send;
  });

  const server = createServer((_req, res) => {
    res.writeHead(404);
    res.end();
  });
  server.on("upgrade", (req, socket, head) => {
    const wire = wireForPath(new URL(req.url ?? "/", "http://localhost").pathname);
    if (wire === null) refuseUpgrade(socket, 404, "not found");
    else feed.handleUpgrade(req, socket, head, wire);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;

  return {
    url: `ws://127.0.0.1:${port}/subscribe`,
    v2Url: `ws://127.0.0.1:${port}${V2_PATH}`,
    get connections() {
      return connections;
    },
    get framesSent() {
      return framesSent;
    },
    get firstSentAt() {
      return firstSentAt;
    },
    sentAt: (timeUs) => firstSent.get(timeUs),
    flood(events) {
      firstSentAt = null;
      log.append(events, { renderV2: options.v2 === true });
    },
    close: () => closeServer(server, feed),
  };
}
