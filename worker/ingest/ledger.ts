import type { DeliveryReport } from "../contract.ts";

/**
 * The queue messages enqueued but not yet settled by the consumer: ledger id → oldest time_us in it.
 * Its minimum is where delivery could still need to resume from; on restart the relay rewinds there
 * (the local queue of `wrangler dev` lives in memory). Unknown ids are ignored (e.g. after a restart).
 */
export class Ledger {
  private readonly entries = new Map<string, number>();

  constructor(private readonly maxEntries = 200_000) {}

  add(ledgerId: string, oldestTimeUs: number): void {
    this.entries.set(ledgerId, oldestTimeUs);
    // Bounded: past the bound the oldest-added entries are forgotten (the persisted minimum already
    // rewinds further than the maximum rewind allows by then).
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  settle(report: Pick<DeliveryReport, "settled" | "pending">): void {
    for (const id of report.settled) this.entries.delete(id);
    for (const follow of report.pending) this.entries.set(follow.ledgerId, follow.oldestTimeUs);
  }

  /** Drops entries older than `floorUs` (beyond the maximum rewind they can no longer matter). */
  pruneOlderThan(floorUs: number): number {
    let dropped = 0;
    for (const [id, timeUs] of this.entries) {
      if (timeUs < floorUs) {
        this.entries.delete(id);
        dropped++;
      }
    }
    return dropped;
  }

  get size(): number {
    return this.entries.size;
  }

  oldest(): number | null {
    let min: number | null = null;
    for (const timeUs of this.entries.values()) if (min === null || timeUs < min) min = timeUs;
    return min;
  }
}

/**
 * Where to resume after a start: the older of the saved cursor and the oldest unacknowledged event,
 * but never more than `maxRewindUs` behind the cursor. Replay is inclusive, so duplicates are possible
 * (delivery is at-least-once), loss is not.
 */
export function resumeCursor(savedCursor: number | null, oldestUnacked: number | null, maxRewindUs: number): number | null {
  if (savedCursor === null) return oldestUnacked;
  if (oldestUnacked === null || oldestUnacked >= savedCursor) return savedCursor;
  return Math.max(oldestUnacked, savedCursor - maxRewindUs);
}
