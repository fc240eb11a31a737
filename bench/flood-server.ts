/**
 * The benchmark's upstream: a Jetstream-compatible server (legacy `/subscribe` and v2) (the replay core of
 * cli/lib/jetstream-replay.ts) that, on command, floods its subscriber with a prepared list of events as
 * fast as the subscriber reads. It records when each event was first sent, for the delay to the webhook.
 */
import { createServer } from "node:http";
import { closeServer, EventLog, JetstreamFeed, refuseUpgrade, wireForPath, type LogEntry, type Subscriber } from "../cli/lib/jetstream-replay.ts";
import { V2_PATH } from "../cli/lib/jetstream-v2-frames.ts";

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
  /**
   * Makes the log's entries for these events ahead of their flood — parsed, their v2 frames built for the
   * seqs they will have — so that the flood measures the relay, not the making of its frames (and its
   * garbage). Stage every flood before the first one, in the order they will be flooded.
   */
  stage(events: readonly string[]): StagedEvents;
  /** Appends the events at once: the connected subscriber receives them as fast as it reads. */
  flood(events: readonly string[] | StagedEvents): void;
  close(): Promise<void>;
}

/** Events made ready by `stage`. */
export interface StagedEvents {
  readonly entries: readonly LogEntry[];
}

function isStaged(events: readonly string[] | StagedEvents): events is StagedEvents {
  return !Array.isArray(events);
}

/**
 * `v2`: the relay reads the v2 wire, so staged events get their v2 frames. `everyKind`: the v2 wire sends
 * every kind whatever `kinds` asks, and commits of these collections (as the legacy wire does), so that a
 * relay forwarding only account events (which asks for no commit) still reads the same frames on both
 * wires (the benchmark's "reading only" on v2).
 */
export async function startFloodServer(options: { v2?: boolean; everyKind?: { collections: readonly string[] } } = {}): Promise<FloodServer> {
  const log = new EventLog();
  const firstSent = new Map<number, number>();
  let connections = 0;
  let framesSent = 0;
  let firstSentAt: number | null = null;
  /** Where the next staged events will land in the log. */
  let stagedEnd = 0;

  const feed = new JetstreamFeed(log, (subscriber: Subscriber) => {
    connections++;
    // Every event sent passes here: note the time of its first send (from the log's entry, not its frame).
    subscriber.sentEvent = (entry) => {
      const now = Date.now();
      framesSent++;
      firstSentAt ??= now;
      if (entry.timeUs !== null && !firstSent.has(entry.timeUs)) firstSent.set(entry.timeUs, now);
    };
  });

  const server = createServer((_req, res) => {
    res.writeHead(404);
    res.end();
  });
  server.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const wire = wireForPath(url.pathname);
    if (options.everyKind && wire === "v2") {
      url.searchParams.delete("kinds");
      url.searchParams.delete("collections");
      for (const collection of options.everyKind.collections) url.searchParams.append("collections", collection);
      req.url = `${url.pathname}${url.search}`;
    }
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
    stage(events) {
      const entries = log.stageEntries(events, Math.max(stagedEnd, log.endSeq), { renderV2: options.v2 === true });
      stagedEnd = Math.max(stagedEnd, log.endSeq) + entries.length;
      return { entries };
    },
    flood(events) {
      firstSentAt = null;
      if (isStaged(events)) log.appendEntries(events.entries);
      else log.append(events);
    },
    close: () => closeServer(server, feed),
  };
}
