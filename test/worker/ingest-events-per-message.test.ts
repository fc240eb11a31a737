/**
 * JETSTREAM_MAX_EVENTS_PER_MESSAGE: validated and defaulted like every tuning variable, and the packer
 * keeps to it (1 = one queue message per event, the original design, used as the benchmark's baseline).
 */
import { describe, expect, it } from "vitest";
import { parseRelayConfig } from "../../worker/config.ts";
import type { Env, QueuedEvent } from "../../worker/contract.ts";
import { Packer, QUEUE_LIMITS, queuedEventBytes } from "../../worker/queue/packer.ts";

const env = (value?: string) =>
  ({ WEBHOOK_URL: "https://example.com/hook", JETSTREAM_COLLECTIONS: "app.bsky.feed.post", ...(value === undefined ? {} : { JETSTREAM_MAX_EVENTS_PER_MESSAGE: value }) }) as unknown as Env;

describe("JETSTREAM_MAX_EVENTS_PER_MESSAGE", () => {
  it("defaults to 1000 and takes whole numbers from 1 to 1000", () => {
    expect(parseRelayConfig(env()).config?.settings.maxEventsPerMessage).toBe(1000);
    expect(parseRelayConfig(env("1")).config?.settings.maxEventsPerMessage).toBe(1);
    expect(parseRelayConfig(env("250")).config?.settings.maxEventsPerMessage).toBe(250);
  });

  it.each(["0", "2.5", "1001", "many"])("refuses %j with a clear problem", (value) => {
    const { config, problems } = parseRelayConfig(env(value));
    expect(config).toBeNull();
    expect(problems).toEqual([expect.objectContaining({ variable: "JETSTREAM_MAX_EVENTS_PER_MESSAGE", fix: expect.stringContaining("from 1 to 1000") })]);
  });

  const event = (i: number): QueuedEvent => ({ raw: JSON.stringify({ i }), did: `did:plc:${i}`, timeUs: 1000 + i, receivedAt: 0, attempts: 0 });
  const fill = (packer: Packer, n: number) => {
    for (let i = 0; i < n; i++) packer.add({ event: event(i), bytes: queuedEventBytes(event(i)), timeUs: 1000 + i, cursorBefore: null });
  };
  let ids = 0;
  const nextId = () => `L-${++ids}`;

  it("packs at most that many events per message, and counts a message of that many as full", () => {
    const one = new Packer({ ...QUEUE_LIMITS, maxEventsPerMessage: 1 });
    fill(one, 5);
    expect(one.hasFullMessage).toBe(true);
    expect(one.peekBatch(nextId)!.messages.map((m) => m.body.events.length)).toEqual([1, 1, 1, 1, 1]);

    const three = new Packer({ ...QUEUE_LIMITS, maxEventsPerMessage: 3 });
    fill(three, 2);
    expect(three.hasFullMessage).toBe(false);
    fill(three, 5);
    expect(three.peekBatch(nextId)!.messages.map((m) => m.body.events.length)).toEqual([3, 3, 1]);

    const byDefault = new Packer();
    fill(byDefault, 5);
    expect(byDefault.hasFullMessage).toBe(false);
    expect(byDefault.peekBatch(nextId)!.messages.map((m) => m.body.events.length)).toEqual([5]);
  });
});

describe("full messages only (while events keep coming)", () => {
  const event = (i: number, pad: number): QueuedEvent => ({ raw: JSON.stringify({ i, pad: "x".repeat(pad) }), did: `did:plc:${i}`, timeUs: 1000 + i, receivedAt: 0, attempts: 0 });
  const fill = (packer: Packer, from: number, n: number, pad = 900) => {
    for (let i = from; i < from + n; i++) packer.add({ event: event(i, pad), bytes: queuedEventBytes(event(i, pad)), timeUs: 1000 + i, cursorBefore: null });
  };
  let ids = 0;
  const nextId = () => `F-${++ids}`;

  it("leaves a trailing partial message for later, and sends everything when asked to", () => {
    const packer = new Packer();
    fill(packer, 0, 140); // ~140 KB: one full message and a partial one
    expect(packer.hasFullMessage).toBe(true);
    const full = packer.peekBatch(nextId, { fullOnly: true })!;
    expect(full.messages).toHaveLength(1);
    expect(full.messages[0].bytes).toBeGreaterThan(QUEUE_LIMITS.messageTargetBytes - 1100);
    packer.commit(full);
    expect(packer.hasFullMessage).toBe(false);
    expect(packer.peekBatch(nextId, { fullOnly: true })).toBeNull();
    const rest = packer.peekBatch(nextId)!; // the flush interval passed: the partial message goes too
    expect(rest.eventCount).toBe(packer.size);
  });

  it("does not let the batch's byte limit cut a small message off the end", () => {
    const packer = new Packer();
    fill(packer, 0, 400); // ~3 full messages: more than one batch of 250 KB holds
    const batch = packer.peekBatch(nextId, { fullOnly: true })!;
    expect(batch.messages.every((m) => m.bytes > QUEUE_LIMITS.messageTargetBytes - 1100)).toBe(true);
    expect(batch.bytes).toBeLessThanOrEqual(QUEUE_LIMITS.batchMaxBytes);
  });

  it("counts a single event over the message target as a full message", () => {
    const packer = new Packer();
    fill(packer, 0, 1, 125_000);
    expect(packer.hasFullMessage).toBe(true);
    expect(packer.peekBatch(nextId, { fullOnly: true })!.messages).toHaveLength(1);
  });

  it("has a full batch once two full messages wait (what one round of sends takes), not before", () => {
    const packer = new Packer();
    fill(packer, 0, 200); // ~180 KB: one full message and more
    expect(packer.hasFullMessage).toBe(true);
    expect(packer.hasFullBatch).toBe(false);
    fill(packer, 200, 100); // ~270 KB
    expect(packer.hasFullBatch).toBe(true);
    const batch = packer.peekBatch(nextId, { fullOnly: true })!;
    expect(batch.messages).toHaveLength(2);
    expect(batch.bytes).toBeLessThanOrEqual(QUEUE_LIMITS.batchMaxBytes);
    const few = new Packer({ ...QUEUE_LIMITS, maxEventsPerMessage: 1 });
    fill(few, 0, 1);
    expect(few.hasFullMessage).toBe(true);
    expect(few.hasFullBatch).toBe(false);
  });
});
