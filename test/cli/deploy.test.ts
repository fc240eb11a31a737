// `jetstream-relay deploy` with the real wrangler against a fake Cloudflare API: the first deploy (Durable
// Object migration, queue producer and consumers, cron), a safe re-deploy, failures and the /health wait.
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { waitForHealth } from "../../cli/lib/health-wait.ts";
import { renderWorkerConfig } from "../../cli/lib/worker-config.ts";
import { cloudflareEnv } from "../support/cloudflare-env.ts";
import { type FakeCloudflareApi, startFakeCloudflareApi } from "../support/fake-cloudflare-api.ts";
import { startFakeRelay } from "./support/fake-relay.ts";
import { runInPty } from "./support/pty.ts";
import { runCli } from "./support/run-cli.ts";

let api: FakeCloudflareApi;
let env: Record<string, string>;
let dir: string;

/** A project as `init` leaves it (its own test covers init): configuration, project file, queues. */
async function project(name: string): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), "jetstream-relay-deploy-"));
  await writeFile(join(folder, "wrangler.jsonc"), await renderWorkerConfig({ name, collections: "app.bsky.feed.post" }, join(folder, "wrangler.jsonc")));
  await writeFile(join(folder, "jetstream-relay.json"), JSON.stringify({ name, wranglerConfig: "wrangler.jsonc" }));
  for (const queue of [`${name}-events`, `${name}-dlq`]) {
    const now = new Date().toISOString();
    api.queues.set(queue, { queue_id: `q${api.queues.size}${name.replace(/-/g, "")}`, queue_name: queue, created_on: now, modified_on: now, consumers: [] });
  }
  return folder;
}

const deploy = (folder: string, args: string[], extraEnv: Record<string, string> = {}) =>
  runCli(["deploy", ...args], { cwd: folder, env: { ...env, ...extraEnv }, timeoutMs: 120_000 });

beforeAll(async () => {
  api = await startFakeCloudflareApi({ subdomain: "relay-tests" });
  env = await cloudflareEnv(api);
  dir = await project("deploy-relay");
});
afterAll(async () => {
  await api?.close();
});

describe("deploy", () => {
  test("uploads the worker with its bindings, migration and queue consumers, and saves the URL", async () => {
    const result = await deploy(dir, ["--no-wait", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const url = "https://deploy-relay.relay-tests.workers.dev";
    expect(JSON.parse(result.stdout)).toMatchObject({ name: "deploy-relay", url, health: null });
    expect(JSON.parse(await readFile(join(dir, "jetstream-relay.json"), "utf8")).url).toBe(url);

    const script = api.scripts.get("deploy-relay")!;
    const bindings = script.metadata!.bindings as Record<string, unknown>[];
    expect(bindings).toEqual(
      expect.arrayContaining([
        { name: "RELAY", type: "durable_object_namespace", class_name: "JetstreamRelay" },
        { name: "DEAD_LETTERS", type: "durable_object_namespace", class_name: "DeadLetterStore" },
        { type: "queue", name: "EVENTS", queue_name: "deploy-relay-events" },
        { name: "JETSTREAM_COLLECTIONS", type: "plain_text", text: "app.bsky.feed.post" },
      ]),
    );
    expect(script.metadata!.migrations).toEqual({ new_tag: "v1", steps: [{ new_sqlite_classes: ["JetstreamRelay", "DeadLetterStore"] }] });
    expect(script.schedules).toEqual([{ cron: "* * * * *" }]);
    expect(script.subdomainEnabled).toBe(true);
    const events = api.queues.get("deploy-relay-events")!;
    const dlq = api.queues.get("deploy-relay-dlq")!;
    expect(events.consumers).toEqual([expect.objectContaining({ script: "deploy-relay", dead_letter_queue: "deploy-relay-dlq" })]);
    expect(dlq.consumers).toEqual([expect.objectContaining({ script: "deploy-relay" })]);
  });

  test("a re-deploy updates in place: a new version, the same consumers, no second migration", async () => {
    api.calls.length = 0;
    const result = await deploy(dir, ["--no-wait"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("https://deploy-relay.relay-tests.workers.dev");
    expect(api.callsTo("POST", /\/scripts\/deploy-relay\/versions$/)).toHaveLength(1);
    expect(api.callsTo("PUT", /\/consumers\/[^/]+$/)).toHaveLength(2);
    expect(api.callsTo("POST", /\/consumers$/)).toEqual([]);
    expect(api.queues.get("deploy-relay-events")!.consumers).toHaveLength(1);
    expect(api.scripts.get("deploy-relay")!.migrationTag).toBe("v1");
  });

  test("waits for /health and fails (exit 1) when the relay never answers", async () => {
    // *.workers.dev does not resolve here: the wait must give up on time and say so.
    const result = await deploy(dir, ["--wait-timeout", "2"]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/did not answer \/health within 2s/);
  });

  test("with JETSTREAM_RELAY_URL it waits there: healthy exits 0, unhealthy exits 3 with the reasons", async () => {
    let healthy = false;
    const relay = await startFakeRelay({
      "GET /health": () =>
        healthy
          ? { json: { healthy: true, reasons: [], checkedAt: "" } }
          : { status: 503, json: { healthy: false, reasons: [{ code: "config-error", message: "WEBHOOK_URL is not set" }], checkedAt: "" } },
    });
    try {
      const unhealthy = await deploy(dir, ["--wait-timeout", "3"], { JETSTREAM_RELAY_URL: relay.url });
      expect(unhealthy.code, unhealthy.stderr).toBe(3);
      expect(unhealthy.stderr).toMatch(/not healthy: config-error: WEBHOOK_URL is not set/);
      healthy = true;
      const ok = await deploy(dir, ["--json"], { JETSTREAM_RELAY_URL: relay.url });
      expect(ok.code, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ url: relay.url, health: { state: "healthy" } });
      expect(relay.requests.filter((r) => r.path === "/health").length).toBeGreaterThan(1);
    } finally {
      await relay.close();
    }
  });

  test("refused credentials exit 4; an API error exits 1 with the API's message", async () => {
    const refused = await deploy(dir, ["--no-wait"], { CLOUDFLARE_API_TOKEN: "wrong-token" });
    expect(refused.code, refused.stderr).toBe(4);
    expect(refused.stderr).toMatch(/Cloudflare refused the credentials[\s\S]*wrangler login/);

    api.fail({ method: "POST", path: /\/scripts\/deploy-relay\/versions$/, status: 400, code: 10021, message: "Uncaught Error: script startup exploded", times: 1 });
    const failed = await deploy(dir, ["--no-wait"]);
    expect(failed.code, failed.stderr).toBe(1);
    expect(failed.stderr).toMatch(/deploying the worker: .*(script startup exploded|10021)/);
  });

  test("on a terminal it shows progress while wrangler works, and the result", async () => {
    const session = runInPty(["deploy", "--no-wait"], { cwd: dir, env });
    try {
      await session.waitFor("Deploying deploy-relay", 30_000);
      const screen = await session.waitFor("Deployed https://deploy-relay.relay-tests.workers.dev", 60_000);
      expect(await session.exited).toBe(0);
      expect(screen).toMatch(/[◒◐◓◑]/); // the spinner ran
    } finally {
      session.kill();
    }
  });

  test("without a project file it is a usage error", async () => {
    const empty = await mkdtemp(join(tmpdir(), "jetstream-relay-deploy-empty-"));
    const result = await deploy(empty, []);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/run `jetstream-relay init` first/);
  });
});

describe("waiting for /health", () => {
  test("polls through 503 until the relay is healthy", async () => {
    let calls = 0;
    const relay = await startFakeRelay({
      "GET /health": () => (++calls < 3 ? { status: 503, json: { healthy: false, reasons: [{ code: "disconnected", message: "connecting" }], checkedAt: "" } } : { json: { healthy: true, reasons: [], checkedAt: "" } }),
    });
    try {
      const seen: string[] = [];
      const result = await waitForHealth(relay.url, { timeoutMs: 20_000, intervalMs: 50, onObservation: (o) => seen.push(o.state) });
      expect(result.state).toBe("healthy");
      expect(seen).toEqual(["unhealthy", "unhealthy", "healthy"]);
    } finally {
      await relay.close();
    }
  });

  test("reports the last unhealthy answer with its reasons when time runs out", async () => {
    const relay = await startFakeRelay({ "GET /health": { status: 503, json: { healthy: false, reasons: [{ code: "config-error", message: "WEBHOOK_URL is not set" }], checkedAt: "" } } });
    try {
      const result = await waitForHealth(relay.url, { timeoutMs: 300, intervalMs: 50 });
      expect(result).toMatchObject({ state: "unhealthy", status: 503, report: { reasons: [{ code: "config-error" }] } });
    } finally {
      await relay.close();
    }
  });
});
