// Replays of dead letters as jobs: each has an id, runs in the background (the store's alarm, a step at
// a time, so no request's timeout bounds it), keeps its progress in SQLite, and sends each selected row
// at most once.
import type { DeadLetterReplayAnswer, DeadLetterReplayJob, DeadLetterReplayRequest } from "../api-types.ts";
import type { QueueMessageBody } from "../contract.ts";
import { isV2Payload, parseV2Payload } from "../jetstream/v2-frame.ts";
import { CAUTIOUS_LIMITS, QUEUE_LIMITS } from "../queue/limits.ts";
import { elementBytes } from "../queue/message-size.ts";
import { DEAD_LETTER, type QueuedEvent } from "../queue/message.ts";
import { Packer } from "../queue/packer.ts";
import { errorMessage } from "../errors.ts";
import type { Row } from "./dead-letter-row.ts";

/** Rows read per step. */
const STEP_ROWS = 500;
/** An alarm works this long, then schedules the next one (progress is saved after every batch). */
const RUN_MS = 10_000;
/** Finished jobs kept for GET /dlq/replay. */
const KEEP_JOBS = 20;

interface JobRow extends Record<string, SqlStorageValue> {
  id: string;
  /** JSON array of the selected ids; null for all. */
  ids: string | null;
  /** Rows with a larger seq (added after the start, including events that failed again) are not part of it. */
  max_seq: number;
  /** Rows up to this seq are done (sent or skipped). */
  after_seq: number;
  state: DeadLetterReplayJob["state"];
  total: number;
  sent: number;
  skipped: number;
  error: string | null;
  started_at: number;
  updated_at: number;
  finished_at: number | null;
}

export interface ReplayPorts {
  /** A row's event text (chunked ones are read from their chunks). */
  text(row: Row): string;
  send(messages: MessageSendRequest<QueueMessageBody>[]): Promise<unknown>;
  /** Run the next step soon (the alarm). */
  schedule(): Promise<void>;
}

export class ReplayJobs {
  constructor(
    private readonly sql: SqlStorage,
    private readonly ports: ReplayPorts,
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS dead_letter_replays (
      id TEXT PRIMARY KEY,
      ids TEXT,
      max_seq INTEGER NOT NULL,
      after_seq INTEGER NOT NULL DEFAULT 0,
      state TEXT NOT NULL,
      total INTEGER NOT NULL,
      sent INTEGER NOT NULL DEFAULT 0,
      skipped INTEGER NOT NULL DEFAULT 0,
      error TEXT,
      started_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      finished_at INTEGER
    )`);
  }

  /**
   * A new job for the selection; the existing one when its id was given (a failed one resumes where it
   * stopped) or when a running job has the same selection (a retried request): nothing is sent twice.
   * Refused while another selection is being replayed.
   */
  async start(request: DeadLetterReplayRequest, now: number): Promise<DeadLetterReplayAnswer> {
    const existing = request.job ? this.row(request.job) : null;
    if (existing) {
      if (existing.state === "failed") {
        this.sql.exec("UPDATE dead_letter_replays SET state = 'running', error = NULL, finished_at = NULL, updated_at = ? WHERE id = ?", now, existing.id);
        await this.ports.schedule();
      }
      return { job: view(this.row(existing.id)!), attached: true };
    }
    const all = "all" in request && request.all === true;
    const asked = "ids" in request && Array.isArray(request.ids) ? request.ids.filter((id) => typeof id === "string") : null;
    if (!all && !asked) {
      if (request.job) throw new Error(`refused: there is no replay job ${JSON.stringify(request.job)}; GET /dlq/replay lists the latest`);
      throw new Error('refused: say what to replay: {"ids": [...]} or {"all": true}');
    }
    const ids = all ? null : JSON.stringify([...new Set(asked)].sort());
    const running = this.sql.exec<JobRow>("SELECT * FROM dead_letter_replays WHERE state = 'running' ORDER BY started_at LIMIT 1").toArray()[0];
    if (running) {
      if (running.ids === ids) return { job: view(running), attached: true };
      throw new Error(`refused: the replay job ${running.id} is running; follow it (jetstream-relay dlq replay --attach ${running.id}) and start this one when it is done`);
    }
    const id = request.job ?? crypto.randomUUID();
    const maxSeq = this.sql.exec<{ s: number | null }>("SELECT MAX(seq) AS s FROM dead_letters").one().s ?? 0;
    const total = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM dead_letters WHERE seq <= ?${ids === null ? "" : " AND id IN (SELECT value FROM json_each(?))"}`, maxSeq, ...(ids === null ? [] : [ids])).one().n;
    this.sql.exec("INSERT INTO dead_letter_replays (id, ids, max_seq, state, total, started_at, updated_at) VALUES (?, ?, ?, 'running', ?, ?, ?)", id, ids, maxSeq, total, now, now);
    this.sql.exec(
      "DELETE FROM dead_letter_replays WHERE state != 'running' AND id NOT IN (SELECT id FROM dead_letter_replays ORDER BY started_at DESC LIMIT ?)",
      KEEP_JOBS,
    );
    await this.ports.schedule();
    return { job: view(this.row(id)!), attached: false };
  }

  get(id: string): DeadLetterReplayJob | null {
    const row = this.row(id);
    return row ? view(row) : null;
  }

  list(): DeadLetterReplayJob[] {
    return this.sql.exec<JobRow>("SELECT * FROM dead_letter_replays ORDER BY started_at DESC LIMIT ?", KEEP_JOBS).toArray().map(view);
  }

  /** The alarm: works on the running job for a while, then schedules itself again if it is not done. */
  async run(now: number): Promise<void> {
    const deadline = now + RUN_MS;
    for (;;) {
      const job = this.sql.exec<JobRow>("SELECT * FROM dead_letter_replays WHERE state = 'running' ORDER BY started_at LIMIT 1").toArray()[0];
      if (!job) return;
      if (Date.now() > deadline) {
        await this.ports.schedule();
        return;
      }
      try {
        await this.step(job);
      } catch (error) {
        this.finish(job.id, "failed", errorMessage(error));
      }
    }
  }

  /** Sends the next rows of the job, batch by batch, saving its progress after each. */
  private async step(job: JobRow): Promise<void> {
    const rows = this.sql
      .exec<Row>(
        `SELECT * FROM dead_letters WHERE seq > ? AND seq <= ?${job.ids === null ? "" : " AND id IN (SELECT value FROM json_each(?))"} ORDER BY seq LIMIT ?`,
        job.after_seq,
        job.max_seq,
        ...(job.ids === null ? [] : [job.ids]),
        STEP_ROWS,
      )
      .toArray();
    if (rows.length === 0) {
      this.finish(job.id, "done", null);
      return;
    }
    // Never sent: stubs (no text), and rows another job sent that are still on their way. Rows this job
    // marked but whose progress was not saved (the object restarted mid-send) are sent again.
    const sendable = rows.filter((row) => !row.stub && !(row.replaying && row.replay_job !== job.id));
    const packer = new Packer(CAUTIOUS_LIMITS, DEAD_LETTER);
    const now = Date.now();
    for (const row of sendable) {
      const event = replayEvent(row, this.ports.text(row), now);
      packer.add({ event, bytes: elementBytes(event), timeUs: event.timeUs, cursorBefore: null });
    }
    let done = 0;
    let counted = 0;
    const progress = (uptoSeq: number, sent: number) => {
      const through = rows.findIndex((row) => row.seq > uptoSeq);
      const end = through < 0 ? rows.length : through;
      const skipped = end - counted - sent;
      counted = end;
      this.sql.exec("UPDATE dead_letter_replays SET after_seq = ?, sent = sent + ?, skipped = skipped + ?, updated_at = ? WHERE id = ?", uptoSeq, sent, skipped, Date.now(), job.id);
    };
    while (packer.size > 0) {
      const batch = packer.peekBatch(() => crypto.randomUUID())!;
      const batchRows = sendable.slice(done, done + batch.eventCount);
      const marked = JSON.stringify(batchRows.map((row) => row.id));
      // Marked before sending: the consumer may deliver (and remove) them before sendBatch returns.
      this.sql.exec("UPDATE dead_letters SET replaying = 1, replay_job = ? WHERE id IN (SELECT value FROM json_each(?))", job.id, marked);
      try {
        await this.ports.send(batch.messages.map((m) => ({ body: m.body, contentType: "v8" })));
      } catch (error) {
        this.sql.exec("UPDATE dead_letters SET replaying = 0, replay_job = NULL WHERE replay_job = ? AND id IN (SELECT value FROM json_each(?))", job.id, marked);
        throw new Error(`the queue refused the next events (${errorMessage(error)}); post the job again to resume it`);
      }
      packer.commit(batch);
      done += batch.eventCount;
      progress(batchRows[batchRows.length - 1].seq, batch.eventCount);
    }
    progress(rows[rows.length - 1].seq, 0);
  }

  private finish(id: string, state: "done" | "failed", error: string | null): void {
    const now = Date.now();
    this.sql.exec("UPDATE dead_letter_replays SET state = ?, error = ?, finished_at = ?, updated_at = ? WHERE id = ?", state, error, now, now, id);
  }

  private row(id: string): JobRow | null {
    return this.sql.exec<JobRow>("SELECT * FROM dead_letter_replays WHERE id = ?", id).toArray()[0] ?? null;
  }
}

function view(row: JobRow): DeadLetterReplayJob {
  const iso = (ms: number) => new Date(ms).toISOString();
  const handled = row.sent + row.skipped;
  return {
    id: row.id,
    state: row.state,
    selection: row.ids === null ? "all" : { ids: (JSON.parse(row.ids) as string[]).length },
    total: row.total,
    sent: row.sent,
    skipped: row.skipped,
    progress: row.state === "done" ? 1 : row.total === 0 ? 0 : Math.min(1, handled / row.total),
    startedAt: iso(row.started_at),
    updatedAt: iso(row.updated_at),
    finishedAt: row.finished_at === null ? null : iso(row.finished_at),
    error: row.error,
  };
}

/** The queued event of a dead letter: inline when it fits like a live event would, else by reference (the consumer reads it from the store). */
function replayEvent(row: Row, raw: string, now: number): QueuedEvent {
  let did = "";
  let timeUs = 0;
  if (isV2Payload(raw)) {
    // A v2 event (its payload): read as the consumer reads it (its time is `time`, not `time_us`).
    const frame = parseV2Payload(raw);
    if (frame.type !== "malformed") ({ did, timeUs } = frame);
  } else {
    try {
      const parsed = JSON.parse(raw) as { did?: unknown; time_us?: unknown };
      if (typeof parsed.did === "string") did = parsed.did;
      if (typeof parsed.time_us === "number") timeUs = parsed.time_us;
    } catch {
      // Not JSON (a malformed message kept as is): delivered as it is.
    }
  }
  const inline: QueuedEvent = { raw, did, timeUs, receivedAt: now, attempts: 0 };
  if (elementBytes(inline) <= QUEUE_LIMITS.maxInlineEventBytes) return inline;
  return { blob: row.id, did, timeUs, receivedAt: now, attempts: 0 };
}
