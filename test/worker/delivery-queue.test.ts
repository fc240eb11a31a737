// End to end through the real local queue: messages sent to env.EVENTS reach the worker's queue
// consumer, which delivers to the webhook receiver (path /hook, the worker's WEBHOOK_URL). Each test
// finds its own requests by its own DIDs.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { eventId } from "../../worker/delivery/event-id.ts";
import { commitEvent, didOf, eventually, messageBody, queued, receiver, uniqueDid } from "./delivery-support.ts";

async function requestsFor(dids: string[]) {
  const all = await Promise.all(dids.map((did) => receiver.requests({ path: "/hook", match: did })));
  return all.flat().sort((a, b) => a.seq - b.seq);
}

describe("through the local queue", () => {
  it("delivers every event of every message once", async () => {
    const dids = [uniqueDid(), uniqueDid(), uniqueDid()];
    const raws = dids.flatMap((did) => [commitEvent(did, "1"), commitEvent(did, "2")]);
    await env.EVENTS.sendBatch([
      { body: messageBody(raws.slice(0, 3).map((raw) => queued(raw))) },
      { body: messageBody(raws.slice(3).map((raw) => queued(raw))) },
    ]);
    const received = await eventually(async () => {
      const requests = await requestsFor(dids);
      return requests.length >= raws.length ? requests : undefined;
    });
    expect(received.map((r) => r.body).sort()).toEqual([...raws].sort());
    for (const request of received) {
      expect(request.headers["user-agent"]).toBe("jetstream-relay/0.1.0");
      expect(request.headers["content-type"]).toBe("application/json");
      expect(request.headers["webhook-id"]).toBe(eventId(request.body));
    }
    for (const did of dids) expect(received.filter((r) => didOf(r) === did).map((r) => r.body)).toEqual([commitEvent(did, "1"), commitEvent(did, "2")]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await requestsFor(dids)).toHaveLength(raws.length);
  });

  it("retries only the event that failed, after its Retry-After, and delivers the rest once", async () => {
    const [a, b, c] = [uniqueDid(), uniqueDid(), uniqueDid()];
    await receiver.rule({ path: "/hook", match: b, action: "respond", status: 503, headers: { "retry-after": "1" }, times: 1 });
    const raws = [commitEvent(a, "1"), commitEvent(b, "1"), commitEvent(b, "2"), commitEvent(c, "1")];
    await env.EVENTS.send(messageBody(raws.map((raw) => queued(raw))));
    const received = await eventually(async () => {
      const requests = await requestsFor([a, b, c]);
      return requests.filter((r) => r.answer === 200).length >= raws.length ? requests : undefined;
    }, 40_000);
    expect(received.map((r) => [r.body, r.answer]).filter(([body]) => body === raws[0] || body === raws[3])).toHaveLength(2);
    const forB = received.filter((r) => didOf(r) === b).map((r) => [r.body, r.answer]);
    expect(forB).toEqual([
      [raws[1], 503],
      [raws[1], 200],
      [raws[2], 200],
    ]);
    const failedAt = received.find((r) => r.answer === 503)?.receivedAt ?? 0;
    const retriedAt = received.filter((r) => r.body === raws[1] && r.answer === 200)[0].receivedAt;
    expect(retriedAt - failedAt).toBeGreaterThanOrEqual(1000);
  });

  it("loses nothing and delivers each event to a success once, under failures of every kind", async () => {
    const dids = Array.from({ length: 8 }, () => uniqueDid());
    await receiver.rule({ path: "/hook", match: dids[0], action: "respond", status: 500, times: 1 });
    await receiver.rule({ path: "/hook", match: dids[1], action: "drop", times: 1 });
    await receiver.rule({ path: "/hook", match: dids[2], action: "respond", status: 429, headers: { "retry-after": "1" }, times: 1 });
    await receiver.rule({ path: "/hook", match: dids[3], action: "respond", status: 400, times: 1 });
    const raws = Array.from({ length: 40 }, (_, i) => commitEvent(dids[i % dids.length], `k${String(i).padStart(2, "0")}`, 1_783_175_888_000_000 + i));
    await env.EVENTS.sendBatch(
      [0, 1, 2, 3].map((m) => ({ body: messageBody(raws.slice(m * 10, m * 10 + 10).map((raw, i) => queued(raw, { receivedAt: Date.now() + m * 10 + i }))) })),
    );
    const permanent = raws.find((raw) => raw.includes(dids[3])) as string;
    const received = await eventually(async () => {
      const requests = await requestsFor(dids);
      const ok = new Set(requests.filter((r) => r.answer === 200).map((r) => r.body));
      return ok.size >= raws.length - 1 ? requests : undefined;
    }, 50_000, "every event but the refused one delivered");
    const successes = new Map<string, number>();
    for (const r of received) if (r.answer === 200) successes.set(r.body, (successes.get(r.body) ?? 0) + 1);
    expect([...successes.keys()].sort()).toEqual(raws.filter((raw) => raw !== permanent).sort());
    expect([...successes.values()].every((n) => n === 1)).toBe(true);
    for (const did of dids) {
      const delivered = received.filter((r) => r.answer === 200 && didOf(r) === did).map((r) => r.body);
      expect(delivered).toEqual(raws.filter((raw) => raw.includes(did) && raw !== permanent));
    }
    const letter = await eventually(async () => (await env.DEAD_LETTERS.getByName("dead-letters").getRaw(eventId(permanent))) ?? undefined);
    expect(letter).toBe(permanent);
  });
});
