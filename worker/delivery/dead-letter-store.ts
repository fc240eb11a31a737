import { DurableObject } from "cloudflare:workers";
import type { DeadLetter, DeadLetterPage, DeadLetterSelection, Env } from "../contract.ts";
import { deadLetterMaxEvents } from "./delivery-config.ts";
import { isV2Payload, parseV2Payload } from "../jetstream/v2-frame.ts";
import { CAUTIOUS_LIMITS, QUEUE_LIMITS } from "../queue/limits.ts";
import { elementBytes } from "../queue/message-size.ts";
import { DEAD_LETTER, type QueuedEvent } from "../queue/message.ts";
import { Packer } from "../queue/packer.ts";
import { errorMessage } from "../errors.ts";

/** A dead letter as the consumer hands it over. */
export interface DeadLetterInput {
  /** webhook-id of the event */
  id: string;
  /** the event text as received */
  raw: string;
  error: string;
  attempts: number;
  /** epoch ms */
  failedAt: number;
}

const DEFAULT_PAGE = 50;
const MAX_PAGE = 1000;
/** Rows read per step of a replay. */
const REPLAY_STEP = 500;
/** SQLite rows hold at most 2 MB: a larger event keeps only what identifies it. */
const MAX_RAW_BYTES = 1_900_000;

interface Row extends Record<string, SqlStorageValue> {
  seq: number;
  id: string;
  raw: string;
  error: string;
  attempts: number;
  failed_at: number;
  replaying: number;
}

/**
 * Keeps dead-lettered events durably (SQLite), lists, replays and purges them. Bounded by
 * DEAD_LETTER_MAX_EVENTS (default 100,000): past it the oldest entries are evicted and counted.
 */
export class DeadLetterStore extends DurableObject<Env> {
  private sql: SqlStorage;
  /** The bound; read from the environment at start-up. */
  maxEvents: number;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.maxEvents = deadLetterMaxEvents(env);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS dead_letters (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      raw TEXT NOT NULL,
      error TEXT NOT NULL,
      attempts INTEGER NOT NULL,
      failed_at INTEGER NOT NULL,
      replaying INTEGER NOT NULL DEFAULT 0
    )`);
    this.sql.exec("CREATE TABLE IF NOT EXISTS dead_letter_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
  }

  /** Stores (or refreshes) dead letters; the newest copy of an event replaces an older one. */
  async add(entries: DeadLetterInput[]): Promise<void> {
    this.ctx.storage.transactionSync(() => {
      for (const e of entries) {
        const { raw, error } = fitForStorage(e.raw, e.error.slice(0, 2000));
        this.sql.exec("DELETE FROM dead_letters WHERE id = ?", e.id);
        this.sql.exec("INSERT INTO dead_letters (id, raw, error, attempts, failed_at) VALUES (?, ?, ?, ?, ?)", e.id, raw, error, e.attempts, e.failedAt);
      }
      const excess = this.total() - this.maxEvents;
      if (excess > 0) {
        this.sql.exec("DELETE FROM dead_letters WHERE seq IN (SELECT seq FROM dead_letters ORDER BY seq LIMIT ?)", excess);
        this.sql.exec(
          "INSERT INTO dead_letter_meta (key, value) VALUES ('evicted', ?) ON CONFLICT(key) DO UPDATE SET value = value + excluded.value",
          excess,
        );
      }
    });
  }

  /** Oldest first. */
  async list(options: { offset?: number; limit?: number } = {}): Promise<DeadLetterPage> {
    const offset = Math.max(0, Math.floor(Number(options.offset) || 0));
    const limit = Math.min(MAX_PAGE, Math.max(1, Math.floor(Number(options.limit) || DEFAULT_PAGE)));
    const rows = this.sql.exec<Row>("SELECT * FROM dead_letters ORDER BY seq LIMIT ? OFFSET ?", limit, offset).toArray();
    const total = this.total();
    return {
      total,
      events: rows.map(toDeadLetter),
      nextOffset: offset + rows.length < total ? offset + rows.length : null,
      evicted: this.evicted(),
    };
  }

  /**
   * Enqueue the selected events for delivery again (attempts reset); they are marked as replaying and
   * leave the store once the consumer has delivered them. Events that fail again come back here.
   */
  async replay(selection: DeadLetterSelection): Promise<{ replayed: number }> {
    let replayed = 0;
    let afterSeq = 0;
    const ids = selectedIds(selection);
    for (;;) {
      const rows = (
        ids === null
          ? this.sql.exec<Row>("SELECT * FROM dead_letters WHERE seq > ? ORDER BY seq LIMIT ?", afterSeq, REPLAY_STEP)
          : this.sql.exec<Row>(
              "SELECT * FROM dead_letters WHERE seq > ? AND id IN (SELECT value FROM json_each(?)) ORDER BY seq LIMIT ?",
              afterSeq,
              ids,
              REPLAY_STEP,
            )
      ).toArray();
      if (rows.length === 0) return { replayed };
      afterSeq = rows[rows.length - 1].seq;
      // Dead-letter messages, packed like any other (cautious: their texts come from storage, and a
      // refused batch is not sent again smaller).
      const packer = new Packer(CAUTIOUS_LIMITS, DEAD_LETTER);
      const now = Date.now();
      for (const row of rows) {
        const event = replayEvent(row, now);
        packer.add({ event, bytes: elementBytes(event), timeUs: event.timeUs, cursorBefore: null });
      }
      let done = 0;
      while (packer.size > 0) {
        const batch = packer.peekBatch(() => crypto.randomUUID())!;
        // Marked before sending: the consumer may deliver (and remove) them before sendBatch returns.
        const marked = JSON.stringify(rows.slice(done, done + batch.eventCount).map((row) => row.id));
        this.sql.exec("UPDATE dead_letters SET replaying = 1 WHERE id IN (SELECT value FROM json_each(?))", marked);
        try {
          await this.env.EVENTS.sendBatch(batch.messages.map((m) => ({ body: m.body, contentType: "v8" })));
        } catch (error) {
          this.sql.exec("UPDATE dead_letters SET replaying = 0 WHERE id IN (SELECT value FROM json_each(?))", marked);
          throw new Error(`replay stopped after ${replayed} event(s): the queue refused the next ones (${errorMessage(error)})`);
        }
        packer.commit(batch);
        done += batch.eventCount;
        replayed += batch.eventCount;
      }
    }
  }

  async purge(selection: DeadLetterSelection): Promise<{ purged: number }> {
    const ids = selectedIds(selection);
    const before = this.total();
    if (ids === null) this.sql.exec("DELETE FROM dead_letters");
    else this.sql.exec("DELETE FROM dead_letters WHERE id IN (SELECT value FROM json_each(?))", ids);
    return { purged: before - this.total() };
  }

  /** Remove events that were delivered after a replay (only those still marked as replaying). */
  async remove(ids: string[]): Promise<void> {
    this.sql.exec("DELETE FROM dead_letters WHERE replaying = 1 AND id IN (SELECT value FROM json_each(?))", JSON.stringify(ids));
  }

  async count(): Promise<{ total: number; evicted: number }> {
    return { total: this.total(), evicted: this.evicted() };
  }

  /** The text of one dead letter (for replayed events too large to travel in a queue message). */
  async getRaw(id: string): Promise<string | null> {
    const row = this.sql.exec<{ raw: string }>("SELECT raw FROM dead_letters WHERE id = ?", id).toArray()[0];
    return row?.raw ?? null;
  }

  private total(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM dead_letters").one().n;
  }

  private evicted(): number {
    return this.sql.exec<{ value: number }>("SELECT value FROM dead_letter_meta WHERE key = 'evicted'").toArray()[0]?.value ?? 0;
  }
}

/** The selected ids as a JSON array for json_each(), or null for all (only when `all` is exactly true). */
function selectedIds(selection: DeadLetterSelection): string | null {
  if ("all" in selection && selection.all === true) return null;
  const ids = "ids" in selection && Array.isArray(selection.ids) ? selection.ids.filter((id) => typeof id === "string") : [];
  return JSON.stringify(ids);
}

const encoder = new TextEncoder();
/** UTF-8 bytes of a text (SQLite's measure; queue sizes are queue/message-size.ts's). */
const byteLength = (text: string) => encoder.encode(text).length;

/** What identifies a v2 event (its payload), kept of one too large for a row. */
const V2_IDENTIFYING = ["$type", "did", "seq", "time", "collection", "rkey", "rev", "operation"];

/** An event too large for a row is kept as its identifying fields, and the error says so. */
function fitForStorage(raw: string, error: string): { raw: string; error: string } {
  const bytes = byteLength(raw);
  if (bytes <= MAX_RAW_BYTES) return { raw, error };
  let identity: Record<string, unknown> = {};
  try {
    const event = JSON.parse(raw) as Record<string, unknown> & { commit?: Record<string, unknown> };
    if (isV2Payload(raw)) {
      // A v2 event (its payload) has these at its top level.
      for (const key of V2_IDENTIFYING) identity[key] = event[key];
    } else {
      const commit = event.commit ? { collection: event.commit.collection, rkey: event.commit.rkey, rev: event.commit.rev, operation: event.commit.operation } : undefined;
      identity = { did: event.did, time_us: event.time_us, kind: event.kind, commit };
    }
  } catch {
    // Not JSON: nothing identifies it but its id.
  }
  return {
    raw: JSON.stringify({ ...identity, truncated: true, bytes }),
    error: `${error}; the event (${bytes} bytes) is too large for the dead-letter store: only its identity is kept`,
  };
}

function toDeadLetter(row: Row): DeadLetter {
  let event: unknown;
  try {
    event = JSON.parse(row.raw);
  } catch {
    event = row.raw;
  }
  const letter: DeadLetter = { id: row.id, event, error: row.error, attempts: row.attempts, failedAt: new Date(row.failed_at).toISOString() };
  if (row.replaying) letter.replaying = true;
  return letter;
}

function replayEvent(row: Row, now: number): QueuedEvent {
  let did = "";
  let timeUs = 0;
  if (isV2Payload(row.raw)) {
    // A v2 event (its payload): read as the consumer reads it (its time is `time`, not `time_us`).
    const frame = parseV2Payload(row.raw);
    if (frame.type !== "malformed") ({ did, timeUs } = frame);
  } else {
    try {
      const parsed = JSON.parse(row.raw) as { did?: unknown; time_us?: unknown };
      if (typeof parsed.did === "string") did = parsed.did;
      if (typeof parsed.time_us === "number") timeUs = parsed.time_us;
    } catch {
      // Not JSON (a malformed message kept as is): delivered as it is.
    }
  }
  // Inline when it fits like a live event would; else by reference (the consumer reads it from this store).
  const inline: QueuedEvent = { raw: row.raw, did, timeUs, receivedAt: now, attempts: 0 };
  if (elementBytes(inline) <= QUEUE_LIMITS.maxInlineEventBytes) return inline;
  return { blob: row.id, did, timeUs, receivedAt: now, attempts: 0 };
}
