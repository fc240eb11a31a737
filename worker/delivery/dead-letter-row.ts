// What the dead-letter store keeps of one dead letter (its SQLite row), shared by the store and its replay jobs.

/** A row of `dead_letters`; `raw` is empty when the text is chunked (in `dead_letter_texts`). */
export interface Row extends Record<string, SqlStorageValue> {
  seq: number;
  id: string;
  raw: string;
  error: string;
  attempts: number;
  failed_at: number;
  replaying: number;
  /** UTF-8 bytes of the event text. */
  bytes: number;
  /** 1: the text is in `dead_letter_texts` (too large for a row). */
  chunked: number;
  /** 1: only the lost event's reference is kept. */
  stub: number;
  /** The replay job that sent it (while replaying). */
  replay_job: string | null;
}
