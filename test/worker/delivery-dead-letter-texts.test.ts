// Large dead letters, stubs, duplicates and bounds by bytes: the dead-letter store (a real Durable Object),
// the consumer, and replays through the real local queue to the real webhook receiver.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEAD_LETTER_OBJECT_NAME, type DeliveryReport, type HealthReport, type WholeEventsBody } from "../../worker/contract.ts";
import { keepDeadLetteredMessages } from "../../worker/delivery/dead-letter-intake.ts";
import { migrate } from "../../worker/delivery/dead-letter-store.ts";
import { eventId } from "../../worker/delivery/event-id.ts";
import { DEAD_LETTER } from "../../worker/queue/message.ts";
import { batchOf, commitEvent, deadLetterPage, eventually, messageBody, receiver, recordingPorts, replayJob, runBatch, testEnv, uniqueDid, uniquePath } from "./delivery-support.ts";

const freshStore = () => env.DEAD_LETTERS.getByName(`test-${crypto.randomUUID()}`);
const letter = (raw: string, error = "webhook answered HTTP 413", attempts = 1) => ({ id: eventId(raw), raw, error, attempts, failedAt: Date.parse("2026-07-04T12:00:00Z") });
/** A commit event of about `bytes` bytes. */
const sized = (did: string, rkey: string, bytes: number) => commitEvent(did, rkey, 1_783_175_888_000_000, { padding: "p".repeat(bytes - 400) });

describe("large dead letters", () => {
  it("a replay delivers the whole event (2.5 MB), never a stub, and it leaves the store once delivered", async () => {
    const store = env.DEAD_LETTERS.getByName(DEAD_LETTER_OBJECT_NAME);
    const did = uniqueDid();
    const huge = sized(did, "huge", 2_500_000);
    await store.add([letter(huge)]);
    expect(await store.getRaw(eventId(huge))).toBe(huge);
    const job = await replayJob(store, { ids: [eventId(huge)] });
    expect(job).toMatchObject({ state: "done", sent: 1, skipped: 0 });
    const [request] = await eventually(async () => {
      const requests = await receiver.requests({ path: "/hook", match: did });
      return requests.length > 0 ? requests : undefined;
    });
    expect(request.body).toBe(huge);
    expect(request.headers["webhook-id"]).toBe(eventId(huge));
    await eventually(async () => ((await store.getRaw(eventId(huge))) === null ? true : undefined));
  });

  it("a stub (its event's text was lost) is listed as such and never sent by a replay: counted as skipped", async () => {
    const store = freshStore();
    const sent: WholeEventsBody[] = [];
    await runInDurableObject(store, (instance) => {
      const own = instance as unknown as { env: Record<string, unknown> };
      own.env = { ...own.env, EVENTS: { sendBatch: async (messages: { body: WholeEventsBody }[]) => void sent.push(...messages.map((m) => m.body)) } };
    });
    const stub = JSON.stringify({ did: "did:plc:lost", time_us: 8, blob: "b-gone" });
    const real = commitEvent(uniqueDid(), "real");
    await store.add([{ ...letter(stub, "the event's text is gone"), stub: true }, letter(real)]);
    const page = await deadLetterPage(store);
    expect(page.events.map((e) => e.stub ?? false)).toEqual([true, false]);
    const job = await replayJob(store, { all: true });
    expect(job).toMatchObject({ state: "done", total: 2, sent: 1, skipped: 1 });
    expect(sent.flatMap((body) => body.events).map((e) => e.raw)).toEqual([real]);
  });
});

describe("entries of earlier versions", () => {
  it("get their size, and their stubs (identity or reference only) are marked as such", async () => {
    const store = freshStore();
    const real = commitEvent(uniqueDid(), "old");
    const identity = JSON.stringify({ did: "did:plc:old", time_us: 42, kind: "commit", truncated: true, bytes: 2_000_400 });
    const reference = JSON.stringify({ did: "did:plc:lost", time_us: 8, blob: "b-gone" });
    await runInDurableObject(store, (_instance, state) => {
      const sql = state.storage.sql;
      // The table as the first version wrote it.
      for (const column of ["bytes", "stub", "replay_job"]) sql.exec(`ALTER TABLE dead_letters DROP COLUMN ${column}`);
      const insert = (id: string, raw: string, error: string) => sql.exec("INSERT INTO dead_letters (id, raw, error, attempts, failed_at) VALUES (?, ?, ?, 1, 0)", id, raw, error);
      insert("old-real", real, "webhook answered HTTP 410");
      insert("old-identity", identity, "HTTP 413; the event (2000400 bytes) is too large for the dead-letter store: only its identity is kept");
      insert("old-reference", reference, "its queue message failed past max_retries and reached the dead-letter queue");
      migrate(sql);
    });
    const page = await deadLetterPage(store);
    expect(page.events.map((e) => [e.id, e.stub ?? false])).toEqual([
      ["old-real", false],
      ["old-identity", true],
      ["old-reference", true],
    ]);
    expect(page.bytes).toBe([real, identity, reference].reduce((sum, raw) => sum + new TextEncoder().encode(raw).length, 0));
  });
});

describe("a duplicate delivery of an event whose text was already settled", () => {
  it("is recognised by the consumer (the relay's blob was deleted after delivery): not sent, not dead-lettered", async () => {
    const did = uniqueDid();
    const path = uniquePath();
    const recorder = recordingPorts({ getBlob: async () => null, blobSettled: async (id) => id === "delivered-blob" });
    const { report, result } = await runBatch([messageBody([{ blob: "delivered-blob", did, timeUs: 5, receivedAt: Date.now(), attempts: 0 }])], testEnv(path), recorder.ports);
    expect(report).toMatchObject({ delivered: 0, deadLettered: 0, failed: 0, requests: 0, blobsDone: [] });
    expect(result.explicitAcks).toHaveLength(1);
    expect((await deadLetterPage(recorder.store)).total).toBe(0);
    expect(await receiver.requests({ path })).toHaveLength(0);
  });

  it("is recognised by the dead-letter queue's consumer: nothing is kept", async () => {
    const recorder = recordingPorts({ getBlob: async () => null, blobSettled: async (id) => id === "delivered-blob" });
    const report = await keepDeadLetteredMessages(batchOf([messageBody([{ blob: "delivered-blob", did: "did:plc:x", timeUs: 5, receivedAt: 1, attempts: 3 }])]), recorder.ports);
    expect(report).toMatchObject({ deadLettered: 0, blobsDone: [] });
    expect((await deadLetterPage(recorder.store)).total).toBe(0);
  });

  it("the relay object remembers the blobs it deleted as settled; an unknown one is still a lost event", async () => {
    const relay = env.RELAY.getByName(`test-${crypto.randomUUID()}`);
    const report: DeliveryReport = { settled: [], pending: [], delivered: 1, retried: 0, failed: 0, deadLettered: 0, requests: 1, latenciesMs: [], blobsDone: ["blob-done"] };
    await relay.settle(report);
    expect(await relay.blobSettled("blob-done")).toBe(true);
    expect(await relay.blobSettled("blob-unknown")).toBe(false);
    // A lost blob (never settled) is dead-lettered as a stub, marked so.
    const recorder = recordingPorts({ getBlob: async () => null, blobSettled: (id) => relay.blobSettled(id) });
    await runBatch([messageBody([{ blob: "blob-unknown", did: "did:plc:y", timeUs: 5, receivedAt: Date.now(), attempts: 0 }])], testEnv(uniquePath()), recorder.ports);
    const page = await deadLetterPage(recorder.store);
    expect(page.events).toMatchObject([{ stub: true, event: { blob: "blob-unknown" } }]);
  });

  it("a replayed dead letter delivered (and removed) once is a duplicate the second time", async () => {
    const recorder = recordingPorts();
    const raw = sized(uniqueDid(), "twice", 100_000);
    const id = eventId(raw);
    await recorder.store.add([letter(raw)]);
    await runInDurableObject(recorder.store, (_instance, state) => {
      state.storage.sql.exec("UPDATE dead_letters SET replaying = 1");
    });
    const byReference: WholeEventsBody = { ...DEAD_LETTER, v: 2, ledgerId: "dlq-1", events: [{ blob: id, did: "did:plc:z", timeUs: 1, receivedAt: Date.now(), attempts: 0 }] };
    const path = uniquePath();
    const first = await runBatch([byReference], testEnv(path), recorder.ports);
    expect(first.report.delivered).toBe(1);
    expect(await recorder.store.getRaw(id)).toBeNull();
    const second = await runBatch([byReference], testEnv(path), recorder.ports);
    expect(second.report).toMatchObject({ delivered: 0, deadLettered: 0 });
    expect((await deadLetterPage(recorder.store)).total).toBe(0);
    expect(await receiver.requests({ path })).toHaveLength(1);
  });
});

describe("bounds by bytes", () => {
  it("a page of /dlq ends before its byte budget and says how to continue; one large entry always fits", async () => {
    const store = freshStore();
    const did = uniqueDid();
    // Eight entries near 1.9 MB: the default budget (4 MB) holds two of them.
    const raws = Array.from({ length: 8 }, (_, i) => sized(did, `big${i}`, 1_900_000));
    for (const raw of raws) await store.add([letter(raw)]);
    const seen: string[] = [];
    let page = await deadLetterPage(store, { limit: 1000 });
    expect(page).toMatchObject({ total: 8, nextOffset: 2, limitedBy: "bytes", next: "/dlq?offset=2&limit=1000" });
    expect(page.events).toHaveLength(2);
    expect(page.bytes).toBeLessThanOrEqual(4_000_000);
    seen.push(...page.events.map((e) => e.id));
    while (page.nextOffset !== null) {
      page = await deadLetterPage(store, { offset: page.nextOffset, limit: 1000 });
      seen.push(...page.events.map((e) => e.id));
    }
    expect(seen).toEqual(raws.map((raw) => eventId(raw)));
    expect(page).toMatchObject({ limitedBy: null, next: null });
    // A budget smaller than one entry still gives that entry.
    const tiny = (await store.list({ limit: 5, maxBytes: 1000 })) as typeof page;
    expect(tiny.events).toHaveLength(1);
    expect(tiny).toMatchObject({ nextOffset: 1, limitedBy: "bytes", next: "/dlq?offset=1&limit=5&maxBytes=1000" });
    // Small entries: the row limit ends the page.
    const small = freshStore();
    await small.add(Array.from({ length: 3 }, (_, i) => letter(commitEvent(did, `s${i}`))));
    expect(await deadLetterPage(small, { limit: 2 })).toMatchObject({ nextOffset: 2, limitedBy: "rows", next: "/dlq?offset=2&limit=2" });
  });

  it("the store is bounded by total bytes: past DEAD_LETTER_MAX_BYTES the oldest are evicted and counted", async () => {
    const store = freshStore();
    await runInDurableObject(store, (instance) => {
      (instance as unknown as { maxBytes: number }).maxBytes = 5_000_000;
    });
    const did = uniqueDid();
    const raws = Array.from({ length: 5 }, (_, i) => sized(did, `b${i}`, 1_900_000));
    for (const raw of raws) await store.add([letter(raw)]);
    const page = await deadLetterPage(store, { maxBytes: 8_000_000 });
    expect(page.events.map((e) => e.id)).toEqual(raws.slice(3).map((raw) => eventId(raw)));
    expect(await store.count()).toEqual({ total: 2, evicted: 3 });
    await runInDurableObject(store, (_instance, state) => {
      // The evicted entries' chunks went with them.
      expect(state.storage.sql.exec("SELECT COUNT(DISTINCT id) AS n FROM dead_letter_texts").one().n).toBe(2);
    });
  });

  it("GET /dlq refuses a byte budget out of range", async () => {
    const { admin } = await import("./http-support.ts");
    expect((await admin("/dlq?maxBytes=10")).status).toBe(400);
    expect((await admin("/dlq?maxBytes=9000000")).status).toBe(400);
    expect((await admin("/dlq?maxBytes=100000")).status).toBe(200);
  });
});

describe("a failure to store dead letters", () => {
  it("is a /health reason until the store takes them again", async () => {
    const relay = env.RELAY.getByName(`test-${crypto.randomUUID()}`);
    const empty: DeliveryReport = { settled: [], pending: [], delivered: 0, retried: 0, failed: 0, deadLettered: 0, requests: 0, latenciesMs: [], blobsDone: [] };
    await relay.settle({ ...empty, deadLetterStoreError: "SQLITE_FULL: database or disk is full" });
    const failing = (await relay.getHealth()) as HealthReport;
    expect(failing.reasons).toContainEqual({ code: "dead-letters-not-stored", message: expect.stringContaining("SQLITE_FULL") });
    await relay.settle({ ...empty, deadLettered: 1, deadLetterStoreError: null });
    expect(((await relay.getHealth()) as HealthReport).reasons.map((r) => r.code)).not.toContain("dead-letters-not-stored");
  });

  it("the consumer says so in its report when the store refuses", async () => {
    const recorder = recordingPorts();
    recorder.ports.deadLetters.add = async () => {
      throw new Error("storage down");
    };
    const path = uniquePath();
    await receiver.rule({ path, action: "respond", status: 400 });
    const { report } = await runBatch([messageBody([{ raw: commitEvent(uniqueDid(), "x"), receivedAt: Date.now() }])], testEnv(path), recorder.ports);
    expect(report.deadLetterStoreError).toBe("storage down");
    recorder.ports.deadLetters.add = (entries) => recorder.store.add(entries);
    const again = await runBatch([messageBody([{ raw: commitEvent(uniqueDid(), "y"), receivedAt: Date.now() }])], testEnv(path), recorder.ports);
    expect(again.report.deadLetterStoreError).toBeNull();
  });
});
