// The dead-letter store (a real Durable Object with SQLite storage) and the consumer of Cloudflare's
// dead-letter queue. Replays travel through the real local queue to the real webhook receiver.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEAD_LETTER_OBJECT_NAME, type QueuedEvent } from "../../worker/contract.ts";
import { keepDeadLetteredMessages } from "../../worker/delivery/dead-letter-intake.ts";
import { eventId } from "../../worker/delivery/event-id.ts";
import {
  batchOf,
  commitEvent,
  deadLetterPage,
  eventually,
  messageBody,
  queued,
  receiver,
  replayJob,
  recordingPorts,
  uniqueDid,
} from "./delivery-support.ts";

const freshStore = () => env.DEAD_LETTERS.getByName(`test-${crypto.randomUUID()}`);
const letter = (raw: string, error = "webhook answered HTTP 404", attempts = 1) => ({ id: eventId(raw), raw, error, attempts, failedAt: Date.parse("2026-07-04T12:00:00Z") });

describe("dead-letter store", () => {
  it("keeps dead letters with their error and attempts, lists them in pages, oldest first", async () => {
    const store = freshStore();
    const raws = Array.from({ length: 7 }, (_, i) => commitEvent(uniqueDid(), `k${i}`));
    await store.add(raws.map((raw, i) => letter(raw, `error ${i}`, i + 1)));
    const first = await deadLetterPage(store, { limit: 3 });
    expect(first.total).toBe(7);
    expect(first.evicted).toBe(0);
    expect(first.nextOffset).toBe(3);
    expect(first.events[0]).toEqual({ id: eventId(raws[0]), event: JSON.parse(raws[0]), error: "error 0", attempts: 1, failedAt: "2026-07-04T12:00:00.000Z" });
    const last = await deadLetterPage(store, { offset: 6, limit: 3 });
    expect(last.events.map((e) => e.error)).toEqual(["error 6"]);
    expect(last.nextOffset).toBeNull();
    expect(await store.count()).toEqual({ total: 7, evicted: 0 });
    expect(await store.getRaw(eventId(raws[2]))).toBe(raws[2]);
  });

  it("keeps one entry per event: a newer failure replaces the older one", async () => {
    const store = freshStore();
    const raw = commitEvent(uniqueDid(), "k");
    await store.add([letter(raw, "first", 3)]);
    await store.add([letter(raw, "second", 5)]);
    const page = await deadLetterPage(store);
    expect(page.events.map((e) => [e.error, e.attempts])).toEqual([["second", 5]]);
  });

  it("is bounded: past the bound the oldest are evicted and counted", async () => {
    const store = freshStore();
    await runInDurableObject(store, (instance) => {
      (instance as unknown as { maxEvents: number }).maxEvents = 3;
    });
    const raws = Array.from({ length: 5 }, (_, i) => commitEvent(uniqueDid(), `k${i}`));
    for (const raw of raws) await store.add([letter(raw)]);
    const page = await deadLetterPage(store);
    expect(page.events.map((e) => e.id)).toEqual(raws.slice(2).map((raw) => eventId(raw)));
    expect(page.evicted).toBe(2);
    expect(await store.count()).toEqual({ total: 3, evicted: 2 });
  });

  it("keeps the full text of an event too large for a row (in chunks), and gives it back whole", async () => {
    const store = freshStore();
    const did = uniqueDid();
    // Multi-byte characters across the chunk boundaries, an emoji (a surrogate pair) among them.
    const huge = commitEvent(did, "h", 42, { padding: "pé😀".repeat(700_000) });
    await store.add([{ ...letter(huge, "HTTP 413"), id: "evt_huge" }]);
    const [entry] = (await deadLetterPage(store)).events;
    expect(entry).toEqual({ id: "evt_huge", event: JSON.parse(huge), error: "HTTP 413", attempts: 1, failedAt: "2026-07-04T12:00:00.000Z" });
    expect(await store.getRaw("evt_huge")).toBe(huge);
    // Replaced by a newer copy: the old chunks go with it.
    const smaller = commitEvent(did, "h", 42, { padding: "q".repeat(600_000) });
    await store.add([{ ...letter(smaller, "HTTP 500"), id: "evt_huge" }]);
    expect(await store.getRaw("evt_huge")).toBe(smaller);
    await store.purge({ all: true });
    await runInDurableObject(store, (_instance, state) => {
      expect(state.storage.sql.exec("SELECT COUNT(*) AS n FROM dead_letter_texts").one().n).toBe(0);
    });
  });

  it("purges selected events, or all (only when asked for exactly)", async () => {
    const store = freshStore();
    const raws = Array.from({ length: 4 }, (_, i) => commitEvent(uniqueDid(), `k${i}`));
    await store.add(raws.map((raw) => letter(raw)));
    expect(await store.purge({ ids: [eventId(raws[1]), eventId(raws[3]), "evt_unknown"] })).toEqual({ purged: 2 });
    expect((await deadLetterPage(store)).events.map((e) => e.id)).toEqual([eventId(raws[0]), eventId(raws[2])]);
    expect(await store.purge({} as never)).toEqual({ purged: 0 });
    expect(await store.startReplay({ all: "yes" } as never).then(() => "started", (error: Error) => error.message)).toMatch(/say what to replay/);
    expect(await store.purge({ all: true })).toEqual({ purged: 2 });
    expect((await store.count()).total).toBe(0);
  });

  it("removes after delivery only events that are being replayed", async () => {
    const store = freshStore();
    const raw = commitEvent(uniqueDid(), "k");
    await store.add([letter(raw)]);
    await store.remove([eventId(raw)]);
    expect((await store.count()).total).toBe(1);
  });
});

describe("replay through the queue", () => {
  const store = () => env.DEAD_LETTERS.getByName(DEAD_LETTER_OBJECT_NAME);

  it("delivers the selected events again and drops them from the store once delivered", async () => {
    const did = uniqueDid();
    const raws = [commitEvent(did, "a"), commitEvent(did, "b"), commitEvent(uniqueDid(), "keep")];
    // One too large for a queue message: it travels by reference and is read from the store.
    const big = commitEvent(did, "c", 1_783_175_888_000_009, { padding: "p".repeat(150_000) });
    await store().add([...raws, big].map((raw) => letter(raw, "HTTP 503", 10)));
    const ids = [raws[0], raws[1], big].map((raw) => eventId(raw));
    expect((await replayJob(store(), { ids })).sent).toBe(3);
    const marked = (await deadLetterPage(store(), { limit: 1000 })).events.filter((e) => ids.includes(e.id));
    expect(marked.every((e) => e.replaying === true)).toBe(true);

    const received = await eventually(async () => {
      const requests = await receiver.requests({ path: "/hook", match: did });
      return requests.length >= 3 ? requests : undefined;
    });
    expect(received.map((r) => r.body).sort()).toEqual([raws[0], raws[1], big].sort());
    expect(received.map((r) => r.headers["webhook-id"]).sort()).toEqual([...ids].sort());
    expect(received.filter((r) => r.body === raws[0] || r.body === raws[1]).map((r) => r.body)).toEqual([raws[0], raws[1]]);
    await eventually(async () => ((await Promise.all(ids.map((id) => store().getRaw(id)))).every((raw) => raw === null) ? true : undefined));
    expect(await store().getRaw(eventId(raws[2]))).toBe(raws[2]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await receiver.requests({ path: "/hook", match: did })).toHaveLength(3);
  });

  it("keeps a replayed event that fails retryably until its retry is delivered", async () => {
    const did = uniqueDid();
    const raw = commitEvent(did, "r");
    const id = eventId(raw);
    await receiver.rule({ path: "/hook", match: did, action: "respond", status: 503, headers: { "retry-after": "1" }, times: 1 });
    await store().add([letter(raw, "HTTP 500", 10)]);
    await replayJob(store(), { ids: [id] });
    await eventually(async () => ((await receiver.requests({ path: "/hook", match: did })).length >= 1 ? true : undefined));
    expect(await store().getRaw(id)).toBe(raw);
    await eventually(async () => ((await store().getRaw(id)) === null ? true : undefined), 40_000);
    expect((await receiver.requests({ path: "/hook", match: did })).map((r) => r.answer)).toEqual([503, 200]);
  });

  it("puts an event that fails again back in the store, no longer marked as replaying", async () => {
    const did = uniqueDid();
    const raw = commitEvent(did, "x");
    const id = eventId(raw);
    await receiver.rule({ path: "/hook", match: did, action: "respond", status: 422, body: "refused for good" });
    await store().add([letter(raw, "HTTP 404", 1)]);
    expect((await replayJob(store(), { ids: [id] })).sent).toBe(1);
    const entry = await eventually(async () => {
      const found = (await deadLetterPage(store(), { limit: 1000 })).events.find((e) => e.id === id);
      return found && !found.replaying ? found : undefined;
    });
    expect(entry).toMatchObject({ error: "webhook answered HTTP 422: refused for good", attempts: 1 });
    expect(await receiver.requests({ path: "/hook", match: did })).toHaveLength(1);
  });
});

describe("dead-letter queue consumer", () => {
  it("keeps every event of messages that reached the dead-letter queue, and settles their ledger", async () => {
    const recorder = recordingPorts({ getBlob: async (id) => (id === "b-1" ? commitEvent("did:plc:blobby", "z") : null) });
    const raws = [commitEvent(uniqueDid(), "1"), commitEvent(uniqueDid(), "2")];
    const withBlob = messageBody([{ blob: "b-1", did: "did:plc:blobby", timeUs: 7, receivedAt: 1, attempts: 2 }]);
    const lost = messageBody([{ blob: "b-gone", did: "did:plc:lost", timeUs: 8, receivedAt: 1, attempts: 0 }]);
    const plain = messageBody(raws.map((raw) => queued(raw, { attempts: 1 })));
    const live = commitEvent(uniqueDid(), "3");
    const compact = messageBody([{ raw: live, receivedAt: 1 }, { receivedAt: 2 } as unknown as QueuedEvent]);
    const batch = batchOf([plain, withBlob, lost, compact]);
    const report = await keepDeadLetteredMessages(batch, recorder.ports);
    const page = await deadLetterPage(recorder.store);
    expect(page.total).toBe(6);
    expect(page.events.map((e) => e.event)).toEqual([
      JSON.parse(raws[0]),
      JSON.parse(raws[1]),
      JSON.parse(commitEvent("did:plc:blobby", "z")),
      { did: "did:plc:lost", time_us: 8, blob: "b-gone" },
      JSON.parse(live),
      { receivedAt: 2 },
    ]);
    expect(page.events[0].error).toContain("max_retries");
    expect(page.events[2].attempts).toBe(2);
    expect(page.events[5].error).toContain("malformed queued event");
    expect(report).toMatchObject({ settled: [plain.ledgerId, withBlob.ledgerId, lost.ledgerId, compact.ledgerId], deadLettered: 6, blobsDone: ["b-1"] });
    expect(recorder.reports).toHaveLength(1);
  });

  it("lets the queue deliver the messages again when the store cannot take them", async () => {
    const recorder = recordingPorts();
    recorder.ports.deadLetters.add = async () => {
      throw new Error("storage down");
    };
    const batch = batchOf([messageBody([queued(commitEvent(uniqueDid(), "1"))])]);
    let retried: QueueRetryOptions | undefined;
    batch.retryAll = (options) => {
      retried = options;
    };
    expect(await keepDeadLetteredMessages(batch, recorder.ports)).toBeNull();
    expect(retried).toEqual({ delaySeconds: 60 });
    // The relay object hears of it (a /health reason) but settles nothing.
    expect(recorder.reports).toEqual([expect.objectContaining({ settled: [], deadLettered: 0, deadLetterStoreError: "storage down" })]);
  });
});
