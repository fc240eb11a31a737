// 410 Gone end to end, in its own file (its own runtime: the pause is the relay object's, and would hold
// the other files' deliveries): messages sent to env.EVENTS reach the worker's queue consumer, which
// delivers to the webhook receiver (/hook); the relay object keeps the pause; /health, /status and
// POST /webhook/resume are the worker's own routes.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { DeliveryResume, HealthReport, RelayStatus } from "../../worker/contract.ts";
import { eventId } from "../../worker/delivery/event-id.ts";
import { admin, body, call } from "./http-support.ts";
import { commitEvent, eventually, messageBody, queued, receiver, uniqueDid } from "./delivery-support.ts";

describe("a webhook that answers 410 Gone", () => {
  it("pauses delivery (nothing dead-lettered, /health and /status say so); resumed, the backlog is delivered, nothing lost", { timeout: 180_000 }, async () => {
    const marker = `gone-${crypto.randomUUID()}`;
    const event = (did: string, rkey: string) => commitEvent(did, rkey, 1_783_175_888_000_000, { marker });
    await receiver.rule({ path: "/hook", match: marker, action: "respond", status: 410, body: "unsubscribed", times: 1 });
    const first = [uniqueDid(), uniqueDid(), uniqueDid()].map((did) => event(did, "1"));
    await env.EVENTS.send(messageBody(first.map((raw) => queued(raw))));

    const health = await eventually(async () => {
      const res = await call("/health");
      const report = await body<HealthReport>(res);
      return report.reasons.some((r) => r.code === "webhook-gone") ? { status: res.status, report } : undefined;
    }, 60_000, "/health to name the pause");
    expect(health.status).toBe(503);
    expect(health.report.reasons.map((r) => r.code)).not.toContain("delivery-failing");
    const paused = await body<RelayStatus>(await call("/status"));
    expect(paused.deliveryPause).toMatchObject({ reason: "webhook answered HTTP 410 Gone", since: expect.any(String) });

    // Events that come while paused wait too: the consumer puts them back on the queue, unsent.
    const dids = Array.from({ length: 5 }, () => uniqueDid());
    const second = Array.from({ length: 20 }, (_, i) => event(dids[i % 5], `2-${String(i).padStart(2, "0")}`));
    await env.EVENTS.send(messageBody(second.map((raw) => queued(raw))));
    await eventually(async () => {
      const status = await body<RelayStatus>(await call("/status"));
      return (status.deliveryPause?.held ?? 0) >= first.length + second.length ? true : undefined;
    }, 60_000, "the events that came while paused to be held");
    // Requests of the first batch already on their way when the 410 came were answered; nothing was sent since.
    const whilePaused = await receiver.requests({ path: "/hook", match: marker });
    expect(whilePaused.filter((r) => r.answer !== 200).map((r) => r.answer)).toEqual([410]);
    expect(whilePaused.every((r) => first.includes(r.body))).toBe(true);
    const store = env.DEAD_LETTERS.getByName("dead-letters");
    for (const raw of [...first, ...second]) expect(await store.getRaw(eventId(raw))).toBeNull();

    const resumedAt = Date.now();
    const resumed = await body<DeliveryResume>(await admin("/webhook/resume", { method: "POST" }));
    expect(resumed).toMatchObject({ resumed: true, pause: { since: paused.deliveryPause!.since } });
    expect((await body<RelayStatus>(await call("/status"))).deliveryPause).toBeNull();
    expect((await body<HealthReport>(await call("/health"))).reasons.map((r) => r.code)).not.toContain("webhook-gone");

    const all = [...first, ...second];
    const delivered = await eventually(async () => {
      const requests = await receiver.requests({ path: "/hook", match: marker });
      const ok = requests.filter((r) => r.answer === 200);
      return ok.length >= all.length ? requests : undefined;
    }, 90_000, "the backlog to be delivered after the resume");
    const ok = delivered.filter((r) => r.answer === 200);
    expect(ok.map((r) => r.body).sort()).toEqual([...all].sort());
    const refused = delivered.find((r) => r.answer === 410)!;
    expect(ok.filter((r) => r.receivedAt < resumedAt).every((r) => first.includes(r.body) && r.body !== refused.body)).toBe(true);
    expect(ok.find((r) => r.body === refused.body)!.receivedAt).toBeGreaterThanOrEqual(resumedAt);
    expect(delivered.filter((r) => r.answer !== 200)).toHaveLength(1);
    for (const raw of all) expect(await store.getRaw(eventId(raw))).toBeNull();

    // Nothing to resume now.
    expect(await body<DeliveryResume>(await admin("/webhook/resume", { method: "POST" }))).toEqual({ resumed: false, pause: null });
  });

  it("resuming needs the admin token", async () => {
    expect((await call("/webhook/resume", { method: "POST" })).status).toBe(401);
  });
});
