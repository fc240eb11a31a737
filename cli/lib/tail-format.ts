/** One event of `wrangler tail --format json` (a Workers trace item); only the fields we show. */
export interface TailEvent {
  outcome?: string;
  scriptName?: string;
  eventTimestamp?: number;
  event?: {
    request?: { method?: string; url?: string };
    response?: { status?: number };
    queue?: string;
    batchSize?: number;
    cron?: string;
    scheduledTime?: number;
    [key: string]: unknown;
  } | null;
  logs?: { level?: string; message?: unknown[]; timestamp?: number }[];
  exceptions?: { name?: string; message?: string; timestamp?: number }[];
  [key: string]: unknown;
}

/**
 * Splits a stream of concatenated (pretty-printed) JSON values into values: wrangler prints each tail
 * event as indented JSON over several lines. Text outside a value (wrangler's own messages) is returned
 * as `text` lines.
 */
export class JsonStreamSplitter {
  private buffer = "";

  push(chunk: string): { values: unknown[]; text: string[] } {
    this.buffer += chunk;
    const values: unknown[] = [];
    const text: string[] = [];
    let consumed = 0;
    let depth = 0;
    let inString = false;
    let escaped = false;
    let start = -1;
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer[i];
      if (depth === 0) {
        if (ch === "{") {
          text.push(...lines(this.buffer.slice(consumed, i)));
          start = i;
          depth = 1;
        } else if (ch === "\n") {
          text.push(...lines(this.buffer.slice(consumed, i)));
          consumed = i + 1;
        }
      } else if (inString) {
        if (escaped) escaped = false;
        else if (ch === "\\") escaped = true;
        else if (ch === '"') inString = false;
      } else if (ch === '"') inString = true;
      else if (ch === "{" || ch === "[") depth++;
      else if (ch === "}" || ch === "]") {
        depth--;
        if (depth === 0) {
          const raw = this.buffer.slice(start, i + 1);
          try {
            values.push(JSON.parse(raw));
          } catch {
            text.push(raw);
          }
          consumed = i + 1;
        }
      }
    }
    // Keep what is unfinished: a value still open, or the start of a line.
    this.buffer = this.buffer.slice(depth > 0 ? start : consumed);
    return { values, text };
  }
}

const lines = (text: string) =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);

const time = (ms: number | undefined) => (ms ? new Date(ms).toISOString().slice(11, 23) : "--:--:--.---");

/** A tail event as lines for a person: what ran and how it ended, then its logs and exceptions. */
export function formatTailEvent(e: TailEvent): string[] {
  const ev = e.event ?? {};
  let what: string;
  if (ev.request) {
    const url = ev.request.url ? new URL(ev.request.url).pathname : "";
    what = `${ev.request.method ?? "GET"} ${url}${ev.response?.status ? ` → ${ev.response.status}` : ""}`;
  } else if (ev.queue) what = `queue ${ev.queue}${ev.batchSize !== undefined ? ` (${ev.batchSize} messages)` : ""}`;
  else if (ev.cron) what = `cron ${ev.cron}`;
  else if (Object.keys(ev).length === 0) what = "alarm/RPC";
  else what = Object.keys(ev)[0];
  const lines = [`${time(e.eventTimestamp)}  ${e.outcome ?? "?"}  ${what}`];
  for (const log of e.logs ?? []) {
    const message = (log.message ?? []).map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join(" ");
    lines.push(`    ${log.level ?? "log"}: ${message}`);
  }
  for (const ex of e.exceptions ?? []) lines.push(`    exception: ${ex.name ?? "Error"}: ${ex.message ?? ""}`);
  return lines;
}
