/**
 * The project's Jetstream-compatible server on the v2 wire (`/NAME/xrpc/network.bsky.jetstream.subscribeEvents`),
 * through the test server's control routes, with a real `ws` client on 127.0.0.1: frames, per-instance
 * seq spaces, seq and timestamp cursors (CursorTooOld, OutdatedCursor), kinds/collections filters and the
 * 400s, server-push only, ConsumerTooSlow, refusals, the legacy wire's optional cursor field.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { start } from "../../cli/lib/jetstream-replay.ts";
import { v2MessageFrame } from "../../cli/lib/jetstream-v2-frames.ts";
import { startPlayback } from "../../cli/lib/playback.ts";
import { fixtureEvents, restamp, startJetstreamTestServer } from "../support/jetstream-test-server.ts";

const V2 = "xrpc/network.bsky.jetstream.subscribeEvents";
let server: { base: string; close(): Promise<void> };
let http: string;
beforeAll(async () => {
  server = await startJetstreamTestServer();
  http = server.base.replace(/^ws:/, "http:");
});
afterAll(() => server.close());

async function control<T = any>(instance: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${http}/control/${instance}/${route}`, { method: body === undefined ? "GET" : "POST", body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`control ${route}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

const nowUs = () => Date.now() * 1000;
const v2Url = (instance: string, query = "") => `${server.base}/${instance}/${V2}${query ? `?${query}` : ""}`;

/** Loads the fixtures (restamped from `startUs`) and returns the log's events and their seqs. */
async function loadFixtures(instance: string, startUs = nowUs() - 60_000_000, stepUs = 1000): Promise<{ events: string[]; seqs: number[]; timeUs: number[] }> {
  await control(instance, "load", { fixtures: true, startUs, stepUs });
  return control(instance, "log?full=1");
}

interface Session {
  ws: WebSocket;
  frames: string[];
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves once `count` frames arrived. */
  until(count: number): Promise<string[]>;
}

/** Opens a client and collects every frame. */
function open(url: string, protocols?: string[]): Promise<Session> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    const frames: string[] = [];
    const waiters: { count: number; resolve: (f: string[]) => void }[] = [];
    ws.on("message", (data) => {
      frames.push(data.toString());
      for (const w of waiters.filter((w) => frames.length >= w.count)) w.resolve(frames.slice(0, w.count));
    });
    const closed = new Promise<{ code: number; reason: string }>((done) => ws.on("close", (code, reason) => done({ code, reason: reason.toString() })));
    ws.on("open", () =>
      resolve({
        ws,
        frames,
        closed,
        until: (count) => (frames.length >= count ? Promise.resolve(frames.slice(0, count)) : new Promise((r) => waiters.push({ count, resolve: r }))),
      }),
    );
    ws.on("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.on("error", reject);
  });
}

/** The HTTP answer to an upgrade the server refuses. */
function refusal(url: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    ws.on("open", () => reject(new Error("upgrade was accepted")));
    ws.on("error", () => {});
  });
}

const payloadOf = (frame: string) => (JSON.parse(frame) as { payload: { $type: string; seq?: number; name?: string; message?: string; collection?: string } }).payload;

describe("jetstream test server, v2 wire", { timeout: 30_000 }, () => {
  it("replays from a seq cursor inclusively with the encoder's frames, then streams live; echoes xrpc.v1.json", async () => {
    const log = await loadFixtures("v2-basic");
    expect(log.seqs.slice(0, 3)).toEqual([1, 2, 3]);
    const expected = log.events.map((e, i) => v2MessageFrame(e, log.seqs[i])!);
    const client = await open(v2Url("v2-basic", "cursor=11"), ["xrpc.v1.json"]);
    expect(client.ws.protocol).toBe("xrpc.v1.json");
    expect(await client.until(expected.length - 10)).toEqual(expected.slice(10));

    const live = '{"did":"did:plc:live","time_us":1,"kind":"identity","identity":{"did":"did:plc:live","seq":1,"time":"2026-01-01T00:00:00Z"}}';
    await control("v2-basic", "append", { events: [live], startUs: nowUs() });
    const [last] = (await client.until(expected.length - 9)).slice(-1);
    expect(payloadOf(last)).toMatchObject({ $type: "network.bsky.jetstream.subscribeEvents#identity", seq: log.seqs.at(-1)! + 1 });
    client.ws.close();

    const plain = await open(v2Url("v2-basic", "cursor=1"));
    expect(plain.ws.protocol).toBe(""); // not offered, not echoed
    plain.ws.close();
    const [record] = (await control<any[]>("v2-basic", "connections")).filter((c) => c.query === "cursor=11");
    expect(record).toMatchObject({ wire: "v2", subprotocol: "xrpc.v1.json", cursor: 11, startSeq: 11, kinds: [], collections: [], dids: [], refused: null });
  });

  it("gives each instance its own seq space; a seq below the floor is refused with CursorTooOld", async () => {
    await control("v2-seq-b", "seq", { start: 5000 });
    const b = await loadFixtures("v2-seq-b");
    expect(b.seqs[0]).toBe(5000);
    const refused = await refusal(v2Url("v2-seq-b", "cursor=42"));
    expect(refused.status).toBe(400);
    expect(refused.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(refused.body)).toEqual({ error: "CursorTooOld", message: "subscribe: cursor too old: cursor 42 below lookback floor 5000; re-backfill from your last seq" });
    const client = await open(v2Url("v2-seq-b", "cursor=5100"));
    expect(payloadOf((await client.until(1))[0]).seq).toBe(5100);
    client.ws.close();
    const records = await control<any[]>("v2-seq-b", "connections");
    expect(records[0]).toMatchObject({ wire: "v2", query: "cursor=42", refused: 400, error: "CursorTooOld", cursor: 42, startSeq: null });
    expect(records[1]).toMatchObject({ wire: "v2", refused: null, startSeq: 5100 });

    // retention moves the floor: the refusal names the new one
    const old = await loadFixtures("v2-floor", nowUs() - 7_200_000_000);
    await control("v2-floor", "append", { fixtures: true, startUs: nowUs() - 1_000_000 });
    await control("v2-floor", "retention", { seconds: 3600 });
    const floor = old.seqs.at(-1)! + 1;
    expect(JSON.parse((await refusal(v2Url("v2-floor", `cursor=${floor - 1}`))).body).message).toContain(`cursor ${floor - 1} below lookback floor ${floor};`);
  });

  it("translates a µs cursor; below the floor it starts at the floor seq and says so first (#info OutdatedCursor)", async () => {
    // A second apart, so that a retention cut between two events is not moved by a slow machine.
    const log = await loadFixtures("v2-time", nowUs() - 200_000_000, 1_000_000);
    const expected = log.events.map((e, i) => v2MessageFrame(e, log.seqs[i])!);

    const inside = await open(v2Url("v2-time", `cursor=${log.timeUs[20]}`));
    expect(await inside.until(expected.length - 20)).toEqual(expected.slice(20));
    inside.ws.close();

    // A time before a log that never dropped anything is not below the floor (a real server holds 36 h).
    const before = await open(v2Url("v2-time", `cursor=${log.timeUs[0] - 5_000_000}`));
    expect(await before.until(expected.length)).toEqual(expected);
    before.ws.close();

    // Once retention dropped the first 50, a time before them is: the floor seq, and the notice first.
    await control("v2-time", "retention", { seconds: (nowUs() - log.timeUs[50] + 500_000) / 1e6 });
    const below = await open(v2Url("v2-time", `cursor=${log.timeUs[0] - 5_000_000}`));
    const frames = await below.until(expected.length - 50 + 1);
    expect(frames[0]).toBe(
      `{"$type":"message","payload":{"$type":"network.bsky.jetstream.subscribeEvents#info","message":"requested timestamp cursor below retention floor; starting at seq ${log.seqs[50]}","name":"OutdatedCursor"}}`,
    );
    expect(frames.slice(1)).toEqual(expected.slice(50));
    below.ws.close();
    const record = (await control<any[]>("v2-time", "connections")).at(-1);
    expect(record.notices).toEqual([frames[0]]);
    await control("v2-time", "retention", { seconds: null });

    // a future timestamp is live: only what is appended after
    const future = await open(v2Url("v2-time", `cursor=${nowUs() + 3_600_000_000}`));
    await control("v2-time", "append", { fixtures: ["jetstream-legacy-readme-examples.jsonl"], startUs: nowUs() });
    const liveFrames = await future.until(4);
    expect(liveFrames.map((f) => payloadOf(f).seq)).toEqual([1, 2, 3, 4].map((i) => log.seqs.at(-1)! + i));
    future.ws.close();
  });

  it("filters by kinds server-side and by collections for commits only; the connection record says what was asked", async () => {
    const log = await loadFixtures("v2-kinds");
    const sentinel = '{"did":"did:plc:sentinel","time_us":1,"kind":"commit","commit":{"rev":"r","operation":"create","collection":"app.bsky.feed.post","rkey":"k","record":{"text":"end"},"cid":"bafy"}}';
    await control("v2-kinds", "append", { events: [sentinel], startUs: nowUs() });
    const kinds = log.events.map((e) => (JSON.parse(e) as { kind: string; commit?: { collection: string } }));
    const count = (f: (k: (typeof kinds)[number]) => boolean) => kinds.filter(f).length + 1; // + the sentinel post

    const commitsOnly = await open(v2Url("v2-kinds", "kinds=commit&collections=app.bsky.feed.post&cursor=1"));
    const posts = await commitsOnly.until(count((k) => k.commit?.collection === "app.bsky.feed.post"));
    expect(posts.every((f) => payloadOf(f).collection === "app.bsky.feed.post")).toBe(true);
    expect(payloadOf(posts.at(-1)!)).toMatchObject({ $type: "network.bsky.jetstream.subscribeEvents#commit", seq: log.seqs.at(-1)! + 1 });
    commitsOnly.ws.close();

    const withOthers = await open(v2Url("v2-kinds", "collections=app.bsky.feed.post&cursor=1"));
    const mixed = await withOthers.until(count((k) => k.kind !== "commit" || k.commit?.collection === "app.bsky.feed.post"));
    expect(new Set(mixed.map((f) => payloadOf(f).$type.split("#")[1]))).toEqual(new Set(["commit", "identity", "account"]));
    withOthers.ws.close();

    const accounts = await open(v2Url("v2-kinds", "kinds=account&kinds=sync&cursor=1"));
    await control("v2-kinds", "append", { events: [sentinel.replace('"kind":"commit","commit"', '"kind":"account","account":{"active":true},"x"')], startUs: nowUs() });
    const onlyAccounts = await accounts.until(count((k) => k.kind === "account"));
    expect(onlyAccounts.every((f) => payloadOf(f).$type.endsWith("#account"))).toBe(true);
    accounts.ws.close();

    const records = await control<any[]>("v2-kinds", "connections");
    expect(records[0]).toMatchObject({ wire: "v2", query: "kinds=commit&collections=app.bsky.feed.post&cursor=1", kinds: ["commit"], collections: ["app.bsky.feed.post"], dids: [] });
    expect(records[2]).toMatchObject({ kinds: ["account", "sync"], collections: [] });
  });

  it("refuses legacy names, unknown kinds and filters that could never apply with XRPC 400s, and records them", async () => {
    const cases: [string, string][] = [
      ["wantedCollections=app.bsky.feed.post", "subscribe: invalid options: wantedCollections is the legacy /subscribe parameter; use collections"],
      ["wantedDids=did:plc:a", "subscribe: invalid options: wantedDids is the legacy /subscribe parameter; use dids"],
      ["kinds=likes", 'subscribe: invalid options: unknown kind "likes" (valid: commit, identity, account, sync)'],
      ["kinds=identity&collections=app.bsky.feed.post", "subscribe: invalid options: collections filter can never apply: kinds excludes commit"],
      ["dids=bob", "subscribe: invalid options: invalid DID: bob"],
    ];
    for (const [query, message] of cases) {
      const answer = await refusal(v2Url("v2-400", query));
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body)).toEqual({ error: "InvalidRequest", message });
    }
    const records = await control<any[]>("v2-400", "connections");
    expect(records.map((r) => [r.refused, r.error, r.message])).toEqual(cases.map(([, message]) => [400, "InvalidRequest", message]));
    expect(records[2].kinds).toEqual(["likes"]);
  });

  it("closes the socket on any frame from the client (server push only)", async () => {
    await loadFixtures("v2-push");
    const client = await open(v2Url("v2-push"));
    client.ws.send('{"type":"options_update","payload":{}}');
    expect((await client.closed).code).toBe(1008);
  });

  it("ConsumerTooSlow: the error frame names the seq to reconnect with; resuming there loses nothing", async () => {
    const log = await loadFixtures("v2-slow");
    const expected = log.events.map((e, i) => v2MessageFrame(e, log.seqs[i])!);
    await control("v2-slow", "misbehave", { action: "too-slow-after", events: 30, count: 1 });
    const first = await open(v2Url("v2-slow", "cursor=1"));
    const frames = await first.until(31);
    expect(frames.slice(0, 30)).toEqual(expected.slice(0, 30));
    const error = JSON.parse(frames[30]) as { $type: string; error: string; message: string };
    expect(error).toEqual({ $type: "error", error: "ConsumerTooSlow", message: `reading below the floor rate ${expected.length - 30} events behind the tip; reconnect with cursor=31` });
    expect((await first.closed).code).toBe(1006); // dropped without a close frame, like the real server
    expect(first.frames).toHaveLength(31);

    const resumed = await open(v2Url("v2-slow", `cursor=${/cursor=(\d+)/.exec(error.message)![1]}`));
    expect(await resumed.until(expected.length - 30)).toEqual(expected.slice(30));

    // on command, to every open v2 connection (legacy ones are left alone)
    const legacy = await open(`${server.base}/v2-slow/subscribe`);
    expect(await control("v2-slow", "misbehave", { action: "too-slow" })).toEqual({ tooSlow: 1 });
    const [tooSlow] = (await resumed.until(expected.length - 29)).slice(-1);
    expect(JSON.parse(tooSlow)).toEqual({ $type: "error", error: "ConsumerTooSlow", message: `reading below the floor rate 0 events behind the tip; reconnect with cursor=${log.seqs.at(-1)! + 1}` });
    await resumed.closed;
    expect(legacy.ws.readyState).toBe(WebSocket.OPEN);
    legacy.ws.close();
  });

  it("refuses on command on either wire: a 429 with an XRPC body and Retry-After on v2, plain text on legacy", async () => {
    await loadFixtures("v2-refuse");
    await control("v2-refuse", "misbehave", { action: "refuse", status: 429, count: 1, wire: "v2", retryAfter: 30 });
    const legacy = await open(`${server.base}/v2-refuse/subscribe`); // not counted against the v2 refusals
    legacy.ws.close();
    const limited = await refusal(v2Url("v2-refuse", "kinds=commit"));
    expect(limited.status).toBe(429);
    expect(limited.headers["retry-after"]).toBe("30");
    expect(JSON.parse(limited.body)).toEqual({ error: "RateLimitExceeded", message: "rate limit exceeded (test server)" });
    const again = await open(v2Url("v2-refuse"));
    again.ws.close();

    await control("v2-refuse", "misbehave", { action: "refuse", status: 429, count: 1 });
    const plain = await refusal(`${server.base}/v2-refuse/subscribe`);
    expect(plain).toMatchObject({ status: 429, body: "rate limit exceeded (test server)\n" });
    const records = await control<any[]>("v2-refuse", "connections");
    expect(records.map((r) => [r.wire, r.refused, r.error])).toEqual([
      ["legacy", null, null],
      ["v2", 429, "RateLimitExceeded"],
      ["v2", null, null],
      ["legacy", 429, null],
    ]);
    expect(records[1].kinds).toEqual(["commit"]);
  });

  it("legacy wire: byte-exact by default; with legacy-cursor, each event carries its seq and a seq cursor resumes there", async () => {
    const log = await loadFixtures("v2-legacy");
    const plain = await open(`${server.base}/v2-legacy/subscribe?cursor=${log.timeUs[0]}`);
    expect(await plain.until(log.events.length)).toEqual(log.events);
    plain.ws.close();

    await control("v2-legacy", "legacy-cursor", { enabled: true });
    const withCursor = await open(`${server.base}/v2-legacy/subscribe?cursor=100`);
    const frames = await withCursor.until(log.events.length - 99);
    frames.forEach((frame, i) => {
      const { cursor, ...rest } = JSON.parse(frame) as Record<string, unknown>;
      expect(cursor).toBe(100 + i);
      expect(rest).toEqual(JSON.parse(log.events[99 + i]));
    });
    expect(frames[0]).toMatch(/^\{"did":"[^"]+","time_us":\d+,"cursor":100,"kind":/);
    withCursor.ws.close();
  });
});

describe("the CLI's servers speak v2 too", { timeout: 30_000 }, () => {
  it("start(): the v2 endpoint beside /subscribe, with a chosen first seq and the legacy cursor field", async () => {
    const events = restamp(fixtureEvents(["jetstream-legacy-readme-examples.jsonl"]), nowUs() - 1_000_000, 1000);
    const replay = await start({ events, firstSeq: 100, legacyCursor: true });
    try {
      const v2 = await open(`${replay.v2Url}?cursor=101`);
      expect(await v2.until(3)).toEqual(events.slice(1).map((e, i) => v2MessageFrame(e, 101 + i)));
      v2.ws.close();
      const legacy = await open(`${replay.url}?cursor=103`);
      expect(JSON.parse((await legacy.until(1))[0])).toEqual({ ...JSON.parse(events[3]), cursor: 103 });
      legacy.ws.close();
    } finally {
      await replay.close();
    }
  });

  it("playback (dev --demo): the same events on the v2 wire, seqs from 1", async () => {
    const events = fixtureEvents(["jetstream-legacy-readme-examples.jsonl"]);
    const playback = await startPlayback({ events, rate: 0, loop: false, keepTimes: true });
    try {
      const client = await open(playback.v2Url);
      const frames = await client.until(4);
      expect(frames).toEqual(events.map((e, i) => v2MessageFrame(e, i + 1)));
      client.ws.close();
    } finally {
      await playback.close();
    }
  });
});
