import { DurableObject } from "cloudflare:workers";
import type { DeadLetter, DeadLetterPage, DeadLetterReplayAnswer, DeadLetterReplayRequest, DeadLetterReplayJob, DeadLetterSelection, Env } from "../contract.ts";
import { deadLetterMaxBytes, deadLetterMaxEvents } from "./delivery-config.ts";
import { BlobStore, CHUNK_CHARS, SettledBlobs } from "../relay/blob-store.ts";
import { ReplayJobs } from "./dead-letter-replays.ts";
import type { Row } from "./dead-letter-row.ts";

/** A dead letter as the consumer hands it over. */
export interface DeadLetterInput {
  /** webhook-id of the event */
  id: string;
  /** the event text as received (for a stub: what identifies the lost event) */
  raw: string;
  /** True when the event's text was lost and `raw` is only its reference: never replayed as the event. */
  stub?: boolean;
  error: string;
  attempts: number;
  /** epoch ms */
  failedAt: number;
}

const DEFAULT_PAGE = 50;
const MAX_PAGE = 1000;
/** A page of GET /dlq holds event texts up to this many bytes (at least one event, however large). */
export const DEFAULT_PAGE_BYTES = 4_000_000;
export const MAX_PAGE_BYTES = 8_000_000;
/** What a listed entry costs beyond its event text (its error, at most 2,000 characters, and fields). */
const ENTRY_OVERHEAD_BYTES = 300;

/**
 * Keeps dead-lettered events durably (SQLite), lists, replays and purges them. Every event keeps its full
 * text: one too large for a row is stored in chunks (like the relay's blobs). Bounded by
 * DEAD_LETTER_MAX_EVENTS (default 100,000) and DEAD_LETTER_MAX_BYTES (default 1 GB): past either, the
 * oldest entries are evicted and counted. Replays run as jobs in the background (the alarm).
 */
export class DeadLetterStore extends DurableObject<Env> {
  private sql: SqlStorage;
  private texts: BlobStore;
  /** Ids that left the store once their replay was delivered (or were purged while replaying). */
  private settledIds: SettledBlobs;
  private jobs: ReplayJobs;
  /** The bounds; read from the environment at start-up. */
  maxEvents: number;
  maxBytes: number;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.maxEvents = deadLetterMaxEvents(env);
    this.maxBytes = deadLetterMaxBytes(env);
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
    migrate(this.sql);
    this.texts = new BlobStore(this.sql, "dead_letter_texts");
    this.settledIds = new SettledBlobs(this.sql, "dead_letters_settled");
    // A chunked text leaves with its row, however the row leaves (replaced, evicted, purged, delivered).
    this.sql.exec(`CREATE TRIGGER IF NOT EXISTS dead_letter_texts_cleanup AFTER DELETE ON dead_letters WHEN OLD.chunked = 1
      BEGIN DELETE FROM dead_letter_texts WHERE id = OLD.id; END`);
    this.jobs = new ReplayJobs(this.sql, {
      text: (row) => this.textOf(row),
      send: (messages) => this.env.EVENTS.sendBatch(messages),
      schedule: () => this.ctx.storage.setAlarm(Date.now()),
    });
  }

  /** Stores (or refreshes) dead letters; the newest copy of an event replaces an older one. */
  async add(entries: DeadLetterInput[]): Promise<void> {
    this.ctx.storage.transactionSync(() => {
      for (const e of entries) {
        const bytes = byteLength(e.raw);
        const chunked = e.raw.length > CHUNK_CHARS;
        this.sql.exec("DELETE FROM dead_letters WHERE id = ?", e.id);
        this.sql.exec(
          "INSERT INTO dead_letters (id, raw, error, attempts, failed_at, bytes, chunked, stub) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
          e.id,
          chunked ? "" : e.raw,
          e.error.slice(0, 2000),
          e.attempts,
          e.failedAt,
          bytes,
          chunked ? 1 : 0,
          e.stub ? 1 : 0,
        );
        if (chunked) this.texts.put(e.id, e.raw);
      }
      this.evictPastBounds();
    });
  }

  /** Oldest first; a page ends after `limit` rows or before its event texts pass `maxBytes` (always one row at least). */
  async list(options: { offset?: number; limit?: number; maxBytes?: number } = {}): Promise<DeadLetterPage> {
    const offset = Math.max(0, Math.floor(Number(options.offset) || 0));
    const limit = Math.min(MAX_PAGE, Math.max(1, Math.floor(Number(options.limit) || DEFAULT_PAGE)));
    const maxBytes = Math.min(MAX_PAGE_BYTES, Math.max(1, Math.floor(Number(options.maxBytes) || DEFAULT_PAGE_BYTES)));
    const sizes = this.sql.exec<{ seq: number; bytes: number }>("SELECT seq, bytes FROM dead_letters ORDER BY seq LIMIT ? OFFSET ?", limit, offset).toArray();
    let taken = 0;
    let bytes = 0;
    while (taken < sizes.length && (taken === 0 || bytes + sizes[taken].bytes + ENTRY_OVERHEAD_BYTES <= maxBytes)) {
      bytes += sizes[taken].bytes + ENTRY_OVERHEAD_BYTES;
      taken++;
    }
    const rows = taken === 0 ? [] : this.sql.exec<Row>("SELECT * FROM dead_letters WHERE seq >= ? AND seq <= ? ORDER BY seq", sizes[0].seq, sizes[taken - 1].seq).toArray();
    const total = this.total();
    const nextOffset = offset + rows.length < total ? offset + rows.length : null;
    const budget = options.maxBytes === undefined ? "" : `&maxBytes=${maxBytes}`;
    return {
      total,
      events: rows.map((row) => this.toDeadLetter(row)),
      nextOffset,
      next: nextOffset === null ? null : `/dlq?offset=${nextOffset}&limit=${limit}${budget}`,
      limitedBy: nextOffset === null ? null : taken < sizes.length ? "bytes" : "rows",
      bytes: rows.reduce((sum, row) => sum + row.bytes, 0),
      evicted: this.evicted(),
    };
  }

  /** One dead letter, or null. */
  async get(id: string): Promise<DeadLetter | null> {
    const row = this.sql.exec<Row>("SELECT * FROM dead_letters WHERE id = ?", id).toArray()[0];
    return row ? this.toDeadLetter(row) : null;
  }

  /**
   * Starts a replay job (or answers with the one already asked for): the selected events are enqueued
   * again in the background (attempts reset), marked as replaying, and leave the store once delivered.
   * Events that fail again come back here, as new rows that this job does not send again.
   */
  async startReplay(request: DeadLetterReplayRequest): Promise<DeadLetterReplayAnswer> {
    return this.jobs.start(request, Date.now());
  }

  async getReplay(id: string): Promise<DeadLetterReplayJob | null> {
    return this.jobs.get(id);
  }

  /** The latest replay jobs, newest first. */
  async listReplays(): Promise<DeadLetterReplayJob[]> {
    return this.jobs.list();
  }

  override async alarm(): Promise<void> {
    await this.jobs.run(Date.now());
  }

  async purge(selection: DeadLetterSelection): Promise<{ purged: number }> {
    const ids = selectedIds(selection);
    const before = this.total();
    const where = ids === null ? "" : " WHERE id IN (SELECT value FROM json_each(?))";
    const params = ids === null ? [] : [ids];
    // Those on their way may come back by reference: they are recognised as purged, not lost.
    const replaying = this.sql.exec<{ id: string }>(`SELECT id FROM dead_letters${where}${where ? " AND" : " WHERE"} replaying = 1`, ...params).toArray();
    this.settledIds.record(
      replaying.map((r) => r.id),
      Date.now(),
    );
    this.sql.exec(`DELETE FROM dead_letters${where}`, ...params);
    return { purged: before - this.total() };
  }

  /** Remove events that were delivered after a replay (only those still marked as replaying). */
  async remove(ids: string[]): Promise<void> {
    const list = JSON.stringify(ids);
    const removed = this.sql.exec<{ id: string }>("SELECT id FROM dead_letters WHERE replaying = 1 AND id IN (SELECT value FROM json_each(?))", list).toArray();
    this.settledIds.record(
      removed.map((r) => r.id),
      Date.now(),
    );
    this.sql.exec("DELETE FROM dead_letters WHERE replaying = 1 AND id IN (SELECT value FROM json_each(?))", list);
  }

  /** Whether a dead letter that is gone left after its replay was delivered (or was purged while replaying). */
  async settled(id: string): Promise<boolean> {
    return this.settledIds.has(id);
  }

  async count(): Promise<{ total: number; evicted: number }> {
    return { total: this.total(), evicted: this.evicted() };
  }

  /** The text of one dead letter (for replayed events too large to travel in a queue message). */
  async getRaw(id: string): Promise<string | null> {
    const row = this.sql.exec<Row>("SELECT * FROM dead_letters WHERE id = ?", id).toArray()[0];
    return row ? this.textOf(row) : null;
  }

  private textOf(row: Row): string {
    return row.chunked ? (this.texts.get(row.id) ?? "") : row.raw;
  }

  private toDeadLetter(row: Row): DeadLetter {
    const text = this.textOf(row);
    let event: unknown;
    try {
      event = JSON.parse(text);
    } catch {
      event = text;
    }
    const letter: DeadLetter = { id: row.id, event, error: row.error, attempts: row.attempts, failedAt: new Date(row.failed_at).toISOString() };
    if (row.replaying) letter.replaying = true;
    if (row.stub) letter.stub = true;
    return letter;
  }

  /** Past DEAD_LETTER_MAX_EVENTS or DEAD_LETTER_MAX_BYTES: the oldest go, counted. */
  private evictPastBounds(): void {
    const { n, bytes } = this.sql.exec<{ n: number; bytes: number }>("SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS bytes FROM dead_letters").one();
    const rowExcess = n - this.maxEvents;
    const byteExcess = bytes - this.maxBytes;
    if (rowExcess <= 0 && byteExcess <= 0) return;
    let cut = 0;
    if (rowExcess > 0) cut = this.sql.exec<{ seq: number }>("SELECT seq FROM dead_letters ORDER BY seq LIMIT 1 OFFSET ?", rowExcess - 1).one().seq;
    if (byteExcess > 0) {
      const bySize = this.sql
        .exec<{ seq: number }>("SELECT seq FROM (SELECT seq, SUM(bytes) OVER (ORDER BY seq) AS running FROM dead_letters) WHERE running >= ? ORDER BY seq LIMIT 1", byteExcess)
        .toArray()[0];
      cut = Math.max(cut, bySize?.seq ?? 0);
    }
    this.sql.exec("DELETE FROM dead_letters WHERE seq <= ?", cut);
    const evicted = n - this.total();
    this.sql.exec("INSERT INTO dead_letter_meta (key, value) VALUES ('evicted', ?) ON CONFLICT(key) DO UPDATE SET value = value + excluded.value", evicted);
  }

  private total(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM dead_letters").one().n;
  }

  private evicted(): number {
    return this.sql.exec<{ value: number }>("SELECT value FROM dead_letter_meta WHERE key = 'evicted'").toArray()[0]?.value ?? 0;
  }
}

/** Columns added since the first version; stubs of earlier versions (identity only) are marked as such. */
export function migrate(sql: SqlStorage): void {
  const columns = new Set(sql.exec<{ name: string }>("PRAGMA table_info(dead_letters)").toArray().map((c) => c.name));
  if (!columns.has("bytes")) {
    sql.exec("ALTER TABLE dead_letters ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0");
    sql.exec("UPDATE dead_letters SET bytes = length(CAST(raw AS BLOB))");
  }
  if (!columns.has("chunked")) sql.exec("ALTER TABLE dead_letters ADD COLUMN chunked INTEGER NOT NULL DEFAULT 0");
  if (!columns.has("stub")) {
    sql.exec("ALTER TABLE dead_letters ADD COLUMN stub INTEGER NOT NULL DEFAULT 0");
    sql.exec("UPDATE dead_letters SET stub = 1 WHERE error LIKE '%only its identity is kept' OR error LIKE '%only its reference is kept'");
    // The dead-letter queue's consumer kept a lost event as {did, time_us, blob} without saying so.
    sql.exec(`UPDATE dead_letters SET stub = 1 WHERE CASE WHEN json_valid(raw) THEN
      json_type(raw, '$.blob') = 'text' AND json_type(raw, '$.did') IS NOT NULL AND (SELECT COUNT(*) FROM json_each(raw)) = 3 ELSE 0 END`);
  }
  if (!columns.has("replay_job")) sql.exec("ALTER TABLE dead_letters ADD COLUMN replay_job TEXT");
}

/** The selected ids as a JSON array for json_each(), or null for all (only when `all` is exactly true). */
export function selectedIds(selection: DeadLetterSelection | object): string | null {
  if ("all" in selection && selection.all === true) return null;
  const ids = "ids" in selection && Array.isArray(selection.ids) ? selection.ids.filter((id) => typeof id === "string") : [];
  return JSON.stringify(ids);
}

const encoder = new TextEncoder();
/** UTF-8 bytes of a text (SQLite's measure; queue sizes are queue/message-size.ts's). */
const byteLength = (text: string) => encoder.encode(text).length;
