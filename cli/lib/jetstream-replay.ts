/**
 * A Jetstream-compatible server that serves a log of recorded events (JSON lines), for local development
 * and tests. It speaks both wires of a Jetstream v2 server and behaves like the real one where a client
 * can tell.
 *
 * Legacy `/subscribe` (v1 JSON):
 * - `cursor` (unix µs) replays inclusively from the first event at or after it, then streams live events;
 *   a cursor older than the retention window is silently clamped to the oldest retained event;
 *   no cursor = live only;
 * - `wantedCollections` (exact NSIDs and `prefix.*`; `*`, invalid NSIDs or more than 100 → HTTP 400),
 *   `wantedDids` (at most 10,000), `maxMessageSizeBytes`, `requireHello`;
 * - `options_update` messages replace the filters mid-stream (an invalid one closes the connection);
 * - identity and account events reach every subscriber regardless of wantedCollections (DIDs still apply);
 * - with `legacyCursor` on (off by default), as a v2 server's /subscribe: each event carries
 *   `"cursor":<seq>` and a `cursor` below 1e15 is read as a seq (clamped silently to the floor).
 * `compress=true` (zstd) is not supported and is refused with HTTP 400.
 *
 * v2 `/xrpc/network.bsky.jetstream.subscribeEvents` (xrpc.v1.json frames, jetstream-v2-frames.ts):
 * - every event has a seq in this log's own seq space (1-based, or from `setNextSeq`);
 * - `kinds`, `collections`, `dids` filters (repeated keys) and the server's 400s, as XRPC JSON envelopes;
 * - `cursor`: a seq (inclusive; below the oldest retained → 400 CursorTooOld) or a µs timestamp (below
 *   the oldest retained → clamped, first frame `#info OutdatedCursor`); a future cursor = live;
 * - subprotocol `xrpc.v1.json` echoed when offered; any frame from the client closes the socket (1008).
 * Raw (non-event) frames appended to the log are sent as they are on both wires.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import { collectionMatcher, parseWantedCollections, parseWantedDids } from "../../worker/jetstream/identifiers.ts";
import { consumerTooSlowFrame, legacyWithCursor, outdatedCursorFrame, V2_PATH, V2_SUBPROTOCOL, v2MessageFrame, xrpcErrorBody } from "./jetstream-v2-frames.ts";
import { parseV2Query, resolveLegacySeqCursor, resolveV2Cursor, v2Filter, type SeqSpace, type V2Query, type V2Refusal } from "./jetstream-v2-query.ts";

/** Which wire a connection speaks: the legacy `/subscribe` JSON, or v2 subscribeEvents frames. */
export type Wire = "legacy" | "v2";

/** The wire an endpoint path names (`/subscribe`, `/xrpc/network.bsky.jetstream.subscribeEvents`), else null. */
export function wireForPath(pathname: string): Wire | null {
  return pathname === "/subscribe" ? "legacy" : pathname === V2_PATH ? "v2" : null;
}

/** One frame of the log. `timeUs`/`did`/`kind` are null for a frame that is not a valid event. */
export interface LogEntry {
  raw: string;
  timeUs: number | null;
  did: string | null;
  kind: string | null;
  collection: string | null;
  bytes: number;
  /** The v2 frame, rendered once for the seq it was rendered with (null: nothing to send on v2). */
  v2?: { seq: number; frame: string | null };
}

/**
 * The text as one flat string: a frame built by concatenation is a tree of pieces that every send would
 * have to copy into one piece first (the benchmark's upstream makes its frames ahead, flat).
 */
function flat(text: string | null): string | null {
  return text === null ? null : Buffer.from(text).toString();
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
 * The events a server holds, in serving order, addressed by an ever-growing position (`startSeq`,
 * `endSeq`, `at`: entries can be dropped from the front by retention while subscribers keep their
 * position). The seq a client sees (v2 frames, the legacy `cursor` field) is `wireSeq(position)`: the
 * position shifted into this log's own seq space.
 */
export class EventLog {
  private entries: LogEntry[] = [];
  private firstSeq = 0;
  /** wire seq = position + seqOffset (positions start at 0, seqs at 1 unless setNextSeq moved them). */
  private seqOffset = 1;
  private retentionUs: number | null;
  /** Whether retention ever dropped events: only then is a time before the oldest one below the floor. */
  private dropped = false;
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
    return this.appendEntries(lines.map(toLogEntry).filter((entry) => entry.timeUs !== null || options.raw));
  }

  /**
   * Appends entries made beforehand by `stageEntries` (the benchmark's upstream: the parsing and the v2
   * frames' making, and their garbage, happen before the flood, so that it measures the relay).
   */
  appendEntries(entries: readonly LogEntry[]): number {
    for (const entry of entries) this.entries.push(entry);
    this.prune();
    if (entries.length > 0) this.notify();
    return entries.length;
  }

  /**
   * Entries for these events, with their v2 frames rendered for the seqs they will have when appended
   * at `position` (a frame is rendered again if they land elsewhere).
   */
  stageEntries(lines: readonly string[], position: number, options: { renderV2?: boolean } = {}): LogEntry[] {
    const entries = lines.map(toLogEntry).filter((entry) => entry.timeUs !== null);
    if (options.renderV2) {
      entries.forEach((entry, i) => {
        const seq = this.wireSeq(position + i);
        entry.v2 = { seq, frame: flat(v2MessageFrame(entry.raw, seq)) };
      });
    }
    return entries;
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
      this.dropped = true;
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

  /** The seq the wire shows for the event at this position (positions are what `at` and subscribers use). */
  wireSeq(position: number): number {
    return position + this.seqOffset;
  }
  positionOfWireSeq(seq: number): number {
    return seq - this.seqOffset;
  }
  /** The next event added gets this seq (the retained ones are renumbered below it, order kept). */
  setNextSeq(seq: number): void {
    this.seqOffset = seq - this.endSeq;
  }

  /** The log's seq space as the v2 cursor resolution sees it (after pruning). */
  seqSpace(): SeqSpace {
    this.prune();
    return {
      floorSeq: this.wireSeq(this.startSeq),
      nextSeq: this.wireSeq(this.endSeq),
      // A real server holds 36 h: a time before a short test log is only "below the floor" once the log dropped something.
      oldestUs: this.dropped ? this.oldestUs() : null,
      seqAtOrAfter: (timeUs) => this.wireSeq(this.seqForCursor(timeUs)),
    };
  }

  /** The v2 frame of the entry at this position (cached on the entry). */
  v2Frame(position: number): string | null {
    const entry = this.at(position)!;
    const seq = this.wireSeq(position);
    if (entry.v2?.seq !== seq) entry.v2 = { seq, frame: v2MessageFrame(entry.raw, seq) };
    return entry.v2.frame;
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

/** What a client asked for, on its wire; `rawQuery` is the query string as it arrived (without `?`). */
export type SubscriptionRequest =
  | { wire: "legacy"; query: SubscribeQuery; rawQuery: string }
  | { wire: "v2"; query: V2Query; rawQuery: string; subprotocol: string | null };

/** One connected client: replays from its start position, then follows live appends. */
export class Subscriber {
  readonly id = nextSubscriberId++;
  readonly openedAt = new Date();
  closedAt: Date | null = null;
  /** How it ended: "terminated" (by the server, no close frame) or the close code seen (1006 = connection lost). */
  closeCause: string | null = null;
  /** Events sent (not counting notices). */
  sent = 0;
  /** Every options_update received (as parsed filters). */
  readonly optionsUpdates: SubscriptionFilter[] = [];
  /** The frames sent that are not events: v2 `#info` and error frames. */
  readonly notices: string[] = [];
  /** The seq of the first event this subscription was to receive. */
  readonly startSeq: number;
  private position: number;
  private wants: (e: LogEntry) => boolean;
  private waitingForHello: boolean;
  private stalled = false;
  private pumping = false;
  private readonly unsubscribe: () => void;
  /** Called after each frame sent (the test server uses it to misbehave mid-stream). */
  afterSend: ((subscriber: Subscriber) => void) | null = null;
  /** Called with each event sent (the benchmark's upstream notes when each was first sent). */
  sentEvent: ((entry: LogEntry) => void) | null = null;

  constructor(
    readonly socket: WebSocket,
    private readonly log: EventLog,
    readonly request: SubscriptionRequest,
    start: { position: number; notice?: string | null },
    /** Legacy wire: each event carries `"cursor":<seq>` (as on a v2 server). */
    private readonly legacyCursor = false,
  ) {
    this.position = start.position;
    this.startSeq = log.wireSeq(start.position);
    this.wants = request.wire === "v2" ? v2Filter(request.query) : compileFilter(request.query);
    this.waitingForHello = request.wire === "legacy" && request.query.requireHello;
    this.unsubscribe = log.onAppend(() => this.pump());
    socket.on("message", (data, isBinary) => this.onMessage(data, isBinary));
    socket.on("close", (code, reason) => this.finish(`close ${code}${reason.length ? ` ${reason.toString()}` : ""}`));
    socket.on("error", (error) => this.finish(`error ${error.message}`));
    if (start.notice) this.sendNotice(start.notice);
    setImmediate(() => this.pump());
  }

  get wire(): Wire {
    return this.request.wire;
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

  /**
   * v2: the server's slow-reader drop: a ConsumerTooSlow error frame naming the seq to reconnect with (the
   * next one this subscriber would have read), then the connection ends without a close frame.
   */
  tooSlow(): void {
    if (this.request.wire !== "v2" || !this.open) return;
    const lag = this.log.endSeq - this.position;
    this.sendNotice(consumerTooSlowFrame(lag, this.log.wireSeq(this.position)), () => this.terminate());
    this.stalled = true;
  }

  private sendNotice(frame: string, then?: () => void): void {
    this.notices.push(frame);
    this.socket.send(frame, then ? () => then() : undefined);
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.request.wire === "v2") {
      this.socket.close(1008, "unexpected data message"); // server push only
      return;
    }
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

  /** The text to send for the event at this position, or null to skip it. */
  private frameAt(position: number): string | null {
    const entry = this.log.at(position)!;
    if (entry.timeUs === null) return entry.raw; // a raw (malformed) frame: served to everyone
    if (!this.wants(entry)) return null;
    if (this.request.wire === "legacy") return this.legacyCursor ? legacyWithCursor(entry.raw, this.log.wireSeq(position)) : entry.raw;
    const frame = this.log.v2Frame(position);
    const max = this.request.query.maxMessageSizeBytes;
    return frame !== null && max > 0 && Buffer.byteLength(frame) > max ? null : frame;
  }

  private pump(): void {
    if (this.pumping || !this.open || this.stalled || this.waitingForHello) return;
    this.pumping = true;
    // One write to the kernel for the frames of a turn, not one per frame (ws corks each frame's own
    // writes too). Not with an afterSend hook: it may end the socket mid-turn, before the frames it
    // saw sent are written.
    const tcp = this.afterSend === null ? (this.socket as unknown as { _socket?: Duplex })._socket : undefined;
    tcp?.cork();
    try {
      if (this.position < this.log.startSeq) this.position = this.log.startSeq; // fell behind retention
      let budget = 1000;
      while (this.position < this.log.endSeq && budget-- > 0) {
        if (this.socket.bufferedAmount > 4_000_000) break;
        const position = this.position++;
        const frame = this.frameAt(position);
        if (frame === null) continue;
        this.socket.send(frame);
        this.sent++;
        this.sentEvent?.(this.log.at(position)!);
        this.afterSend?.(this);
        if (!this.open || this.stalled) return;
      }
      if (this.position < this.log.endSeq) setTimeout(() => this.pump(), this.socket.bufferedAmount > 4_000_000 ? 10 : 0);
    } finally {
      tcp?.uncork();
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

/** An upgrade the feed refused before upgrading (reported to `onRefusal`). */
export interface Refusal {
  wire: Wire;
  status: number;
  /** The XRPC error name on v2 (`InvalidRequest`, `CursorTooOld`, …); null on the legacy wire. */
  error: string | null;
  message: string;
  rawQuery: string;
}

/** Serves one log over WebSocket upgrades, on both wires; attach it to any HTTP server's `upgrade` event. */
export class JetstreamFeed {
  readonly subscribers = new Set<Subscriber>();
  /** Legacy wire as a v2 server's /subscribe: events carry `"cursor":<seq>`, a cursor below 1e15 is a seq. */
  legacyCursor = false;
  /** Called for each upgrade refused by validation (the test server records v2 ones). */
  onRefusal: (refusal: Refusal) => void = () => {};
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 10_000_000 });
  // v2: the one subprotocol is echoed when offered (and none otherwise); deflate is never negotiated
  private readonly wssV2 = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 10_000_000,
    handleProtocols: (offered) => (offered.has(V2_SUBPROTOCOL) ? V2_SUBPROTOCOL : false),
  });

  constructor(
    readonly log: EventLog,
    private readonly onConnection: (subscriber: Subscriber) => void = () => {},
  ) {}

  /**
   * Validates the request (HTTP 400 with the server's message when invalid: plain text on the legacy
   * wire, an XRPC envelope on v2) and upgrades. The wire is the given one, else the one the path names.
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, wire?: Wire): void {
    const url = new URL(request.url ?? "/", "http://localhost");
    const rawQuery = url.search.slice(1);
    if ((wire ?? wireForPath(url.pathname)) === "v2") this.upgradeV2(request, socket, head, url.searchParams, rawQuery);
    else this.upgradeLegacy(request, socket, head, url.searchParams, rawQuery);
  }

  private upgradeLegacy(request: IncomingMessage, socket: Duplex, head: Buffer, params: URLSearchParams, rawQuery: string): void {
    const parsed = parseSubscribeQuery(params);
    if ("error" in parsed) {
      this.onRefusal({ wire: "legacy", status: 400, error: null, message: parsed.error, rawQuery });
      refuseUpgrade(socket, 400, parsed.error);
      return;
    }
    const position = this.legacyCursor ? this.log.positionOfWireSeq(resolveLegacySeqCursor(parsed.query.cursor, this.log.seqSpace())) : this.log.seqForCursor(parsed.query.cursor);
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      this.accept(new Subscriber(ws, this.log, { wire: "legacy", query: parsed.query, rawQuery }, { position }, this.legacyCursor));
    });
  }

  private upgradeV2(request: IncomingMessage, socket: Duplex, head: Buffer, params: URLSearchParams, rawQuery: string): void {
    const refuse = (refusal: V2Refusal) => {
      this.onRefusal({ wire: "v2", ...refusal, rawQuery });
      refuseUpgradeXrpc(socket, refusal.status, refusal.error, refusal.message);
    };
    const parsed = parseV2Query(params);
    if ("refusal" in parsed) return refuse(parsed.refusal);
    const start = resolveV2Cursor(parsed.query.cursor, this.log.seqSpace());
    if ("refusal" in start) return refuse(start.refusal);
    this.wssV2.handleUpgrade(request, socket, head, (ws) => {
      const subscription: SubscriptionRequest = { wire: "v2", query: parsed.query, rawQuery, subprotocol: ws.protocol || null };
      const notice = start.outdated ? outdatedCursorFrame(start.startSeq) : null;
      this.accept(new Subscriber(ws, this.log, subscription, { position: this.log.positionOfWireSeq(start.startSeq), notice }));
    });
  }

  private accept(subscriber: Subscriber): void {
    this.subscribers.add(subscriber);
    subscriber.socket.on("close", () => this.subscribers.delete(subscriber));
    this.onConnection(subscriber);
  }

  /** Closes every connection (with a close frame, or abruptly). */
  disconnectAll(how: "close" | "terminate" = "close"): void {
    for (const s of this.subscribers) {
      if (how === "terminate") s.terminate();
      else s.close(1001, "server going away");
    }
  }
}

/** Answers an upgrade request with a plain HTTP error, as the real server does before upgrading (legacy wire). */
export function refuseUpgrade(socket: Duplex, status: number, message: string, headers: Record<string, string> = {}): void {
  writeRefusal(socket, status, "text/plain; charset=utf-8", `${message}\n`, headers);
}

/** A v2 refusal: the XRPC error envelope `{"error":…,"message":…}` as JSON. */
export function refuseUpgradeXrpc(socket: Duplex, status: number, error: string, message: string, headers: Record<string, string> = {}): void {
  writeRefusal(socket, status, "application/json", xrpcErrorBody(error, message), headers);
}

function writeRefusal(socket: Duplex, status: number, contentType: string, body: string, headers: Record<string, string>): void {
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join("");
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`,
  );
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
  /** Path of the legacy endpoint. Default /subscribe. (The v2 endpoint is always at its XRPC path.) */
  path?: string;
  /** The seq of the first event (v2 wire). Default 1. */
  firstSeq?: number;
  /** The legacy wire as a v2 server's: `"cursor":<seq>` in each event, seq cursors. Default off. */
  legacyCursor?: boolean;
}

export interface ReplayServer {
  /** ws://HOST:PORT/subscribe */
  url: string;
  /** ws://HOST:PORT/xrpc/network.bsky.jetstream.subscribeEvents */
  v2Url: string;
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
  const log = new EventLog({ retentionSeconds: options.retentionSeconds ?? null });
  if (options.firstSeq !== undefined) log.setNextSeq(options.firstSeq);
  if (options.events) log.load(options.events);
  const feed = new JetstreamFeed(log);
  feed.legacyCursor = options.legacyCursor ?? false;
  const server: Server = createServer((req, res) => {
    res.writeHead(req.url === "/" ? 200 : 404, { "content-type": "text/plain" });
    res.end(req.url === "/" ? `jetstream replay: ${log.size} events; subscribe at ${path}\n` : "not found\n");
  });
  server.on("upgrade", (req, socket, head) => {
    const pathname = new URL(req.url ?? "/", "http://localhost").pathname;
    if (pathname === path) feed.handleUpgrade(req, socket, head, "legacy");
    else if (pathname === V2_PATH) feed.handleUpgrade(req, socket, head, "v2");
    else refuseUpgrade(socket, 404, "not found");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const port = (server.address() as { port: number }).port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `ws://${shownHost}:${port}${path}`,
    v2Url: `ws://${shownHost}:${port}${V2_PATH}`,
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
