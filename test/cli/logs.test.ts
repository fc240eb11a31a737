// `jetstream-relay logs` wraps the real `wrangler tail` against the fake Cloudflare API, whose tail
// WebSocket sends trace events: JSON lines when piped, readable lines on a terminal.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { JsonStreamSplitter } from "../../cli/lib/tail-format.ts";
import { cloudflareEnv } from "../support/cloudflare-env.ts";
import { type FakeCloudflareApi, startFakeCloudflareApi } from "../support/fake-cloudflare-api.ts";
import { runInPty } from "./support/pty.ts";
import { BIN, runCli } from "./support/run-cli.ts";
import { spawn } from "node:child_process";

let api: FakeCloudflareApi;
let env: Record<string, string>;

const traceEvent = (path: string, message: string) => ({
  outcome: "ok",
  scriptName: "tail-relay",
  eventTimestamp: Date.parse("2026-01-02T03:04:05.678Z"),
  event: { request: { method: "GET", url: `https://tail-relay.example.workers.dev${path}`, headers: {} }, response: { status: 200 } },
  logs: [{ level: "log", message: [message], timestamp: Date.now() }],
  exceptions: [{ name: "Error", message: "webhook answered 500", timestamp: Date.now() }],
  diagnosticsChannelEvents: [],
});

beforeAll(async () => {
  api = await startFakeCloudflareApi();
  env = await cloudflareEnv(api);
  api.scripts.set("tail-relay", { name: "tail-relay", metadata: null, modules: [], migrationTag: null, secrets: new Map(), deployments: 1, versions: 0, schedules: [], subdomainEnabled: true });
});
afterAll(async () => {
  await api?.close();
});

describe("logs", () => {
  test("piped: one JSON object per line, filters passed on; Ctrl-C ends the tail (exit 130)", async () => {
    const cwd = await mkdtemp(join(tmpdir(), "jetstream-relay-logs-"));
    const child = spawn(process.execPath, [BIN, "logs", "--name", "tail-relay", "--status", "error"], { cwd, env: { ...process.env, ...env, CI: "" }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    try {
      const events = [traceEvent("/stats", "first"), traceEvent("/health", "second with \"quotes\" and {braces}")];
      await Promise.race([api.sendTailEvent(events[0]), new Promise((_, reject) => setTimeout(() => reject(new Error(`no tail connected\n${stderr}`)), 60_000))]);
      await api.sendTailEvent(events[1]);
      const deadline = Date.now() + 30_000;
      while (stdout.split("\n").filter(Boolean).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l))).toEqual(events);
      // The filter flag reached the tail's creation.
      const created = api.callsTo("POST", /\/scripts\/tail-relay\/tails$/);
      expect(created).toHaveLength(1);
      expect(created[0].body).toContain('"exception"');
      child.kill("SIGINT");
      expect(await exited).toBe(130);
      // wrangler closed its tail session as it went.
      const deadline2 = Date.now() + 10_000;
      while (api.openTails() > 0 && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 50));
      expect(api.openTails()).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  });

  test("on a terminal: readable lines with the request, its logs and exceptions", async () => {
    const cwd = await mkdtemp(join(tmpdir(), "jetstream-relay-logs-"));
    const session = runInPty(["logs", "--name", "tail-relay"], { cwd, env });
    try {
      await session.waitFor("tailing tail-relay", 30_000);
      await api.sendTailEvent(traceEvent("/dlq", "hello from the relay"));
      const screen = await session.waitFor(/exception: Error: webhook answered 500/, 30_000);
      expect(screen).toMatch(/03:04:05\.678 {2}ok {2}GET \/dlq → 200/);
      expect(screen).toContain("log: hello from the relay");
      session.type("\x03");
      expect(await session.exited).toBe(130);
    } finally {
      session.kill();
    }
  });

  test("an unknown worker fails with wrangler's reason (exit 1); no worker name is a usage error (exit 2)", async () => {
    const cwd = await mkdtemp(join(tmpdir(), "jetstream-relay-logs-"));
    const unknown = await runCli(["logs", "--name", "no-such-relay"], { cwd, env, timeoutMs: 60_000 });
    expect(unknown.code, unknown.stderr).toBe(1);
    expect(unknown.stderr).toMatch(/tailing no-such-relay: .*(does not exist|10007)/);
    const nameless = await runCli(["logs"], { cwd, env });
    expect(nameless.code).toBe(2);
    expect(nameless.stderr).toMatch(/pass --name WORKER/);
  });
});

test("the splitter finds pretty-printed JSON values across chunk boundaries", () => {
  const splitter = new JsonStreamSplitter();
  const text = `Connected to tail\n${JSON.stringify({ a: "}{\\\"", b: [1, { c: 2 }] }, null, 2)}\n${JSON.stringify({ d: 1 }, null, 2)}\n`;
  const values: unknown[] = [];
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += 7) {
    const out = splitter.push(text.slice(i, i + 7));
    values.push(...out.values);
    lines.push(...out.text);
  }
  expect(values).toEqual([{ a: "}{\\\"", b: [1, { c: 2 }] }, { d: 1 }]);
  expect(lines).toEqual(["Connected to tail"]);
});
