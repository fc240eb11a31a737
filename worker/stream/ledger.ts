import type { DeliveryReport } from "../contract.ts";

/**
 * The queue messages enqueued but not yet settled by the consumer: ledger id → oldest time_us in it.
 * Its minimum is where delivery could still need to resume from; on restart the relay rewinds there
 * (the local queue of `wrangler dev` lives in memory). Unknown ids are ignored (e.g. after a restart).
 */
/** Where a message's first event came from (v2: its seq on that instance), when known. */
export interface LedgerOrigin {
  instance: string | null;
  seq: number | null;
}

export class Ledger {
  private readonly entries = new Map<string, number>();
  private readonly origins = new Map<string, LedgerOrigin>();

  constructor(private readonly maxEntries = 200_000) {}

  add(ledgerId: string, oldestTimeUs: number, origin?: LedgerOrigin): void {
    this.entries.set(ledgerId, oldestTimeUs);
    if (origin && origin.seq !== null) this.origins.set(ledgerId, origin);
    // Bounded: past the bound the oldest-added entries are forgotten (the persisted minimum already
    // rewinds further than the maximum rewind allows by then).
    while (this.entries.size > this.maxEntries) this.delete(this.entries.keys().next().value!);
  }

  private delete(ledgerId: string): void {
    this.entries.delete(ledgerId);
    this.origins.delete(ledgerId);
  }

  settle(report: Pick<DeliveryReport, "settled" | "pending">): void {
    for (const id of report.settled) this.delete(id);
    for (const follow of report.pending) this.entries.set(follow.ledgerId, follow.oldestTimeUs);
  }

  /** Drops entries older than `floorUs` (beyond the maximum rewind they can no longer matter). */
  pruneOlderThan(floorUs: number): number {
    let dropped = 0;
    for (const [id, timeUs] of this.entries) {
      if (timeUs < floorUs) {
        this.delete(id);
        dropped++;
      }
    }
    return dropped;
  }

  get size(): number {
    return this.entries.size;
  }

  oldest(): number | null {
    return this.oldestEntry()?.timeUs ?? null;
  }

  /** The oldest unsettled message: its oldest time, and where its first event came from if known. */
  oldestEntry(): ({ timeUs: number } & Partial<LedgerOrigin>) | null {
    let min: { id: string; timeUs: number } | null = null;
    for (const [id, timeUs] of this.entries) if (min === null || timeUs < min.timeUs) min = { id, timeUs };
    return min && { timeUs: min.timeUs, ...this.origins.get(min.id) };
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
