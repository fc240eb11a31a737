// Case 1: the worker process is killed (SIGKILL) mid-stream and started again with the same storage.
// The local queue lives in memory, so whatever was enqueued but not yet delivered dies with the process;
// the relay must resume from the oldest event the webhook has not acknowledged. Nothing may be lost;
// duplicates are allowed (at-least-once) but bounded by what was in flight.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mixedEvents } from "../support/event-mix.ts";
import { expectedTimes, type Rig, startRig, tally, waitFor, waitForConnected } from "../support/relay-rig.ts";

describe("worker killed mid-stream", () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig();
  });
  afterAll(async () => {
    await rig?.close();
  });

  it("resumes from the oldest unacknowledged event: nothing lost, duplicates bounded", async () => {
    const startUs = Date.now() * 1000 - 60_000_000;
    const before = mixedEvents({ count: 1500, startUs, salt: 1 });
    const during = mixedEvents({ count: 500, startUs: startUs + 1500 * 1000, salt: 1, offset: 1500 });
    const after = mixedEvents({ count: 500, startUs: startUs + 2000 * 1000, salt: 1, offset: 2000 });

    // A slow webhook keeps deliveries in flight when the process dies.
    const firstWave = expectedTimes(before);
    await rig.webhookRule({ action: "respond", status: 200, delayMs: 20, times: firstWave.length });
    await rig.append("a", before);
    await waitFor("part of the stream to be delivered", async () => {
      const acked = (await rig.acknowledged()).size;
      return acked >= 200 && acked < firstWave.length;
    }, 60_000, 100);
    await rig.restart("kill");
    // Events published while the relay is down wait at the server.
    await rig.append("a", during);
    await waitForConnected(rig);
    await rig.append("a", after);
    const all = [...before, ...during, ...after];
    const counts = await rig.waitForAll(all, "every event at the webhook after the restart", 120_000);
    const expected = expectedTimes(all);
    const { missing, duplicates } = tally(counts, expected);
    expect(missing).toEqual([]);
    // Only what was sent before the kill can come twice.
    expect(duplicates).toBeLessThanOrEqual(firstWave.length);

    // A redelivered event keeps its webhook-id.
    const requests = await rig.requests();
    const twice = expected.find((t) => (counts.get(t) ?? 0) > 1);
    if (twice !== undefined) {
      const ids = new Set(requests.filter((r) => r.body.includes(`"time_us":${twice}`)).map((r) => r.headers["webhook-id"]));
      expect(ids.size).toBe(1);
    }
    // Everything acknowledged leaves the relay's ledger of unacknowledged messages.
    await waitFor("the ledger to empty", async () => (await rig.stats()).delivery.unackedMessages === 0, 30_000);
  });
});
