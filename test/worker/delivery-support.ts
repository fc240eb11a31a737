// Helpers shared by the delivery tests: the webhook receiver's control routes, queue messages built
// from real Jetstream events, and delivery ports that record what the consumer sends and reports.
/// <reference types="vite/client" />
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { inject } from "vitest";
import type { CompactEvent, DeadLetterPage, DeadLetterReplayAnswer, DeadLetterReplayJob, DeadLetterReplayRequest, DeliveryReport, Env, LegacyMessageBody, QueuedEvent, QueueMessageBody, WholeEventsBody } from "../../worker/contract.ts";
import { deliverBatch } from "../../worker/delivery/consumer.ts";
import { portsFromEnv, type DeliveryPorts } from "../../worker/delivery/ports.ts";
import golden from "../fixtures/jetstream/jetstream-v2-golden_v1.jsonl?raw";
import corpus from "../fixtures/jetstream/jetstream-v2-corpus-expected_v1.jsonl?raw";
import type { ReceivedRequest, ReceiverRule } from "../support/webhook-receiver.ts";

/** Real Jetstream events, one JSON text each, exactly as captured. */
export const GOLDEN = golden.split("\n").filter((line) => line.trim() !== "");
export const CORPUS = corpus.split("\n").filter((line) => line.trim() !== "");

export const webhookBase = () => inject("webhookBase");

export const receiver = {
  async rule(rule: ReceiverRule): Promise<void> {
    const res = await fetch(`${webhookBase()}/_control/rules`, { method: "POST", body: JSON.stringify(rule) });
    if (!res.ok) throw new Error(`receiver rule: ${res.status} ${await res.text()}`);
  },
  async requests(filter: { path?: string; match?: string } = {}): Promise<ReceivedRequest[]> {
    const query = new URLSearchParams(filter as Record<string, string>);
    const res = await fetch(`${webhookBase()}/_control/requests?${query}`);
    return ((await res.json()) as { requests: ReceivedRequest[] }).requests;
  },
  async reset(path?: string): Promise<void> {
    await fetch(`${webhookBase()}/_control/reset`, { method: "POST", body: JSON.stringify(path ? { path } : {}) });
  },
};

/** A fresh receiver path (tests run side by side on one receiver). */
export function uniquePath(): string {
  return `/t-${crypto.randomUUID()}`;
}

/** A fresh DID (so that a test can find its own events among everybody's). */
export function uniqueDid(): string {
  return `did:plc:test${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
}

/** The worker's env with delivery variables for one test. */
export function testEnv(path: string, vars: Record<string, string> = {}): Env {
  return { ...env, WEBHOOK_URL: `${webhookBase()}${path}`, ...vars } as Env;
}

/** A commit event like Jetstream's, for a given DID. */
export function commitEvent(did: string, rkey: string, timeUs = 1_783_175_888_000_000, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    did,
    time_us: timeUs,
    kind: "commit",
    commit: {
      rev: `rev${rkey}`,
      operation: "create",
      collection: "app.bsky.feed.post",
      rkey,
      record: { $type: "app.bsky.feed.post", text: `post ${rkey}`, createdAt: "2026-07-04T14:38:08.999Z" },
      cid: "bafyreiguce4jh7kcbmof3pmcvasifqtw24b6isakj5ve5ga2b4z4alpc4i",
    },
    ...extra,
  });
}

/** A queued event for a JSON text received from Jetstream. */
export function queued(raw: string, fields: Partial<QueuedEvent> = {}): QueuedEvent {
  const parsed = JSON.parse(raw) as { did: string; time_us: number };
  return { raw, did: parsed.did, timeUs: parsed.time_us, receivedAt: Date.now(), attempts: 0, ...fields };
}

/**
 * A message body as relays before the explicit origin wrote it (v1): what a deployed queue may still
 * hold, so every consumer test built on it shows the consumer still reads them. The follow-ups the
 * consumer sends (and tests feed back) are the current version.
 */
export function messageBody(events: (QueuedEvent | CompactEvent)[], ledgerId = `ledger-${crypto.randomUUID()}`): LegacyMessageBody {
  return { v: 1, ledgerId, events };
}

let messageSeq = 0;
export function batchOf(bodies: QueueMessageBody[]): MessageBatch<QueueMessageBody> {
  return createMessageBatch<QueueMessageBody>(
    "jetstream-relay-events",
    bodies.map((body) => ({ id: `msg-${++messageSeq}`, timestamp: new Date(), attempts: 1, body })),
  );
}

/** Ports that use the real webhook, a private dead-letter store, and record what is sent and reported. */
export function recordingPorts(overrides: Partial<DeliveryPorts> = {}) {
  const store = env.DEAD_LETTERS.getByName(`test-${crypto.randomUUID()}`);
  const sent: MessageSendRequest<WholeEventsBody>[] = [];
  const reports: DeliveryReport[] = [];
  const ports: DeliveryPorts = {
    ...portsFromEnv(env),
    send: async (messages) => {
      sent.push(...messages);
    },
    settle: async (report) => {
      reports.push(report);
    },
    // Not paused, unless a test says otherwise (the real relay object is asked in the queue tests).
    deliveryPause: async () => null,
    getBlob: async () => {
      throw new Error("no blobs in this test");
    },
    blobSettled: async () => false,
    deadLetters: {
      add: (entries) => store.add(entries),
      remove: (ids) => store.remove(ids),
      getRaw: (id) => store.getRaw(id),
      settled: (id) => store.settled(id),
    },
    ...overrides,
  };
  return { ports, sent, reports, store };
}

/** Runs one batch through the consumer; returns its report and what the queue was told. */
export async function runBatch(bodies: QueueMessageBody[], testEnvironment: Env, ports: DeliveryPorts) {
  const batch = batchOf(bodies);
  const retries = observeRetries(batch);
  const report = await deliverBatch(batch, testEnvironment, ports);
  const result = await getQueueResult(batch, createExecutionContext());
  return { batch, report, result, retries };
}

/** getQueueResult() does not tell retry delays: record them as the consumer asks for them. */
function observeRetries(batch: MessageBatch<QueueMessageBody>) {
  const retries: { id: string | "all"; delaySeconds?: number }[] = [];
  const retryAll = batch.retryAll.bind(batch);
  batch.retryAll = (options) => {
    retries.push({ id: "all", delaySeconds: options?.delaySeconds });
    retryAll(options);
  };
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    message.retry = (options) => {
      retries.push({ id: message.id, delaySeconds: options?.delaySeconds });
      retry(options);
    };
  }
  return retries;
}

/**
 * Plays the queue: runs the batch, then each follow-up message the consumer enqueued (ignoring their
 * delays), until none is left. Returns every report and every follow-up message.
 */
export async function runUntilSettled(bodies: QueueMessageBody[], testEnvironment: Env, recorder: ReturnType<typeof recordingPorts>, maxRounds = 20) {
  let next = bodies;
  const followUps: MessageSendRequest<WholeEventsBody>[] = [];
  for (let round = 0; round < maxRounds && next.length > 0; round++) {
    const before = recorder.sent.length;
    await runBatch(next, testEnvironment, recorder.ports);
    const fresh = recorder.sent.slice(before);
    followUps.push(...fresh);
    next = fresh.map((m) => m.body);
  }
  if (next.length > 0) throw new Error("still not settled after the maximum number of rounds");
  return { reports: recorder.reports, followUps };
}

/** Waits (bounded) until `check` returns a value other than undefined. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 30_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** DID of a received request's body (single mode). */
export function didOf(request: ReceivedRequest): string {
  return (JSON.parse(request.body) as { did: string }).did;
}

/** A page of a dead-letter store (typed: RPC typing turns the `unknown` event into `never`). */
export async function deadLetterPage(
  store: { list(options: { offset?: number; limit?: number; maxBytes?: number }): Promise<unknown> },
  options: { offset?: number; limit?: number; maxBytes?: number } = {},
): Promise<DeadLetterPage> {
  return (await store.list(options)) as DeadLetterPage;
}

/** Starts a replay job in a dead-letter store and waits until it is over (the store's alarm runs it). */
export async function replayJob(
  store: { startReplay(request: DeadLetterReplayRequest): Promise<unknown>; getReplay(id: string): Promise<unknown> },
  request: DeadLetterReplayRequest,
): Promise<DeadLetterReplayJob> {
  const { job } = (await store.startReplay(request)) as DeadLetterReplayAnswer;
  return eventually(async () => {
    const now = (await store.getReplay(job.id)) as DeadLetterReplayJob;
    return now.state === "running" ? undefined : now;
  }, 30_000, `replay job ${job.id}`);
}
