// `rewind` and `replay` as real subprocesses against the real worker in wrangler's local runtime, fed by
// our Jetstream-compatible server and delivering to our webhook receiver: confirmation (terminal, --yes,
// exit 2 without either), the window actually re-delivered, --watch --json until done, status, cancel,
// refusals; plus the pure reading of the times.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RelayStatus, ReplayProgress } from "../../worker/api-types.ts";
import { checkWindow, resolveTime } from "../../cli/lib/replay-window.ts";
import { startJetstreamTestServer } from "../support/jetstream-test-server.ts";
import { type LocalWorker, startLocalWorker } from "../support/local-worker.ts";
import { startWebhookReceiver } from "../support/webhook-receiver.ts";
import { ensureBundle } from "./support/bundle.ts";
import { runInPty } from "./support/pty.ts";
import { runCli } from "./support/run-cli.ts";
import { postJson } from "./support/local-relay-io.ts";
import { waitFor } from "../support/wait.ts";

const TOKEN = "cli-replay-admin-token-of-32-characters-or-more";
let jetstream: { base: string; close(): Promise<void> };
let webhook: { base: string; close(): Promise<void> };
let worker: LocalWorker;
let env: Record<string, string>;
let firstTimes: number[] = [];

const until = <T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000) => waitFor(what, probe, timeoutMs, 300);

const post = (url: string, body: unknown) => postJson(url, body, 10_000);

/** time_us of every event the webhook received, with how often. */
async function received(): Promise<Map<number, number>> {
  const res = await fetch(`${webhook.base}/_control/requests?path=/hook`, { signal: AbortSignal.timeout(10_000) });
  const { requests } = (await res.json()) as { requests: { body: string }[] };
  const counts = new Map<number, number>();
  for (const r of requests) {
    const t = (JSON.parse(r.body) as { time_us: number }).time_us;
    counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  return counts;
}

async function replayNow(): Promise<ReplayProgress | null> {
  const result = await runCli(["replay", "status", "--json"], { env });
  expect(result.code).toBe(0);
  return (JSON.parse(result.stdout) as { replay: ReplayProgress | null }).replay;
}

beforeAll(async () => {
  ensureBundle();
  jetstream = await startJetstreamTestServer();
  webhook = await startWebhookReceiver();
  worker = await startLocalWorker({
    WEBHOOK_URL: `${webhook.base}/hook`,
    JETSTREAM_URL: `${jetstream.base}/subscribe`,
    JETSTREAM_COLLECTIONS: "app.bsky.feed.post",
    ADMIN_TOKEN: TOKEN,
    JETSTREAM_ALARM_SECONDS: "1",
    JETSTREAM_REPLAY_IDLE_SECONDS: "1",
  });
  env = { JETSTREAM_RELAY_URL: worker.url, JETSTREAM_RELAY_TOKEN: TOKEN };
  await until("the relay to connect", async () => {
    const result = await runCli(["status", "--json"], { env });
    return result.code === 0 && (JSON.parse(result.stdout) as RelayStatus).connected;
  });
  // Posts of the last 40 s (the real captured ones, restamped), delivered once.
  const control = `${jetstream.base.replace("ws://", "http://")}/control/default`;
  await post(`${control}/append`, { fixtures: true, startUs: Date.now() * 1000 - 40_000_000, stepUs: 10_000 });
  const log = (await (await fetch(`${control}/log?full=1`)).json()) as { events: string[] };
  firstTimes = log.events
    .map((raw) => JSON.parse(raw) as { time_us: number; kind: string; commit?: { collection: string } })
    .filter((e) => e.kind === "commit" && e.commit?.collection === "app.bsky.feed.post")
    .map((e) => e.time_us);
  expect(firstTimes.length).toBeGreaterThan(5);
  await until("the first delivery", async () => {
    const counts = await received();
    return firstTimes.every((t) => counts.get(t) === 1);
  });
}, 180_000);

afterAll(async () => {
  await worker?.dispose();
  await Promise.all([jetstream?.close(), webhook?.close()]);
});

describe("rewind and replay commands", () => {
  it("need --yes without a terminal: exit 2, nothing replayed", async () => {
    for (const args of [["rewind", "2m"], ["replay", "--from", "2m"]]) {
      const result = await runCli(args, { env });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("needs confirmation");
      expect(result.stderr).toContain("--yes");
    }
    expect(await replayNow()).toBeNull();
  });

  it("refuse bad times before asking anything (exit 2)", async () => {
    const cases: [string[], RegExp][] = [
      [["rewind", "soon", "--yes"], /"soon" is not a duration/],
      [["replay", "--from", "25:00", "--yes"], /--from: "25:00" is not a time of day/],
      [["replay", "--from", "10m", "--to", "20m", "--yes"], /--to .* must be later than --from/],
      [["replay", "--from", "10m", "--collections", "not a collection", "--yes"], /not a collection NSID/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args, { env });
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });

  it("rewind --yes --watch --json: re-delivers the window once more and follows it until done", async () => {
    const result = await runCli(["rewind", "2m", "--yes", "--watch", "--json", "--interval", "0.3"], { env, timeoutMs: 60_000 });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n").map((line) => (JSON.parse(line) as { replay: ReplayProgress }).replay);
    expect(lines[0].state).toBe("running");
    const last = lines.at(-1)!;
    expect(last).toMatchObject({ state: "done", progress: 1, eventsReplayed: firstTimes.length, collections: ["app.bsky.feed.post"] });
    await until("the second delivery", async () => {
      const counts = await received();
      return firstTimes.every((t) => counts.get(t) === 2);
    });
    await new Promise((resolve) => setTimeout(resolve, 1500)); // anything extra would have arrived by now
    const counts = await received();
    expect([...counts.keys()].sort()).toEqual([...firstTimes].sort());
    expect([...counts.values()].every((n) => n === 2)).toBe(true);
  });

  it("replay status shows the latest replay; the human view names the window and the count", async () => {
    const result = await runCli(["replay", "status", "--no-color"], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/replay +replay-\w+ +done/);
    expect(result.stdout).toMatch(/progress +\[#+\] 100%/);
    expect(result.stdout).toContain(`${firstTimes.length} re-delivered`);
  });

  it("a window older than the server keeps is refused with the relay's reason (exit 1)", async () => {
    const result = await runCli(["rewind", "25h", "--yes"], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/409[\s\S]*older than the Jetstream server keeps events \(24 h, JETSTREAM_RETENTION_HOURS\)/);
  });

  it("replay --from/--to with --json prints the started replay; cancel when nothing runs says so", async () => {
    const from = new Date(firstTimes[0] / 1000).toISOString();
    const to = new Date(firstTimes[2] / 1000).toISOString();
    const started = await runCli(["replay", "--from", from, "--to", to, "--yes", "--json"], { env });
    expect(started.code).toBe(0);
    const replay = (JSON.parse(started.stdout) as { replay: ReplayProgress }).replay;
    expect(replay).toMatchObject({ from, to, fromUs: firstTimes[0], toUs: firstTimes[2] });
    const done = await until("the replay done", async () => ((await replayNow())?.state === "done" ? replayNow() : null));
    expect(done!.eventsReplayed).toBe(2);
    const cancel = await runCli(["replay", "cancel"], { env });
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toContain("no replay was running");
  });

  it("on a terminal it shows the window and asks; no means nothing is replayed", async () => {
    const before = await replayNow();
    const session = runInPty(["rewind", "90s"], { env });
    try {
      await session.waitFor("Re-deliver the events of this window?");
      expect(session.output()).toMatch(/from +\d{4}-\d{2}-\d{2}T[\d:.]+Z \(90s ago\)/);
      expect(session.output()).toContain("the relay's live position");
      session.type("n");
      expect(await session.exited).toBe(1);
    } finally {
      session.kill();
    }
    expect((await replayNow())?.id).toBe(before?.id);
  });
});

describe("more of the commands", () => {
  it("on a terminal, yes starts it and --watch redraws the progress in place until done (exit 0)", async () => {
    const session = runInPty(["rewind", "90s", "--watch", "--interval", "0.3"], { env });
    try {
      await session.waitFor("Re-deliver the events of this window?");
      session.type("y");
      await session.waitFor(/replay-\w+ +\S*done/, 30_000);
      expect(await session.exited).toBe(0);
      expect(session.output()).toContain("\x1b[H"); // redrawn in place
    } finally {
      session.kill();
    }
  });

  it("replay cancel stops a running replay; status --watch then ends with exit 1", async () => {
    const control = `${jetstream.base.replace("ws://", "http://")}/control/default`;
    // Its connections stall after one event (each renewal too), so it is surely still running when cancelled.
    await post(`${control}/misbehave`, { action: "stall-after", events: 1, count: 20 });
    const started = await runCli(["replay", "--from", "10m", "--yes", "--json"], { env });
    expect(started.code).toBe(0);
    const id = (JSON.parse(started.stdout) as { replay: ReplayProgress }).replay.id;
    const cancel = await runCli(["replay", "cancel", "--json"], { env });
    expect(cancel.code).toBe(0);
    expect((JSON.parse(cancel.stdout) as { replay: ReplayProgress }).replay).toMatchObject({ id, state: "cancelled" });
    await post(`${control}/misbehave`, { action: "stall-after", events: 1, count: 0 });
    const watched = await runCli(["replay", "status", "--watch"], { env });
    expect(watched.code).toBe(1);
    expect(watched.stderr).toContain(`replay ${id} cancelled`);
  });

  it.each(["rewind", "replay", "replay status", "replay cancel"])("%s --help has examples, non-interactive usage and the exit codes", async (command) => {
    const result = await runCli([...command.split(" "), "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Examples:");
    expect(result.stdout).toContain("Non-interactive usage");
    expect(result.stdout).toMatch(/Exit codes:[\s\S]*2 +usage/);
  });
});

describe("reading the times", () => {
  const now = Date.parse("2026-03-10T16:20:00Z");
  it("HH:MM is today in UTC, durations are ago, ISO without zone is UTC", () => {
    expect(resolveTime("14:00", now)).toEqual({ ms: Date.parse("2026-03-10T14:00:00Z"), reading: "today 14:00 UTC" });
    expect(resolveTime("2h", now).ms).toBe(now - 7_200_000);
    expect(resolveTime("1h30m", now).ms).toBe(now - 5_400_000);
    expect(resolveTime("2026-03-10T12:00", now).ms).toBe(Date.parse("2026-03-10T12:00:00Z"));
    expect(resolveTime("2026-03-10T12:00:00+02:00", now).ms).toBe(Date.parse("2026-03-10T10:00:00Z"));
    expect(() => resolveTime("yesterday", now)).toThrow(/not a time/);
  });
  it("a window in the future or upside down is refused before anything is sent", () => {
    expect(checkWindow({ from: resolveTime("17:00", now) }, now)).toMatch(/--from is in the future: 2026-03-10T17:00:00.000Z \(today 17:00 UTC\)/);
    expect(checkWindow({ from: resolveTime("2h", now), to: resolveTime("3h", now) }, now)).toMatch(/must be later/);
    expect(checkWindow({ from: resolveTime("2h", now), to: resolveTime("1h", now) }, now)).toBeNull();
  });
});
