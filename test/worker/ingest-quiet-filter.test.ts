/**
 * A quiet filter is not a reason to deliver again: with JETSTREAM_DIDS naming a DID that published one
 * event and then nothing, the watchdog replaces the silent socket again and again (JETSTREAM_STALL_SECONDS=1)
 * and each new socket resumes from the cursor; the event passed once must not be enqueued once more per
 * replacement.
 * The alarm period is 60 s so that only runDurableObjectAlarm() runs the watchdog. A second event of the
 * DID, published after the replacements, closes the test: the relay enqueues in arrival order, so once it
 * is in the queue anything the replacements sent again would be too.
 * Isolation and configuration: see ingest-support.ts (server instance "quiet", webhook path /hook-quiet).
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm } from "cloudflare:test";
import { beforeAll, describe, expect, it, inject } from "vitest";
import { commitEvent, configure, connections, control, rkeyOf, statusOf, tapQueue, waitFor, type QueueTap } from "./ingest-support.ts";

const INSTANCE = "quiet";
const QUIET_DID = "did:plc:quietquietquietquiet0001";
const REPLACEMENTS = 3;
let tap: QueueTap;
const relay = () => env.RELAY.getByName("relay");
const enqueuedKeys = () => tap.events().map((e) => rkeyOf(e.raw ?? ""));

beforeAll(async () => {
  await control(INSTANCE, "reset", {});
  configure(INSTANCE, {
    JETSTREAM_DIDS: QUIET_DID,
    JETSTREAM_COLLECTIONS: "app.bsky.feed.post",
    JETSTREAM_ALARM_SECONDS: "60",
    JETSTREAM_STALL_SECONDS: "1",
    WEBHOOK_URL: `${inject("webhookBase")}/hook-quiet`,
  });
  tap = tapQueue();
  await waitFor(async () => (await statusOf()).state === "connected", "connected");
});

describe("a quiet DID filter", () => {
  it("does not enqueue the DID's last event again on each stall replacement", async () => {
    const startUs = Date.now() * 1000;
    await control(INSTANCE, "append", { events: [commitEvent({ did: QUIET_DID, timeUs: startUs, collection: "app.bsky.feed.post", rkey: "only" })] });
    await waitFor(() => enqueuedKeys().includes("only"), "the event enqueued");

    for (let i = 1; i <= REPLACEMENTS; i++) {
      const before = await connections(INSTANCE);
      // Silent for longer than the stall limit (1 s), as the relay sees it.
      await waitFor(async () => {
        const s = await statusOf();
        const last = Math.max(Date.parse(s.lastFrameAt ?? "") || 0, Date.parse(s.connectedSince ?? "") || 0);
        return s.state === "connected" && last > 0 && Date.now() - last > 1500;
      }, `silence before replacement ${i}`);
      expect(await runDurableObjectAlarm(relay())).toBe(true);
      await waitFor(async () => {
        const now = await connections(INSTANCE);
        return now.length > before.length && now.at(-1)!.open && (await statusOf()).state === "connected";
      }, `socket replaced (${i})`);
      expect((await statusOf()).lastError).toMatch(/no frame for more than 1 s/);
    }

    await control(INSTANCE, "append", { events: [commitEvent({ did: QUIET_DID, timeUs: Date.now() * 1000, collection: "app.bsky.feed.post", rkey: "closing" })] });
    await waitFor(() => enqueuedKeys().includes("closing"), "the closing event enqueued");
    const conns = await connections(INSTANCE);
    expect(conns.length).toBeGreaterThanOrEqual(REPLACEMENTS + 1);
    expect(enqueuedKeys().filter((k) => k === "only").length, `cursors asked: ${JSON.stringify(conns.map((c) => c.cursor))}, events sent: ${JSON.stringify(conns.map((c) => c.sent))}`).toBe(1);
  });
});
