// The consumer driven directly with message batches, delivering to the real webhook receiver. Follow-up
// messages are recorded (and fed back as the next batch) so that retries need no waiting.
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { eventId } from "../../worker/delivery/event-id.ts";
import {
  CORPUS,
  GOLDEN,
  commitEvent,
  deadLetterPage,
  didOf,
  messageBody,
  queued,
  receiver,
  recordingPorts,
  runBatch,
  runUntilSettled,
  testEnv,
  uniqueDid,
  uniquePath,
} from "./delivery-support.ts";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/** How often each event (by webhook-id) was answered with a 2xx. */
function successes(requests: { headers: Record<string, string>; answer: number | string }[]) {
  const counts = new Map<string, number>();
  for (const r of requests) if (typeof r.answer === "number" && r.answer < 300) counts.set(r.headers["webhook-id"], (counts.get(r.headers["webhook-id"]) ?? 0) + 1);
  return counts;
}

describe("webhook contract", () => {
  it("POSTs each event exactly as received, signed, with the contract's headers", async () => {
    const path = uniquePath();
    const env = testEnv(path, { WEBHOOK_SECRET: SECRET, WEBHOOK_BEARER_TOKEN: "bearer-xyz" });
    const recorder = recordingPorts();
    const body = messageBody(GOLDEN.map((raw) => queued(raw)));
    const { report, result } = await runBatch([body], env, recorder.ports);

    const received = await receiver.requests({ path });
    expect(received.map((r) => r.body).sort()).toEqual([...GOLDEN].sort());
    const webhook = new Webhook(SECRET);
    for (const request of received) {
      expect(request.method).toBe("POST");
      expect(request.headers["content-type"]).toBe("application/json");
      expect(request.headers["user-agent"]).toBe("jetstream-relay/0.1.0");
      expect(request.headers.authorization).toBe("Bearer bearer-xyz");
      expect(request.headers["webhook-id"]).toBe(eventId(request.body));
      expect(Math.abs(Number(request.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(60);
      expect(webhook.verify(request.body, request.headers)).toEqual(JSON.parse(request.body));
    }
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);
    expect(recorder.sent).toEqual([]);
    expect(report).toMatchObject({ settled: [body.ledgerId], pending: [], delivered: GOLDEN.length, requests: GOLDEN.length, retried: 0, deadLettered: 0 });
    expect(report.latenciesMs).toHaveLength(GOLDEN.length);
    expect(report.newestDeliveredTimeUs).toBe(Math.max(...GOLDEN.map((raw) => (JSON.parse(raw) as { time_us: number }).time_us)));
    expect(report.lastSuccessAt).toBeDefined();
    expect(recorder.reports).toEqual([report]);
  });

  it("sends neither signature nor authorization when they are not configured", async () => {
    const path = uniquePath();
    await runBatch([messageBody([queued(GOLDEN[0])])], testEnv(path), recordingPorts().ports);
    const [request] = await receiver.requests({ path });
    expect(request.headers["webhook-signature"]).toBeUndefined();
    expect(request.headers.authorization).toBeUndefined();
    expect(request.headers["webhook-id"]).toMatch(/^evt_/);
    expect(request.headers["jetstream-relay-event-ids"]).toBeUndefined();
  });

  it("gives the same event from two Jetstream instances the same webhook-id", async () => {
    const path = uniquePath();
    const raw = CORPUS[3];
    const event = JSON.parse(raw) as { time_us: number };
    const fromOtherInstance = JSON.stringify({ ...event, time_us: event.time_us + 4711, cursor: 31527015322 });
    await runBatch([messageBody([queued(raw)]), messageBody([queued(fromOtherInstance)])], testEnv(path), recordingPorts().ports);
    const received = await receiver.requests({ path });
    expect(received).toHaveLength(2);
    expect(received[0].headers["webhook-id"]).toBe(received[1].headers["webhook-id"]);
    expect(received.map((r) => r.body).sort()).toEqual([raw, fromOtherInstance].sort());
  });

  it("batch mode sends a JSON array of the events as received, signed, with a batch id", async () => {
    const path = uniquePath();
    const env = testEnv(path, { WEBHOOK_BATCH_SIZE: "5", WEBHOOK_SECRET: SECRET, WEBHOOK_CONCURRENCY: "1" });
    const events = CORPUS.slice(0, 12);
    const { report } = await runBatch([messageBody(events.map((raw) => queued(raw)))], env, recordingPorts().ports);
    const received = await receiver.requests({ path });
    expect(received).toHaveLength(3);
    expect(received.map((r) => (JSON.parse(r.body) as unknown[]).length)).toEqual([5, 5, 2]);
    expect(received[0].body).toBe(`[${events.slice(0, 5).join(",")}]`);
    expect(received[0].headers["jetstream-relay-event-ids"]).toBe(events.slice(0, 5).map((raw) => eventId(raw)).join(","));
    for (const request of received) {
      expect(request.headers["webhook-id"]).toMatch(/^bat_[0-9a-f]{32}$/);
      expect(new Webhook(SECRET).verify(request.body, request.headers)).toEqual(JSON.parse(request.body));
    }
    expect(report).toMatchObject({ delivered: 12, requests: 3 });
  });

  it("batch mode keeps each request body within WEBHOOK_MAX_BATCH_BYTES: the events are split over several requests, an event larger than the bound goes alone", async () => {
    const path = uniquePath();
    const did = uniqueDid();
    const bound = 2000;
    // 851 bytes each (two fit, not three: the bound counts bytes, and these have multi-byte characters), one of 3,351.
    const events = Array.from({ length: 7 }, (_, i) => commitEvent(did, `b${i}`, 1_783_175_888_000_000 + i, { note: i === 4 ? "é".repeat(1500) : "ü".repeat(250) }));
    const env = testEnv(path, { WEBHOOK_BATCH_SIZE: "10", WEBHOOK_MAX_BATCH_BYTES: String(bound), WEBHOOK_CONCURRENCY: "1" });
    const { report } = await runBatch([messageBody(events.map((raw) => queued(raw)))], env, recordingPorts().ports);
    const received = await receiver.requests({ path });
    const sizes = received.map((r) => new TextEncoder().encode(r.body).length);
    expect(received.map((r) => JSON.parse(r.body) as unknown[]).flat()).toEqual(events.map((raw) => JSON.parse(raw)));
    expect(received.map((r) => (JSON.parse(r.body) as unknown[]).length)).toEqual([2, 2, 1, 2]);
    expect(sizes.filter((_, i) => i !== 2).every((size) => size <= bound)).toBe(true);
    expect(sizes[2]).toBeGreaterThan(bound);
    expect(received[2].body).toBe(`[${events[4]}]`);
    expect(report).toMatchObject({ delivered: 7, requests: 4 });
  });

  it("keeps the connection to the webhook for the next request (reads small answers to the end, cancels huge ones)", async () => {
    const did = uniqueDid();
    const events = Array.from({ length: 4 }, (_, i) => commitEvent(did, `keep${i}`, 1_783_175_888_000_000 + i));
    const small = uniquePath();
    await runBatch([messageBody(events.map((raw) => queued(raw)))], testEnv(small, { WEBHOOK_CONCURRENCY: "1" }), recordingPorts().ports);
    const reused = await receiver.requests({ path: small });
    expect(reused).toHaveLength(4);
    expect(new Set(reused.map((r) => r.connection)).size).toBeLessThan(4);

    const huge = uniquePath();
    await receiver.rule({ path: huge, action: "respond", status: 200, body: "x".repeat(200_000) });
    const { report } = await runBatch([messageBody(events.map((raw) => queued(raw)))], testEnv(huge, { WEBHOOK_CONCURRENCY: "1" }), recordingPorts().ports);
    expect(report).toMatchObject({ delivered: 4 });
    const fresh = await receiver.requests({ path: huge });
    expect(new Set(fresh.map((r) => r.connection)).size).toBe(4);
  });

  it("delivers oversized events from their blob and reports the blob done", async () => {
    const path = uniquePath();
    const big = commitEvent(uniqueDid(), "big", 1_783_175_888_000_001, { padding: "p".repeat(200_000) });
    const recorder = recordingPorts({ getBlob: async (id) => (id === "blob-1" ? big : null) });
    const { did, timeUs } = queued(big);
    const { report } = await runBatch([messageBody([{ blob: "blob-1", did, timeUs, receivedAt: Date.now(), attempts: 0 }])], testEnv(path), recorder.ports);
    const [request] = await receiver.requests({ path });
    expect(request.body).toBe(big);
    expect(report).toMatchObject({ delivered: 1, blobsDone: ["blob-1"] });
  });
});

describe("retries", () => {
  it("retries only the failed event: the others are not delivered again", async () => {
    const path = uniquePath();
    const [a, b, c] = [uniqueDid(), uniqueDid(), uniqueDid()];
    await receiver.rule({ path, match: b, action: "respond", status: 503, times: 1 });
    const recorder = recordingPorts();
    const env = testEnv(path, { WEBHOOK_RETRY_BASE_SECONDS: "7", WEBHOOK_RETRY_MAX_SECONDS: "60" });
    const original = messageBody([queued(commitEvent(a, "1")), queued(commitEvent(b, "1")), queued(commitEvent(c, "1"))]);

    const first = await runBatch([original], env, recorder.ports);
    expect(first.result.explicitAcks).toHaveLength(1);
    expect(recorder.sent).toHaveLength(1);
    const followUp = recorder.sent[0];
    expect(followUp.body.events.map((e) => [e.did, e.attempts])).toEqual([[b, 1]]);
    expect(followUp.delaySeconds).toBeGreaterThanOrEqual(4);
    expect(followUp.delaySeconds).toBeLessThanOrEqual(7);
    expect(first.report).toMatchObject({ settled: [original.ledgerId], delivered: 2, retried: 1, requests: 3 });
    expect(first.report.pending).toEqual([{ ledgerId: followUp.body.ledgerId, oldestTimeUs: followUp.body.events[0].timeUs }]);
    expect(first.report.lastError?.message).toContain("HTTP 503");

    const second = await runBatch([followUp.body], env, recorder.ports);
    expect(second.report).toMatchObject({ settled: [followUp.body.ledgerId], delivered: 1, pending: [] });
    const received = await receiver.requests({ path });
    const seen = received.map((r) => `${didOf(r)} ${r.answer}`);
    expect(seen.slice(0, 3).sort()).toEqual([`${a} 200`, `${b} 503`, `${c} 200`].sort());
    expect(seen[3]).toBe(`${b} 200`);
    expect([...successes(received).values()]).toEqual([1, 1, 1]);
  });

  it("keeps a replayed event's retry in its replay, outside the live ledger", async () => {
    const path = uniquePath();
    const did = uniqueDid();
    await receiver.rule({ path, match: did, action: "respond", status: 503, times: 1 });
    const recorder = recordingPorts();
    const env = testEnv(path, { WEBHOOK_RETRY_BASE_SECONDS: "1" });
    const original = { ...messageBody([queued(commitEvent(did, "1"))]), replayId: "replay-1" };

    const first = await runBatch([original], env, recorder.ports);
    expect(recorder.sent).toHaveLength(1);
    expect(recorder.sent[0].body.replayId).toBe("replay-1");
    expect(first.report.pending).toEqual([]);
    expect(first.report).toMatchObject({ settled: [original.ledgerId], retried: 1 });

    const second = await runBatch([recorder.sent[0].body], env, recorder.ports);
    expect(second.report).toMatchObject({ delivered: 1, pending: [] });
  });

  it("honours Retry-After on 429: the rest of the batch waits too, without counting an attempt", async () => {
    const path = uniquePath();
    const dids = [uniqueDid(), uniqueDid(), uniqueDid()];
    await receiver.rule({ path, action: "respond", status: 429, headers: { "retry-after": "120" }, times: 1 });
    const recorder = recordingPorts();
    const env = testEnv(path, { WEBHOOK_RETRY_BASE_SECONDS: "1", WEBHOOK_RETRY_MAX_SECONDS: "10", WEBHOOK_CONCURRENCY: "1" });
    const raws = dids.map((did) => commitEvent(did, "1"));
    const { report } = await runBatch([messageBody(raws.map((raw) => queued(raw)))], env, recorder.ports);
    expect(await receiver.requests({ path })).toHaveLength(1);
    expect(recorder.sent.map((m) => m.delaySeconds)).toEqual([120]);
    expect(recorder.sent[0].body.events.map((e) => [e.raw, e.attempts])).toEqual(raws.map((raw, i) => [raw, i === 0 ? 1 : 0]));
    expect(report).toMatchObject({ retried: 1, delivered: 0, deadLettered: 0, requests: 1 });
  });

  it("stops trying the rest of the batch after three failures in a row", async () => {
    const path = uniquePath();
    await receiver.rule({ path, action: "respond", status: 502 });
    const recorder = recordingPorts({ random: () => 1 });
    const env = testEnv(path, { WEBHOOK_CONCURRENCY: "1", WEBHOOK_RETRY_BASE_SECONDS: "10" });
    const raws = Array.from({ length: 6 }, (_, i) => commitEvent(uniqueDid(), String(i)));
    const { report } = await runBatch([messageBody(raws.map((raw) => queued(raw)))], env, recorder.ports);
    expect(await receiver.requests({ path })).toHaveLength(3);
    expect(recorder.sent).toHaveLength(1);
    expect(recorder.sent[0].delaySeconds).toBe(10);
    expect(recorder.sent[0].body.events.map((e) => e.attempts)).toEqual([1, 1, 1, 0, 0, 0]);
    expect(report).toMatchObject({ retried: 3, requests: 3 });
  });

  it("reads did and time_us of compact (live) events from their text; a follow-up carries them whole", async () => {
    const path = uniquePath();
    await receiver.rule({ path, action: "respond", status: 503, times: 1 });
    const recorder = recordingPorts();
    const dids = [uniqueDid(), uniqueDid()];
    const raws = [commitEvent(dids[0], "1", 1_783_175_888_000_001), commitEvent(dids[1], "2", 1_783_175_888_000_002)];
    const receivedAt = Date.now() - 50;
    const { report } = await runBatch([messageBody(raws.map((raw) => ({ raw, receivedAt })))], testEnv(path, { WEBHOOK_CONCURRENCY: "1" }), recorder.ports);
    expect(recorder.sent.map((m) => m.body.events)).toEqual([[{ raw: raws[0], did: dids[0], timeUs: 1_783_175_888_000_001, receivedAt, attempts: 1 }]]);
    expect(report).toMatchObject({ delivered: 1, retried: 1, newestDeliveredTimeUs: 1_783_175_888_000_002 });
    expect(report.latenciesMs[0]).toBeGreaterThanOrEqual(50);
    expect((await receiver.requests({ path })).map((r) => r.body)).toEqual(raws);
  });

  it("starts at most WEBHOOK_MAX_REQUESTS_PER_BATCH requests (a plan's subrequest limit); the rest go on at once in a follow-up", async () => {
    const path = uniquePath();
    const recorder = recordingPorts();
    const raws = Array.from({ length: 5 }, (_, i) => commitEvent(uniqueDid(), String(i)));
    const { report } = await runBatch([messageBody(raws.map((raw) => queued(raw)))], testEnv(path, { WEBHOOK_CONCURRENCY: "3", WEBHOOK_MAX_REQUESTS_PER_BATCH: "2" }), recorder.ports);
    expect(report).toMatchObject({ delivered: 2, retried: 0, requests: 2 });
    expect(await receiver.requests({ path })).toHaveLength(2);
    // Not failures: no attempt counted, no delay; the follow-up is delivered by the next batch.
    expect(recorder.sent.map((m) => [m.delaySeconds, m.body.events.map((e) => e.attempts)])).toEqual([[0, [0, 0, 0]]]);
    const followUp = recorder.sent[0].body;
    const next = await runBatch([followUp], testEnv(path, { WEBHOOK_MAX_REQUESTS_PER_BATCH: "2" }), recordingPorts().ports);
    expect(next.report).toMatchObject({ delivered: 2, requests: 2 });
    const delivered = (await receiver.requests({ path })).map((r) => r.body);
    expect(delivered).toHaveLength(4);
    expect(new Set(delivered).size).toBe(4);
  });

  it("leaves what a batch could not start within its time budget for an immediate follow-up", async () => {
    const path = uniquePath();
    let late = false;
    const recorder = recordingPorts({
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        late = true;
        return response;
      },
      now: () => Date.now() + (late ? 10 * 60_000 : 0),
    });
    const raws = Array.from({ length: 3 }, (_, i) => commitEvent(uniqueDid(), String(i)));
    const { report } = await runBatch([messageBody(raws.map((raw) => queued(raw)))], testEnv(path, { WEBHOOK_CONCURRENCY: "1" }), recorder.ports);
    expect(report).toMatchObject({ delivered: 1, retried: 0 });
    expect(recorder.sent.map((m) => [m.delaySeconds, m.body.events.map((e) => e.attempts)])).toEqual([[0, [0, 0]]]);
  });

  it.each([
    ["a request that hangs past the timeout", { action: "hang", hangMs: 5000 } as const, "did not answer within 300 ms"],
    ["a dropped connection", { action: "drop" } as const, "webhook request failed"],
    ["a 500", { action: "respond", status: 500 } as const, "HTTP 500"],
    ["a 408", { action: "respond", status: 408 } as const, "HTTP 408"],
  ])("retries %s until it is delivered", async (_name, rule, message) => {
    const path = uniquePath();
    const did = uniqueDid();
    await receiver.rule({ path, times: 2, ...rule });
    const recorder = recordingPorts();
    const env = testEnv(path, { WEBHOOK_TIMEOUT_SECONDS: "0.3" });
    const raw = commitEvent(did, "1");
    const { reports, followUps } = await runUntilSettled([messageBody([queued(raw)])], env, recorder);
    expect(followUps.map((m) => m.body.events[0].attempts)).toEqual([1, 2]);
    expect(reports[0].lastError?.message).toContain(message);
    expect(reports.map((r) => r.delivered)).toEqual([0, 0, 1]);
    const received = await receiver.requests({ path });
    expect(received).toHaveLength(3);
    expect(received.every((r) => r.body === raw)).toBe(true);
    expect(new Set(received.map((r) => r.headers["webhook-id"])).size).toBe(1);
    expect((await recorder.store.count()).total).toBe(0);
  });

  it("dead-letters a permanent 4xx at once, with its error and attempt count", async () => {
    const path = uniquePath();
    const [ok, bad] = [uniqueDid(), uniqueDid()];
    await receiver.rule({ path, match: bad, action: "respond", status: 422, body: "unprocessable thing" });
    const recorder = recordingPorts();
    const raw = commitEvent(bad, "1");
    const { report, result } = await runBatch([messageBody([queued(commitEvent(ok, "1")), queued(raw, { attempts: 2 })])], testEnv(path), recorder.ports);
    expect(result.explicitAcks).toHaveLength(1);
    expect(recorder.sent).toEqual([]);
    expect(report).toMatchObject({ delivered: 1, failed: 1, deadLettered: 1, retried: 0 });
    const page = await deadLetterPage(recorder.store);
    expect(page.total).toBe(1);
    expect(page.events[0]).toMatchObject({ id: eventId(raw), event: JSON.parse(raw), attempts: 3 });
    expect(page.events[0].error).toBe("webhook answered HTTP 422: unprocessable thing");
    expect((await receiver.requests({ path, match: bad })).length).toBe(1);
  });

  it("does not follow redirects: a 3xx is permanent", async () => {
    const path = uniquePath();
    await receiver.rule({ path, action: "respond", status: 302, headers: { location: `${path}/elsewhere` } });
    const recorder = recordingPorts();
    const { report } = await runBatch([messageBody([queued(GOLDEN[0])])], testEnv(path), recorder.ports);
    expect(report).toMatchObject({ failed: 1, deadLettered: 1 });
    expect((await deadLetterPage(recorder.store)).events[0].error).toContain("HTTP 302");
    expect(await receiver.requests({ path: `${path}/elsewhere` })).toEqual([]);
  });

  it("dead-letters an event that exhausts its attempts, after exponential delays", async () => {
    const path = uniquePath();
    const did = uniqueDid();
    await receiver.rule({ path, action: "respond", status: 503 });
    const recorder = recordingPorts({ random: () => 1 });
    const env = testEnv(path, { WEBHOOK_MAX_ATTEMPTS: "4", WEBHOOK_RETRY_BASE_SECONDS: "2", WEBHOOK_RETRY_MAX_SECONDS: "6" });
    const raw = commitEvent(did, "1");
    const { reports, followUps } = await runUntilSettled([messageBody([queued(raw)])], env, recorder);
    expect(followUps.map((m) => m.delaySeconds)).toEqual([2, 4, 6]);
    expect((await receiver.requests({ path })).length).toBe(4);
    expect(reports.at(-1)).toMatchObject({ deadLettered: 1, failed: 0, retried: 0 });
    const page = await deadLetterPage(recorder.store);
    expect(page.events).toHaveLength(1);
    expect(page.events[0]).toMatchObject({ id: eventId(raw), attempts: 4 });
    expect(page.events[0].error).toBe("gave up after 4 attempts; last: webhook answered HTTP 503: status 503");
  });
});

describe("410 Gone: delivery pauses, nothing is dead-lettered", () => {
  it("a 410 stops the batch: no attempt counted, nothing dead-lettered, every event waits in a follow-up, the relay object is told", async () => {
    const path = uniquePath();
    await receiver.rule({ path, action: "respond", status: 410, body: "unsubscribed" });
    const recorder = recordingPorts();
    const dids = [uniqueDid(), uniqueDid(), uniqueDid()];
    const raws = dids.flatMap((did) => [commitEvent(did, "1"), commitEvent(did, "2")]);
    const original = messageBody(raws.map((raw) => queued(raw, { attempts: 2 })));
    const { report, result } = await runBatch([original], testEnv(path, { WEBHOOK_CONCURRENCY: "1", WEBHOOK_RETRY_BASE_SECONDS: "7" }), recorder.ports);
    expect(await receiver.requests({ path })).toHaveLength(1);
    expect(result.explicitAcks).toHaveLength(1);
    expect(recorder.sent.map((m) => m.delaySeconds)).toEqual([7]);
    expect(recorder.sent[0].body.events.map((e) => [e.raw, e.attempts])).toEqual(raws.map((raw) => [raw, 2]));
    expect(report).toMatchObject({ delivered: 0, retried: 0, failed: 0, deadLettered: 0, requests: 1, held: 6, settled: [original.ledgerId] });
    expect(report.pending).toEqual([{ ledgerId: recorder.sent[0].body.ledgerId, oldestTimeUs: expect.any(Number) }]);
    expect(report.gone).toEqual({ at: expect.any(String), reason: "webhook answered HTTP 410 Gone" });
    // The public report names the status, never the receiver's words (they may quote the request).
    expect(report.lastError?.message).toContain("HTTP 410 (Gone");
    expect(report.lastError?.message).not.toContain("unsubscribed");
    expect((await recorder.store.count()).total).toBe(0);
  });

  it("while paused nothing is sent: every event waits (attempts unchanged, oversized ones unread), longer the longer the pause", async () => {
    const path = uniquePath();
    const since = new Date(Date.now() - 3600_000).toISOString();
    const recorder = recordingPorts({ deliveryPause: async () => ({ since, reason: "webhook answered HTTP 410 Gone", held: 0 }) });
    const did = uniqueDid();
    const blob = { blob: "blob-held", did, timeUs: 1_783_175_888_000_009, receivedAt: Date.now() + 1000, attempts: 1 };
    const original = messageBody([queued(commitEvent(did, "1"), { attempts: 3 }), blob, queued(commitEvent(uniqueDid(), "2"))]);
    const { report } = await runBatch([original], testEnv(path), recorder.ports);
    expect(await receiver.requests({ path })).toEqual([]);
    // A tenth of the hour paused.
    expect(recorder.sent.map((m) => m.delaySeconds)).toEqual([360]);
    expect(recorder.sent[0].body.events.map((e) => [e.blob ?? "inline", e.attempts])).toEqual([["inline", 3], ["blob-held", 1], ["inline", 0]]);
    expect(report).toMatchObject({ delivered: 0, retried: 0, deadLettered: 0, requests: 0, held: 3, settled: [original.ledgerId] });
    expect(report.gone).toBeUndefined();
    expect(report.lastError).toBeUndefined();
  });

  it("a relay object that cannot say whether delivery is paused does not stop delivery", async () => {
    const path = uniquePath();
    const recorder = recordingPorts({
      deliveryPause: async () => {
        throw new Error("relay object overloaded");
      },
    });
    const { report } = await runBatch([messageBody([queued(GOLDEN[0])])], testEnv(path), recorder.ports);
    expect(report).toMatchObject({ delivered: 1, requests: 1 });
    expect(report.held).toBeUndefined();
  });
});

describe("ordering and parallelism", () => {
  it("delivers each DID's events in order while DIDs go in parallel", async () => {
    const path = uniquePath();
    const dids = [uniqueDid(), uniqueDid(), uniqueDid(), uniqueDid()];
    await receiver.rule({ path, action: "respond", status: 200, delayMs: 40 });
    const events = Array.from({ length: 24 }, (_, i) => queued(commitEvent(dids[i % 4], `r${String(i).padStart(2, "0")}`), { receivedAt: 1000 + i }));
    // Two messages, the second's events interleaved with the first's in time.
    const { report } = await runBatch([messageBody(events.filter((_, i) => i % 3 !== 0)), messageBody(events.filter((_, i) => i % 3 === 0))], testEnv(path, { WEBHOOK_CONCURRENCY: "4" }), recordingPorts().ports);
    expect(report.delivered).toBe(24);
    const received = await receiver.requests({ path });
    for (const did of dids) {
      const rkeys = received.filter((r) => didOf(r) === did).map((r) => (JSON.parse(r.body) as { commit: { rkey: string } }).commit.rkey);
      expect(rkeys).toEqual([...rkeys].sort());
      expect(rkeys).toHaveLength(6);
    }
    // Requests overlapped: some request arrived before the previous one was answered.
    const overlapping = received.some((r, i) => i > 0 && r.receivedAt < (received[i - 1].answeredAt ?? 0));
    expect(overlapping).toBe(true);
  });

  it("holds a DID's later events behind its failed one, without counting an attempt for them", async () => {
    const path = uniquePath();
    const [a, b] = [uniqueDid(), uniqueDid()];
    const aEvents = ["1", "2", "3", "4"].map((k) => commitEvent(a, k));
    await receiver.rule({ path, match: '"rkey":"2"', action: "respond", status: 503, times: 1 });
    const recorder = recordingPorts();
    const bEvent = commitEvent(b, "9");
    const { reports, followUps } = await runUntilSettled([messageBody([...aEvents.map((raw) => queued(raw)), queued(bEvent)])], testEnv(path), recorder);
    expect(followUps).toHaveLength(1);
    expect(followUps[0].body.events.map((e) => [e.raw, e.attempts])).toEqual([
      [aEvents[1], 1],
      [aEvents[2], 0],
      [aEvents[3], 0],
    ]);
    expect(reports[0]).toMatchObject({ delivered: 2, retried: 1 });
    const received = await receiver.requests({ path });
    const forA = received.filter((r) => didOf(r) === a);
    expect(forA.map((r) => [r.body, r.answer])).toEqual([
      [aEvents[0], 200],
      [aEvents[1], 503],
      [aEvents[1], 200],
      [aEvents[2], 200],
      [aEvents[3], 200],
    ]);
    expect(received.filter((r) => r.body === bEvent)).toHaveLength(1);
  });
});

describe("no loss, no needless duplicates", () => {
  it("delivers a mixed batch under random failures exactly once to success per event", async () => {
    const path = uniquePath();
    // Every third request fails in some way; the rest succeed.
    await receiver.rule({ path, action: "respond", status: 503, times: 4 });
    await receiver.rule({ path, action: "drop", times: 2 });
    const recorder = recordingPorts();
    const env = testEnv(path, { WEBHOOK_CONCURRENCY: "5", WEBHOOK_TIMEOUT_SECONDS: "2" });
    const bodies = [0, 1, 2].map((m) => messageBody(CORPUS.slice(m * 30, m * 30 + 30).map((raw) => queued(raw))));
    const { reports } = await runUntilSettled(bodies, env, recorder);
    const received = await receiver.requests({ path });
    const counts = successes(received);
    const expected = new Set(CORPUS.slice(0, 90).map((raw) => eventId(raw)));
    expect(new Set(counts.keys())).toEqual(expected);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(received.filter((r) => r.answer !== 200)).toHaveLength(6);
    expect(reports.reduce((sum, r) => sum + r.delivered, 0)).toBe(90);
    const settled = reports.flatMap((r) => r.settled);
    const pending = reports.flatMap((r) => r.pending.map((p) => p.ledgerId));
    for (const body of bodies) expect(settled).toContain(body.ledgerId);
    for (const ledgerId of pending) expect(settled).toContain(ledgerId);
  });
});

describe("failure of the consumer's own dependencies", () => {
  it("keeps every message when WEBHOOK_URL is missing or invalid, and says why", async () => {
    for (const url of [undefined, "not a url"]) {
      const recorder = recordingPorts();
      const env = { ...testEnv(uniquePath()), WEBHOOK_URL: url };
      const { report, result, retries } = await runBatch([messageBody([queued(GOLDEN[0])]), messageBody([queued(GOLDEN[1])])], env, recorder.ports);
      expect(result.retryBatch.retry).toBe(true);
      expect(retries).toEqual([{ id: "all", delaySeconds: 300 }]);
      expect(result.explicitAcks).toEqual([]);
      expect(report).toMatchObject({ settled: [], delivered: 0, requests: 0 });
      expect(report.lastError?.message).toContain("WEBHOOK_URL");
      expect(recorder.reports).toHaveLength(1);
    }
  });

  it("survives a failing settle (tried twice) and still acknowledges", async () => {
    const path = uniquePath();
    let calls = 0;
    const recorder = recordingPorts({
      settle: async () => {
        calls += 1;
        throw new Error("not implemented yet");
      },
    });
    const { result, report } = await runBatch([messageBody([queued(GOLDEN[0])])], testEnv(path), recorder.ports);
    expect(calls).toBe(2);
    expect(result.explicitAcks).toHaveLength(1);
    expect(report.delivered).toBe(1);
  });

  it("retries the whole message when its follow-up cannot be enqueued (duplicates, never loss)", async () => {
    const path = uniquePath();
    const [a, b] = [uniqueDid(), uniqueDid()];
    await receiver.rule({ path, match: b, action: "respond", status: 503, times: 1 });
    const recorder = recordingPorts({
      send: async () => {
        throw new Error("queue unavailable");
      },
    });
    const other = messageBody([queued(commitEvent(uniqueDid(), "1"))]);
    const failing = messageBody([queued(commitEvent(a, "1")), queued(commitEvent(b, "1"))]);
    const { result, report, retries } = await runBatch([other, failing], testEnv(path, { WEBHOOK_RETRY_BASE_SECONDS: "3" }), recorder.ports);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([{ msgId: expect.any(String) }]);
    expect(retries).toEqual([{ id: result.retryMessages[0].msgId, delaySeconds: 3 }]);
    expect(result.explicitAcks[0]).not.toBe(result.retryMessages[0].msgId);
    expect(report.settled).toEqual([other.ledgerId]);
    expect(report.pending).toEqual([]);
  });

  it("retries the message when its dead letters cannot be stored", async () => {
    const path = uniquePath();
    await receiver.rule({ path, action: "respond", status: 404 });
    const recorder = recordingPorts();
    recorder.ports.deadLetters.add = async () => {
      throw new Error("storage down");
    };
    const { result, report } = await runBatch([messageBody([queued(GOLDEN[0])])], testEnv(path), recorder.ports);
    expect(result.retryMessages).toHaveLength(1);
    expect(report.settled).toEqual([]);
  });

  it("retries an oversized event whose blob cannot be read now, and dead-letters one whose blob is gone", async () => {
    const path = uniquePath();
    const [a, b] = [uniqueDid(), uniqueDid()];
    const recorder = recordingPorts({
      getBlob: async (id) => {
        if (id === "flaky") throw new Error("relay busy");
        return null;
      },
    });
    const blobEvent = (did: string, blob: string) => ({ blob, did, timeUs: 5, receivedAt: Date.now(), attempts: 0 });
    const { report } = await runBatch([messageBody([blobEvent(a, "flaky"), blobEvent(b, "gone")])], testEnv(path), recorder.ports);
    expect(recorder.sent.map((m) => m.body.events)).toEqual([[{ ...blobEvent(a, "flaky"), receivedAt: expect.any(Number), attempts: 1 }]]);
    expect(report).toMatchObject({ retried: 1, deadLettered: 1, blobsDone: [], requests: 0 });
    const page = await deadLetterPage(recorder.store);
    expect(page.events[0].event).toEqual({ did: b, time_us: 5, blob: "gone" });
    expect(page.events[0].error).toContain("gone");
  });

  it("dead-letters an event whose text is not JSON instead of sending it, and delivers the rest of its batch", async () => {
    const path = uniquePath();
    const did = uniqueDid();
    const broken = `{"did":"${did}","time_us":1783175888000009,"kind":"commit","commit":{"rev":"r","operation":"create","collection":"app.bsky.feed.post","rkey":"k","record":{"text":"cut off}`;
    const good = [commitEvent(did, "g1", 1_783_175_888_000_001), commitEvent(uniqueDid(), "g2", 1_783_175_888_000_002)];
    const recorder = recordingPorts();
    const { report } = await runBatch([messageBody([queued(good[0]), { raw: broken, did, timeUs: 1_783_175_888_000_009, receivedAt: Date.now(), attempts: 0 }, queued(good[1])])], testEnv(path, { WEBHOOK_BATCH_SIZE: "10" }), recorder.ports);
    const bodies = (await receiver.requests({ path })).map((r) => JSON.parse(r.body) as unknown[]);
    expect(bodies.flat()).toHaveLength(2);
    expect(report).toMatchObject({ delivered: 2, deadLettered: 1, failed: 1 });
    const page = await deadLetterPage(recorder.store);
    expect(page.events).toHaveLength(1);
    expect(page.events[0]).toMatchObject({ id: eventId(broken), event: broken });
    expect(page.events[0].error).toContain("not valid JSON");
  });

  it("dead-letters a malformed queue message instead of failing the batch", async () => {
    const path = uniquePath();
    const recorder = recordingPorts();
    const good = messageBody([queued(GOLDEN[0])]);
    const odd = messageBody([null as never, queued(GOLDEN[1])]);
    const { result, report } = await runBatch([good, { nonsense: true } as never, odd], testEnv(path), recorder.ports);
    expect(result.explicitAcks).toHaveLength(3);
    expect(report).toMatchObject({ delivered: 2, deadLettered: 2, settled: [good.ledgerId, odd.ledgerId] });
    const letters = (await deadLetterPage(recorder.store)).events;
    expect(letters.map((e) => [e.event, e.error])).toEqual([
      [{ nonsense: true }, "malformed queue message"],
      [null, "malformed queued event"],
    ]);
  });
});
