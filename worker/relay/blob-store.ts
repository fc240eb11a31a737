/**
 * Events too large for a queue message, kept in the relay object's SQLite until delivered. A SQLite
 * value is limited to 2 MB and a record's JSON can reach about 2 MB, so the text is stored in chunks.
 */

/** Characters per chunk: at most 3 UTF-8 bytes each (surrogate pairs: 4 per 2), so ≤ 1.5 MB. */
const CHUNK_CHARS = 500_000;

export class BlobStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec("CREATE TABLE IF NOT EXISTS event_blobs (id TEXT NOT NULL, part INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (id, part))");
  }

  put(id: string, text: string): void {
    let part = 0;
    let at = 0;
    do {
      let end = Math.min(text.length, at + CHUNK_CHARS);
      // Never split a surrogate pair across chunks.
      if (end < text.length && /[\ud800-\udbff]/.test(text[end - 1])) end--;
      this.sql.exec("INSERT OR REPLACE INTO event_blobs (id, part, data) VALUES (?, ?, ?)", id, part, text.slice(at, end));
      at = end;
      part++;
    } while (at < text.length);
  }

  get(id: string): string | null {
    const rows = this.sql.exec<{ data: string }>("SELECT data FROM event_blobs WHERE id = ? ORDER BY part", id).toArray();
    return rows.length === 0 ? null : rows.map((r) => r.data).join("");
  }

  delete(ids: readonly string[]): void {
    for (const id of ids) this.sql.exec("DELETE FROM event_blobs WHERE id = ?", id);
  }

  count(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(DISTINCT id) AS n FROM event_blobs").one().n;
  }
}
