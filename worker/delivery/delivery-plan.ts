// Pure planning of a batch: which lane (parallel worker) delivers which events, and how the events
// that must be tried again are packed into follow-up queue messages.
import { CAUTIOUS_LIMITS, fitsBatch, fitsMessage, MAX_DELAY_SECONDS } from "../queue/limits.ts";
import { elementBytes, envelopeBytes } from "../queue/message-size.ts";
import { followUpOrigin, LIVE, messageBody, type MessageOrigin, type QueuedEvent, type WholeEventsBody } from "../queue/message.ts";

/**
 * Splits events into at most `lanes` ordered lists. All events of one DID land in the same lane, in the
 * order they were received (a lane delivers one request at a time); DIDs are spread over the lanes so
 * that the lanes carry about the same number of events.
 */
export function assignLanes<T extends { did: string; receivedAt: number }>(items: T[], lanes: number): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(item.did);
    if (group) group.push(item);
    else groups.set(item.did, [item]);
  }
  const result: T[][] = Array.from({ length: Math.max(1, Math.min(lanes, groups.size)) }, () => []);
  for (const group of groups.values()) {
    // Array.prototype.sort is stable: equal receipt times keep their queue order.
    group.sort((a, b) => a.receivedAt - b.receivedAt);
    let lightest = result[0];
    for (const lane of result) if (lane.length < lightest.length) lightest = lane;
    lightest.push(...group);
  }
  return result.filter((lane) => lane.length > 0);
}

/** An event to send again, with where it came from. */
export interface FollowUpEntry {
  event: QueuedEvent;
  /** Index of the batch message it came from. */
  origin: number;
  /** Events of one group travel together with one delay (the consumer groups by attempt count). */
  group: string;
  delaySeconds: number;
  /** The origin of the message it came in (default: the live stream); the follow-up's origin follows from it. */
  from?: MessageOrigin;
}

export interface FollowUpMessage {
  /** Whole events only (what the consumer sends again, with its attempts). */
  body: WholeEventsBody;
  delaySeconds: number;
  /** Batch messages whose events it carries (they are retried whole should it fail to send). */
  origins: Set<number>;
  bytes: number;
}

/**
 * Packs follow-up entries (in delivery order) into queue messages within the cautious limits (they are
 * sent once: a refusal sends their batch round again): one group per message as long as it
 * fits, the events of one DID together in one message, so that the queue cannot reorder them. Only a DID
 * whose events overflow a message spans several, each one second later than the one before, so that the
 * queue keeps their order; the other messages go with the group's delay (the events a batch handed on
 * unattempted, often a thousand, are back at once rather than one message per second).
 */
export function packFollowUps(entries: FollowUpEntry[], newLedgerId: (group: string) => string): FollowUpMessage[] {
  const groups = new Map<string, Map<string, FollowUpEntry[]>>();
  for (const entry of entries) {
    let byDid = groups.get(entry.group);
    if (!byDid) groups.set(entry.group, (byDid = new Map()));
    const run = byDid.get(entry.event.did);
    if (run) run.push(entry);
    else byDid.set(entry.event.did, [entry]);
  }
  const messages: FollowUpMessage[] = [];
  for (const [group, byDid] of groups) {
    let current: FollowUpMessage | null = null;
    const open = (entry: FollowUpEntry, delaySeconds: number): FollowUpMessage => {
      const body: WholeEventsBody = messageBody(followUpOrigin(entry.from ?? LIVE), newLedgerId(group), []);
      const message: FollowUpMessage = { body, delaySeconds: Math.min(delaySeconds, MAX_DELAY_SECONDS), origins: new Set(), bytes: envelopeBytes(body) };
      messages.push(message);
      return message;
    };
    for (const run of byDid.values()) {
      const sizes = run.map((entry) => elementBytes(entry.event));
      const runBytes = sizes.reduce((n, size) => n + size, 0);
      if (!current || !fitsMessage(CAUTIOUS_LIMITS, current.bytes, current.body.events.length, runBytes, run.length)) current = open(run[0], run[0].delaySeconds);
      run.forEach((entry, i) => {
        // Only a run larger than a whole message gets here with a full message: it goes on one second later.
        if (!fitsMessage(CAUTIOUS_LIMITS, current!.bytes, current!.body.events.length, sizes[i])) current = open(entry, current!.delaySeconds + 1);
        current!.body.events.push(entry.event);
        current!.origins.add(entry.origin);
        current!.bytes += sizes[i];
      });
    }
  }
  return messages;
}

/** Splits messages into sendBatch calls within the queue's limits (cautious, like the messages). */
export function sendBatches(messages: FollowUpMessage[]): FollowUpMessage[][] {
  const batches: FollowUpMessage[][] = [];
  let current: FollowUpMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    if (current.length > 0 && !fitsBatch(CAUTIOUS_LIMITS, bytes, current.length, message.bytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += message.bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
