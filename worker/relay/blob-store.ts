/**
 * Texts too large for a row, kept in SQLite in chunks: the relay object's events too large for a queue
 * message (until delivered), the dead-letter store's large dead letters. A SQLite value or row is
 * limited to 2 MB and a record's JSON can reach about 2 MB, so the text is stored in chunks.
 */

/** Characters per chunk: at most 3 UTF-8 bytes each (surrogate pairs: 4 per 2), so ≤ 1.5 MB. */
export const CHUNK_CHARS = 500_000;
/** How long the relay remembers that a blob was settled (longer than a queue keeps a message: 14 days). */
const SETTLED_MEMORY_MS = 15 * 24 * 3600_000;

export class BlobStore {
  constructor(
    private readonly sql: SqlStorage,
    private readonly table = "event_blobs",
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS ${table} (id TEXT NOT NULL, part INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (id, part))`);
  }

  /** Stores (or replaces) the text under this id. */
  put(id: string, text: string): void {
    this.sql.exec(`DELETE FROM ${this.table} WHERE id = ?`, id);
    let part = 0;
    let at = 0;
    do {
      let end = Math.min(text.length, at + CHUNK_CHARS);
      // Never split a surrogate pair across chunks.
      if (end < text.length && /[\ud800-\udbff]/.test(text[end - 1])) end--;
      this.sql.exec(`INSERT INTO ${this.table} (id, part, data) VALUES (?, ?, ?)`, id, part, text.slice(at, end));
      at = end;
      part++;
    } while (at < text.length);
  }

  get(id: string): string | null {
    const rows = this.sql.exec<{ data: string }>(`SELECT data FROM ${this.table} WHERE id = ? ORDER BY part`, id).toArray();
    return rows.length === 0 ? null : rows.map((r) => r.data).join("");
  }

  delete(ids: readonly string[]): void {
    for (const id of ids) this.sql.exec(`DELETE FROM ${this.table} WHERE id = ?`, id);
  }

  count(): number {
    return this.sql.exec<{ n: number }>(`SELECT COUNT(DISTINCT id) AS n FROM ${this.table}`).one().n;
  }
}

/**
 * Which blobs were settled (delivered, or dead-lettered with their text): a queue delivers a message at
 * least once, and a second delivery of an event whose blob the first one deleted must be recognised as
 * a duplicate, not dead-lettered as a lost event.
 */
export class SettledBlobs {
  constructor(
    private readonly sql: SqlStorage,
    private readonly table = "event_blobs_settled",
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS ${table} (id TEXT PRIMARY KEY, at INTEGER NOT NULL)`);
    sql.exec(`CREATE INDEX IF NOT EXISTS ${table}_at ON ${table} (at)`);
  }

  record(ids: readonly string[], nowMs: number): void {
    for (const id of ids) this.sql.exec(`INSERT OR REPLACE INTO ${this.table} (id, at) VALUES (?, ?)`, id, nowMs);
    this.sql.exec(`DELETE FROM ${this.table} WHERE at < ?`, nowMs - SETTLED_MEMORY_MS);
  }

  has(id: string): boolean {
    return this.sql.exec(`SELECT 1 FROM ${this.table} WHERE id = ?`, id).toArray().length > 0;
  }
}
