/**
 * A Jetstream-compatible `/subscribe` server that serves a log of recorded events (JSON lines), for local
 * development and tests. It behaves like the real server where a client can tell:
 * - `cursor` (unix µs) replays inclusively from the first event at or after it, then streams live events;
 *   a cursor older than the retention window is silently clamped to the oldest retained event;
 *   no cursor = live only;
 * - `wantedCollections` (exact NSIDs and `prefix.*`; `*`, invalid NSIDs or more than 100 → HTTP 400),
 *   `wantedDids` (at most 10,000), `maxMessageSizeBytes`, `requireHello`;
 * - `options_update` messages replace the filters mid-stream (an invalid one closes the connection);
 * - identity and account events reach every subscriber regardless of wantedCollections (DIDs still apply).
 * `compress=true` (zstd) is not supported and is refused with HTTP 400.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import { collectionMatcher, parseWantedCollections, parseWantedDids } from "../../worker/ingest/identifiers.ts";

/** One frame of the log. `timeUs`/`did`/`kind` are null for a frame that is not a valid event. */
export interface LogEntry {
  raw: string;
  timeUs: number | null;
  did: string | null;
  kind: string | null;
  collection: string | null;
  bytes: number;
}

export function toLogEntry(raw: string): LogEntry {
  const entry: LogEntry = { raw, timeUs: null, did: null, kind: null, collection: null, bytes: Buffer.byteLength(raw) };
  try {
    const e = JSON.parse(raw) as { time_us?: unknown; did?: unknown; kind?: unknown; commit?: { collection?: unknown } };
    if (typeof e.time_us === "number") entry.timeUs = e.time_us;
    if (typeof e.did === "string") entry.did = e.did;
    if (typeof e.kind === "string") entry.kind = e.kind;
    if (typeof e.commit?.collection === "string") entry.collection = e.commit.collection;
  } catch {
    // not JSON: kept as is (served only when appended as a raw frame)
  }
  return entry;
}

/** Splits JSON-lines text into event lines (blank lines dropped). */
export function splitJsonLines(text: string): string[] {
  return text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
}

/**
 * The events a server holds, in serving order, addressed by an ever-growing sequence number (so entries
 * can be dropped from the front by retention while subscribers keep their position).
 */
export class EventLog {
  private entries: LogEntry[] = [];
  private firstSeq = 0;
  private retentionUs: number | null;
  private readonly listeners = new Set<() => void>();
  private readonly now: () => number;

  constructor(options: { events?: readonly string[]; retentionSeconds?: number | null; now?: () => number } = {}) {
    this.retentionUs = options.retentionSeconds == null ? null : options.retentionSeconds * 1e6;
    this.now = options.now ?? Date.now;
    if (options.events) this.load(options.events);
  }

  /** Replaces the log with these events, sorted by time_us; lines that are not events are skipped (returned count). */
  load(lines: readonly string[]): { loaded: number; skipped: number } {
    const entries = lines.map(toLogEntry);
    const valid = entries.filter((e) => e.timeUs !== null);
    valid.sort((a, b) => a.timeUs! - b.timeUs!);
    this.firstSeq += this.entries.length;
    this.entries = valid;
    this.prune();
    this.notify();
    return { loaded: valid.length, skipped: entries.length - valid.length };
  }

  /** Appends live events (in the given order); lines that are not events are skipped unless `raw`. */
  append(lines: readonly string[], options: { raw?: boolean } = {}): number {
    let added = 0;
    for (const line of lines) {
      const entry = toLogEntry(line);
      if (entry.timeUs === null && !options.raw) continue;
      this.entries.push(entry);
      added++;
    }
    this.prune();
    if (added > 0) this.notify();
    return added;
  }

  setRetention(seconds: number | null): void {
    this.retentionUs = seconds === null ? null : seconds * 1e6;
    this.prune();
  }

  /** Drops events older than the retention window (relative to now). */
  prune(): void {
    if (this.retentionUs === null) return;
    const floor = this.now() * 1000 - this.retentionUs;
    let drop = 0;
    while (drop < this.entries.length && (this.entries[drop].timeUs ?? Number.POSITIVE_INFINITY) < floor) drop++;
    if (drop > 0) {
      this.entries.splice(0, drop);
      this.firstSeq += drop;
    }
  }

  get startSeq(): number {
    return this.firstSeq;
  }
  get endSeq(): number {
    return this.firstSeq + this.entries.length;
  }
  get size(): number {
    return this.entries.length;
  }
  at(seq: number): LogEntry | undefined {
    return this.entries[seq - this.firstSeq];
  }
  oldestUs(): number | null {
    return this.entries.find((e) => e.timeUs !== null)?.timeUs ?? null;
  }
  newestUs(): number | null {
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i].timeUs !== null) return this.entries[i].timeUs;
    return null;
  }

  /** Where a subscription starts: inclusive replay from `cursorUs`, clamped to the oldest retained; null = live. */
  seqForCursor(cursorUs: number | null): number {
    this.prune();
    if (cursorUs === null) return this.endSeq;
    const index = this.entries.findIndex((e) => e.timeUs !== null && e.timeUs >= cursorUs);
    return index === -1 ? this.endSeq : this.firstSeq + index;
  }

  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }
}

/** The filters of one subscription. */
export interface SubscriptionFilter {
  wantedCollections: string[];
  wantedDids: string[];
  maxMessageSizeBytes: number;
}

export interface SubscribeQuery extends SubscriptionFilter {
  cursor: number | null;
  requireHello: boolean;
}

/** Parses a `/subscribe` query like the server; `error` is the text of its HTTP 400. */
export function parseSubscribeQuery(params: URLSearchParams): { query: SubscribeQuery } | { error: string } {
  if (params.get("compress") === "true") return { error: "compress=true (zstd) is not supported by this replay server" };
  const filter = validateFilter({
    wantedCollections: params.getAll("wantedCollections"),
    wantedDids: params.getAll("wantedDids"),
    maxMessageSizeBytes: Number(params.get("maxMessageSizeBytes") ?? 0),
  });
  if ("error" in filter) return filter;
  const rawCursor = params.get("cursor");
  let cursor: number | null = null;
  if (rawCursor !== null && rawCursor !== "") {
    cursor = Number(rawCursor);
    if (!Number.isSafeInteger(cursor)) return { error: `invalid cursor: ${rawCursor}` };
  }
  return { query: { ...filter.filter, cursor, requireHello: params.get("requireHello") === "true" } };
}

function validateFilter(f: SubscriptionFilter): { filter: SubscriptionFilter } | { error: string } {
  const collections = parseWantedCollections(f.wantedCollections);
  if ("error" in collections) return { error: `invalid options: ${collections.error}` };
  const dids = parseWantedDids(f.wantedDids);
  if ("error" in dids) return { error: `invalid options: ${dids.error}` };
  const max = Number.isSafeInteger(f.maxMessageSizeBytes) && f.maxMessageSizeBytes > 0 ? f.maxMessageSizeBytes : 0;
  return { filter: { wantedCollections: [...f.wantedCollections], wantedDids: [...f.wantedDids], maxMessageSizeBytes: max } };
}

function compileFilter(f: SubscriptionFilter): (e: LogEntry) => boolean {
  const collections = parseWantedCollections(f.wantedCollections);
  const wants = "patterns" in collections && f.wantedCollections.length > 0 ? collectionMatcher(collections.patterns) : null;
  const dids = f.wantedDids.length > 0 ? new Set(f.wantedDids) : null;
  return (e) => {
    if (e.timeUs === null) return true; // a raw (malformed) frame: served to everyone
    if (f.maxMessageSizeBytes > 0 && e.bytes > f.maxMessageSizeBytes) return false;
    if (dids && (e.did === null || !dids.has(e.did))) return false;
    if (wants && e.kind === "commit" && e.collection) return wants(e.collection);
    return true;
  };
}

let nextSubscriberId = 1;

/** One connected client: replays from its start position, then follows live appends. */
export class Subscriber {
  readonly id = nextSubscriberId++;
  readonly openedAt = new Date();
  closedAt: Date | null = null;
  /** How it ended: "terminated" (by the server, no close frame) or the close code seen (1006 = connection lost). */
  closeCause: string | null = null;
  sent = 0;
  /** Every options_update received (as parsed filters). */
  readonly optionsUpdates: SubscriptionFilter[] = [];
  private position: number;
  private wants: (e: LogEntry) => boolean;
  private waitingForHello: boolean;
  private stalled = false;
  private pumping = false;
  private readonly unsubscribe: () => void;
  /** Called after each frame sent (the test server uses it to misbehave mid-stream). */
  afterSend: ((subscriber: Subscriber) => void) | null = null;

  constructor(
    readonly socket: WebSocket,
    private readonly log: EventLog,
    readonly query: SubscribeQuery,
  ) {
    this.position = log.seqForCursor(query.cursor);
    this.wants = compileFilter(query);
    this.waitingForHello = query.requireHello;
    this.unsubscribe = log.onAppend(() => this.pump());
    socket.on("message", (data, isBinary) => this.onMessage(data, isBinary));
    socket.on("close", (code, reason) => this.finish(`close ${code}${reason.length ? ` ${reason.toString()}` : ""}`));
    socket.on("error", (error) => this.finish(`error ${error.message}`));
    setImmediate(() => this.pump());
  }

  get open(): boolean {
    return this.closedAt === null;
  }

  /** Keeps the connection open but sends nothing more. */
  stall(): void {
    this.stalled = true;
  }

  /** Drops the TCP connection without a close frame (as old servers and crashing proxies do). */
  terminate(): void {
    this.finish("terminated");
    this.socket.terminate();
  }

  close(code = 1000, reason = ""): void {
    this.socket.close(code, reason);
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) return;
    let message: { type?: unknown; payload?: Partial<SubscriptionFilter> };
    try {
      message = JSON.parse(data.toString());
    } catch {
      return; // the real server logs and ignores what it cannot read
    }
    if (message.type !== "options_update") return;
    const p = message.payload ?? {};
    const filter = validateFilter({
      wantedCollections: Array.isArray(p.wantedCollections) ? p.wantedCollections.map(String) : [],
      wantedDids: Array.isArray(p.wantedDids) ? p.wantedDids.map(String) : [],
      maxMessageSizeBytes: typeof p.maxMessageSizeBytes === "number" ? p.maxMessageSizeBytes : 0,
    });
    if ("error" in filter) {
      this.socket.close(1008, filter.error.slice(0, 120));
      return;
    }
    this.optionsUpdates.push(filter.filter);
    this.wants = compileFilter(filter.filter);
    this.waitingForHello = false;
    this.pump();
  }

  private pump(): void {
    if (this.pumping || !this.open || this.stalled || this.waitingForHello) return;
    this.pumping = true;
    try {
      if (this.position < this.log.startSeq) this.position = this.log.startSeq; // fell behind retention
      let budget = 1000;
      while (this.position < this.log.endSeq && budget-- > 0) {
        if (this.socket.bufferedAmount > 4_000_000) break;
        const entry = this.log.at(this.position++)!;
        if (!this.wants(entry)) continue;
        this.socket.send(entry.raw);
        this.sent++;
        this.afterSend?.(this);
        if (!this.open || this.stalled) return;
      }
      if (this.position < this.log.endSeq) setTimeout(() => this.pump(), this.socket.bufferedAmount > 4_000_000 ? 10 : 0);
    } finally {
      this.pumping = false;
    }
  }

  private finish(cause: string): void {
    if (this.closedAt !== null) return;
    this.closedAt = new Date();
    this.closeCause = cause;
    this.unsubscribe();
  }
}

/** Serves one log over WebSocket upgrades; attach it to any HTTP server's `upgrade` event. */
export class JetstreamFeed {
  readonly subscribers = new Set<Subscriber>();
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 10_000_000 });

  constructor(
    readonly log: EventLog,
    private readonly onConnection: (subscriber: Subscriber) => void = () => {},
  ) {}

  /** Validates the query (HTTP 400 with the server's message when invalid) and upgrades. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(request.url ?? "/", "http://localhost");
    const parsed = parseSubscribeQuery(url.searchParams);
    if ("error" in parsed) {
      refuseUpgrade(socket, 400, parsed.error);
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      const subscriber = new Subscriber(ws, this.log, parsed.query);
      this.subscribers.add(subscriber);
      ws.on("close", () => this.subscribers.delete(subscriber));
      this.onConnection(subscriber);
    });
  }

  /** Closes every connection (with a close frame, or abruptly). */
  disconnectAll(how: "close" | "terminate" = "close"): void {
    for (const s of this.subscribers) {
      if (how === "terminate") s.terminate();
      else s.close(1001, "server going away");
    }
  }
}

/** Answers an upgrade request with a plain HTTP error, as the real server does before upgrading. */
export function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = `${message}\n`;
  const reason = status === 400 ? "Bad Request" : status === 502 ? "Bad Gateway" : status === 503 ? "Service Unavailable" : "Error";
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

export interface ReplayServerOptions {
  /** 0 (default) = a random free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Recorded events, one JSON text each (JSON lines). */
  events?: readonly string[];
  /** Events older than this (relative to now) are dropped; a cursor before them is clamped. Default: keep all. */
  retentionSeconds?: number | null;
  /** Path of the endpoint. Default /subscribe. */
  path?: string;
}

export interface ReplayServer {
  /** ws://HOST:PORT/subscribe */
  url: string;
  port: number;
  log: EventLog;
  feed: JetstreamFeed;
  /** Appends live events (sent at once to matching subscribers); returns how many were valid events. */
  append(events: readonly string[]): number;
  close(): Promise<void>;
}

/** Starts a replay server on its own HTTP server. */
export async function start(options: ReplayServerOptions = {}): Promise<ReplayServer> {
  const host = options.host ?? "127.0.0.1";
  const path = options.path ?? "/subscribe";
  const log = new EventLog({ events: options.events, retentionSeconds: options.retentionSeconds ?? null });
  const feed = new JetstreamFeed(log);
  const server: Server = createServer((req, res) => {
    res.writeHead(req.url === "/" ? 200 : 404, { "content-type": "text/plain" });
    res.end(req.url === "/" ? `jetstream replay: ${log.size} events; subscribe at ${path}\n` : "not found\n");
  });
  server.on("upgrade", (req, socket, head) => {
    if (new URL(req.url ?? "/", "http://localhost").pathname !== path) refuseUpgrade(socket, 404, "not found");
    else feed.handleUpgrade(req, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const port = (server.address() as { port: number }).port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `ws://${shownHost}:${port}${path}`,
    port,
    log,
    feed,
    append: (events) => log.append(events),
    close: () => closeServer(server, feed),
  };
}

export function closeServer(server: Server, ...feeds: JetstreamFeed[]): Promise<void> {
  for (const feed of feeds) feed.disconnectAll("terminate");
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
