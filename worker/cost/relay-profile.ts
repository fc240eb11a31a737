import { CPU_MS_PER_EVENT, EVENTS_PER_PACKED_MESSAGE, QUEUED_EVENT_BYTES, SINGLE_EVENT_MESSAGE_BYTES, type DeliveryMode } from "./bench-figures.ts";
import { queueUnits, type Activity } from "./cost-model.ts";

/**
 * A relay at a steady event rate, in a delivery mode, with its settings: what it makes Cloudflare count,
 * per second. Pure. From the bench's per-event figures (bench-figures.ts) and how the relay packs and
 * delivers (a partly filled message leaves once per JETSTREAM_SEND_SPACING_MS — or JETSTREAM_FLUSH_MS when
 * that is above 0 — a full one (~120 KB) at once; the consumer takes up to
 * `max_batch_size` messages or waits `max_batch_timeout`; batch mode sends one request per lane of DIDs).
 */
export interface RelayProfile {
  /** Events forwarded per second (Jetstream filters by collection on its side: frames ≈ events). */
  eventsPerSecond: number;
  mode: DeliveryMode;
  /** JETSTREAM_FLUSH_MS: above 0, the older linger rule (its interval replaces the spacing). */
  flushMs?: number;
  /** JETSTREAM_SEND_SPACING_MS (group commit): partly filled messages at most once per this long. */
  sendSpacingMs?: number;
  alarmSeconds?: number;
  /** WEBHOOK_BATCH_SIZE in batch mode. */
  webhookBatchSize?: number;
  concurrency?: number;
  /** The consumer's `max_batch_size` and `max_batch_timeout` (wrangler.jsonc). */
  consumerBatchSize?: number;
  consumerBatchTimeoutSeconds?: number;
  /** Stored data (GB): the relay's state is ~1 MB; dead letters add to it. */
  storedGb?: number;
}

/** The defaults: the registry's and wrangler.jsonc's. */
export const DEFAULTS = { flushMs: 0, sendSpacingMs: 200, alarmSeconds: 5, webhookBatchSize: 100, concurrency: 6, consumerBatchSize: 10, consumerBatchTimeoutSeconds: 0, storedGb: 0.001 };

/** Rows each alarm writes (position 4, statistics 1, the alarm 1) and reads (the alarm). */
const ROWS_WRITTEN_PER_ALARM = 6;
const ROWS_READ_PER_ALARM = 1;
/** Calls of one consumer invocation into the relay object: the pause question (410 Gone) and the report. */
export const RELAY_CALLS_PER_INVOCATION = 2;
/** The cron trigger: once a minute a Workers request and a call into the relay object. */
const CRON_PER_SECOND = 1 / 60;

/**
 * An assumption (the queue's docs give no rate): with `max_batch_timeout` 0 the consumer is invoked as soon
 * as a message waits, once per message up to this many invocations a second; past it, messages wait for
 * the invocations before them and batches fill.
 */
export const IMMEDIATE_INVOCATIONS_PER_SECOND = 10;

/** Consumer invocations per second for `messages` per second. */
export function consumerInvocations(messages: number, batchSize: number, timeoutSeconds: number): number {
  if (timeoutSeconds <= 0) return Math.min(messages, Math.max(IMMEDIATE_INVOCATIONS_PER_SECOND, messages / batchSize));
  // A full batch, or what came within the timeout, or a lone message.
  const perTimeout = messages * timeoutSeconds;
  return perTimeout >= batchSize ? messages / batchSize : perTimeout >= 1 ? 1 / timeoutSeconds : messages;
}

export function profileActivity(p: RelayProfile): Activity & { detail: ProfileDetail } {
  const s = { ...DEFAULTS, ...p };
  const rate = p.eventsPerSecond;
  const packing = p.mode !== "baseline";
  // A message holds what arrives within one interval between partly filled messages, up to ~120 KB (~200
  // events); never less than one event. (Group commit sends sooner when the queue is idle: at most this many messages.)
  const intervalMs = s.flushMs > 0 ? s.flushMs : s.sendSpacingMs;
  const eventsPerMessage = packing ? Math.min(EVENTS_PER_PACKED_MESSAGE, Math.max(1, (rate * intervalMs) / 1000)) : 1;
  const messageBytes = packing ? eventsPerMessage * QUEUED_EVENT_BYTES : SINGLE_EVENT_MESSAGE_BYTES;
  const units = queueUnits(messageBytes);
  const messages = rate / eventsPerMessage;
  const invocations = consumerInvocations(messages, s.consumerBatchSize, s.consumerBatchTimeoutSeconds);
  const eventsPerInvocation = invocations > 0 ? rate / invocations : 0;
  const requestsPerInvocation = p.mode === "batch" ? batchRequests(eventsPerInvocation, s.concurrency, s.webhookBatchSize) : eventsPerInvocation;
  const alarms = 1 / s.alarmSeconds;
  return {
    websocketMessagesIn: rate,
    alarms,
    // Each consumer invocation asks the relay object whether delivery is paused, then reports to it.
    objectCalls: invocations * RELAY_CALLS_PER_INVOCATION + CRON_PER_SECOND,
    alwaysOnObjects: 1,
    queueUnitsWritten: messages * units,
    queueUnitsRead: messages * units,
    queueUnitsDeleted: messages * units,
    consumerInvocations: invocations,
    consumerCpuMs: rate * CPU_MS_PER_EVENT[p.mode],
    workerRequests: CRON_PER_SECOND,
    subrequests: invocations * (requestsPerInvocation + RELAY_CALLS_PER_INVOCATION),
    rowsWritten: alarms * ROWS_WRITTEN_PER_ALARM,
    rowsRead: alarms * ROWS_READ_PER_ALARM,
    storedGb: s.storedGb,
    detail: { eventsPerMessage, messageBytes, unitsPerMessage: units, messagesPerSecond: messages, invocationsPerSecond: invocations, requestsPerSecond: invocations * requestsPerInvocation },
  };
}

export interface ProfileDetail {
  eventsPerMessage: number;
  messageBytes: number;
  unitsPerMessage: number;
  messagesPerSecond: number;
  invocationsPerSecond: number;
  requestsPerSecond: number;
}

/** Batch mode: the events of an invocation spread over up to `concurrency` lanes (by DID), one request per `batchSize` of a lane. */
function batchRequests(events: number, concurrency: number, batchSize: number): number {
  if (events <= 0) return 0;
  const lanes = Math.min(concurrency, Math.max(1, events));
  return lanes * Math.ceil(events / lanes / batchSize);
}
