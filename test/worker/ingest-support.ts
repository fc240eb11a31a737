/**
 * Helpers of the ingestion tests (test/worker/ingest-*.test.ts).
 *
 * How the tests are isolated and configured:
 * - vitest-pool-workers gives every test FILE its own workerd (Miniflare) instance, with its own Durable
 *   Object storage and queues; tests of one file run in order and share that state.
 * - The Jetstream test server is shared by all files (global setup), so each file talks to its own
 *   named instance of it: `ws://127.0.0.1:PORT/<instance>/subscribe` (see jetstream-test-server.ts).
 * - Configuration: the bindings come from vitest.worker.config.ts; a file changes them by assigning to
 *   `env` (from cloudflare:workers) BEFORE the relay object is first used — the object reads `env` when
 *   it is constructed. To try another configuration in the same file, set `env` again and use the
 *   object under another name (`env.RELAY.getByName("other")`): every instance parses its own config.
 *   Beware: the queue consumer settles every message on the object named "relay" (RELAY_OBJECT_NAME),
 *   which that call constructs with the `env` of the moment if it is not running.
 * - What the relay enqueues is observed with a tap on the producer binding: `env.EVENTS` is wrapped, every
 *   `send` and `sendBatch` goes on to the real local queue (whose real consumer delivers to the webhook receiver
 *   and settles the ledger) and its bodies are recorded once the queue accepted them. The tap can also
 *   make the next sends fail or be slow, which the local queue cannot be made to do.
 *   The consumer and the dead-letter store send on the same binding (follow-ups of what a batch did not
 *   deliver, dead-letter replays; they keep a replay's `replayId`): those are not the relay's enqueues, so
 *   they pass straight through, uncounted, undelayed, never failed, and are recorded in `followUps`.
 */
import { completeEvent } from "../../worker/queue/complete-event.ts";
import { serializedBytes } from "../../worker/queue/message-size.ts";
import { env } from "cloudflare:workers";
import { inject } from "vitest";
import type { QueueMessageBody, QueuedEvent, RelayStatus } from "../../worker/contract.ts";

export const jetstreamWs = () => inject("jetstreamBase");
export const jetstreamHttp = () => inject("jetstreamBase").replace(/^ws:/, "http:");

/** Calls a control route of the Jetstream test server for one named instance. */
export async function control<T = any>(instance: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${jetstreamHttp()}/control/${instance}/${route}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`control ${route}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export interface ConnectionInfo {
  id: number;
  /** Which endpoint the relay used: `/NAME/subscribe` (legacy) or `/NAME/xrpc/network.bsky.jetstream.subscribeEvents` (v2). */
  wire: "legacy" | "v2";
  /** The query string as it arrived (without `?`). */
  query: string;
  subprotocol: string | null;
  cursor: number | null;
  /** The seq of the first event the connection was to receive (null when refused). */
  startSeq: number | null;
  /** v2 filters (empty on legacy). */
  kinds: string[];
  collections: string[];
  dids: string[];
  /** Legacy filters (empty on v2). */
  wantedCollections: string[];
  wantedDids: string[];
  requireHello: boolean;
  optionsUpdates: { wantedCollections: string[]; wantedDids: string[] }[];
  /** v2 #info / error frames sent (OutdatedCursor, ConsumerTooSlow). */
  notices: string[];
  sent: number;
  open: boolean;
  refused: number | null;
  /** A refusal's XRPC error name (v2: InvalidRequest, CursorTooOld, RateLimitExceeded, …) and message. */
  error: string | null;
  message: string | null;
  closeCause: string | null;
}

export const connections = (instance: string) => control<ConnectionInfo[]>(instance, "connections");
export const serverLog = (instance: string) =>
  control<{ count: number; timeUs: number[]; seqs: number[]; events: string[]; oldestUs: number | null; newestUs: number | null; firstSeq: number; nextSeq: number }>(instance, "log?full=1");

export interface QueueTap {
  /** What the relay object enqueued (live and replay messages). */
  bodies: QueueMessageBody[];
  /** What the delivery side put back on the queue (see the file comment); not in `bodies` or the counts. */
  followUps: QueueMessageBody[];
  /** The content type of every message sent (the size accounting assumes "v8"). */
  contentTypes: Set<string | undefined>;
  /** Calls made (send and sendBatch), failed ones included. */
  calls: number;
  /** Of those, accepted `send` and `sendBatch` calls. */
  sends: number;
  batches: number;
  failures: number;
  /** The next N calls (send or sendBatch) throw. */
  failNext: number;
  /** The calls of these numbers (counted by `calls`, from 1) throw. */
  failCalls: Set<number>;
  /** Each call waits this long first. */
  delayMs: number;
  /** While true, calls wait at the gate until `release()` (they count in `calls` and `held` meanwhile). */
  hold: boolean;
  /** Calls waiting at the gate now. */
  held: number;
  release(): void;
  /** When each call was made (epoch ms), in order. */
  callTimes: number[];
  /** A call throws, like the queue for a message over its limit, when a message's computed size exceeds this. */
  refuseAbove: number | null;
  events(): QueuedEvent[];
  timeUs(): Set<number>;
}

/**
 * Messages the delivery side makes: the consumer's follow-ups (e.g. the events past a batch's request
 * budget, WEBHOOK_MAX_REQUESTS_PER_BATCH; a replay's keep the replay's origin) and dead-letter ones.
 * Their ledger ids are UUIDs; the relay object's are "<prefix>-<n>" (a replay's "replay-<id>-<n>").
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const deliverySide = (list: MessageSendRequest<QueueMessageBody>[]) => list.length > 0 && list.every((m) => UUID.test(m.body.ledgerId));

export function tapQueue(): QueueTap {
  const real = env.EVENTS;
  const tap: QueueTap = {
    bodies: [],
    followUps: [],
    contentTypes: new Set(),
    calls: 0,
    sends: 0,
    batches: 0,
    failures: 0,
    failNext: 0,
    failCalls: new Set(),
    delayMs: 0,
    hold: false,
    held: 0,
    release() {
      tap.hold = false;
      for (const open of gate.splice(0)) open();
    },
    callTimes: [],
    refuseAbove: null,
    // As the consumer reads them (live events travel compact: their did and time_us are in their text).
    events: () => tap.bodies.flatMap((b) => b.events.map((e) => completeEvent(e)!)),
    timeUs: () => new Set(tap.events().map((e) => e.timeUs)),
  };
  const gate: (() => void)[] = [];
  /** What both calls do first: count, wait, fail as told. */
  async function before(list: MessageSendRequest<QueueMessageBody>[]) {
    const call = ++tap.calls;
    tap.callTimes.push(Date.now());
    if (tap.hold) {
      tap.held++;
      await new Promise<void>((open) => gate.push(open));
      tap.held--;
    }
    if (tap.delayMs > 0) await new Promise((r) => setTimeout(r, tap.delayMs));
    if (tap.failNext > 0 || tap.failCalls.has(call)) {
      if (tap.failNext > 0) tap.failNext--;
      tap.failures++;
      throw new Error("injected queue failure");
    }
    if (tap.refuseAbove !== null && list.some((m) => serializedBytes(m.body) > tap.refuseAbove!)) {
      tap.failures++;
      throw new Error("Unknown Internal Error (15000)"); // what the queue says of a message over its limit
    }
  }
  function record(list: MessageSendRequest<QueueMessageBody>[]) {
    for (const m of list) {
      tap.bodies.push(m.body);
      tap.contentTypes.add(m.contentType);
    }
  }
  const producer = {
    async send(body: QueueMessageBody, options?: QueueSendOptions) {
      if (deliverySide([{ body }])) {
        await real.send(body, options);
        tap.followUps.push(body);
        return;
      }
      await before([{ body }]);
      await real.send(body, options);
      tap.sends++;
      record([{ body, contentType: options?.contentType }]);
    },
    async sendBatch(messages: Iterable<MessageSendRequest<QueueMessageBody>>, options?: QueueSendBatchOptions) {
      const list = [...messages];
      if (deliverySide(list)) {
        await real.sendBatch(list, options);
        tap.followUps.push(...list.map((m) => m.body));
        return;
      }
      await before(list);
      await real.sendBatch(list, options);
      tap.batches++;
      record(list);
    },
  };
  (env as { EVENTS: unknown }).EVENTS = producer;
  return tap;
}

/** Polls until `check` returns a truthy value; fails with the last value after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T> | T, what: string, timeoutMs = 15_000, intervalMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await check();
      if (last) return last as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)} ${lastError ? String(lastError) : ""}`);
}

/** An independent reading of which events the relay should forward (kept apart from worker/jetstream on purpose). */
export function expectedForwarded(events: string[], collections: string[], kinds = ["commit"], dids: string[] = []): number[] {
  return events
    .map((raw) => {
      try {
        return JSON.parse(raw) as { time_us: number; kind: string; did: string; commit?: { collection: string } };
      } catch {
        return null;
      }
    })
    .filter((e): e is NonNullable<typeof e> => e !== null && typeof e.time_us === "number" && typeof e.did === "string")
    .filter((e) => e.kind !== "commit" || typeof e.commit?.collection === "string")
    .filter((e) => kinds.includes(e.kind))
    .filter((e) => dids.length === 0 || dids.includes(e.did))
    .filter(
      (e) =>
        e.kind !== "commit" ||
        collections.some((c) => (c.endsWith(".*") ? e.commit!.collection.startsWith(c.slice(0, -1)) : e.commit!.collection === c)),
    )
    .map((e) => e.time_us);
}

/** Every expected event below the cursor is in the queue (the cursor is never ahead of the queue). */
export function missingBelowCursor(expected: number[], enqueued: Set<number>, cursor: number | null): number[] {
  if (cursor === null) return [];
  return expected.filter((t) => t < cursor && !enqueued.has(t));
}

export function statusOf(name = "relay"): Promise<RelayStatus> {
  return env.RELAY.getByName(name).getStatus();
}

/** Configures this file's relay: its own test-server instance, fast alarms, small timeouts. */
export function configure(instance: string, overrides: Record<string, string> = {}): void {
  Object.assign(env as Record<string, unknown>, {
    JETSTREAM_URL: `${jetstreamWs()}/${instance}/subscribe`,
    JETSTREAM_ALARM_SECONDS: "1",
    // Group commit, the default, with a short spacing (a file that pins the earlier linger sets JETSTREAM_FLUSH_MS).
    JETSTREAM_FLUSH_MS: "0",
    JETSTREAM_SEND_SPACING_MS: "20",
    JETSTREAM_BACKOFF_BASE_SECONDS: "0.05",
    JETSTREAM_BACKOFF_MAX_SECONDS: "0.2",
    JETSTREAM_CONNECT_TIMEOUT_SECONDS: "5",
    ...overrides,
  });
}

export const COLLECTIONS = ["app.bsky.feed.post", "app.bsky.feed.like", "app.bsky.graph.*"];

/**
 * A small commit event in Jetstream's own field order, for tests that need many events or events they
 * can tell apart by content (`rkey`) when two server instances stamp the same event differently.
 */
export function commitEvent(e: { did: string; timeUs: number; collection: string; rkey: string }): string {
  return `{"did":"${e.did}","time_us":${e.timeUs},"kind":"commit","commit":{"rev":"${e.rkey}","operation":"create","collection":"${e.collection}","rkey":"${e.rkey}","record":{"$type":"${e.collection}"},"cid":"bafytest"}}`;
}

/** The rkey of a commit event's text (the content key of events built by commitEvent). */
export function rkeyOf(raw: string): string | null {
  return /"rkey":"([^"]*)"/.exec(raw)?.[1] ?? null;
}

/** Appends the real fixture events 1 ms apart from `startUs`; returns the time_us of those the relay should forward. */
export async function appendFixtureEvents(instance: string, startUs: number): Promise<number[]> {
  await control(instance, "append", { fixtures: true, startUs, stepUs: 1000 });
  const { events } = await serverLog(instance);
  const wanted = expectedForwarded(events, COLLECTIONS).filter((t) => t >= startUs && t < startUs + 1_000_000);
  if (wanted.length < 100) throw new Error(`expected the fixtures' wanted events, got ${wanted.length}`);
  return wanted;
}
