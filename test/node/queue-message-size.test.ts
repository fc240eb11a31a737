// The queue-size bound (worker/queue/message-size.ts) against the real V8 serializer: Node's
// `v8.serialize` writes the same format (header, tags, strings) that workerd sends with contentType "v8".
import { serialize } from "node:v8";
import { describe, expect, it } from "vitest";
import type { CompactEvent, QueuedEvent } from "../../worker/queue/message.ts";
import { Packer, QUEUE_LIMITS } from "../../worker/queue/packer.ts";
import { compactEventBytes, elementBytes, serializedBytes } from "../../worker/queue/message-size.ts";
import { CAUTIOUS_LIMITS } from "../../worker/queue/limits.ts";
import { DEAD_LETTER, LIVE, replayOrigin, RETRY } from "../../worker/queue/message.ts";
import { packFollowUps, sendBatches } from "../../worker/delivery/delivery-plan.ts";
import { fixtureEvents } from "../support/jetstream-test-server.ts";

const actual = (value: unknown) => serialize(value).length;

describe("serialized size bound", () => {
  it.each([
    ["empty string", ""],
    ["ASCII", "abc"],
    ["Latin-1", "café"],
    ["two-byte", "日本語"],
    ["emoji", "🎉x"],
    ["lone surrogate", "\ud800x"],
    ["ASCII, 127 / 128 / 16384 long (varint lengths)", ["a".repeat(127), "a".repeat(128), "a".repeat(16_384)]],
    ["two-byte, long", `${"日".repeat(70_000)}`],
    ["small integers", [0, 1, -1, 2 ** 30 - 1]],
    ["large and fractional numbers", [2 ** 31, 1_732_000_000_000_000, 0.5, -1e300]],
    ["booleans, null, undefined", [true, false, null, undefined]],
    ["nested", { a: { b: [1, "x", { c: "日" }] }, u: undefined }],
  ])("%s: never below the real size, at most a few bytes above", (_name, value) => {
    const bound = serializedBytes(value);
    expect(bound).toBeGreaterThanOrEqual(actual(value));
    // Up to 7 bytes per number (a small integer counts as a double) and 4 for the whole.
    expect(bound - actual(value)).toBeLessThanOrEqual(4 + 8 * (Array.isArray(value) ? value.length : 1));
  });

  it("sizes every real captured event as queued — compact (live) and whole (follow-ups) — within 8 bytes", () => {
    // As a socket delivers them: each decoded from UTF-8 on its own (not sliced out of a file's text).
    const events = fixtureEvents().map((line) => Buffer.from(line, "utf8").toString("utf8"));
    expect(events.length).toBeGreaterThan(100);
    for (const raw of events) {
      const compact: CompactEvent = { raw, receivedAt: 1_732_000_000_000 };
      const { did, time_us: timeUs } = JSON.parse(raw) as { did: string; time_us: number };
      const whole: QueuedEvent = { raw, did, timeUs, receivedAt: 1_732_000_000_000, attempts: 0 };
      for (const event of [compact, whole]) {
        const inArray = actual([event]) - actual([]);
        expect(elementBytes(event)).toBeGreaterThanOrEqual(inArray);
        expect(elementBytes(event) - inArray).toBeLessThanOrEqual(8); // attempts: 0 may take 2 bytes
      }
      expect(compactEventBytes(raw)).toBe(elementBytes(compact));
      // What leaving did, time_us and attempts out of live events saves.
      expect(actual([whole]) - actual([compact])).toBeGreaterThanOrEqual(60);
    }
  });

  it("sizes packed messages of small events of mixed text (ASCII, Latin-1, emoji, CJK) within 2%", () => {
    const texts = ["plain", "café au lait", "party 🎉", "日本語のテキスト"];
    const packer = new Packer();
    for (let i = 0; i < 3000; i++) {
      const raw = JSON.stringify({ did: `did:plc:${i}`, time_us: 1000 + i, kind: "commit", commit: { record: { text: texts[i % 4].repeat(1 + (i % 40)) } } });
      const event: CompactEvent = { raw, receivedAt: 1_732_000_000_000 };
      packer.add({ event, bytes: compactEventBytes(raw), timeUs: 1000 + i, cursorBefore: null });
    }
    let ids = 0;
    let messages = 0;
    while (packer.size > 0) {
      const batch = packer.peekBatch(() => `L-${++ids}`)!;
      for (const m of batch.messages) {
        const real = actual(m.body);
        expect(m.bytes).toBeGreaterThanOrEqual(real);
        expect(m.bytes).toBeLessThanOrEqual(real * 1.02 + 64);
        expect(real).toBeLessThanOrEqual(128_000);
        messages++;
      }
      packer.commit(batch);
    }
    expect(messages).toBeGreaterThan(5);
  });

  it("keeps cautious messages and batches (after a refusal) within the queue's limits even if every text took two bytes per character", () => {
    // Latin-1 text sliced out of a two-byte string: V8 keeps it (and serializes it) with two bytes per character.
    const twoByte = (text: string) => `日${text}`.slice(1);
    const sizes = [300, 5_000, QUEUE_LIMITS.maxInlineEventBytes - 200];
    const packer = new Packer();
    for (let i = 0; i < 60; i++) {
      const raw = twoByte(JSON.stringify({ i, pad: "x".repeat(sizes[i % 3]) }));
      const event: CompactEvent = { raw, receivedAt: 1_732_000_000_000 };
      const bytes = compactEventBytes(raw);
      expect(bytes).toBeLessThanOrEqual(QUEUE_LIMITS.maxInlineEventBytes);
      packer.add({ event, bytes, timeUs: 1000 + i, cursorBefore: null });
    }
    let ids = 0;
    while (packer.size > 0) {
      const batch = packer.peekBatch(() => `L-${++ids}`, { cautious: true })!;
      const real = batch.messages.map((m) => actual(m.body));
      expect(Math.max(...real)).toBeLessThanOrEqual(128_000);
      expect(real.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(256_000);
      expect(Math.max(...real)).toBeGreaterThan(QUEUE_LIMITS.messageTargetBytes / 2); // the case is real: twice the computed size
      packer.commit(batch);
    }
  });

  it("sizes the messages of every origin with what their origin adds (a replay's id, a follow-up's), at least as V8 does", () => {
    const texts = fixtureEvents().slice(0, 400).map((line) => Buffer.from(line, "utf8").toString("utf8"));
    const replay = new Packer(QUEUE_LIMITS, replayOrigin(`replay-${"f".repeat(8)}`));
    for (const [i, raw] of texts.entries()) replay.add({ event: { raw, receivedAt: 1_732_000_000_000 }, bytes: compactEventBytes(raw), timeUs: i, cursorBefore: null });
    let ids = 0;
    while (replay.size > 0) {
      const batch = replay.peekBatch(() => `replay-ffffffff-${++ids}`)!;
      for (const m of batch.messages) {
        expect(m.body).toMatchObject({ origin: "replay", replayId: "replay-ffffffff" });
        expect(m.bytes).toBeGreaterThanOrEqual(actual(m.body));
        expect(m.bytes).toBeLessThanOrEqual(actual(m.body) + 9 * m.body.events.length + 64);
      }
      replay.commit(batch);
    }
    // Follow-ups of each origin, packed by the consumer within the cautious limits.
    const origins = [LIVE, RETRY, DEAD_LETTER, replayOrigin("replay-ffffffff")];
    const entries = texts.map((raw, i) => {
      const { did, time_us: timeUs } = JSON.parse(raw) as { did: string; time_us: number };
      return { event: { raw, did, timeUs, receivedAt: 1_732_000_000_000, attempts: 3 }, origin: i, group: String(i % 4), delaySeconds: 5, from: origins[i % 4] };
    });
    const followUps = packFollowUps(entries, () => crypto.randomUUID());
    expect(new Set(followUps.map((m) => m.body.origin))).toEqual(new Set(["retry", "dead-letter", "replay"]));
    for (const m of followUps) {
      expect(m.bytes).toBeGreaterThanOrEqual(actual(m.body));
      expect(m.bytes).toBeLessThanOrEqual(CAUTIOUS_LIMITS.messageTargetBytes);
    }
    for (const batch of sendBatches(followUps)) expect(batch.reduce((n, m) => n + actual(m.body), 0)).toBeLessThanOrEqual(CAUTIOUS_LIMITS.batchMaxBytes);
  });
});
