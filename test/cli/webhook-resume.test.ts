// `jetstream-relay webhook resume` against the real worker in wrangler's local runtime (its own: the pause
// holds every delivery of that worker), fed by our Jetstream-compatible server with real captured events,
// delivering to our webhook receiver, whose first answer is 410 Gone.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeliveryResume, HealthReport, RelayStats, RelayStatus } from "../../worker/api-types.ts";
import { startJetstreamTestServer } from "../support/jetstream-test-server.ts";
import { type LocalWorker, startLocalWorker } from "../support/local-worker.ts";
import type { ReceivedRequest } from "../support/webhook-receiver.ts";
import { startWebhookReceiver } from "../support/webhook-receiver.ts";
import { ensureBundle } from "./support/bundle.ts";
import { runCli } from "./support/run-cli.ts";
import { cliJson as runCliJson, postJson } from "./support/local-relay-io.ts";
import { waitFor } from "../support/wait.ts";

const TOKEN = "cli-webhook-resume-admin-token-of-32-chars";

let jetstream: { base: string; close(): Promise<void> };
let webhook: { base: string; close(): Promise<void> };
let worker: LocalWorker;
let env: Record<string, string>;

const until = <T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 90_000) => waitFor(what, probe, timeoutMs, 500);

const cliJson = <T>(args: string[], extraEnv: Record<string, string> = {}) => runCliJson<T>(args, { ...env, ...extraEnv });
const post = (url: string, body: unknown) => postJson(url, body, 10_000).then(() => undefined);

async function hookRequests(): Promise<ReceivedRequest[]> {
  const res = await fetch(`${webhook.base}/_control/requests?path=/hook`, { signal: AbortSignal.timeout(10_000) });
  return ((await res.json()) as { requests: ReceivedRequest[] }).requests;
}

beforeAll(async () => {
  ensureBundle();
  jetstream = await startJetstreamTestServer();
  webhook = await startWebhookReceiver();
  await post(`${webhook.base}/_control/rules`, { path: "/hook", action: "respond", status: 410, body: "unsubscribed", times: 1 });
  worker = await startLocalWorker({
    WEBHOOK_URL: `${webhook.base}/hook`,
    JETSTREAM_URL: `${jetstream.base}/subscribe`,
    JETSTREAM_COLLECTIONS: "app.bsky.feed.*,app.bsky.graph.*",
    ADMIN_TOKEN: TOKEN,
    JETSTREAM_STALL_SECONDS: "3600",
  });
  env = { JETSTREAM_RELAY_URL: worker.url, JETSTREAM_RELAY_TOKEN: TOKEN };
  await until("the relay to connect", async () => (await cliJson<RelayStatus>(["status"])).connected);
}, 240_000);

afterAll(async () => {
  await worker?.dispose();
  await Promise.all([jetstream?.close(), webhook?.close()]);
});

describe("jetstream-relay webhook resume, against the real local worker", () => {
  it("the 410 pauses delivery (health and status say so, nothing dead-lettered); resume delivers the backlog", async () => {
    const nowUs = Date.now() * 1000;
    await post(`${jetstream.base.replace("ws://", "http://")}/control/default/append`, { fixtures: true, startUs: nowUs - 5_000_000, stepUs: 1000 });

    const health = await until("health to name the pause", async () => {
      const report = await cliJson<HealthReport>(["health"]);
      return report.reasons.some((r) => r.code === "webhook-gone") ? report : null;
    });
    expect(health.healthy).toBe(false);
    const text = await runCli(["health"], { env });
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(/webhook-gone: Webhook delivery is paused: the webhook answered 410 Gone/);
    expect(text.stdout).toMatch(/fix: .*jetstream-relay webhook resume .*more: docs\/runbook\.md#reason-webhook-gone/);
    const status = await runCli(["status", "--no-json"], { env });
    expect(status.stdout).toMatch(/delivery +paused since .*: webhook answered HTTP 410 Gone .*jetstream-relay webhook resume/);

    // Everything forwarded is on hold: nothing dead-lettered, nothing more sent.
    const paused = await until("every forwarded event to be held once", async () => {
      const stats = await cliJson<RelayStats>(["stats"]);
      const pause = (await cliJson<RelayStatus>(["status"])).deliveryPause;
      return stats.forwarded > 0 && pause && pause.held >= stats.forwarded - stats.delivery.delivered ? stats : null;
    });
    expect(paused.delivery.deadLettered).toBe(0);
    const requestsWhilePaused = (await hookRequests()).length;

    const refused = await runCli(["webhook", "resume"], { env: { JETSTREAM_RELAY_URL: worker.url } });
    expect(refused.code).toBe(4);
    expect((await cliJson<RelayStatus>(["status"])).deliveryPause).not.toBeNull();
    expect((await hookRequests()).length).toBe(requestsWhilePaused);

    const resumed = await runCli(["webhook", "resume"], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/^resumed webhook delivery \(paused since .*: webhook answered HTTP 410 Gone\)/);
    expect((await cliJson<RelayStatus>(["status"])).deliveryPause).toBeNull();

    const done = await until("the backlog to be delivered", async () => {
      const stats = await cliJson<RelayStats>(["stats"]);
      return stats.delivery.delivered >= stats.forwarded ? stats : null;
    });
    expect(done.delivery.deadLettered).toBe(0);
    const requests = await hookRequests();
    expect(requests.filter((r) => r.answer !== 200).map((r) => r.answer)).toEqual([410]);
    const deliveredIds = new Set(requests.filter((r) => r.answer === 200).map((r) => r.headers["webhook-id"]));
    expect(deliveredIds.size).toBe(done.forwarded);
    expect((await cliJson<HealthReport>(["health"])).reasons.map((r) => r.code)).not.toContain("webhook-gone");

    const again = await cliJson<DeliveryResume>(["webhook", "resume"]);
    expect(again).toEqual({ resumed: false, pause: null });
    const plain = await runCli(["webhook", "resume"], { env });
    expect(plain.stdout).toContain("was not paused: nothing to resume");
  });
});
