// `jetstream-relay playback`: a file of recorded events served as a Jetstream /subscribe endpoint, checked
// with a real WebSocket client (filters, inclusive cursor, live time stamps, refusals, clean stop).
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import { startPlayback, withTimeUs } from "../../cli/lib/playback.ts";
import { BIN, REPO_ROOT, runCli } from "./support/run-cli.ts";

const FIXTURE = join(REPO_ROOT, "test/fixtures/jetstream/jetstream-v2-corpus-expected_v1.jsonl");
const lines = async () => (await readFile(FIXTURE, "utf8")).split("\n").filter((l) => l.trim());

/** Connects, collects frames until `count` arrived (or the time is up), closes. */
async function collect(url: string, count: number, timeoutMs = 15_000): Promise<string[]> {
  const ws = new WebSocket(url);
  const frames: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      resolve(frames);
    }, timeoutMs);
    ws.on("message", (data) => {
      frames.push(data.toString());
      if (frames.length >= count) {
        clearTimeout(timer);
        ws.close();
        resolve(frames);
      }
    });
    ws.on("unexpected-response", (_req, res) => {
      clearTimeout(timer);
      let body = "";
      res.on("data", (c: Buffer) => (body += c));
      res.on("end", () => reject(new Error(`HTTP ${res.statusCode}: ${body.trim()}`)));
    });
    ws.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

const strip = (line: string) => line.replace(/"time_us"\s*:\s*\d+/, '"time_us":0');

describe("playback command", () => {
  let child: ChildProcessWithoutNullStreams | null = null;
  afterAll(() => child?.kill("SIGKILL"));

  test("serves the file live to a filtered subscriber, replays inclusively from a cursor, stops on Ctrl-C", async () => {
    const recorded = await lines();
    // Identity and account events reach every subscriber, whatever its wantedCollections (as on Jetstream).
    const posts = recorded.filter((l) => {
      const e = JSON.parse(l);
      return e.commit?.collection === "app.bsky.feed.post" || e.kind === "identity" || e.kind === "account";
    });
    child = spawn(process.execPath, [BIN, "playback", FIXTURE, "--port", "0", "--rate", "0"], { env: { ...process.env, JETSTREAM_RELAY_FROM_SOURCE: "1" }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    const exited = new Promise<number | null>((resolve) => child!.on("close", (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while (!/ready: ws:\/\//.test(stdout) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const url = /ready: (ws:\/\/\S+)/.exec(stdout)![1];

    const started = Date.now() * 1000;
    const frames = await collect(`${url}?wantedCollections=app.bsky.feed.post`, posts.length);
    expect(frames.map(strip)).toEqual(posts.map(strip)); // the same events, byte for byte apart from time_us
    const times = frames.map((f) => JSON.parse(f).time_us as number);
    expect(times[0]).toBeGreaterThanOrEqual(started); // stamped as if live
    expect([...times].sort((a, b) => a - b)).toEqual(times);

    // Inclusive cursor: replay starts with the event at the cursor itself.
    const replay = await collect(`${url}?wantedCollections=app.bsky.feed.post&cursor=${times[4]}`, posts.length - 4);
    expect(replay).toEqual(frames.slice(4));

    // What the real server refuses, it refuses.
    await expect(collect(`${url}?wantedCollections=*`, 1)).rejects.toThrow(/HTTP 400/);

    child.kill("SIGINT");
    expect(await exited).toBe(130);
  });

  test("usage errors: no file, a missing file, a bad rate (exit 2)", async () => {
    const env = { JETSTREAM_RELAY_FROM_SOURCE: "1" };
    expect((await runCli(["playback"], { env })).code).toBe(2);
    const missing = await runCli(["playback", "/nonexistent/events.jsonl"], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read \/nonexistent\/events.jsonl: ENOENT/);
    expect((await runCli(["playback", FIXTURE, "--rate", "-1"], { env })).code).toBe(2);
  });
});

describe("playback core", () => {
  test("--keep-times serves the recorded lines unchanged, at the given rate, once a client connects", async () => {
    const recorded = (await lines()).slice(0, 12);
    const playback = await startPlayback({ events: recorded, rate: 200, loop: false, keepTimes: true });
    try {
      await new Promise((r) => setTimeout(r, 200));
      expect(playback.played()).toBe(0); // nothing is played before the first client
      const frames = await collect(playback.url, recorded.length);
      expect(frames).toEqual(recorded);
      await playback.finished;
    } finally {
      await playback.close();
    }
  });

  test("withTimeUs changes only the top-level time_us", () => {
    const line = '{"did":"did:plc:x","time_us":1725911162329308,"kind":"commit","commit":{"record":{"text":"time_us 1725911162329308"}}}';
    expect(withTimeUs(line, 42)).toBe(line.replace('"time_us":1725911162329308', '"time_us":42'));
  });
});
