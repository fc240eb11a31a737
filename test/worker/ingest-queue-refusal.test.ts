/**
 * A queue that refuses a message (its size limit) gets the batch again in messages of half the size, and
 * full-size messages again afterwards: a size computed too short (queue/message-size.ts) cannot stall the
 * relay. Isolation and configuration: see ingest-support.ts (server instance "refusal").
 */
import { env } from "cloudflare:workers";
import { beforeAll, expect, it } from "vitest";
import { QUEUE_LIMITS } from "../../worker/queue/packer.ts";
import { serializedBytes } from "../../worker/queue/message-size.ts";
import { COLLECTIONS, configure, control, expectedForwarded, serverLog, statusOf, tapQueue, waitFor, type QueueTap } from "./ingest-support.ts";

const INSTANCE = "refusal";
let tap: QueueTap;

beforeAll(async () => {
  await control(INSTANCE, "reset", {});
  configure(INSTANCE, { JETSTREAM_FLUSH_MS: "200" });
  tap = tapQueue();
  await waitFor(async () => (await statusOf()).state === "connected", "connected");
});

it("sends a refused batch again in half-size messages, then full-size messages again, losing nothing, and counts billed units per message", async () => {
  // Refuses what the normal limits build (~120 KB), accepts what the cautious ones build (~60 KB).
  tap.refuseAbove = QUEUE_LIMITS.messageTargetBytes / 2 + 4_000;
  const startUs = Date.now() * 1000;
  await control(INSTANCE, "flood", { count: 2000, startUs, stepUs: 10 });
  const expected = expectedForwarded((await serverLog(INSTANCE)).events, COLLECTIONS).filter((t) => t >= startUs);
  await waitFor(() => tap.failures > 0 && tap.bodies.length > 0, "a refusal, then an accepted batch");
  const sizes = tap.bodies.map((b) => serializedBytes(b));
  expect(Math.max(...sizes)).toBeLessThanOrEqual(tap.refuseAbove);
  expect(Math.max(...sizes)).toBeGreaterThan(QUEUE_LIMITS.messageTargetBytes / 2 - 2_000);

  tap.refuseAbove = null;
  await waitFor(() => expected.every((t) => tap.timeUs().has(t)), "every wanted event enqueued", 30_000);
  const sentBefore = tap.bodies.length;
  const laterUs = startUs + 1_000_000;
  await control(INSTANCE, "flood", { count: 2000, startUs: laterUs, stepUs: 10 });
  const later = expectedForwarded((await serverLog(INSTANCE)).events, COLLECTIONS).filter((t) => t >= laterUs);
  await waitFor(() => later.every((t) => tap.timeUs().has(t)), "every wanted event of the next flood enqueued", 30_000);
  const laterSizes = tap.bodies.slice(sentBefore).map((b) => serializedBytes(b));
  expect(Math.max(...laterSizes)).toBeGreaterThan(QUEUE_LIMITS.messageTargetBytes - 5_000);
  const { queue } = await env.RELAY.getByName("relay").getStats();
  expect(queue.backpressurePauses).toBe(0);
  // Billing units are counted per message: full-size messages take two 64 KB units each.
  expect(queue.messagesSent).toBe(tap.bodies.length);
  expect(queue.billedUnits).toBeGreaterThanOrEqual(tap.bodies.reduce((n, b) => n + Math.ceil(serializedBytes(b) / 65_536), 0));
  expect(queue.billedUnits).toBeGreaterThan(queue.messagesSent);
  expect(queue.billedUnits).toBeLessThanOrEqual(2 * queue.messagesSent);
});
