import type { Activity } from "./cost-model.ts";
import { RELAY_CALLS_PER_INVOCATION } from "./relay-profile.ts";

/**
 * What the relay counts of what Cloudflare bills, and its rates over the last hour. Pure (time is passed
 * in). Kept in memory: after a restart the window starts again (the estimate says over how long it measured).
 */
export interface BillingCounts {
  /** Frames received on the Jetstream socket. */
  frames: number;
  alarms: number;
  /** Calls into the relay object: the consumer's reports, blob reads, wake-ups (cron, API). */
  objectCalls: number;
  /** 64 KB units the relay's sends wrote to the queue, messages sent and messages the consumer sent again (follow-ups). */
  relayUnits: number;
  relayMessages: number;
  followUpMessages: number;
  /** Messages the consumer handed back to the queue (`retry`): each is read again. */
  retriedMessages: number;
  /** Messages that went to the dead-letter queue (written, read and deleted there). */
  deadLetterQueueMessages: number;
  consumerInvocations: number;
  deliveredEvents: number;
  webhookRequests: number;
  rowsWritten: number;
  rowsRead: number;
}

export function noCounts(): BillingCounts {
  return { frames: 0, alarms: 0, objectCalls: 0, relayUnits: 0, relayMessages: 0, followUpMessages: 0, retriedMessages: 0, deadLetterQueueMessages: 0, consumerInvocations: 0, deliveredEvents: 0, webhookRequests: 0, rowsWritten: 0, rowsRead: 0 };
}

/** The rates are taken over this much of the past at most. */
export const COST_WINDOW_MS = 60 * 60_000;
const SNAPSHOT_EVERY_MS = 60_000;

/** What the relay cannot count itself: supplied by its configuration and the bench. */
export interface MeterAssumptions {
  /** Workers requests per second besides the consumer (the cron trigger: one a minute). */
  otherWorkerRequestsPerSecond: number;
  /** The consumer's CPU per delivered event (ms): the bench's figure for the delivery mode. */
  consumerCpuMsPerEvent: number;
  /** The relay object's stored data (GB). */
  storedGb: number;
}

export class CostMeter {
  readonly counts: BillingCounts = noCounts();
  private readonly snapshots: { at: number; counts: BillingCounts }[];

  constructor(startMs: number) {
    this.snapshots = [{ at: startMs, counts: noCounts() }];
  }

  add(name: keyof BillingCounts, n = 1): void {
    this.counts[name] += n;
  }

  /** Keeps a snapshot a minute (call it often: on every alarm); drops those older than the window. */
  tick(nowMs: number): void {
    const last = this.snapshots[this.snapshots.length - 1];
    if (nowMs - last.at >= SNAPSHOT_EVERY_MS) this.snapshots.push({ at: nowMs, counts: { ...this.counts } });
    while (this.snapshots.length > 1 && nowMs - this.snapshots[1].at >= COST_WINDOW_MS) this.snapshots.shift();
  }

  /** The rates over the window (the oldest snapshot kept up to now). */
  activity(nowMs: number, assume: MeterAssumptions): { activity: Activity; windowSeconds: number; since: number } {
    const from = this.snapshots.find((s) => nowMs - s.at <= COST_WINDOW_MS) ?? this.snapshots[this.snapshots.length - 1];
    const seconds = Math.max(1, (nowMs - from.at) / 1000);
    const rate = (name: keyof BillingCounts) => Math.max(0, this.counts[name] - from.counts[name]) / seconds;
    return { activity: activityFromRates(rate, assume), windowSeconds: Math.round(seconds), since: from.at };
  }
}

/** Per-second counts turned into what Cloudflare bills (the assumptions of cost-model.ts ASSUMPTIONS). */
export function activityFromRates(rate: (name: keyof BillingCounts) => number, assume: MeterAssumptions): Activity {
  const unitsPerMessage = rate("relayMessages") > 0 ? rate("relayUnits") / rate("relayMessages") : 1;
  // Follow-ups are small (the events still to deliver): one unit each; dead-letter queue messages are the
  // relay's messages: their average size.
  const written = rate("relayUnits") + rate("followUpMessages") + rate("deadLetterQueueMessages") * unitsPerMessage;
  const invocations = rate("consumerInvocations");
  return {
    websocketMessagesIn: rate("frames"),
    alarms: rate("alarms"),
    objectCalls: rate("objectCalls"),
    alwaysOnObjects: 1,
    queueUnitsWritten: written,
    queueUnitsRead: written + rate("retriedMessages") * unitsPerMessage,
    queueUnitsDeleted: written,
    consumerInvocations: invocations,
    consumerCpuMs: rate("deliveredEvents") * assume.consumerCpuMsPerEvent,
    workerRequests: assume.otherWorkerRequestsPerSecond,
    // Each invocation also calls the relay object (the pause question and the report) besides its webhook requests.
    subrequests: rate("webhookRequests") + invocations * RELAY_CALLS_PER_INVOCATION,
    rowsWritten: rate("rowsWritten"),
    rowsRead: rate("rowsRead"),
    storedGb: assume.storedGb,
  };
}
