import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RelayStats } from "../../worker/api-types.ts";
import { ensureBundle } from "./support/bundle.ts";
import {
  type FakeRelay,
  healthyReport,
  sampleDeadLetters,
  sampleExactGap,
  sampleStats,
  sampleStatus,
  sampleV2Stats,
  sampleV2Status,
  startFakeRelay,
  unhealthyReport,
} from "./support/fake-relay.ts";
import { BIN, REPO_ROOT, runCli } from "./support/run-cli.ts";

// The operate commands as real subprocesses (pipes: no terminal) against a local server answering like a relay.

const TOKEN = "admin-token-for-tests";
let relay: FakeRelay;
let env: Record<string, string>;

beforeAll(async () => {
  ensureBundle();
  relay = await startFakeRelay({
    "GET /stats": { json: sampleStats() },
    "GET /status": { json: sampleStatus() },
    "GET /health": { json: healthyReport() },
  });
  env = { JETSTREAM_RELAY_URL: relay.url, JETSTREAM_RELAY_TOKEN: TOKEN };
});
afterAll(() => relay.close());
afterEach(() => {
  relay.requests.length = 0;
});

// No server involved: these run side by side.
describe.concurrent("--version and --help", () => {
  it("--version prints the package version", async () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
    const result = await runCli(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });

  it("runs from the TypeScript sources (tsx) when the bundle is not used, as on a fresh clone", async () => {
    const result = await runCli(["status", "--json"], { env: { ...env, JETSTREAM_RELAY_FROM_SOURCE: "1" } });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).state).toBe("connected");
  });

  it.each(["stats", "status", "health", "reset", "reconnect", "webhook resume", "dlq list", "dlq show", "dlq replay", "dlq purge", "gaps list", "gaps ack"])(
    "%s --help has examples, non-interactive usage and the exit codes",
    async (command) => {
      const result = await runCli([...command.split(" "), "--help"]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("Examples:");
      expect(result.stdout).toContain("Non-interactive usage");
      expect(result.stdout).toMatch(/Exit codes:[\s\S]*4 +the relay refused the admin token[\s\S]*130 +interrupted/);
      expect(result.stdout).toContain("JETSTREAM_RELAY_TOKEN");
    },
  );

  it("the top-level help lists the operate commands and the exit codes", async () => {
    const result = await runCli(["--help"]);
    expect(result.code).toBe(0);
    for (const name of ["stats", "status", "health", "reset", "reconnect", "webhook", "dlq", "gaps"]) expect(result.stdout).toMatch(new RegExp(`\\n  ${name} `));
    expect(result.stdout).toContain("Exit codes:");
  });
});

describe("stats", () => {
  it("piped: one JSON document, the relay's answer, and nothing on stderr", async () => {
    const result = await runCli(["stats"], { env });
    expect(result.code).toBe(0);
    const stats = JSON.parse(result.stdout) as RelayStats;
    expect(stats.totalReceived).toBe(5000);
    expect(stats.eventCounts["app.bsky.feed.like"]).toBe(3400);
    expect(result.stderr).toBe("");
  });

  it("--no-json: the readable table with totals, rates, lag, delivery and per-collection counts, no colour when piped", async () => {
    const result = await runCli(["stats", "--no-json"], { env });
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).not.toContain("\x1b[");
    expect(out).toMatch(/received +5,000/);
    expect(out).toMatch(/forwarded +4,656 .*48\.3\/s/);
    expect(out).toMatch(/lag +1\.5s behind real time/);
    expect(out).toMatch(/kinds +commit 4,990 · identity 6 · account 4/);
    expect(out).toContain("delivered 4,600 · retried 12 · failed 1 · dead-lettered 3");
    expect(out).toMatch(/dead letters +3 kept/);
    expect(out).toMatch(/last error +webhook answered 503/);
    expect(out).toMatch(/app\.bsky\.feed\.like +3,400 +73\.0%/);
    expect(out).toMatch(/app\.bsky\.graph\.follow +56/);
  });

  it("--no-json on v2: the position's seq on its instance with the wire, and the exact gaps counted", async () => {
    relay.set({ "GET /stats": { json: sampleV2Stats({ gapsDetected: 1, gaps: [sampleExactGap()] }) } });
    const result = await runCli(["stats", "--no-json"], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/position +seq 12,345 on jetstream\.us-east\.bsky\.network \(v2\) · \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \([\d.]+m?s ago\)/);
    expect(result.stdout).toMatch(/gaps +1 detected \(1 exact\) · 1 not acknowledged/);
    relay.set({ "GET /stats": { json: sampleStats() } });
    const plain = await runCli(["stats", "--no-json"], { env });
    expect(plain.stdout).toMatch(/position +\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \([\d.]+m?s ago\) on jetstream1\.us-east\.bsky\.network \(legacy\)\n/);
    expect(plain.stdout).not.toContain("seq ");
  });

  it("--watch --no-json on v2: every frame has the position's seq", async () => {
    let polls = 0;
    relay.set({ "GET /stats": () => ({ json: sampleV2Stats({ position: { ...sampleV2Stats().position!, seq: 12_345 + 100 * polls++ } }) }) });
    const result = await runCli(["stats", "--watch", "--no-json", "--interval", "0.2", "--count", "2"], { env });
    expect(result.code).toBe(0);
    expect(result.stdout.match(/position +seq 12,345 on jetstream\.us-east\.bsky\.network \(v2\)/g)).toHaveLength(1);
    expect(result.stdout.match(/position +seq 12,445 on jetstream\.us-east\.bsky\.network \(v2\)/g)).toHaveLength(1);
    relay.set({ "GET /stats": { json: sampleStats() } });
  });

  it("--watch --json: one JSON line per poll; a failed poll is reported on stderr and polling goes on", async () => {
    let polls = 0;
    relay.set({
      "GET /stats": () => {
        polls++;
        if (polls === 2) return { status: 503, json: { error: "The relay object failed to give its statistics: overloaded" } };
        return { json: sampleStats({ totalReceived: 5000 + polls * 10 }) };
      },
    });
    const result = await runCli(["stats", "--watch", "--json", "--interval", "0.2", "--count", "4"], { env });
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines.map((line) => (JSON.parse(line) as RelayStats).totalReceived)).toEqual([5010, 5030, 5040]);
    expect(result.stderr).toContain("poll failed");
    expect(result.stderr).toContain("overloaded");
    relay.set({ "GET /stats": { json: sampleStats() } });
  });

  it("--watch --count: exit 1 when the last poll failed", async () => {
    relay.set({ "GET /stats": { status: 500, json: { error: "boom" } } });
    const result = await runCli(["stats", "--watch", "--interval", "0.1", "--count", "2"], { env });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr.match(/poll failed/g)).toHaveLength(2);
    relay.set({ "GET /stats": { json: sampleStats() } });
  });

  it("--watch without a terminal and --no-json prints successive plain frames with rates between polls", async () => {
    let polls = 0;
    relay.set({ "GET /stats": () => ({ json: sampleStats({ totalReceived: 5000 + 100 * polls++ }) }) });
    const result = await runCli(["stats", "--watch", "--no-json", "--interval", "0.3", "--count", "2"], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("\x1b[");
    expect(result.stdout.match(/jetstream-relay stats ·/g)).toHaveLength(2);
    expect(result.stdout).toMatch(/\/s \(last [\d.]+m?s\)/);
    relay.set({ "GET /stats": { json: sampleStats() } });
  });
});

describe("piped into a reader that stops early (| head)", () => {
  it("stats --watch --json ends quietly when its stdout closes", async () => {
    const child = spawn(process.execPath, [BIN, "stats", "--watch", "--json", "--interval", "0.1"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const firstLine = await new Promise<string>((resolve) => {
      let text = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        text += chunk;
        if (text.includes("\n")) resolve(text.split("\n")[0]);
      });
    });
    expect(JSON.parse(firstLine).totalReceived).toBe(5000);
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      child.on("close", (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    expect(code).toBe(0);
    expect(stderr).not.toContain("EPIPE");
  });
});

describe("status", () => {
  it("piped: JSON; --no-json: state, endpoint, configuration and its problems", async () => {
    relay.set({
      "GET /status": {
        json: sampleStatus({
          state: "config-error",
          connected: false,
          configErrors: [{ variable: "JETSTREAM_COLLECTIONS", message: "\"*\" is rejected by Jetstream.", fix: "List NSIDs or prefixes, or leave it empty for all." }],
        }),
      },
    });
    const json = await runCli(["status"], { env });
    expect(JSON.parse(json.stdout).state).toBe("config-error");
    const text = await runCli(["status", "--no-json"], { env });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("not connecting: configuration error");
    expect(text.stdout).toContain("JETSTREAM_COLLECTIONS: \"*\" is rejected by Jetstream.");
    expect(text.stdout).toContain("fix: List NSIDs");
    expect(text.stdout).toMatch(/webhook +https:\/\/example\.com \(fingerprint 5c1a0f3e\)/);
    relay.set({ "GET /status": { json: sampleStatus() } });
  });

  it("shows configuration warnings (a replay variable) under the connected state", async () => {
    const warning = { variable: "JETSTREAM_RETENTION_HOURS", message: 'JETSTREAM_RETENTION_HOURS is "a day", not a number.', fix: "Set JETSTREAM_RETENTION_HOURS to a number." };
    relay.set({ "GET /status": { json: sampleStatus({ configWarnings: [warning] }) } });
    const text = await runCli(["status", "--no-json"], { env });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("configuration warnings (1)");
    expect(text.stdout).toContain('JETSTREAM_RETENTION_HOURS: JETSTREAM_RETENTION_HOURS is "a day", not a number.');
    expect(text.stdout).toContain("fix: Set JETSTREAM_RETENTION_HOURS to a number.");
    relay.set({ "GET /status": { json: sampleStatus() } });
  });

  it("on v2: the wire, the position's seq and ConsumerTooSlow; --json carries them", async () => {
    relay.set({ "GET /status": { json: sampleV2Status() } });
    const text = await runCli(["status", "--no-json"], { env });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/endpoint +wss:\/\/jetstream\.us-east\.bsky\.network\/xrpc\/network\.bsky\.jetstream\.subscribeEvents · v2 wire/);
    expect(text.stdout).toMatch(/position +seq 12,345 on jetstream\.us-east\.bsky\.network \(v2\) · \d{4}-/);
    expect(text.stdout).toMatch(/too slow +ConsumerTooSlow 2 times \(the server closed: the relay read too slowly; it resumed from its position\)/);
    const json = JSON.parse((await runCli(["status", "--json"], { env })).stdout);
    expect([json.wire, json.position.seq, json.consumerTooSlow]).toEqual(["v2", 12_345, 2]);

    relay.set({ "GET /status": { json: sampleStatus() } });
    const legacy = await runCli(["status", "--no-json"], { env });
    expect(legacy.stdout).toMatch(/endpoint +wss:\/\/jetstream1\.us-east\.bsky\.network\/subscribe · legacy wire/);
    expect(legacy.stdout).toMatch(/position +\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \([\d.]+m?s ago\) on jetstream1\.us-east\.bsky\.network \(legacy\)/);
    expect(legacy.stdout).not.toContain("too slow"); // none counted: not shown
  });

  it("--watch --json --count 2: two JSON lines", async () => {
    const result = await runCli(["status", "--watch", "--json", "--interval", "0.1", "--count", "2"], { env });
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split("\n").map((line) => JSON.parse(line).state)).toEqual(["connected", "connected"]);
  });
});

describe("health", () => {
  it("healthy: exit 0", async () => {
    const result = await runCli(["health"], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^healthy/);
  });

  it("unhealthy (503): exit 3 with the reasons; --json prints the report", async () => {
    relay.set({ "GET /health": { status: 503, json: unhealthyReport() } });
    const text = await runCli(["health"], { env });
    expect(text.code).toBe(3);
    expect(text.stdout).toContain("unhealthy");
    expect(text.stdout).toContain("disconnected: Not connected to Jetstream for 95 s");
    expect(text.stdout).toContain("gap: Events between");
    expect(text.stdout).toContain("jetstream-relay gaps ack");

    const json = await runCli(["health", "--json"], { env });
    expect(json.code).toBe(3);
    const report = JSON.parse(json.stdout);
    expect(report.healthy).toBe(false);
    expect(report.reasons.map((r: { code: string }) => r.code)).toEqual(["disconnected", "gap"]);
    relay.set({ "GET /health": { json: healthyReport() } });
  });

  it("unhealthy: each reason gets one line of what to do and its runbook entry", async () => {
    relay.set({ "GET /health": { status: 503, json: unhealthyReport() } });
    const text = await runCli(["health"], { env });
    expect(text.code).toBe(3);
    const lines = text.stdout.split("\n");
    const after = (code: string) => lines[lines.findIndex((line) => line.includes(`${code}: `)) + 1];
    expect(after("disconnected")).toMatch(/^ {4}fix: .*jetstream-relay reconnect · more: docs\/runbook\.md#reason-disconnected$/);
    expect(after("gap")).toMatch(/^ {4}fix: .*jetstream-relay gaps ack · more: docs\/runbook\.md#reason-gap$/);
    relay.set({ "GET /health": { json: healthyReport() } });
  });

  it("--wait polls until the relay is healthy", async () => {
    let checks = 0;
    relay.set({ "GET /health": () => (++checks < 2 ? { status: 503, json: unhealthyReport() } : { json: healthyReport() }) });
    const result = await runCli(["health", "--wait", "20"], { env });
    expect(result.code).toBe(0);
    expect(checks).toBe(2);
    relay.set({ "GET /health": { json: healthyReport() } });
  });
});

describe("control commands", () => {
  it("reset without a terminal and without --yes: exit 2, nothing sent", async () => {
    const result = await runCli(["reset"], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("needs confirmation");
    expect(result.stderr).toContain("--yes");
    expect(relay.requests).toHaveLength(0);
  });

  it("reset --yes: POST /reset with the token; the cursor is said to be unchanged", async () => {
    relay.set({ "POST /reset": { json: { resetAt: new Date().toISOString() } } });
    const result = await runCli(["reset", "--yes"], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("statistics reset");
    expect(result.stdout).toContain("cursor is unchanged");
    const posts = relay.requests.filter((r) => r.method === "POST");
    expect(posts.map((r) => [r.path, r.authorization])).toEqual([["/reset", `Bearer ${TOKEN}`]]);
  });

  it("reconnect: POST /reconnect, --json prints the status", async () => {
    relay.set({ "POST /reconnect": { json: sampleStatus({ state: "connecting", connected: false }) } });
    const result = await runCli(["reconnect", "--json"], { env });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).state).toBe("connecting");
    expect(relay.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /reconnect"]);
  });

  it("gaps on v2: an exact gap with its seqs and the server's words, beside an inferred one", async () => {
    const exact = sampleExactGap();
    const inferred = { fromUs: 1_700_000_000_000_000, from: "2023-11-14T22:13:20.000Z", toUs: 1_700_003_600_000_000, to: "2023-11-14T23:13:20.000Z", detectedAt: new Date().toISOString(), endpoint: "wss://j/subscribe", acknowledged: true };
    relay.set({ "GET /stats": { json: sampleV2Stats({ gapsDetected: 2, gaps: [exact, inferred] }) } });
    const list = await runCli(["gaps", "--no-json"], { env });
    expect(list.code).toBe(0);
    const [header, first, second] = list.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^from +to +missing +seqs +detected +endpoint +acknowledged +known$/);
    expect(first).toMatch(/^2023-11-14T22:13:20\.000Z +2023-11-14T22:13:24\.000Z +4\.0s +100,000 → 102,500 .* no +exact: CursorTooOld: cursor 100000 is below the floor seq 102500$/);
    expect(second).toMatch(/ 1h00m +— .* yes +inferred \(legacy wire: first event much later than the cursor\)$/);
    expect(JSON.parse((await runCli(["gaps"], { env })).stdout)).toEqual([exact, inferred]);
    relay.set({ "GET /stats": { json: sampleStats() } });
  });

  it("gaps lists the gaps; gaps ack acknowledges them", async () => {
    const gap = { fromUs: 1_700_000_000_000_000, from: "2023-11-14T22:13:20.000Z", toUs: 1_700_003_600_000_000, to: "2023-11-14T23:13:20.000Z", detectedAt: new Date().toISOString(), endpoint: "wss://j/subscribe", acknowledged: false };
    relay.set({ "GET /stats": { json: sampleStats({ gapsDetected: 1, gaps: [gap] }) }, "POST /gaps/ack": { json: { acknowledged: 1 } } });
    const list = await runCli(["gaps", "--no-json"], { env });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain("2023-11-14T22:13:20.000Z");
    expect(list.stdout).toMatch(/1h00m/);
    const listJson = await runCli(["gaps"], { env });
    expect(JSON.parse(listJson.stdout)).toEqual([gap]);
    const ack = await runCli(["gaps", "ack"], { env });
    expect(ack.code).toBe(0);
    expect(ack.stdout).toContain("1 gap acknowledged");
    relay.set({ "GET /stats": { json: sampleStats() } });
  });
});

describe("dlq", () => {
  it("list: the page as JSON when piped, a table with --no-json; the paging is passed on", async () => {
    relay.set({ "GET /dlq": { json: { total: 120, events: sampleDeadLetters(2), nextOffset: 12, evicted: 0 } } });
    const json = await runCli(["dlq", "list", "--offset", "10", "--limit", "2"], { env });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).events.map((e: { id: string }) => e.id)).toEqual(["msg_0000", "msg_0001"]);
    expect(relay.requests[0].path).toBe("/dlq?offset=10&limit=2");
    expect(relay.requests[0].authorization).toBe(`Bearer ${TOKEN}`);

    const text = await runCli(["dlq", "--no-json", "--offset", "10", "--limit", "2"], { env });
    expect(text.stdout).toMatch(/msg_0000 .* commit app\.bsky\.feed\.post create did:plc:user0 +webhook answered 410 Gone/);
    expect(text.stdout).toContain("showing 11–12 of 120 · next page: --offset 12");
  });

  it("list --all follows the pages", async () => {
    const all = sampleDeadLetters(5);
    relay.set({
      "GET /dlq": (req) => {
        const offset = Number(new URL(req.path, "http://x").searchParams.get("offset"));
        const events = all.slice(offset, offset + 2);
        return { json: { total: 5, events, nextOffset: offset + 2 < 5 ? offset + 2 : null, evicted: 0 } };
      },
    });
    const result = await runCli(["dlq", "list", "--all", "--json"], { env });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).events.map((e: { id: string }) => e.id)).toEqual(all.map((e) => e.id));
  });

  it("show: one dead letter in full, found across pages; an unknown id is exit 1", async () => {
    const all = sampleDeadLetters(3);
    relay.set({
      "GET /dlq": (req) => {
        const offset = Number(new URL(req.path, "http://x").searchParams.get("offset"));
        return { json: { total: 3, events: all.slice(offset, offset + 2), nextOffset: offset + 2 < 3 ? offset + 2 : null, evicted: 0 } };
      },
    });
    const json = await runCli(["dlq", "show", "msg_0002", "--json"], { env });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(all[2]);
    const text = await runCli(["dlq", "show", "msg_0002"], { env });
    expect(text.stdout).toMatch(/error +webhook answered 410 Gone/);
    expect(text.stdout).toContain('"did": "did:plc:user2"');
    const missing = await runCli(["dlq", "show", "nope"], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no dead letter with id "nope"');
  });

  it("replay ids / --all start a job with an id of the CLI's and follow it; purge ids send the selection", async () => {
    const job = (id: string, state: string, sent: number) => ({ id, state, selection: "all", total: 2, sent, skipped: 0, progress: sent / 2, startedAt: "2026-07-04T12:00:00.000Z", updatedAt: "2026-07-04T12:00:01.000Z", finishedAt: null, error: null });
    let polls = 0;
    relay.set({
      "POST /dlq/replay": (req) => ({ status: 202, json: { attached: false, job: job(JSON.parse(req.body).job, "running", 0) } }),
      "GET /dlq/replay/job-1": () => ({ json: { attached: true, job: job("job-1", ++polls < 2 ? "running" : "done", polls < 2 ? 1 : 2) } }),
      "POST /dlq/purge": { json: { purged: 1 } },
    });
    const detached = await runCli(["dlq", "replay", "a", "b", "a", "--detach", "--json"], { env });
    expect(detached.code).toBe(0);
    expect(JSON.parse(detached.stdout).job.state).toBe("running");
    const attached = await runCli(["dlq", "replay", "--attach", "job-1", "--interval", "0.05"], { env });
    expect(attached.code).toBe(0);
    expect(attached.stdout).toMatch(/job job-1 \(all\): running · 1 of 2 sent/);
    expect(attached.stdout).toMatch(/job job-1 \(all\): done · 2 of 2 sent/);
    expect(attached.stdout).toContain("2 dead letters queued for delivery");
    const purge = await runCli(["dlq", "purge", "c"], { env });
    expect(purge.stdout).toContain("1 dead letter deleted");
    const posted = relay.requests.filter((r) => r.method === "POST").map((r) => [r.path, JSON.parse(r.body)]);
    expect(posted).toEqual([
      ["/dlq/replay", { ids: ["a", "b"], job: expect.stringMatching(/^[0-9a-f-]{36}$/) }],
      ["/dlq/purge", { ids: ["c"] }],
    ]);
    const both = await runCli(["dlq", "replay", "--all", "--attach"], { env });
    expect(both.code).toBe(2);
  });

  it("replay: a failed job is exit 1 and names how to resume it", async () => {
    relay.set({
      "POST /dlq/replay": {
        status: 202,
        json: { attached: false, job: { id: "job-f", state: "failed", selection: "all", total: 3, sent: 1, skipped: 0, progress: 0.33, startedAt: "2026-07-04T12:00:00.000Z", updatedAt: "2026-07-04T12:00:00.000Z", finishedAt: "2026-07-04T12:00:00.000Z", error: "the queue refused the next events" } },
      },
    });
    const failed = await runCli(["dlq", "replay", "--all", "--json"], { env });
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout).job.state).toBe("failed");
    expect(failed.stderr).toContain("the queue refused the next events");
    expect(failed.stderr).toContain("jetstream-relay dlq replay --resume job-f");
  });

  it("purge --all without a terminal needs --yes (exit 2, nothing sent); with --yes it purges", async () => {
    relay.set({ "POST /dlq/purge": { json: { purged: 7 } } });
    const refused = await runCli(["dlq", "purge", "--all"], { env });
    expect(refused.code).toBe(2);
    expect(relay.requests).toHaveLength(0);
    const done = await runCli(["dlq", "purge", "--all", "--yes"], { env });
    expect(done.code).toBe(0);
    expect(done.stdout).toContain("7 dead letters deleted");
    expect(JSON.parse(relay.requests[0].body)).toEqual({ all: true });
  });
});
