/**
 * Jetstream-compatible test server: cli/lib/jetstream-replay.ts (the real replay core) plus HTTP control
 * routes on the same port, because tests inside workerd can only reach it with fetch.
 *
 * Named instances, each on both wires of a v2 server: `ws://HOST/NAME/subscribe` (legacy) and
 * `ws://HOST/NAME/xrpc/network.bsky.jetstream.subscribeEvents` (v2); without NAME = instance "default".
 * Each has its own event log and seq space, misbehaviour switches and connection record, so test files
 * (and failover tests with `/a` and `/b`) never share state. Control routes (JSON bodies):
 *   POST /control/NAME/load       {fixtures?: true | string[], events?: string[], startUs?, stepUs?}
 *                                  replace the log; fixtures are the real captured events of
 *                                  test/fixtures/jetstream, restamped with increasing time_us
 *                                  (startUs, default now − 10 min; stepUs, default 1000)
 *   POST /control/NAME/append     {events?: string[], raw?: string[], fixtures?, startUs?, stepUs?}
 *                                  live events (restamped when startUs is given); `raw` frames are sent
 *                                  as they are on both wires (e.g. malformed text)
 *   POST /control/NAME/flood      {count, startUs?, stepUs?} count fixture events, cycled and restamped
 *   POST /control/NAME/retention  {seconds: number | null}
 *   POST /control/NAME/seq        {start: N}  the next event added gets seq N (default: the first is 1);
 *                                  call it before load to give an instance its own seq space
 *   POST /control/NAME/legacy-cursor {enabled: boolean}  the legacy wire as a v2 server's /subscribe:
 *                                  each event carries "cursor":<seq>, a ?cursor below 1e15 is a seq
 *                                  (off by default: legacy frames are the logged text byte for byte)
 *   POST /control/NAME/misbehave  {action: "drop"}            close open connections without a close frame
 *                                 {action: "close"}           close them with a close frame
 *                                 {action: "stall"}           keep them open, send nothing more
 *                                 {action: "too-slow"}        open v2 connections get the ConsumerTooSlow
 *                                                             error frame (reconnect with cursor=<next seq>)
 *                                                             and are dropped without a close frame
 *                                 {action: "refuse", status: 400|429|502|503, count: N, wire?, error?,
 *                                  message?, retryAfter?}     refuse the next N upgrades (of that wire, if
 *                                                             given): plain text on legacy, an XRPC body
 *                                                             {"error","message"} on v2 (error defaults by
 *                                                             status: InvalidRequest, RateLimitExceeded, …);
 *                                                             retryAfter (s) sets Retry-After; endless: true
 *                                                             sends the message and then a body that never
 *                                                             ends (1 MB, then nothing, the socket kept open)
 *                                 {action: "drop-after", events: N, count: M, wire?}  the next M connections
 *                                                             are dropped after sending N events each
 *                                 {action: "stall-after", events: N, count: M, wire?} same, but they stall
 *                                 {action: "too-slow-after", events: N, count: M}     same, but (v2 only)
 *                                                             they get ConsumerTooSlow
 *   GET  /control/NAME/connections  [{id, wire, query, subprotocol, cursor, startSeq, kinds, collections,
 *                                    dids, wantedCollections, wantedDids, requireHello, optionsUpdates,
 *                                    notices, sent, openedAt, closedAt, closeCause, open, refused, error,
 *                                    message}]  (refused: the HTTP status of a refused upgrade — every v2
 *                                    refusal, the commanded ones on legacy; error/message: what it said)
 *   GET  /control/NAME/log[?full]   {count, oldestUs, newestUs, firstSeq, nextSeq, timeUs: number[],
 *                                    seqs: number[], events?: string[]}
 *   POST /control/NAME/reset
 */
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import type { Duplex } from "node:stream";
import { closeServer, EventLog, JetstreamFeed, refuseUpgrade, refuseUpgradeXrpc, splitJsonLines, type Refusal, type Subscriber, type Wire } from "../../cli/lib/jetstream-replay.ts";

const FIXTURES_DIR = fileURLToPath(new URL("../fixtures/jetstream/", import.meta.url));

/** The real captured events, in file order (file names sorted). */
export function fixtureEvents(files?: readonly string[]): string[] {
  const names = files ?? readdirSync(FIXTURES_DIR).filter((f) => f.endsWith(".jsonl")).sort();
  return names.flatMap((name) => splitJsonLines(readFileSync(`${FIXTURES_DIR}${name}`, "utf8")));
}

/** Rewrites each event's time_us (only that field; the rest of the text is kept byte for byte). */
export function restamp(events: readonly string[], startUs: number, stepUs: number): string[] {
  return events.map((raw, i) => raw.replace(/"time_us":\s*\d+/, `"time_us":${startUs + i * stepUs}`));
}

interface ConnectionRecord {
  id: number;
  wire: Wire;
  /** The query string as it arrived (without `?`). */
  query: string;
  /** v2: the negotiated subprotocol (xrpc.v1.json when offered), else null. */
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
  openedAt: string;
  /** The HTTP status of a refused upgrade, else null. */
  refused: number | null;
  /** What a refusal said: the XRPC error name (v2) and message. */
  error: string | null;
  message: string | null;
  subscriber: Subscriber | null;
}

interface Instance {
  log: EventLog;
  feed: JetstreamFeed;
  connections: ConnectionRecord[];
  refusals: { status: number; remaining: number; wire: Wire | null; error: string | null; message: string | null; retryAfter: number | null; endless: boolean } | null;
  afterEvents: { action: "drop" | "stall" | "too-slow"; events: number; remaining: number; wire: Wire | null } | null;
}

const XRPC_ERROR_FOR_STATUS: Record<number, string> = { 400: "InvalidRequest", 429: "RateLimitExceeded", 502: "UpstreamFailure", 503: "ServiceUnavailable" };
const REFUSAL_TEXT: Record<number, string> = { 400: "invalid options: refused on command", 429: "rate limit exceeded (test server)" };

/** The record of a refused upgrade, from its query. */
function refusedRecord(id: number, wire: Wire, rawQuery: string, status: number, error: string | null, message: string): ConnectionRecord {
  const params = new URLSearchParams(rawQuery);
  return {
    id,
    wire,
    query: rawQuery,
    subprotocol: null,
    cursor: params.has("cursor") ? Number(params.get("cursor")) : null,
    startSeq: null,
    kinds: wire === "v2" ? params.getAll("kinds") : [],
    collections: wire === "v2" ? params.getAll("collections") : [],
    dids: wire === "v2" ? params.getAll("dids") : [],
    wantedCollections: params.getAll("wantedCollections"),
    wantedDids: params.getAll("wantedDids"),
    requireHello: params.get("requireHello") === "true",
    openedAt: new Date().toISOString(),
    refused: status,
    error,
    message,
    subscriber: null,
  };
}

export async function startJetstreamTestServer(options: { port?: number } = {}): Promise<{ base: string; close(): Promise<void> }> {
  const instances = new Map<string, Instance>();
  let refusedIds = 1_000_000;

  const instance = (name: string): Instance => {
    let found = instances.get(name);
    if (!found) {
      const log = new EventLog();
      const created: Instance = { log, feed: null!, connections: [], refusals: null, afterEvents: null };
      created.feed = new JetstreamFeed(log, (subscriber) => onConnection(created, subscriber));
      created.feed.onRefusal = (refusal: Refusal) => {
        // legacy validation refusals stay unrecorded (as before); every v2 refusal is recorded
        if (refusal.wire === "v2") created.connections.push(refusedRecord(refusedIds++, "v2", refusal.rawQuery, refusal.status, refusal.error, refusal.message));
      };
      instances.set(name, created);
      found = created;
    }
    return found;
  };

  const onConnection = (inst: Instance, subscriber: Subscriber) => {
    const r = subscriber.request;
    inst.connections.push({
      id: subscriber.id,
      wire: r.wire,
      query: r.rawQuery,
      subprotocol: r.wire === "v2" ? r.subprotocol : null,
      cursor: r.query.cursor,
      startSeq: subscriber.startSeq,
      kinds: r.wire === "v2" ? r.query.kinds : [],
      collections: r.wire === "v2" ? r.query.collections : [],
      dids: r.wire === "v2" ? r.query.dids : [],
      wantedCollections: r.wire === "legacy" ? r.query.wantedCollections : [],
      wantedDids: r.wire === "legacy" ? r.query.wantedDids : [],
      requireHello: r.wire === "legacy" && r.query.requireHello,
      openedAt: subscriber.openedAt.toISOString(),
      refused: null,
      error: null,
      message: null,
      subscriber,
    });
    const plan = inst.afterEvents;
    if (plan && plan.remaining > 0 && (plan.wire === null || plan.wire === subscriber.wire)) {
      plan.remaining--;
      const act = (s: Subscriber) => {
        if (s.sent < plan.events) return;
        s.afterSend = null;
        if (plan.action === "drop") s.terminate();
        else if (plan.action === "too-slow") s.tooSlow();
        else s.stall();
      };
      if (plan.events === 0) act(subscriber);
      else subscriber.afterSend = act;
    }
  };

  const server = createServer((req, res) => {
    handleControl(req, res).catch((error: unknown) => json(res, 500, { error: String(error) }));
  });

  server.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const match = /^\/(?:([A-Za-z0-9_-]+)\/)?(subscribe|xrpc\/network\.bsky\.jetstream\.subscribeEvents)$/.exec(url.pathname);
    if (!match) {
      refuseUpgrade(socket, 404, "not found");
      return;
    }
    const inst = instance(match[1] ?? "default");
    const wire: Wire = match[2] === "subscribe" ? "legacy" : "v2";
    const refusals = inst.refusals;
    if (refusals && refusals.remaining > 0 && (refusals.wire === null || refusals.wire === wire)) {
      refusals.remaining--;
      const status = refusals.status;
      const message = refusals.message ?? REFUSAL_TEXT[status] ?? "upstream unavailable (test server)";
      const error = wire === "v2" ? (refusals.error ?? XRPC_ERROR_FOR_STATUS[status] ?? "InternalServerError") : null;
      const headers: Record<string, string> = refusals.retryAfter !== null ? { "Retry-After": String(refusals.retryAfter) } : {};
      inst.connections.push(refusedRecord(refusedIds++, wire, url.search.slice(1), status, error, message));
      if (refusals.endless) refuseEndlessly(socket, status, message);
      else if (error !== null) refuseUpgradeXrpc(socket, status, error, message, headers);
      else refuseUpgrade(socket, status, message, headers);
      return;
    }
    inst.feed.handleUpgrade(req, socket, head, wire);
  });

  async function handleControl(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname === "/" || url.pathname === "/health") return json(res, 200, { ok: true });
    const match = /^\/control\/([A-Za-z0-9_-]+)\/([a-z-]+)$/.exec(url.pathname);
    if (!match) return json(res, 404, { error: "not found" });
    const [, name, action] = match;
    const inst = instance(name);
    const body = req.method === "POST" ? await readJson(req) : {};
    const stamp = (events: string[]) =>
      typeof body.startUs === "number" || action === "load" || action === "flood"
        ? restamp(events, typeof body.startUs === "number" ? body.startUs : Date.now() * 1000 - 600_000_000, typeof body.stepUs === "number" ? body.stepUs : 1000)
        : events;
    const chosen = (): string[] => [
      ...(body.fixtures === true ? fixtureEvents() : Array.isArray(body.fixtures) ? fixtureEvents(body.fixtures as string[]) : []),
      ...(Array.isArray(body.events) ? (body.events as string[]) : []),
    ];

    switch (`${req.method} ${action}`) {
      case "POST load": {
        const result = inst.log.load(stamp(chosen()));
        return json(res, 200, { ...result, ...summary(inst.log) });
      }
      case "POST append": {
        const added = inst.log.append(stamp(chosen()));
        const raw = Array.isArray(body.raw) ? inst.log.append(body.raw as string[], { raw: true }) : 0;
        return json(res, 200, { added, raw, ...summary(inst.log) });
      }
      case "POST flood": {
        const count = Number(body.count ?? 0);
        const all = fixtureEvents();
        const events = Array.from({ length: count }, (_, i) => all[i % all.length]);
        const added = inst.log.append(stamp(events));
        return json(res, 200, { added, ...summary(inst.log) });
      }
      case "POST seq":
        if (typeof body.start !== "number" || !Number.isSafeInteger(body.start) || body.start < 1) return json(res, 400, { error: "seq: start must be a positive integer" });
        inst.log.setNextSeq(body.start);
        return json(res, 200, summary(inst.log));
      case "POST legacy-cursor":
        inst.feed.legacyCursor = body.enabled === true;
        return json(res, 200, { legacyCursor: inst.feed.legacyCursor });
      case "POST retention":
        inst.log.setRetention(typeof body.seconds === "number" ? body.seconds : null);
        return json(res, 200, summary(inst.log));
      case "POST misbehave":
        return json(res, 200, misbehave(inst, body));
      case "GET connections":
        return json(
          res,
          200,
          inst.connections.map(({ subscriber, ...c }) => ({
            ...c,
            sent: subscriber?.sent ?? 0,
            open: subscriber?.open ?? false,
            closedAt: subscriber?.closedAt?.toISOString() ?? null,
            closeCause: subscriber?.closeCause ?? null,
            optionsUpdates: subscriber?.optionsUpdates ?? [],
            notices: subscriber?.notices ?? [],
          })),
        );
      case "GET log": {
        const entries = Array.from({ length: inst.log.size }, (_, i) => inst.log.at(inst.log.startSeq + i)!);
        const seqs = entries.map((_, i) => inst.log.wireSeq(inst.log.startSeq + i));
        return json(res, 200, { ...summary(inst.log), timeUs: entries.map((e) => e.timeUs), seqs, ...(url.searchParams.has("full") ? { events: entries.map((e) => e.raw) } : {}) });
      }
      case "POST reset":
        inst.feed.disconnectAll("terminate");
        instances.delete(name);
        return json(res, 200, { ok: true });
      default:
        return json(res, 404, { error: `unknown control ${req.method} ${action}` });
    }
  }

  function misbehave(inst: Instance, body: Record<string, unknown>): unknown {
    const open = [...inst.feed.subscribers].filter((s) => s.open);
    switch (body.action) {
      case "drop":
        open.forEach((s) => s.terminate());
        return { dropped: open.length };
      case "close":
        open.forEach((s) => s.close(1001, "going away"));
        return { closed: open.length };
      case "stall":
        open.forEach((s) => s.stall());
        return { stalled: open.length };
      case "too-slow": {
        const v2 = open.filter((s) => s.wire === "v2");
        v2.forEach((s) => s.tooSlow());
        return { tooSlow: v2.length };
      }
      case "refuse":
        inst.refusals = {
          status: Number(body.status ?? 502),
          remaining: Number(body.count ?? 1),
          wire: body.wire === "v2" || body.wire === "legacy" ? body.wire : null,
          error: typeof body.error === "string" ? body.error : null,
          message: typeof body.message === "string" ? body.message : null,
          retryAfter: typeof body.retryAfter === "number" ? body.retryAfter : null,
          endless: body.endless === true,
        };
        return inst.refusals;
      case "drop-after":
      case "stall-after":
      case "too-slow-after": {
        const action = body.action === "drop-after" ? "drop" : body.action === "stall-after" ? "stall" : "too-slow";
        const wire = body.wire === "v2" || body.wire === "legacy" ? body.wire : action === "too-slow" ? "v2" : null;
        inst.afterEvents = { action, events: Number(body.events ?? 0), remaining: Number(body.count ?? 1), wire };
        return inst.afterEvents;
      }
      default:
        return { error: `unknown action ${String(body.action)}` };
    }
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    base: `ws://127.0.0.1:${port}`,
    close: () => closeServer(server, ...[...instances.values()].map((i) => i.feed)),
  };
}

function summary(log: EventLog) {
  return { count: log.size, oldestUs: log.oldestUs(), newestUs: log.newestUs(), firstSeq: log.wireSeq(log.startSeq), nextSeq: log.wireSeq(log.endSeq) };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text.trim() === "" ? {} : (JSON.parse(text) as Record<string, unknown>);
}

function json(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/**
 * A refusal whose body never ends: its length announced as 1 GB, the message and 1 MB sent, then nothing
 * (a broken proxy). The socket is let go after a minute, or when the client gives up on it.
 */
function refuseEndlessly(socket: Duplex, status: number, message: string): void {
  socket.write(`HTTP/1.1 ${status} Error\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 1000000000\r\nConnection: close\r\n\r\n${message}\n`);
  socket.write("x".repeat(1_000_000));
  const timer = setTimeout(() => socket.destroy(), 60_000);
  timer.unref();
  socket.on("close", () => clearTimeout(timer));
  socket.on("error", () => {});
}
