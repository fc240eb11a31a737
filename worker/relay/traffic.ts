import type { MinuteBucket } from "../contract.ts";

interface Bucket {
  start: number;
  received: number;
  forwarded: number;
}

const RATE_WINDOW_SECONDS = 10;
const MINUTES_KEPT = 60;

/** Events per minute over the last hour and per-second rates over the last few seconds. Pure (time is passed in). */
export class TrafficCounters {
  private minutes: Bucket[] = [];
  private seconds: Bucket[] = [];

  constructor(minutes: MinuteBucket[] = []) {
    this.minutes = minutes.map((m) => ({ start: Date.parse(m.minute), received: m.received, forwarded: m.forwarded })).filter((m) => Number.isFinite(m.start));
  }

  record(nowMs: number, received: number, forwarded: number): void {
    const minute = current(this.minutes, Math.floor(nowMs / 60_000) * 60_000, MINUTES_KEPT);
    minute.received += received;
    minute.forwarded += forwarded;
    const second = current(this.seconds, Math.floor(nowMs / 1000) * 1000, RATE_WINDOW_SECONDS + 1);
    second.received += received;
    second.forwarded += forwarded;
  }

  /** Average over the last complete seconds (the current, partial one is left out). */
  rates(nowMs: number): { receivedPerSecond: number; forwardedPerSecond: number } {
    const thisSecond = Math.floor(nowMs / 1000) * 1000;
    const from = thisSecond - RATE_WINDOW_SECONDS * 1000;
    let received = 0;
    let forwarded = 0;
    for (const b of this.seconds) {
      if (b.start >= from && b.start < thisSecond) {
        received += b.received;
        forwarded += b.forwarded;
      }
    }
    return { receivedPerSecond: round(received / RATE_WINDOW_SECONDS), forwardedPerSecond: round(forwarded / RATE_WINDOW_SECONDS) };
  }

  perMinute(nowMs: number): MinuteBucket[] {
    const from = Math.floor(nowMs / 60_000) * 60_000 - (MINUTES_KEPT - 1) * 60_000;
    return this.minutes
      .filter((b) => b.start >= from)
      .map((b) => ({ minute: new Date(b.start).toISOString(), received: b.received, forwarded: b.forwarded }));
  }
}

function current(buckets: Bucket[], start: number, keep: number): Bucket {
  const last = buckets[buckets.length - 1];
  if (last && last.start === start) return last;
  const bucket = { start, received: 0, forwarded: 0 };
  buckets.push(bucket);
  if (buckets.length > keep) buckets.splice(0, buckets.length - keep);
  return bucket;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
