// Case 6: the relay's cursor is older than what the server still retains. Jetstream then silently starts
// at its oldest event; the relay must notice the hole and report it — in /health (503, reason "gap") and
// in `jetstream-relay stats --json` — until an operator acknowledges it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HealthReport, RelayStats } from "../../worker/api-types.ts";
import { runCli } from "../cli/support/run-cli.ts";
import { mixedEvents, timesIn } from "../support/event-mix.ts";
import { type Rig, startRig, waitFor } from "../support/relay-rig.ts";

interface Connection {
  cursor: number | null;
  open: boolean;
}

describe("cursor older than the server's retention", () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ vars: { JETSTREAM_GAP_THRESHOLD_SECONDS: "60" } });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it("reports the gap in /health and in `stats --json`, until acknowledged", async () => {
    const nowUs = Date.now() * 1000;
    // Ten minutes ago: delivered, so the relay's cursor stands there.
    const old = mixedEvents({ count: 100, startUs: nowUs - 600_000_000, salt: 6 });
    await rig.append("a", old);
    await rig.waitForAll(old, "the old events");
    const cursorUs = timesIn(old[old.length - 1])[0];
    await waitFor("the cursor to reach the last old event", async () => (await rig.status()).cursor === cursorUs, 30_000);

    // The relay goes offline (the server refuses it); meanwhile the server keeps only the last two
    // minutes and new events arrive. When the relay comes back, its cursor is beyond retention.
    await rig.jetstream("a", "misbehave", { action: "refuse", status: 502, count: 1_000_000 });
    await rig.jetstream("a", "misbehave", { action: "drop" });
    const fresh = mixedEvents({ count: 100, startUs: nowUs - 60_000_000, salt: 6, offset: 100 });
    await rig.append("a", fresh);
    await rig.jetstream("a", "retention", { seconds: 120 });
    await rig.jetstream("a", "misbehave", { action: "refuse", status: 502, count: 0 });

    await rig.waitForAll(fresh, "the events the server still had");
    const resumed = (await rig.jetstream<Connection[]>("a", "connections")).filter((c) => c.open);
    expect(resumed[0].cursor).toBe(cursorUs);

    const health = await rig.relay<HealthReport>("/health");
    expect(health.status).toBe(503);
    const gapReason = health.body.reasons.find((r) => r.code === "gap");
    expect(gapReason?.message).toBeTruthy();

    const cli = await runCli(["stats", "--json", "--url", rig.worker.url], { timeoutMs: 60_000 });
    expect(cli.code, cli.stderr).toBe(0);
    const stats = JSON.parse(cli.stdout) as RelayStats;
    expect(stats.gapsDetected).toBe(1);
    expect(stats.gaps[0]).toMatchObject({ fromUs: cursorUs, toUs: timesIn(fresh[0])[0], acknowledged: false });

    // Acknowledged by an operator: it leaves /health, and stays in the statistics.
    const ack = await rig.relay("/gaps/ack", { method: "POST", admin: true });
    expect(ack.status).toBe(200);
    await waitFor("/health without the gap", async () => !(await rig.relay<HealthReport>("/health")).body.reasons.some((r) => r.code === "gap"), 30_000);
    expect((await rig.stats()).gaps[0].acknowledged).toBe(true);
  });
});
