// Case 7: bad input from every side — malformed frames from the upstream, a hostile collection name
// that reaches the dashboard, a wrong admin token on the control routes, and an invalid configuration.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HealthReport, RelayStats, RelayStatus } from "../../worker/api-types.ts";
import { runCli } from "../cli/support/run-cli.ts";
import { mixedEvents } from "../support/event-mix.ts";
import { type Rig, startRig, waitFor } from "../support/relay-rig.ts";
import { LOGIN_FAILURES_ALLOWED } from "../../worker/http/login-throttle.ts";

describe("bad input", () => {
  let rig: Rig;
  const startUs = Date.now() * 1000 - 300_000_000;
  beforeAll(async () => {
    rig = await startRig();
  });
  afterAll(async () => {
    await rig?.close();
  });

  it("counts and skips malformed frames without dropping the connection or valid events", async () => {
    const valid = mixedEvents({ count: 200, startUs, salt: 7 });
    const malformed = [
      "not json at all",
      "[1,2,3]",
      '{"kind":"commit","commit":{"collection":"app.bsky.feed.post","operation":"create"}}',
      '{"did":"did:plc:x","time_us":"yesterday","kind":"commit"}',
      '{"did":"did:plc:x","time_us":1,"kind":"commit","commit":null}',
      '{"did":"did:plc:x","time_us":1,"kind":"commit","commit":{"collection":"app.bsky.feed.post"',
    ];
    await rig.append("a", valid.slice(0, 100));
    await rig.jetstream("a", "append", { raw: malformed });
    await rig.append("a", valid.slice(100));
    await rig.waitForAll(valid, "every valid event around the malformed frames");
    const stats = await rig.stats();
    expect(stats.malformed).toBe(malformed.length);
    expect(stats.reconnects).toBe(0);
    expect((await rig.status()).connected).toBe(true);
  });

  it("escapes a hostile collection name in the dashboard", async () => {
    const payload = `"><img src=x onerror=alert(1)><script>alert(2)</script>`;
    const hostile = JSON.stringify({
      did: "did:plc:hostilecollection000000",
      time_us: startUs + 500_000,
      kind: "commit",
      commit: { rev: "3lhostile2222", operation: "create", collection: `app.bsky.feed.x${payload}`, rkey: "3lhostile2222", record: { text: "synthetic" }, cid: "bafyreihostile" },
    });
    await rig.append("a", [hostile]);
    await waitFor("the hostile event at the webhook", async () => (await rig.requests()).some((r) => r.body === hostile));
    const stats = await rig.stats();
    expect(stats.eventCounts[`app.bsky.feed.x${payload}`]).toBe(1);

    const page = await fetch(`${rig.worker.url}/stats/html`);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).not.toContain("<img src=x");
    expect(html).not.toContain("<script>alert(2)");
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
  });

  it("refuses a wrong admin token (401, then 429 once a client keeps guessing) and changes nothing", async () => {
    const before = await rig.stats();
    const open = async () => (await rig.jetstream<{ id: number; open: boolean }[]>("a", "connections")).filter((c) => c.open).map((c) => c.id);
    const connectionsBefore = await open();
    // 15 wrong tokens from one client: refused (401), and past the throttle's allowance slowed (429).
    const statuses: number[] = [];
    for (const token of ["wrong-token", `${rig.adminToken}x`, ""]) {
      for (const [path, body] of [["/reset", undefined], ["/reconnect", undefined], ["/dlq/purge", { all: true }], ["/gaps/ack", undefined]] as const) {
        statuses.push((await rig.relay(path, { method: "POST", token, body })).status);
      }
      statuses.push((await rig.relay("/dlq", { token })).status);
    }
    expect(statuses.slice(0, LOGIN_FAILURES_ALLOWED)).toEqual(Array(LOGIN_FAILURES_ALLOWED).fill(401));
    expect(statuses.slice(LOGIN_FAILURES_ALLOWED)).toEqual(Array(statuses.length - LOGIN_FAILURES_ALLOWED).fill(429));
    const cli = await runCli(["reset", "--yes", "--url", rig.worker.url], { env: { JETSTREAM_RELAY_TOKEN: "wrong-token" }, timeoutMs: 60_000 });
    // The throttle holds: the CLI says the relay slows this client (an authentication refusal, exit 4).
    expect(cli.code, cli.stderr).toBe(4);
    expect(cli.stderr).toMatch(/429.*Too many wrong admin tokens[\s\S]*hint: the relay slows a client that sent wrong admin tokens/);

    const after = await rig.stats();
    expect(after.statsResetAt).toBe(before.statsResetAt);
    expect(after.totalReceived).toBeGreaterThanOrEqual(before.totalReceived);
    expect(after.cursor).toBe(before.cursor);
    expect(after.reconnects).toBe(before.reconnects);
    expect(await open()).toEqual(connectionsBefore);
  });
});

describe("invalid configuration", () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ noWait: true, vars: { JETSTREAM_COLLECTIONS: "*", JETSTREAM_STALL_SECONDS: "soon" } });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it("says what is wrong at /health and /status, keeps serving, and never connects", async () => {
    const health = await rig.relay<HealthReport>("/health");
    expect(health.status).toBe(503);
    const reason = health.body.reasons.find((r) => r.code === "config-error");
    expect(reason?.message).toContain("JETSTREAM_COLLECTIONS");
    expect(reason?.message).toContain("JETSTREAM_STALL_SECONDS");

    const status = await rig.relay<RelayStatus>("/status");
    expect(status.status).toBe(200);
    expect(status.body.state).toBe("config-error");
    expect(status.body.connected).toBe(false);
    const variables = status.body.configErrors.map((p) => p.variable);
    expect(variables).toEqual(expect.arrayContaining(["JETSTREAM_COLLECTIONS", "JETSTREAM_STALL_SECONDS"]));
    for (const problem of status.body.configErrors) expect(problem.fix).toBeTruthy();

    const cli = await runCli(["health", "--url", rig.worker.url], { timeoutMs: 60_000 });
    expect(cli.code).toBe(3);
    expect(`${cli.stdout}${cli.stderr}`).toContain("JETSTREAM_COLLECTIONS");

    // No crash loop: the same process keeps answering, and the relay never tries the upstream.
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect((await rig.relay<RelayStats>("/stats")).status).toBe(200);
    }
    expect(rig.worker.process.exitCode).toBeNull();
    expect(await rig.jetstream<unknown[]>("a", "connections")).toEqual([]);
  });
});
