/**
 * Nothing is lost when the Jetstream side misbehaves: abrupt disconnects mid-stream, refused upgrades
 * (400 and 502, reported with the server's words), and failover to a second endpoint with a cursor
 * rewind. Every wanted event the server holds ends up in the queue.
 * Isolation and configuration: see ingest-support.ts (server instances "res", "res-a", "res-b").
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { COLLECTIONS, configure, connections, control, expectedForwarded, jetstreamWs, missingBelowCursor, serverLog, statusOf, tapQueue, waitFor, type QueueTap } from "./ingest-support.ts";

const INSTANCE = "res";
let tap: QueueTap;

beforeAll(async () => {
  await Promise.all(["res", "res-a", "res-b"].map((i) => control(i, "reset", {})));
  configure(INSTANCE);
  tap = tapQueue();
  await waitFor(async () => (await statusOf()).state === "connected", "connected");
});

/** Appends the fixtures restamped from `startUs` and returns the wanted events among them. */
async function appendFixtures(instance: string, startUs: number): Promise<number[]> {
  await control(instance, "append", { fixtures: true, startUs, stepUs: 1000 });
  const { events } = await serverLog(instance);
  const wanted = expectedForwarded(events, COLLECTIONS).filter((t) => t >= startUs && t < startUs + 1_000_000);
  if (wanted.length < 100) throw new Error(`expected the fixtures' wanted events, got ${wanted.length}`);
  return wanted;
}

describe("abrupt disconnects", () => {
  it("resumes from the cursor after the server drops the connection without a close frame mid-stream", async () => {
    await control(INSTANCE, "misbehave", { action: "drop-after", events: 40, count: 1 });
    await control(INSTANCE, "misbehave", { action: "drop" }); // the next connection is the one that drops after 40
    await waitFor(async () => (await connections(INSTANCE)).filter((c) => c.open).length === 1, "reconnected");
    const before = (await connections(INSTANCE)).length;

    const expected = await appendFixtures(INSTANCE, Date.now() * 1000);
    await waitFor(() => expected.every((t) => tap.timeUs().has(t)), "every wanted event enqueued");
    const conns = await connections(INSTANCE);
    expect(conns.length).toBe(before + 1);
    const dropped = conns[before - 1];
    const resumed = conns[before];
    expect(dropped.sent).toBe(40);
    // It resumed inclusively from a cursor no later than the first event it had not enqueued.
    expect(resumed.cursor).not.toBeNull();
    expect(missingBelowCursor(expected, tap.timeUs(), resumed.cursor)).toEqual([]);
    const status = await statusOf();
    expect(status.reconnects).toBeGreaterThanOrEqual(2);
    expect(status.lastError).toMatch(/without a close frame \(1006\)/);
  });

  it("resumes after a clean close by the server too", async () => {
    const expected = await appendFixtures(INSTANCE, Date.now() * 1000);
    await control(INSTANCE, "misbehave", { action: "close" });
    const more = await appendFixtures(INSTANCE, Date.now() * 1000 + 2_000_000);
    await waitFor(() => [...expected, ...more].every((t) => tap.timeUs().has(t)), "every wanted event enqueued");
  });
});

describe("reconnect()", () => {
  it("replaces the socket on request and resumes from the saved cursor", async () => {
    const expected = await appendFixtures(INSTANCE, Date.now() * 1000);
    await waitFor(() => expected.every((t) => tap.timeUs().has(t)), "enqueued");
    const cursor = (await statusOf()).cursor;
    const before = (await connections(INSTANCE)).length;
    await env.RELAY.getByName("relay").reconnect();
    await waitFor(async () => (await connections(INSTANCE)).length === before + 1 && (await statusOf()).state === "connected", "reconnected");
    const conns = await connections(INSTANCE);
    expect(conns[before].cursor).toBe(cursor);
    expect(conns[before - 1].open).toBe(false);
    expect(conns[before - 1].closeCause).toMatch(/^close 1000/);
  });
});

describe("refused upgrades", () => {
  it("reports a 502 with its body, backs off, and loses nothing once the server accepts again", async () => {
    await control(INSTANCE, "misbehave", { action: "refuse", status: 502, count: 3 });
    await control(INSTANCE, "misbehave", { action: "drop" });
    const expected = await appendFixtures(INSTANCE, Date.now() * 1000); // arrive while we are refused
    await waitFor(() => expected.every((t) => tap.timeUs().has(t)), "every wanted event enqueued");
    const conns = await connections(INSTANCE);
    const refused = conns.filter((c) => c.refused === 502);
    expect(refused).toHaveLength(3);
    const accepted = conns[conns.length - 1];
    expect(accepted.refused).toBeNull();
    // Every attempt asked for the same cursor: refusals never moved it.
    expect(new Set([...refused.map((c) => c.cursor), accepted.cursor]).size).toBe(1);
    expect((await statusOf()).lastError).toContain("server said 502: upstream unavailable");
  });

  it("shows the server's 400 message in the status while refused, then recovers", async () => {
    await control(INSTANCE, "misbehave", { action: "refuse", status: 400, count: 1000 });
    await control(INSTANCE, "misbehave", { action: "drop" });
    const status = await waitFor(async () => {
      const s = await statusOf();
      return s.lastError?.includes("server said 400") && s.state !== "connected" ? s : null;
    }, "the 400 reported");
    expect(status.lastError).toContain("invalid options: refused on command");
    expect(status.lastError).toContain("JETSTREAM_COLLECTIONS");
    await control(INSTANCE, "misbehave", { action: "refuse", status: 400, count: 0 });
    await waitFor(async () => (await statusOf()).state === "connected", "connected again", 20_000);
  });

  it("reports a refusal whose body never ends by its first words, without waiting for the rest", async () => {
    await control(INSTANCE, "misbehave", { action: "refuse", status: 503, count: 1000, endless: true, message: "upstream down for maintenance" });
    await control(INSTANCE, "misbehave", { action: "drop" });
    // Read whole, the body would hold the attempt until the upgrade's timeout, reported as a timeout.
    const status = await waitFor(async () => {
      const s = await statusOf();
      return s.lastError?.includes("server said 503") ? s : null;
    }, "the 503 reported with its words");
    expect(status.lastError).toMatch(/^server said 503: upstream down for maintenance x+$/);
    expect(status.lastError!.length).toBeLessThan(400);
    await control(INSTANCE, "misbehave", { action: "refuse", status: 503, count: 0 });
    await waitFor(async () => (await statusOf()).state === "connected", "connected again", 20_000);
  });
});

describe("failover", () => {
  it("moves to the next endpoint after repeated failures, rewinding the cursor a little, and loses nothing", async () => {
    configure("res-a", {
      JETSTREAM_URL: `${jetstreamWs()}/res-a/subscribe,${jetstreamWs()}/res-b/subscribe`,
      JETSTREAM_FAILOVER_AFTER: "2",
      JETSTREAM_FAILOVER_REWIND_SECONDS: "5",
      JETSTREAM_HEALTHY_SECONDS: "1",
    });
    const relay = env.RELAY.getByName("failover");
    await waitFor(async () => (await relay.getStatus()).state === "connected", "connected to a");
    expect((await relay.getStatus()).endpoint).toContain("/res-a/");

    // Both instances carry the same events; a drops the connection after 30 of them and then refuses.
    const startUs = Date.now() * 1000 + 10_000_000;
    await control("res-a", "misbehave", { action: "drop-after", events: 30, count: 1 });
    await control("res-a", "misbehave", { action: "drop" });
    await waitFor(async () => (await connections("res-a")).filter((c) => c.open).length === 1, "reconnected to a");
    await control("res-a", "misbehave", { action: "refuse", status: 502, count: 1000 });
    await control("res-b", "load", { fixtures: true, startUs, stepUs: 1000 });
    const expected = await appendFixtures("res-a", startUs);

    await waitFor(() => expected.every((t) => tap.timeUs().has(t)), "every wanted event enqueued via b", 20_000);
    const status = await relay.getStatus();
    expect(status.endpoint).toContain("/res-b/");
    expect(status.state).toBe("connected");
    const lastOnA = (await connections("res-a")).filter((c) => c.refused === null).pop()!;
    expect(lastOnA.sent).toBe(30);
    const [onB] = await connections("res-b");
    // The cursor asked of b is 5 s before where a left off (somewhere within the first 177 events).
    expect(onB.cursor).not.toBeNull();
    expect(onB.cursor!).toBeGreaterThanOrEqual(startUs - 5_000_000);
    expect(onB.cursor!).toBeLessThanOrEqual(startUs + 177_000 - 5_000_000);

    // A connection that stayed up longer than JETSTREAM_HEALTHY_SECONDS resets the failure count:
    // two drops of healthy connections do not fail over (JETSTREAM_FAILOVER_AFTER is 2).
    const attemptsOnA = (await connections("res-a")).length;
    for (let drop = 1; drop <= 2; drop++) {
      await new Promise((r) => setTimeout(r, 1200));
      await control("res-b", "misbehave", { action: "drop" });
      await waitFor(async () => (await connections("res-b")).filter((c) => c.open).length === 1 && (await relay.getStatus()).state === "connected", "reconnected to b");
    }
    expect((await relay.getStatus()).endpoint).toContain("/res-b/");
    expect((await connections("res-a")).length).toBe(attemptsOnA);
    expect((await connections("res-b")).length).toBe(3);
    await control("res-a", "misbehave", { action: "refuse", status: 502, count: 0 });
  });
});
