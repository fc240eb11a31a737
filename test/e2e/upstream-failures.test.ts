// Case 2: the upstream misbehaves — drops the connection without a close frame, stalls (socket open,
// nothing sent), refuses upgrades (400 and 502) — and finally stays down so that the relay fails over to
// the second endpoint. Both test-server instances hold the same events (as two Jetstream instances
// would), so each reconnect resumes from the cursor. Every event must reach the webhook.
// A connection that lasted a second counts as healthy (resets the failure count); two failures in a row
// move to the next endpoint.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mixedEvents } from "../support/event-mix.ts";
import { expectedTimes, type Rig, startRig, tally, waitFor } from "../support/relay-rig.ts";

interface Connection {
  id: number;
  cursor: number | null;
  open: boolean;
  refused: number | null;
}

describe("upstream failures", () => {
  let rig: Rig;
  const startUs = Date.now() * 1000 - 120_000_000;
  let offset = 0;
  const sent: string[] = [];
  /** Publishes the next events on both instances (same events, same time_us). */
  const publish = async (count: number) => {
    const events = mixedEvents({ count, startUs: startUs + offset * 1000, salt: 2, offset });
    offset += count;
    sent.push(...events);
    await Promise.all([rig.append("a", events), rig.append("b", events)]);
    return events;
  };
  const connections = (instance: string) => rig.jetstream<Connection[]>(instance, "connections");
  const openOn = async (instance: string) => (await connections(instance)).filter((c) => c.open);

  beforeAll(async () => {
    rig = await startRig({ instances: ["a", "b"], vars: { JETSTREAM_FAILOVER_AFTER: "2", JETSTREAM_HEALTHY_SECONDS: "1" } });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it("keeps one connection open while the upstream behaves", async () => {
    const [first] = await openOn("a");
    await rig.waitForAll(await publish(200), "the first events");
    // Longer than the connect timeout (3 s) and the stall timeout (3 s), with events flowing.
    for (let i = 0; i < 4; i++) {
      await publish(20);
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
    expect((await openOn("a")).map((c) => c.id)).toEqual([first.id]);
    expect((await rig.status()).reconnects).toBe(0);
  });

  it("reconnects after a drop without a close frame", async () => {
    await rig.waitForAll(sent, "the events so far");
    const [first] = await openOn("a");
    await rig.jetstream("a", "misbehave", { action: "drop" });
    await publish(300);
    // A new connection that resumes from a cursor, not from "live".
    const next = await waitFor("a new connection to a", async () => (await openOn("a")).find((c) => c.id !== first.id));
    expect(next.cursor).not.toBeNull();
    await rig.waitForAll(sent, "every event after the drop");
    expect((await rig.status()).reconnects).toBeGreaterThanOrEqual(1);
  });

  it("replaces a stalled socket (the watchdog) and resumes", async () => {
    const [stalledOne] = await openOn("a");
    await rig.jetstream("a", "misbehave", { action: "stall" });
    await publish(300);
    await waitFor("the relay to replace the stalled socket", async () => (await openOn("a")).find((c) => c.id !== stalledOne.id), 30_000);
    await rig.waitForAll(sent, "every event published during the stall");
    expect((await rig.status()).lastError).toMatch(/no frame/);
  });

  it("retries after refused upgrades (400, then 502)", async () => {
    for (const status of [400, 502]) {
      // The connection to drop must have counted as healthy (JETSTREAM_HEALTHY_SECONDS=1): else the drop and
      // the refusal make two failures in a row and the relay fails over (JETSTREAM_FAILOVER_AFTER=2).
      await waitFor("the connection to count as healthy", async () => {
        const now = await rig.status();
        return now.connected && now.connectedSince !== null && Date.now() - Date.parse(now.connectedSince) > 1_500;
      });
      const before = (await connections("a")).length;
      await rig.jetstream("a", "misbehave", { action: "refuse", status, count: 1 });
      await rig.jetstream("a", "misbehave", { action: "drop" });
      await publish(200);
      await waitFor(`a refused upgrade (${status}) and a new connection`, async () => {
        const since = (await connections("a")).slice(before);
        return since.some((c) => c.refused === status) && since.some((c) => c.open);
      });
      await rig.waitForAll(sent, `every event after the ${status}`);
    }
    expect((await rig.status()).endpoint).toContain("/a/subscribe");
  });

  it("fails over to the second endpoint when the first stays down, losing nothing", async () => {
    await rig.jetstream("a", "misbehave", { action: "refuse", status: 502, count: 1000 });
    await rig.jetstream("a", "misbehave", { action: "drop" });
    await publish(300);
    const onB = await waitFor("a connection to b", async () => (await openOn("b"))[0], 30_000);
    // The failover rewinds the cursor a little (time_us differ between instances).
    expect(onB.cursor).not.toBeNull();
    await publish(300);
    const counts = await rig.waitForAll(sent, "every event after the failover");
    expect(tally(counts, expectedTimes(sent)).missing).toEqual([]);
    const status = await rig.status();
    expect(status.connected).toBe(true);
    expect(status.endpoint).toContain("/b/subscribe");
  });
});
