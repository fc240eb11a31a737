// `jetstream-relay init` with the real wrangler against a fake Cloudflare API: unattended and under a
// real pseudo-terminal, re-run safety, auth failures and API errors.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseJsonc } from "../../cli/lib/jsonc.ts";
import { cloudflareEnv } from "../support/cloudflare-env.ts";
import { type FakeCloudflareApi, startFakeCloudflareApi } from "../support/fake-cloudflare-api.ts";
import { watchCommandLines } from "../support/process-watch.ts";
import { REPO_ROOT, runCli } from "./support/run-cli.ts";
import { runInPty } from "./support/pty.ts";

const BEARER = "bearer-from-env-7c1f9a";
const WEBHOOK = "https://hooks.example.com/jetstream?key=secret-query-91b2";

let api: FakeCloudflareApi;
let env: Record<string, string>;

beforeAll(async () => {
  api = await startFakeCloudflareApi();
  env = { ...(await cloudflareEnv(api)), WEBHOOK_BEARER_TOKEN: BEARER };
});
afterAll(async () => {
  await api?.close();
});

const emptyDir = () => mkdtemp(join(tmpdir(), "jetstream-relay-init-"));
const init = (dir: string, args: string[], extraEnv: Record<string, string | undefined> = {}) =>
  runCli(["init", ...args], { cwd: dir, env: { ...env, ...extraEnv }, timeoutMs: 90_000 });

describe("init without a terminal", () => {
  let dir: string;
  let adminToken: string;

  test("creates both queues, writes the configuration and project file, sets secrets on stdin only", async () => {
    dir = await emptyDir();
    const watch = watchCommandLines();
    const result = await init(dir, ["--yes", "--name", "my-relay", "--webhook-url", WEBHOOK, "--collections", "app.bsky.feed.post,app.bsky.graph.*"]);
    const commandLines = await watch.stop();
    expect(result.code, result.stderr).toBe(0);

    // Queues: looked up, then created once each.
    const creates = api.callsTo("POST", /\/accounts\/[^/]+\/queues$/).map((c) => JSON.parse(c.body).queue_name);
    expect(creates.sort()).toEqual(["my-relay-dlq", "my-relay-events"]);

    // Secrets reached Cloudflare with their values…
    const secrets = api.scripts.get("my-relay")!.secrets;
    expect(secrets.get("WEBHOOK_URL")).toBe(WEBHOOK);
    expect(secrets.get("WEBHOOK_BEARER_TOKEN")).toBe(BEARER);
    expect(secrets.get("WEBHOOK_SECRET")).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    adminToken = secrets.get("ADMIN_TOKEN")!;
    expect(adminToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // …and never on any command line, nor in what init printed (no terminal: generated secrets not shown).
    expect(commandLines.some((l) => l.includes("wrangler") && l.includes("secret put"))).toBe(true);
    const spawned = commandLines.filter((l) => !l.includes("jetstream-relay.js init")); // the test's own command line has --webhook-url
    for (const value of [WEBHOOK, BEARER, adminToken, secrets.get("WEBHOOK_SECRET")!]) {
      expect(spawned.filter((l) => l.includes(value))).toEqual([]);
      expect(result.stdout + result.stderr).not.toContain(value);
    }

    // Files: no secret (nor where one is) in the project file or the configuration; the admin token in the
    // local secrets folder, bound to no URL until deploy.
    const project = JSON.parse(await readFile(join(dir, "jetstream-relay.json"), "utf8"));
    expect(project).toEqual({ name: "my-relay", wranglerConfig: "wrangler.jsonc" });
    expect(JSON.parse(await readFile(join(dir, ".jetstream-relay/admin-token.json"), "utf8"))).toEqual({ token: adminToken, urls: [] });
    expect((await stat(join(dir, ".jetstream-relay/admin-token.json"))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, ".jetstream-relay/webhook-secret"))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(dir, ".jetstream-relay/.gitignore"), "utf8")).toMatch(/^\*$/m);
    const configText = await readFile(join(dir, "wrangler.jsonc"), "utf8");
    for (const value of [WEBHOOK, BEARER, adminToken]) expect(configText).not.toContain(value);
    const config = parseJsonc(configText) as Record<string, any>;
    expect(config.name).toBe("my-relay");
    expect(resolve(dir, config.main)).toBe(join(REPO_ROOT, "worker", "index.ts"));
    expect(config.queues.producers).toEqual([{ binding: "EVENTS", queue: "my-relay-events" }]);
    expect(config.queues.consumers.map((c: any) => [c.queue, c.dead_letter_queue])).toEqual([
      ["my-relay-events", "my-relay-dlq"],
      ["my-relay-dlq", undefined],
    ]);
    expect(config.vars.JETSTREAM_COLLECTIONS).toBe("app.bsky.feed.post,app.bsky.graph.*");
    expect(config.migrations[0].new_sqlite_classes).toEqual(["JetstreamRelay", "DeadLetterStore"]);
    expect(result.stderr).toContain("jetstream-relay deploy");
    // Jetstream: Bluesky's v2 hosts, the relay's default, so nothing is written for it.
    expect(config.vars.JETSTREAM_URL).toBeUndefined();
    expect(result.stderr).toContain("jetstream: Bluesky's v2 hosts (wss://jetstream.us-east.bsky.network/xrpc/network.bsky.jetstream.subscribeEvents, wss://jetstream.us-west.bsky.network/xrpc/network.bsky.jetstream.subscribeEvents), the default");
  });

  test("a re-run reuses the queues, keeps the admin token and the earlier choices", async () => {
    api.calls.length = 0;
    const result = await init(dir, ["--yes", "--webhook-url", WEBHOOK]);
    expect(result.code, result.stderr).toBe(0);
    expect(api.callsTo("POST", /\/queues$/)).toEqual([]);
    expect(result.stderr).toMatch(/reused queue my-relay-events, reused queue my-relay-dlq/);
    expect(api.queues.size).toBe(2);
    expect(api.scripts.get("my-relay")!.secrets.get("ADMIN_TOKEN")).toBe(adminToken);
    expect(result.stderr).not.toMatch(/\(generated\)/); // kept, not generated again
    expect(JSON.parse(await readFile(join(dir, "jetstream-relay.json"), "utf8")).adminToken).toBeUndefined();
    const config = parseJsonc(await readFile(join(dir, "wrangler.jsonc"), "utf8")) as Record<string, any>;
    expect(config.vars.JETSTREAM_COLLECTIONS).toBe("app.bsky.feed.post,app.bsky.graph.*");
  });
});

describe("init refuses clearly", () => {
  test("bad settings are usage errors (exit 2) before wrangler runs", async () => {
    const dir = await emptyDir();
    api.calls.length = 0;
    const star = await init(dir, ["--yes", "--name", "r1", "--webhook-url", WEBHOOK, "--collections", "*"]);
    expect(star.code).toBe(2);
    expect(star.stderr).toMatch(/--collections: `\*` is rejected by Jetstream/);
    const noUrl = await init(dir, ["--yes", "--name", "r1"], { WEBHOOK_URL: undefined });
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toMatch(/webhook URL is needed[\s\S]*--webhook-url/);
    const badUrl = await init(dir, ["--yes", "--name", "Bad_Name", "--webhook-url", "ftp://example.com"]);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toMatch(/--name "Bad_Name"/);
    expect(badUrl.stderr).toMatch(/--webhook-url: WEBHOOK_URL must use http or https/);
    const shortToken = await init(dir, ["--yes", "--name", "r1", "--webhook-url", WEBHOOK], { ADMIN_TOKEN: "short-admin-token" });
    expect(shortToken.code).toBe(2);
    expect(shortToken.stderr).toMatch(/ADMIN_TOKEN: ADMIN_TOKEN is shorter than 32 characters/);
    expect(shortToken.stderr).not.toContain("short-admin-token");
    expect(api.calls).toEqual([]);
    expect(existsSync(join(dir, "jetstream-relay.json"))).toBe(false);
  });

  test("a rejected token exits 4 with how to fix it, and changes nothing", async () => {
    const dir = await emptyDir();
    api.calls.length = 0;
    const result = await init(dir, ["--yes", "--name", "r2", "--webhook-url", WEBHOOK], { CLOUDFLARE_API_TOKEN: "not-the-token" });
    expect(result.code, result.stderr).toBe(4);
    expect(result.stderr).toMatch(/Cloudflare refused the credentials/);
    expect(result.stderr).toMatch(/wrangler login.*CLOUDFLARE_API_TOKEN/);
    expect(existsSync(join(dir, "jetstream-relay.json"))).toBe(false);
    expect(api.calls.filter((c) => c.method !== "GET")).toEqual([]);

    // No credentials at all (no token, no `wrangler login`): the same exit code and fix.
    const none = await init(dir, ["--yes", "--name", "r2", "--webhook-url", WEBHOOK], { CLOUDFLARE_API_TOKEN: undefined, CLOUDFLARE_ACCOUNT_ID: undefined });
    expect(none.code, none.stderr).toBe(4);
    expect(none.stderr).toMatch(/not logged in to Cloudflare[\s\S]*wrangler login/);
  });

  test("credentials that reach several accounts need --account-id (exit 2, with the choices)", async () => {
    const multi = await startFakeCloudflareApi({ otherAccounts: [{ id: "fedcba9876543210fedcba9876543210", name: "Second Account" }] });
    try {
      const dir = await emptyDir();
      const result = await runCli(["init", "--yes", "--name", "r4", "--webhook-url", WEBHOOK], {
        cwd: dir,
        env: { ...(await cloudflareEnv(multi)), CLOUDFLARE_ACCOUNT_ID: undefined },
        timeoutMs: 90_000,
      });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(/reach 2 accounts[\s\S]*--account-id[\s\S]*fedcba9876543210fedcba9876543210 = Second Account/);
      expect(multi.calls.filter((c) => c.method !== "GET")).toEqual([]);
    } finally {
      await multi.close();
    }
  });

  test("an API error exits 1 and names what failed", async () => {
    const dir = await emptyDir();
    api.fail({ method: "POST", path: /\/queues$/, status: 500, code: 10013, message: "Queues are having a bad day", times: 2 });
    const result = await init(dir, ["--yes", "--name", "r3", "--webhook-url", WEBHOOK]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/creating queue r3-(events|dlq)/);
    expect(result.stderr).toMatch(/Queues are having a bad day|code: 10013/);
    // The secrets after the first are not set once a step failed.
    expect(api.scripts.get("r3")?.secrets.has("ADMIN_TOKEN") ?? false).toBe(false);
  });
});

describe("init on a terminal", () => {
  test("asks, validates answers like the relay, hides the token, shows generated secrets once", async () => {
    // A folder with a wrangler.jsonc that init did not write (a clone of this repository has one): kept.
    const dir = await emptyDir();
    const own = '{ "name": "something-else" }\n';
    await writeFile(join(dir, "wrangler.jsonc"), own);
    const session = runInPty(["init"], { cwd: dir, env: { ...env, WEBHOOK_BEARER_TOKEN: undefined } });
    try {
      await session.waitFor("Worker name");
      session.type("\x15pty-relay\r"); // Ctrl-U clears the suggested name
      await session.waitFor("Webhook URL");
      session.type("ftp://example.com/x\r");
      await session.waitFor("must use http or https");
      session.type("\x15https://hooks.example.com/pty\r");
      await session.waitFor("Collections");
      session.type("\x15*\r");
      await session.waitFor("rejected by Jetstream");
      session.type("\x15app.bsky.feed.like\r");
      await session.waitFor("Only these DIDs");
      session.type("\r");
      // Bluesky's v2 hosts are offered first; the numbered legacy hosts stay one step down.
      await session.waitFor("Jetstream endpoints");
      await session.waitFor("numbered legacy hosts");
      session.type("\x1b[B\r");
      await session.waitFor("Bearer token");
      session.type("typed-bearer-5d2e\r");
      await session.waitFor("Sign webhook requests");
      session.type("\r");
      await session.waitFor("Generate an admin token");
      session.type("\r");
      const code = await session.exited;
      const screen = session.output();
      expect(code, screen).toBe(0);
      expect(screen).not.toContain("typed-bearer-5d2e");
      const secrets = api.scripts.get("pty-relay")!.secrets;
      expect(secrets.get("WEBHOOK_BEARER_TOKEN")).toBe("typed-bearer-5d2e");
      expect(secrets.get("WEBHOOK_URL")).toBe("https://hooks.example.com/pty");
      expect(screen).toContain("shown once");
      expect(screen).toContain(secrets.get("ADMIN_TOKEN"));
      expect(screen).toContain(secrets.get("WEBHOOK_SECRET"));
      expect(await readFile(join(dir, "wrangler.jsonc"), "utf8")).toBe(own);
      expect(JSON.parse(await readFile(join(dir, "jetstream-relay.json"), "utf8")).wranglerConfig).toBe("wrangler.pty-relay.jsonc");
      const config = parseJsonc(await readFile(join(dir, "wrangler.pty-relay.jsonc"), "utf8")) as Record<string, any>;
      expect(config.vars.JETSTREAM_COLLECTIONS).toBe("app.bsky.feed.like");
      expect(screen).toContain("Bluesky's v2 hosts (recommended)");
      expect(config.vars.JETSTREAM_URL).toBe(
        "wss://jetstream1.us-east.bsky.network/subscribe,wss://jetstream2.us-east.bsky.network/subscribe,wss://jetstream1.us-west.bsky.network/subscribe,wss://jetstream2.us-west.bsky.network/subscribe",
      );
    } finally {
      session.kill();
    }
  });
});
