// `jetstream-relay dev` end to end: the real worker in wrangler's local runtime, fed by the local playback
// of recorded Jetstream events, delivering to the built-in receiver; stopped with no process left behind.
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { startWebhookReceiver } from "../support/webhook-receiver.ts";
import { BIN, REPO_ROOT, runCli } from "./support/run-cli.ts";

const FIXTURE = join(REPO_ROOT, "test/fixtures/jetstream/jetstream-v2-corpus-expected_v1.jsonl");

interface DevProcess {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  waitFor(pattern: RegExp, timeoutMs?: number, stream?: "stdout" | "stderr"): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startDev(args: string[], cwd: string, extraEnv: Record<string, string> = {}): DevProcess {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("JETSTREAM_RELAY_") && !["CI", "WEBHOOK_URL", "JETSTREAM_URL", "JETSTREAM_COLLECTIONS"].includes(key)) env[key] = value;
  }
  env.JETSTREAM_RELAY_FROM_SOURCE = "1";
  Object.assign(env, extraEnv);
  const child = spawn(process.execPath, [BIN, "dev", ...args], { cwd, env, stdio: ["pipe", "pipe", "pipe"] });
  const text = { stdout: "", stderr: "" };
  child.stdout.setEncoding("utf8").on("data", (c: string) => (text.stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (text.stderr += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
  return {
    child,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    exited,
    async waitFor(pattern, timeoutMs = 90_000, stream = "stdout") {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const match = text[stream].match(pattern);
        if (match) return match;
        if (child.exitCode !== null) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`dev did not print ${pattern} on ${stream}\nstdout:\n${text.stdout}\nstderr:\n${text.stderr}`);
    },
  };
}

/** The pids of a process and all its descendants (wrangler runs in its own process group below it). */
function processTree(root: number): number[] {
  const rows = execFileSync("ps", ["-eo", "pid=,ppid="], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/).map(Number));
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const [pid, ppid] of rows) if (ppid === tree[i]) tree.push(pid);
  return tree;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function stopAndCheck(dev: DevProcess, signal: NodeJS.Signals): Promise<{ code: number | null }> {
  const tree = processTree(dev.child.pid!);
  expect(tree.length).toBeGreaterThan(3); // node, wrangler, its node, workerd
  dev.child.kill(signal);
  const result = await Promise.race([dev.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`dev did not exit after ${signal}`)), 30_000))]);
  // Nothing it started outlives it (bounded wait: workerd may take a moment after its parent).
  const deadline = Date.now() + 10_000;
  while (tree.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  expect(tree.filter(alive)).toEqual([]);
  return result;
}

describe("dev", () => {
  test("plays recorded events through the local worker to the built-in receiver, then stops cleanly on Ctrl-C", async () => {
    const cwd = await mkdtemp(join(tmpdir(), "jetstream-relay-dev-"));
    const posts = (await readFile(FIXTURE, "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .filter((e) => e.kind === "commit" && e.commit.collection === "app.bsky.feed.post");
    expect(posts.length).toBeGreaterThan(5);

    const dev = startDev(["--playback", FIXTURE, "--rate", "0", "--port", "0", "--collections", "app.bsky.feed.post"], cwd);
    try {
      const [, url] = await dev.waitFor(/^ready: (http:\/\/127\.0\.0\.1:\d+)$/m);
      expect(dev.stdout()).toContain(`dashboard: ${url}/stats/html`);
      expect(dev.stderr()).toMatch(/built-in webhook receiver at http:\/\/127\.0\.0\.1:\d+\/webhook/);

      // Every post of the file arrives at the built-in receiver, and nothing else (the filter holds).
      await dev.waitFor(new RegExp(`(^webhook: .*\\n){${posts.length}}`, "m"), 90_000);
      const lines = dev.stdout().split("\n").filter((l) => l.startsWith("webhook: "));
      expect(lines).toHaveLength(posts.length);
      for (const post of posts) expect(lines.some((l) => l.includes(`app.bsky.feed.post/${post.commit.rkey}`) && l.includes(post.did))).toBe(true);
      expect(lines.every((l) => /webhook-id \S+/.test(l))).toBe(true);
      await dev.waitFor(/relay: connected to ws:\/\/127\.0\.0\.1:\d+\/xrpc\/network\.bsky\.jetstream\.subscribeEvents \(v2 wire\)/, 10_000, "stderr");

      const { code } = await stopAndCheck(dev, "SIGINT");
      expect(code).toBe(130);
    } finally {
      dev.child.kill("SIGKILL");
    }
  });

  test("with no network it still comes up, shows the relay reconnecting, and stops on SIGTERM", async () => {
    const cwd = await mkdtemp(join(tmpdir(), "jetstream-relay-dev-"));
    const dev = startDev(["--port", "0", "--inspector-port", "none"], cwd);
    try {
      await dev.waitFor(/^ready: http:\/\/127\.0\.0\.1:\d+$/m);
      expect(dev.stdout()).toMatch(/^dashboard: http:\/\/127\.0\.0\.1:\d+\/stats\/html$/m);
      // Bluesky's v2 hosts by default; unreachable here: the relay says so and keeps trying.
      expect(dev.stderr()).toContain("jetstream: Bluesky's v2 hosts (wss://jetstream.us-east.bsky.network/xrpc/network.bsky.jetstream.subscribeEvents, wss://jetstream.us-west.bsky.network/xrpc/network.bsky.jetstream.subscribeEvents), the default");
      await dev.waitFor(/relay: (connecting|backoff|disconnected)[^\n]*(jetstream\.us-(east|west)\.bsky\.network\/xrpc\/network\.bsky\.jetstream\.subscribeEvents|last error)/, 30_000, "stderr");
      const { code } = await stopAndCheck(dev, "SIGTERM");
      expect(code).toBe(143);
    } finally {
      dev.child.kill("SIGKILL");
    }
  });

  test("--webhook-url delivers there (no built-in receiver), with variables from .dev.vars and the environment", async () => {
    const cwd = await mkdtemp(join(tmpdir(), "jetstream-relay-dev-"));
    const hook = await startWebhookReceiver();
    // .dev.vars sets the bearer token and a signing secret; the environment overrides the secret.
    await writeFile(join(cwd, ".dev.vars"), 'WEBHOOK_BEARER_TOKEN="from-dev-vars"\nWEBHOOK_SECRET=whsec_ZnJvbS1kZXYtdmFycy1maWxl\n');
    const dev = startDev(["--playback", FIXTURE, "--rate", "0", "--port", "0", "--collections", "app.bsky.feed.repost", "--webhook-url", `${hook.base}/jetstream`], cwd, {
      WEBHOOK_SECRET: "whsec_ZnJvbS10aGUtZW52aXJvbm1lbnQ=",
    });
    try {
      await dev.waitFor(/^ready: /m);
      expect(dev.stderr()).not.toMatch(/built-in webhook receiver/);
      const deadline = Date.now() + 60_000;
      let requests: { headers: Record<string, string>; body: string }[] = [];
      while (Date.now() < deadline) {
        requests = ((await (await fetch(`${hook.base}/_control/requests?path=/jetstream`)).json()) as { requests: typeof requests }).requests;
        if (requests.length >= 15) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(requests).toHaveLength(15); // the file's reposts
      expect(requests.every((r) => r.headers.authorization === "Bearer from-dev-vars")).toBe(true);
      const { Webhook } = await import("standardwebhooks");
      const verifier = new Webhook("whsec_ZnJvbS10aGUtZW52aXJvbm1lbnQ=");
      expect(() => verifier.verify(requests[0].body, requests[0].headers)).not.toThrow();
      expect(dev.stdout()).not.toMatch(/^webhook: /m);
      await stopAndCheck(dev, "SIGINT");
    } finally {
      dev.child.kill("SIGKILL");
      await hook.close();
    }
  });

  test("refuses contradicting or invalid flags before starting anything (exit 2)", async () => {
    const both = await runCli(["dev", "--playback", FIXTURE, "--demo"], { env: { JETSTREAM_RELAY_FROM_SOURCE: "1" } });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/pick one/);
    const star = await runCli(["dev", "--collections", "*"], { env: { JETSTREAM_RELAY_FROM_SOURCE: "1" } });
    expect(star.code).toBe(2);
    expect(star.stderr).toMatch(/JETSTREAM_COLLECTIONS: `\*` is rejected by Jetstream/);
    // A replay variable would only turn replays off in the running relay; dev refuses it up front.
    const retention = await runCli(["dev", "--collections", "app.bsky.feed.post"], { env: { JETSTREAM_RELAY_FROM_SOURCE: "1", JETSTREAM_RETENTION_HOURS: "a day" } });
    expect(retention.code).toBe(2);
    expect(retention.stderr).toMatch(/JETSTREAM_RETENTION_HOURS: JETSTREAM_RETENTION_HOURS is "a day", not a number from 0\.001 to 720/);
  });
});
