// The relay on Jetstream v2, end to end: the real worker in wrangler's local runtime reads our test
// server's v2 endpoint, is killed (SIGKILL) mid-stream and started again with the same storage. It must
// resume by seq on the same instance and lose nothing; with WEBHOOK_EVENT_FORMAT=v1 a receiver written for
// the original design gets legacy Jetstream JSON (which is also how the rig counts events, by time_us).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mixedEvents } from "../support/event-mix.ts";
import { expectedTimes, type Rig, startRig, tally, waitFor, waitForConnected } from "../support/relay-rig.ts";

interface Connection {
  id: number;
  wire: string;
  cursor: number | null;
  open: boolean;
}

describe("on Jetstream v2", () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ wire: "v2", vars: { WEBHOOK_EVENT_FORMAT: "v1" } });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it("resumes by seq after the worker is killed, loses nothing, and delivers legacy JSON in the v1 format", async () => {
    const startUs = Date.now() * 1000 - 60_000_000;
    const before = mixedEvents({ count: 1000, startUs, salt: 3 });
    const during = mixedEvents({ count: 300, startUs: startUs + 1000 * 1000, salt: 3, offset: 1000 });
    const firstWave = expectedTimes(before);
    await rig.webhookRule({ action: "respond", status: 200, delayMs: 20, times: firstWave.length });
    await rig.append("a", before);
    await waitFor("part of the stream to be delivered", async () => {
      const acked = (await rig.acknowledged()).size;
      return acked >= 100 && acked < firstWave.length;
    }, 60_000, 100);
    const connectionsBefore = (await rig.jetstream<Connection[]>("a", "connections")).length;
    await rig.restart("kill");
    await rig.append("a", during);
    await waitForConnected(rig);
    const all = [...before, ...during];
    const counts = await rig.waitForAll(all, "every event at the webhook after the restart", 120_000);
    const { missing, duplicates } = tally(counts, expectedTimes(all));
    expect(missing).toEqual([]);
    expect(duplicates).toBeLessThanOrEqual(firstWave.length);

    const resumed = (await rig.jetstream<Connection[]>("a", "connections")).slice(connectionsBefore);
    expect(resumed[0].wire).toBe("v2");
    // A seq (below 1e15), not a time: the exact resume point on the same instance.
    expect(resumed[0].cursor).not.toBeNull();
    expect(resumed[0].cursor!).toBeLessThan(1e15);
    const status = await rig.status();
    expect(status.wire).toBe("v2");
    expect(status.position?.seq).toBeGreaterThan(0);

    const body = JSON.parse((await rig.requests()).find((r) => r.answer === 200)!.body) as Record<string, unknown>;
    expect(Object.keys(body).slice(0, 3)).toEqual(["did", "time_us", "kind"]);
  });
});
