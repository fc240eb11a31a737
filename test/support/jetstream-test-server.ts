/**
 * Jetstream-compatible test server: cli/lib/jetstream-replay.ts (the real replay core) plus HTTP control
 * routes on the same port, because tests inside workerd can only reach it with fetch.
 *
 * Named instances: `ws://HOST/NAME/subscribe` (and `/subscribe` = instance "default"). Each has its own
 * event log, misbehaviour switches and connection record, so test files (and failover tests with `/a`
 * and `/b`) never share state. Control routes (JSON bodies):
 *   POST /control/NAME/load       {fixtures?: true | string[], events?: string[], startUs?, stepUs?}
 *                                  replace the log; fixtures are the real captured events of
 *                                  test/fixtures/jetstream, restamped with increasing time_us
 *                                  (startUs, default now − 10 min; stepUs, default 1000)
 *   POST /control/NAME/append     {events?: string[], raw?: string[], fixtures?, startUs?, stepUs?}
 *                                  live events (restamped when startUs is given); `raw` frames are sent
 *                                  as they are (e.g. malformed text)
 *   POST /control/NAME/flood      {count, startUs?, stepUs?} count fixture events, cycled and restamped
 *   POST /control/NAME/retention  {seconds: number | null}
 *   POST /control/NAME/misbehave  {action: "drop"}            close open connections without a close frame
 *                                 {action: "close"}           close them with a close frame
 *                                 {action: "stall"}           keep them open, send nothing more
 *                                 {action: "refuse", status: 400|502, count: N}  refuse the next N upgrades
 *                                 {action: "drop-after", events: N, count: M}  the next M connections
 *                                                             are dropped after sending N events each
 *                                 {action: "stall-after", events: N, count: M} same, but they stall
 *   GET  /control/NAME/connections  [{id, cursor, wantedCollections, wantedDids, requireHello,
 *                                    optionsUpdates, sent, openedAt, closedAt, closeCause, open, refused}]
 *   GET  /control/NAME/log[?full]   {count, oldestUs, newestUs, timeUs: number[], events?: string[]}
 *   POST /control/NAME/reset
 */
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import { closeServer, EventLog, JetstreamFeed, refuseUpgrade, splitJsonLines, type Subscriber } from "../../cli/lib/jetstream-replay.ts";

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
  cursor: number | null;
  wantedCollections: string[];
  wantedDids: string[];
  requireHello: boolean;
  openedAt: string;
  refused: number | null;
  subscriber: Subscriber | null;
}

interface Instance {
  log: EventLog;
  feed: JetstreamFeed;
  connections: ConnectionRecord[];
  refusals: { status: number; remaining: number } | null;
  afterEvents: { action: "drop" | "stall"; events: number; remaining: number } | null;
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
      instances.set(name, created);
      found = created;
    }
    return found;
  };

  const onConnection = (inst: Instance, subscriber: Subscriber) => {
    const q = subscriber.query;
    inst.connections.push({
      id: subscriber.id,
      cursor: q.cursor,
      wantedCollections: q.wantedCollections,
      wantedDids: q.wantedDids,
      requireHello: q.requireHello,
      openedAt: subscriber.openedAt.toISOString(),
      refused: null,
      subscriber,
    });
    const plan = inst.afterEvents;
    if (plan && plan.remaining > 0) {
      plan.remaining--;
      const act = (s: Subscriber) => {
        if (s.sent < plan.events) return;
        s.afterSend = null;
        if (plan.action === "drop") s.terminate();
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
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const match = /^\/(?:([A-Za-z0-9_-]+)\/)?subscribe$/.exec(path);
    if (!match) {
      refuseUpgrade(socket, 404, "not found");
      return;
    }
    const inst = instance(match[1] ?? "default");
    const refusals = inst.refusals;
    if (refusals && refusals.remaining > 0) {
      refusals.remaining--;
      const params = new URL(req.url ?? "/", "http://localhost").searchParams;
      inst.connections.push({
        id: refusedIds++,
        cursor: params.has("cursor") ? Number(params.get("cursor")) : null,
        wantedCollections: params.getAll("wantedCollections"),
        wantedDids: params.getAll("wantedDids"),
        requireHello: params.get("requireHello") === "true",
        openedAt: new Date().toISOString(),
        refused: refusals.status,
        subscriber: null,
      });
      refuseUpgrade(socket, refusals.status, refusals.status === 400 ? "invalid options: refused on command" : "upstream unavailable (test server)");
      return;
    }
    inst.feed.handleUpgrade(req, socket, head);
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
          })),
        );
      case "GET log": {
        const entries = Array.from({ length: inst.log.size }, (_, i) => inst.log.at(inst.log.startSeq + i)!);
        return json(res, 200, { ...summary(inst.log), timeUs: entries.map((e) => e.timeUs), ...(url.searchParams.has("full") ? { events: entries.map((e) => e.raw) } : {}) });
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
      case "refuse":
        inst.refusals = { status: Number(body.status ?? 502), remaining: Number(body.count ?? 1) };
        return inst.refusals;
      case "drop-after":
      case "stall-after":
        inst.afterEvents = { action: body.action === "drop-after" ? "drop" : "stall", events: Number(body.events ?? 0), remaining: Number(body.count ?? 1) };
        return inst.afterEvents;
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
  return { count: log.size, oldestUs: log.oldestUs(), newestUs: log.newestUs() };
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
