/**
 * Secrets in the configured URLs never reach a public route, the dashboard, the metrics or a log line:
 * the webhook shows as scheme + host + a fingerprint, a Jetstream endpoint without its credentials, and
 * the webhook's answers (its error bodies) only on the admin routes.
 * The relay runs on its own test-server instance ("secrets") with a webhook URL and an endpoint that
 * carry tokens in the userinfo, the path and the query; a failed delivery, a dropped connection and a
 * gap are driven for real, then every route is read. See ingest-support.ts for the configuration.
 */
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gap, RelayStats, RelayStatus } from "../../worker/contract.ts";
import { sha256Hex } from "../../worker/delivery/sha256.ts";
import { receiver, webhookBase } from "./delivery-support.ts";
import { admin, body, call } from "./http-support.ts";
import { commitEvent, configure, connections, control, jetstreamWs, serverLog, statusOf, waitFor } from "./ingest-support.ts";

const INSTANCE = "secrets";
const HOOK_PATH = "/api/webhooks/123/pathtok3n";
/** Every secret: none of these may appear outside the admin routes. */
const SECRETS = ["usertok3n", "pwtok3n", "pathtok3n", "querytok3n", "jsusertok3n", "jspwtok3n", "bodytok3n", "api/webhooks/123"];
const webhookUrl = () => `${webhookBase().replace("http://", "http://usertok3n:pwtok3n@")}${HOOK_PATH}?token=querytok3n`;
const endpointUrl = () => `${jetstreamWs().replace("ws://", "ws://jsusertok3n:jspwtok3n@")}/${INSTANCE}/subscribe`;

const logs: string[] = [];
const originals = { log: console.log, warn: console.warn, error: console.error, info: console.info };

const relay = () => env.RELAY.getByName("relay");
const did = "did:plc:secretstest0000000000";
const event = (timeUs: number, rkey: string) => commitEvent({ did, timeUs, collection: "app.bsky.feed.post", rkey });

function leaked(text: string): string[] {
  return SECRETS.filter((secret) => text.includes(secret));
}

beforeAll(async () => {
  for (const level of ["log", "warn", "error", "info"] as const) {
    console[level] = (...args: unknown[]) => {
      logs.push(args.map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : typeof a === "string" ? a : JSON.stringify(a))).join(" "));
      originals[level](...args);
    };
  }
  await control(INSTANCE, "reset", {});
  await receiver.reset(HOOK_PATH);
  await receiver.rule({ path: HOOK_PATH, action: "respond", status: 400, body: "bodytok3n: the receiver refuses this event" });
  configure(INSTANCE, { JETSTREAM_URL: endpointUrl(), JETSTREAM_GAP_THRESHOLD_SECONDS: "30" });
  (env as Record<string, unknown>).WEBHOOK_URL = webhookUrl();
  await waitFor(async () => (await statusOf()).state === "connected", "connected");
});

afterAll(() => Object.assign(console, originals));

describe("secrets in the configured URLs", () => {
  it("a failed delivery, a dropped connection and a gap happen for real", async () => {
    const now = Date.now() * 1000;
    // A delivery the webhook refuses with a body (dead-lettered at once: 400 is permanent).
    await control(INSTANCE, "append", { events: [event(now - 100_000_000, "a1")] });
    await waitFor(async () => (await receiver.requests({ path: HOOK_PATH })).length > 0, "the webhook asked", 30_000);
    await waitFor(async () => (await relay().getStats()).delivery.lastError !== null, "the delivery failure reported", 30_000);

    // A gap: disconnected (refused) while events fall out of the server's retention.
    await control(INSTANCE, "misbehave", { action: "refuse", status: 502, count: 1000 });
    await control(INSTANCE, "misbehave", { action: "drop" });
    await waitFor(async () => (await statusOf()).state !== "connected", "disconnected");
    await control(INSTANCE, "append", { events: [event(now - 80_000_000, "a2")] });
    await control(INSTANCE, "retention", { seconds: 50 });
    await control(INSTANCE, "append", { events: [event(now - 5_000_000, "a3")] });
    expect((await serverLog(INSTANCE)).oldestUs).toBe(now - 5_000_000);
    await control(INSTANCE, "misbehave", { action: "refuse", status: 502, count: 0 });
    await waitFor(async () => (await relay().getStats()).gapsDetected === 1, "the gap recorded", 30_000);
    await waitFor(async () => (await connections(INSTANCE)).some((c) => c.open), "reconnected");
  });

  it("no public route, the dashboard or the metrics show them; the webhook shows as origin and fingerprint", async () => {
    const paths = ["/", "/status", "/health", "/stats", "/stats/html", "/metrics", "/replay"];
    for (const path of paths) {
      const text = await (await call(path)).text();
      expect(leaked(text), `${path}: ${text.slice(0, 2000)}`).toEqual([]);
    }

    const status = await body<RelayStatus>(await call("/status"));
    const normalized = new URL(webhookUrl()).href;
    expect(status.config?.webhookOrigin).toBe(new URL(webhookBase()).origin);
    expect(status.config?.webhookFingerprint).toBe(sha256Hex(normalized).slice(0, 8));
    const shown = `${jetstreamWs()}/${INSTANCE}/subscribe`;
    expect(status.endpoints).toEqual([shown]);
    expect(status.config?.endpoints).toEqual([shown]);
    expect(status.endpoint).toBe(shown);

    const stats = await body<RelayStats>(await call("/stats"));
    expect(stats.delivery.lastError).toBe("webhook answered HTTP 400");
    expect(stats.gaps.map((g: Gap) => g.endpoint)).toEqual([shown]);
    expect(stats.position?.endpoint).toBe(shown);
  });

  it("no log line shows them (and the logs were read: they name the endpoint)", () => {
    expect(logs.filter((line) => line.includes(`/${INSTANCE}/subscribe`)).length).toBeGreaterThan(0);
    for (const line of logs) expect(leaked(line), line).toEqual([]);
  });

  it("the webhook's answer is kept for the admin routes: the dead letter's error", async () => {
    const page = await body<{ events: { error: string }[] }>(await admin("/dlq?limit=1000"));
    expect(page.events.some((e) => e.error === "webhook answered HTTP 400: bodytok3n: the receiver refuses this event")).toBe(true);
  });

  it("a refused JETSTREAM_URL is reported without its credentials or query", async () => {
    const vars = env as Record<string, unknown>;
    const before = vars.JETSTREAM_URL;
    vars.JETSTREAM_URL = `${endpointUrl()}?token=querytok3n`;
    try {
      const other = env.RELAY.getByName("secrets-bad-url");
      const status = await other.ensureRunning();
      expect(status.state).toBe("config-error");
      expect(status.configErrors.map((p) => p.variable)).toContain("JETSTREAM_URL");
      const text = JSON.stringify([status, await other.getHealth()]);
      expect(leaked(text), text).toEqual([]);
    } finally {
      vars.JETSTREAM_URL = before;
    }
  });
});
