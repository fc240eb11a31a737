// The operate commands against the real worker in wrangler's local runtime, fed by our Jetstream-compatible
// server with real captured events and delivering to our webhook receiver, which refuses one event for good
// (422) so that there is a dead letter to list, replay and purge.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeadLetterPage, DeadLetterReplayJob, HealthReport, RelayStats, RelayStatus } from "../../worker/api-types.ts";
import { startJetstreamTestServer } from "../support/jetstream-test-server.ts";
import { type LocalWorker, startLocalWorker } from "../support/local-worker.ts";
import { startWebhookReceiver } from "../support/webhook-receiver.ts";
import { ensureBundle } from "./support/bundle.ts";
import { runCli } from "./support/run-cli.ts";
import { cliJson as runCliJson, postJson } from "./support/local-relay-io.ts";
import { waitFor } from "../support/wait.ts";

const TOKEN = "cli-local-worker-admin-token-of-32-chars-or-more";
const REFUSED_COLLECTION = "app.bsky.feed.refusedbyhook";

let jetstream: { base: string; close(): Promise<void> };
let webhook: { base: string; close(): Promise<void> };
let worker: LocalWorker;
let env: Record<string, string>;

const until = <T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 90_000) => waitFor(what, probe, timeoutMs, 500);

const cliJson = <T>(args: string[], extraEnv: Record<string, string> = {}) => runCliJson<T>(args, { ...env, ...extraEnv });
const post = (url: string, body: unknown) => postJson(url, body, 10_000).then(() => undefined);

beforeAll(async () => {
  ensureBundle();
  jetstream = await startJetstreamTestServer();
  webhook = await startWebhookReceiver();
  await post(`${webhook.base}/_control/rules`, { match: "refusedbyhook", action: "respond", status: 422, body: "refused" });
  worker = await startLocalWorker({
    WEBHOOK_URL: `${webhook.base}/hook`,
    JETSTREAM_URL: `${jetstream.base}/subscribe`,
    JETSTREAM_COLLECTIONS: "app.bsky.feed.*,app.bsky.graph.*",
    ADMIN_TOKEN: TOKEN,
    JETSTREAM_STALL_SECONDS: "3600",
  });
  env = { JETSTREAM_RELAY_URL: worker.url, JETSTREAM_RELAY_TOKEN: TOKEN };
  await until("the relay to connect", async () => (await cliJson<RelayStatus>(["status"])).connected);
  const nowUs = Date.now() * 1000;
  const control = `${jetstream.base.replace("ws://", "http://")}/control/default/append`;
  await post(control, { fixtures: true, startUs: nowUs - 5_000_000, stepUs: 1000 });
  const refused = { did: "did:plc:clitestclitestclitest", time_us: nowUs, kind: "commit", commit: { rev: "3lclitest", operation: "create", collection: REFUSED_COLLECTION, rkey: "3lclitest", record: { text: "no" }, cid: "bafyreiclitest" } };
  await post(control, { events: [JSON.stringify(refused)] });
  await until("the refused event to be dead-lettered", async () => {
    const stats = await cliJson<RelayStats>(["stats"]);
    return stats.eventCounts[REFUSED_COLLECTION] === 1 && stats.delivery.deadLettered >= 1 && stats.delivery.delivered + stats.delivery.deadLettered >= stats.forwarded;
  });
}, 240_000);

afterAll(async () => {
  await worker?.dispose();
  await Promise.all([jetstream?.close(), webhook?.close()]);
});

describe("against the real local worker", () => {
  it("status: connected to our Jetstream server, configuration shown without secrets", async () => {
    const status = await cliJson<RelayStatus>(["status"]);
    expect(status.state).toBe("connected");
    expect(status.endpoint).toContain(jetstream.base.replace("ws://", ""));
    const text = await runCli(["status", "--no-json"], { env });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/state +connected/);
    expect(text.stdout).toContain("app.bsky.feed.*");
    expect(text.stdout + text.stderr).not.toContain(TOKEN);
  });

  it("stats: the relay's figures, as JSON and as the table; --watch --json gives one line per poll", async () => {
    const stats = await cliJson<RelayStats>(["stats"]);
    expect(stats.totalReceived).toBeGreaterThan(0);
    expect(stats.eventCounts[REFUSED_COLLECTION]).toBe(1);
    const table = await runCli(["stats", "--no-json"], { env });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`${REFUSED_COLLECTION.replace(/\./g, "\\.")} +1 `));
    expect(table.stdout).toMatch(/dead-lettered [1-9]/);
    const watch = await runCli(["stats", "--watch", "--json", "--interval", "0.5", "--count", "2"], { env });
    expect(watch.code).toBe(0);
    const lines = watch.stdout.trim().split("\n").map((line) => JSON.parse(line) as RelayStats);
    expect(lines).toHaveLength(2);
    expect(lines[1].totalReceived).toBeGreaterThanOrEqual(lines[0].totalReceived);
  });

  it("health: the exit code follows /health (0 healthy, 3 unhealthy with reasons)", async () => {
    const res = await fetch(`${worker.url}/health`);
    const report = (await res.json()) as HealthReport;
    const result = await runCli(["health", "--json"], { env });
    expect(result.code).toBe(res.status === 200 ? 0 : 3);
    const printed = JSON.parse(result.stdout) as HealthReport;
    expect(printed.healthy).toBe(report.healthy);
    if (!printed.healthy) expect(printed.reasons.length).toBeGreaterThan(0);
  });

  it("control commands need the right token: none or a wrong one → exit 4, nothing changes", async () => {
    const before = await cliJson<RelayStats>(["stats"]);
    const none = await runCli(["reconnect"], { env: { JETSTREAM_RELAY_URL: worker.url } });
    expect(none.code).toBe(4);
    expect(none.stderr).toContain("401");
    const wrong = await runCli(["reset", "--yes"], { env: { JETSTREAM_RELAY_URL: worker.url, JETSTREAM_RELAY_TOKEN: "not-the-token" } });
    expect(wrong.code).toBe(4);
    const after = await cliJson<RelayStats>(["stats"]);
    expect(after.statsResetAt).toBe(before.statsResetAt);
    expect(after.totalReceived).toBeGreaterThanOrEqual(before.totalReceived);
  });

  it("dlq: list shows the refused event; replay sends it again; purge deletes it", async () => {
    const page = await cliJson<DeadLetterPage>(["dlq", "list"]);
    const letter = page.events.find((e) => JSON.stringify(e.event).includes(REFUSED_COLLECTION));
    expect(letter).toBeDefined();
    const text = await runCli(["dlq", "list", "--no-json"], { env });
    expect(text.stdout).toContain(letter!.id);
    expect(text.stdout).toContain(REFUSED_COLLECTION);

    const deadLetteredBefore = (await cliJson<RelayStats>(["stats"])).delivery.deadLettered;
    const replayed = await cliJson<{ job: DeadLetterReplayJob }>(["dlq", "replay", letter!.id]);
    expect(replayed.job).toMatchObject({ state: "done", sent: 1 });
    // The webhook refuses it again: it comes back to the store.
    await until("the replayed event to be refused again", async () => {
      const stats = await cliJson<RelayStats>(["stats"]);
      const again = await cliJson<DeadLetterPage>(["dlq", "list"]);
      return stats.delivery.deadLettered > deadLetteredBefore && again.events.some((e) => e.id === letter!.id && !e.replaying);
    });

    const purged = await cliJson<{ purged: number }>(["dlq", "purge", letter!.id]);
    expect(purged.purged).toBe(1);
    const left = await cliJson<DeadLetterPage>(["dlq", "list"]);
    expect(left.events.some((e) => e.id === letter!.id)).toBe(false);
  });

  it("reconnect and gaps ack with the token", async () => {
    const reconnect = await runCli(["reconnect"], { env });
    expect(reconnect.code).toBe(0);
    expect(reconnect.stdout).toContain("reconnecting from cursor");
    await until("the relay to be connected again", async () => (await cliJson<RelayStatus>(["status"])).connected);
    const ack = await cliJson<{ acknowledged: number }>(["gaps", "ack"]);
    expect(typeof ack.acknowledged).toBe("number");
  });

  it("reset --yes resets the statistics and keeps the cursor", async () => {
    const before = await cliJson<RelayStats>(["stats"]);
    expect(before.cursor).not.toBeNull();
    const result = await runCli(["reset", "--yes", "--json"], { env });
    expect(result.code).toBe(0);
    const after = await cliJson<RelayStats>(["stats"]);
    expect(after.statsResetAt).not.toBeNull();
    expect(after.totalReceived).toBeLessThan(before.totalReceived);
    expect(after.cursor).toBeGreaterThanOrEqual(before.cursor!);
  });
});
