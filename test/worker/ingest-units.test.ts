/**
 * Table tests of the pure ingestion modules (worker/jetstream/*, worker/stream/*, worker/relay/*, worker/config.ts). They run in the same
 * workerd pool as the rest but touch no binding. Real captured events come in through Vite's `?raw`.
 */
import { describe, expect, it } from "vitest";
import golden from "../fixtures/jetstream/jetstream-v2-golden_v1.jsonl?raw";
import corpus from "../fixtures/jetstream/jetstream-v2-corpus-expected_v1.jsonl?raw";
import constellation from "../fixtures/jetstream/microcosm-constellation-tests.jsonl?raw";
import { DEFAULT_ENDPOINTS, INGEST_TUNING, parseRelayConfig } from "../../worker/config.ts";
import type { Env, QueueMessageBody, QueuedEvent } from "../../worker/contract.ts";
import { backoffDelay, planReconnect, type BackoffSettings } from "../../worker/backoff.ts";
import { nextState } from "../../worker/stream/connection-state.ts";
import { parseFrame, shouldForward, type ForwardFilter } from "../../worker/jetstream/legacy-frame.ts";
import { detectGap } from "../../worker/stream/gap.ts";
import { healthReasons, type HealthInput } from "../../worker/relay/health.ts";
import { collectionMatcher, isValidDid, isValidNsid, parseWantedCollections, parseWantedDids } from "../../worker/jetstream/identifiers.ts";
import { Ledger, resumeCursor } from "../../worker/stream/ledger.ts";
import { enqueue } from "../../worker/queue/enqueue.ts";
import { leadingMessages, Packer, QUEUE_LIMITS, queuedEventBytes } from "../../worker/queue/packer.ts";
import { completeEvent } from "../../worker/queue/complete-event.ts";
import { serializedBytes } from "../../worker/queue/message-size.ts";
import { buildSubscribeRequest, toHttp } from "../../worker/jetstream/request.ts";
import { TrafficCounters } from "../../worker/relay/traffic.ts";
import { closed, fromException, refused } from "../../worker/jetstream/transport-errors.ts";

const lines = (text: string) => text.split("\n").filter((l) => l.trim() !== "");
const REAL_EVENTS = [...lines(golden), ...lines(corpus), ...lines(constellation)];

describe("identifiers (as the Jetstream server validates them)", () => {
  it.each([
    ["app.bsky.feed.post", true],
    ["place.stream.broadcast.origin", true],
    ["fm.teal.alpha.actor.status", true],
    ["com.example-corp.fooBar", true],
    ["*", false],
    ["app.bsky", false],
    ["app..feed.post", false],
    ["1app.bsky.post", false],
    ["app.bsky.feed.post-like", false],
    ["app.bsky.feed.1post", false],
    ["-app.bsky.post", false],
    ["app.bsky.feed.pöst", false],
    [`com.example.${"a".repeat(64)}`, false],
  ])("NSID %s → %s", (nsid, valid) => expect(isValidNsid(nsid)).toBe(valid));

  it.each([
    ["did:plc:ewvi7nxzyoun6zhxrhs64oiz", true],
    ["did:web:example.com", true],
    ["did:web:localhost%3A8080", true],
    ["did:PLC:abc", false],
    ["did:plc:", false],
    ["plc:abc", false],
    ["did:plc:abc:", false],
    [`did:plc:${"a".repeat(2050)}`, false],
  ])("DID %s → %s", (did, valid) => expect(isValidDid(did)).toBe(valid));

  it("wantedCollections: prefixes, duplicates, `*`, and the cap of 100", () => {
    expect(parseWantedCollections(["app.bsky.graph.*", "app.bsky.feed.post", "app.bsky.feed.post"])).toEqual({ patterns: [{ prefix: "app.bsky.graph." }, { exact: "app.bsky.feed.post" }] });
    expect(parseWantedCollections(["*"])).toEqual({ error: "invalid collection: *" });
    expect(parseWantedCollections(["app.bsky.*"])).toEqual({ patterns: [{ prefix: "app.bsky." }] }); // the server takes any `.*` prefix
    const hundred = Array.from({ length: 100 }, (_, i) => `com.example.c${i}`);
    expect(parseWantedCollections([...hundred, ...hundred])).toHaveProperty("patterns");
    expect(parseWantedCollections([...hundred, "com.example.more"])).toEqual({ error: "too many wanted collections: > 100" });
  });

  it("wantedDids: validity and the cap of 10,000 distinct", () => {
    expect(parseWantedDids(["did:plc:a", "nope"])).toEqual({ error: "invalid DID: nope" });
    const dids = Array.from({ length: 10_000 }, (_, i) => `did:plc:d${i}`);
    expect(parseWantedDids([...dids, ...dids])).toHaveProperty("dids");
    expect(parseWantedDids([...dids, "did:plc:extra"])).toEqual({ error: "too many wanted DIDs: 10001 > 10000" });
  });

  it("collection matching: exact and prefix", () => {
    const match = collectionMatcher([{ exact: "app.bsky.feed.post" }, { prefix: "app.bsky.graph." }]);
    expect(["app.bsky.feed.post", "app.bsky.graph.follow", "app.bsky.graph.block"].every(match)).toBe(true);
    expect(["app.bsky.feed.postgate", "app.bsky.graphx.follow", "app.bsky.feed.like"].some(match)).toBe(false);
  });
});

describe("frames", () => {
  it("parses every real captured event", () => {
    expect(REAL_EVENTS.length).toBeGreaterThan(150);
    for (const raw of REAL_EVENTS) {
      const frame = parseFrame(raw);
      expect(frame.type, raw.slice(0, 80)).not.toBe("malformed");
      expect(frame.type).not.toBe("unknown-kind");
    }
    const kinds = new Set(REAL_EVENTS.map((r) => parseFrame(r).type));
    expect(kinds).toEqual(new Set(["commit", "identity", "account"]));
  });

  it("reads a commit in Jetstream's layout from its head exactly as parsing it whole would", () => {
    const commits = REAL_EVENTS.filter((raw) => raw.includes('"kind":"commit"'));
    expect(commits.length).toBeGreaterThan(100);
    for (const raw of commits) {
      const event = JSON.parse(raw) as { did: string; time_us: number; commit: { collection: string; operation: string } };
      expect(parseFrame(raw)).toEqual({ type: "commit", did: event.did, timeUs: event.time_us, collection: event.commit.collection, operation: event.commit.operation });
    }
    // Escaped values, another field order, a time beyond exact integers: parsed whole, same rules.
    const head = `{"did":"did:plc:a","time_us":1,"kind":"commit","commit":{"rev":"r","operation":"create","collection":`;
    expect(parseFrame(`${head}"app.bsky.feed.po\u0073t","rkey":"k"}}`)).toMatchObject({ type: "commit", collection: "app.bsky.feed.post" });
    expect(parseFrame(`{"time_us":1,"did":"did:plc:a","kind":"commit","commit":{"operation":"create","collection":"c"}}`)).toMatchObject({ type: "commit", collection: "c" });
    expect(parseFrame(`{"did":"did:plc:a","time_us":99999999999999999,"kind":"commit","commit":{"rev":"r","operation":"create","collection":"c","rkey":"k"}}`).type).toBe("malformed");
    // Broken after its head: read from the head (the consumer refuses to send it; see delivery tests).
    expect(parseFrame(`${head}"app.bsky.feed.post","rkey":"k","record":{"text":"cut off}`)).toMatchObject({ type: "commit", collection: "app.bsky.feed.post" });
    expect(parseFrame(`${head}"app.bsky.feed.post","rkey":"k","record":{"text":"cut off`).type).toBe("malformed");
  });

  it.each([
    ["not json", "malformed"],
    ["[]", "malformed"],
    ["null", "malformed"],
    [`{"time_us":1,"kind":"commit"}`, "malformed"],
    [`{"did":"did:plc:a","time_us":"1","kind":"identity"}`, "malformed"],
    [`{"did":"did:plc:a","time_us":1.5,"kind":"identity"}`, "malformed"],
    [`{"did":"did:plc:a","time_us":1,"kind":"commit"}`, "malformed"],
    [`{"did":"did:plc:a","time_us":1,"kind":"commit","commit":{"operation":"create"}}`, "malformed"],
    [`{"did":"did:plc:a","time_us":1,"kind":"sync"}`, "unknown-kind"],
    [`{"did":"did:plc:a","time_us":1,"kind":"identity","cursor":99,"extra":{}}`, "identity"],
  ])("%s → %s", (text, type) => expect(parseFrame(text).type).toBe(type));

  const filter = (over: Partial<ForwardFilter> = {}): ForwardFilter => ({
    wantsCollection: collectionMatcher([{ exact: "app.bsky.feed.post" }]),
    dids: null,
    kinds: new Set(["commit"]),
    ...over,
  });
  const commit = parseFrame(`{"did":"did:plc:a","time_us":1,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post"}}`);
  const otherCollection = parseFrame(`{"did":"did:plc:a","time_us":1,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.like"}}`);
  const account = parseFrame(`{"did":"did:plc:a","time_us":1,"kind":"account","account":{"active":false,"status":"deleted"}}`);
  it.each([
    ["wanted commit", commit, filter(), true],
    ["other collection", otherCollection, filter(), false],
    ["account, kinds=commit", account, filter(), false],
    ["account, kinds include account", account, filter({ kinds: new Set(["commit", "account"]) }), true],
    ["commit of an unwanted DID", commit, filter({ dids: new Set(["did:plc:b"]) }), false],
    ["account of an unwanted DID", account, filter({ kinds: new Set(["account"]), dids: new Set(["did:plc:b"]) }), false],
    ["malformed", parseFrame("{"), filter(), false],
  ] as const)("%s → forward=%s", (_name, frame, f, expected) => expect(shouldForward(frame, f)).toBe(expected));

});

describe("packing", () => {
  const event = (i: number, size = 1000): QueuedEvent => ({ raw: JSON.stringify({ i, pad: "日".repeat(size / 3) }), did: `did:plc:${i}`, timeUs: 1000 + i, receivedAt: 0, attempts: 0 });
  const fill = (packer: Packer, n: number, size?: number) => {
    for (let i = 0; i < n; i++) {
      const e = event(i, size);
      packer.add({ event: e, bytes: queuedEventBytes(e), timeUs: e.timeUs, cursorBefore: i === 0 ? null : 1000 + i - 1 });
    }
  };
  let ids = 0;
  const nextId = () => `L-${++ids}`;

  it("cuts messages ≤ 120 KB and batches ≤ 100 messages / 250 KB, in order, with their sizes computed", () => {
    const packer = new Packer();
    fill(packer, 2000);
    const seen: number[] = [];
    while (packer.size > 0) {
      const batch = packer.peekBatch(nextId)!;
      expect(batch.messages.length).toBeLessThanOrEqual(100);
      expect(batch.messages.reduce((n, m) => n + serializedBytes(m.body), 0)).toBeLessThanOrEqual(QUEUE_LIMITS.batchMaxBytes);
      for (const m of batch.messages) {
        expect(m.bytes - serializedBytes(m.body)).toBeGreaterThanOrEqual(0);
        expect(m.bytes - serializedBytes(m.body)).toBeLessThanOrEqual(2);
        expect(m.bytes).toBeLessThanOrEqual(QUEUE_LIMITS.messageTargetBytes);
        const times = m.body.events.map((e) => completeEvent(e)!.timeUs);
        expect(m.oldestTimeUs).toBe(Math.min(...times));
        expect(m.newestTimeUs).toBe(Math.max(...times));
        seen.push(...times);
      }
      packer.commit(batch);
    }
    expect(seen).toEqual(Array.from({ length: 2000 }, (_, i) => 1000 + i));
    expect(packer.bytes).toBe(0);
  });

  it("builds the same batch again until it is committed (a failed send loses nothing)", () => {
    const packer = new Packer();
    fill(packer, 10);
    const a = packer.peekBatch(nextId)!;
    const b = packer.peekBatch(nextId)!;
    expect(b.messages.map((m) => m.body.events)).toEqual(a.messages.map((m) => m.body.events));
    expect(packer.oldest!.timeUs).toBe(1000);
    packer.commit(b);
    expect(packer.size).toBe(0);
    expect(packer.peekBatch(nextId)).toBeNull();
  });

  it("starts a new message when the next event would pass the target, and a new batch past 250 KB", () => {
    const packer = new Packer();
    fill(packer, 5, 75_000); // ~50 KB each (two-byte text)
    const batch = packer.peekBatch(nextId)!;
    expect(batch.messages.map((m) => m.body.events.length)).toEqual([2, 2]); // a third message would pass 250 KB
    expect(batch.messages.every((m) => m.bytes < 128_000)).toBe(true);
  });

  it("commits the leading messages of a batch only, when only they were accepted", () => {
    const packer = new Packer({ ...QUEUE_LIMITS, maxEventsPerMessage: 3 });
    fill(packer, 8);
    const batch = packer.peekBatch(nextId)!;
    expect(batch.messages.map((m) => m.body.events.length)).toEqual([3, 3, 2]);
    const first = leadingMessages(batch, 1);
    expect(first.eventCount).toBe(3);
    expect(first.bytes).toBe(batch.messages[0].bytes);
    packer.commit(first);
    expect(packer.size).toBe(5);
    expect(packer.oldest!.timeUs).toBe(1003);
    expect(leadingMessages(batch, 3).eventCount).toBe(8);
    expect(leadingMessages(batch, 0)).toEqual({ messages: [], bytes: 0, eventCount: 0 });
  });
});

describe("enqueue", () => {
  const body = (n: number): QueueMessageBody => ({ v: 1, ledgerId: `m${n}`, events: [] });
  /** A producer that records its calls and settles each as `outcome(call)` says. */
  const producer = (outcome: (call: number) => "ok" | "fail" | "hang" = () => "ok") => {
    const calls: { kind: "send" | "sendBatch"; ids: string[]; contentTypes: (string | undefined)[] }[] = [];
    const settle = () => {
      const o = outcome(calls.length);
      return o === "ok" ? Promise.resolve() : o === "fail" ? Promise.reject(new Error(`call ${calls.length} refused`)) : new Promise<void>(() => {});
    };
    return {
      calls,
      send(b: QueueMessageBody, options?: QueueSendOptions) {
        calls.push({ kind: "send", ids: [b.ledgerId], contentTypes: [options?.contentType] });
        return settle();
      },
      sendBatch(list: Iterable<MessageSendRequest<QueueMessageBody>>) {
        const items = [...list];
        calls.push({ kind: "sendBatch", ids: items.map((m) => m.body.ledgerId), contentTypes: items.map((m) => m.contentType) });
        return settle();
      },
    };
  };

  it("sends one or two messages one call each, both started at once, as v8", async () => {
    const one = producer();
    expect(await enqueue(one, [body(1)], 1000)).toEqual({ accepted: 1, error: null, calls: 1 });
    expect(one.calls).toEqual([{ kind: "send", ids: ["m1"], contentTypes: ["v8"] }]);
    const two = producer((n) => (n === 1 ? "hang" : "ok"));
    const pending = enqueue(two, [body(1), body(2)], 50);
    expect(two.calls.map((c) => c.kind)).toEqual(["send", "send"]); // the second did not wait for the first
    expect((await pending).accepted).toBe(0);
  });

  it("sends three or more messages in one sendBatch, all or nothing", async () => {
    const ok = producer();
    expect(await enqueue(ok, [body(1), body(2), body(3)], 1000)).toEqual({ accepted: 3, error: null, calls: 1 });
    expect(ok.calls).toEqual([{ kind: "sendBatch", ids: ["m1", "m2", "m3"], contentTypes: ["v8", "v8", "v8"] }]);
    const refused = await enqueue(producer(() => "fail"), [body(1), body(2), body(3)], 1000);
    expect(refused.accepted).toBe(0);
    expect(String(refused.error)).toMatch(/call 1 refused/);
  });

  it("counts as accepted the messages before the first failure, and reports that failure", async () => {
    const second = await enqueue(producer((n) => (n === 2 ? "fail" : "ok")), [body(1), body(2)], 1000);
    expect(second.accepted).toBe(1);
    expect(String(second.error)).toMatch(/call 2 refused/);
    const first = await enqueue(producer((n) => (n === 1 ? "fail" : "ok")), [body(1), body(2)], 1000);
    expect(first.accepted).toBe(0);
    expect(String(first.error)).toMatch(/call 1 refused/);
  });

  it("gives up on a call that does not settle in time", async () => {
    const outcome = await enqueue(producer(() => "hang"), [body(1)], 30);
    expect(outcome).toMatchObject({ accepted: 0, calls: 1 });
    expect(String(outcome.error)).toMatch(/send did not finish within 0.03 s/);
  });
});

describe("backoff and failover", () => {
  const settings: BackoffSettings = { baseMs: 1000, maxMs: 60_000, healthyAfterMs: 30_000, failoverAfter: 2 };
  it.each([
    [1, 0, 500],
    [1, 1, 1000],
    [2, 0, 1000],
    [3, 1, 4000],
    [7, 1, 60_000],
    [50, 0.5, 45_000],
  ])("failure %i, random %d → %i ms", (failures, random, ms) => expect(backoffDelay(failures, settings, random)).toBe(ms));

  it("fails over after N consecutive failures, and a healthy connection resets everything", () => {
    let state = { failures: 0, endpointIndex: 0 };
    const steps = [];
    for (let i = 0; i < 5; i++) {
      const plan = planReconnect(state, { connectedForMs: null }, 3, settings, 0);
      steps.push([plan.endpointIndex, plan.switched]);
      state = plan;
    }
    expect(steps).toEqual([[0, false], [1, true], [1, false], [2, true], [2, false]]);
    const healthy = planReconnect(state, { connectedForMs: 31_000 }, 3, settings, 0);
    expect(healthy).toEqual({ failures: 0, endpointIndex: 2, switched: false, delayMs: 0 });
    expect(planReconnect({ failures: 5, endpointIndex: 0 }, { connectedForMs: 100 }, 1, settings, 0).switched).toBe(false);
  });
});

describe("ledger and resume point", () => {
  it("tracks unsettled messages; settle removes, adds follow-ups, ignores unknown ids", () => {
    const ledger = new Ledger();
    ledger.add("a", 100);
    ledger.add("b", 200);
    ledger.settle({ settled: ["a", "unknown"], pending: [{ ledgerId: "a2", oldestTimeUs: 150 }] });
    expect(ledger.size).toBe(2);
    expect(ledger.oldest()).toBe(150);
    expect(ledger.pruneOlderThan(160)).toBe(1);
    expect(ledger.oldest()).toBe(200);
    ledger.settle({ settled: ["b"], pending: [] });
    expect(ledger.oldest()).toBeNull();
  });

  it.each([
    [null, null, 3600e6, null],
    [5000e6, null, 3600e6, 5000e6],
    [5000e6, 6000e6, 3600e6, 5000e6],
    [5000e6, 4000e6, 3600e6, 4000e6],
    [5000e6, 1000e6, 3600e6, 1400e6],
    [5000e6, 4000e6, 0, 5000e6],
    [null, 4000e6, 3600e6, 4000e6],
  ])("saved %s, oldest unacked %s, max rewind %s → %s", (cursor, oldest, max, expected) => expect(resumeCursor(cursor, oldest, max)).toBe(expected));

  it("detects a gap only past the threshold after a resume with a cursor", () => {
    const now = new Date("2026-01-01T00:00:00Z");
    expect(detectGap(null, 5e6, 60e6, "e", now)).toBeNull();
    expect(detectGap(1e6, 61e6, 60e6, "e", now)).toBeNull();
    expect(detectGap(1e6, 62e6, 60e6, "e", now)).toEqual({ fromUs: 1e6, from: "1970-01-01T00:00:01.000Z", toUs: 62e6, to: "1970-01-01T00:01:02.000Z", detectedAt: now.toISOString(), endpoint: "e", acknowledged: false });
  });
});

describe("traffic counters", () => {
  it("per-minute buckets over the last hour, rates over the last complete seconds", () => {
    const t = new TrafficCounters();
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    for (let s = 0; s < 20; s++) t.record(t0 + s * 1000, 10, 2);
    expect(t.rates(t0 + 20_000)).toEqual({ receivedPerSecond: 10, forwardedPerSecond: 2 });
    expect(t.rates(t0 + 60_000)).toEqual({ receivedPerSecond: 0, forwardedPerSecond: 0 });
    for (let m = 1; m <= 70; m++) t.record(t0 + m * 60_000, 1, 1);
    const minutes = t.perMinute(t0 + 70 * 60_000);
    expect(minutes).toHaveLength(60);
    expect(minutes.at(-1)).toEqual({ minute: new Date(t0 + 70 * 60_000).toISOString(), received: 1, forwarded: 1 });
    const restored = new TrafficCounters(minutes);
    expect(restored.perMinute(t0 + 70 * 60_000)).toEqual(minutes);
  });
});

describe("connection state machine", () => {
  it.each([
    ["backoff", "start", "connecting"],
    ["connecting", "opened", "connected"],
    ["connecting", "failed", "backoff"],
    ["connected", "failed", "backoff"],
    ["connected", "pause", "paused"],
    ["paused", "start", "connecting"],
    ["paused", "failed", null],
    ["backoff", "opened", null],
    ["config-error", "start", null],
  ] as const)("%s --%s--> %s", (from, event, to) => expect(nextState(from, event)).toBe(to));
});

describe("subscribe request", () => {
  const filters = { collections: ["app.bsky.feed.post", "app.bsky.graph.*"], dids: [] as string[] };
  it("puts collections and the cursor in the URL; fetch gets http(s)", () => {
    const r = buildSubscribeRequest("wss://jetstream1.us-east.bsky.network/subscribe", filters, 1725911162329308);
    expect(r.url).toBe("https://jetstream1.us-east.bsky.network/subscribe?wantedCollections=app.bsky.feed.post&wantedCollections=app.bsky.graph.*&cursor=1725911162329308");
    expect(r.optionsUpdate).toBeNull();
    expect(toHttp("ws://127.0.0.1:1/a/subscribe")).toBe("http://127.0.0.1:1/a/subscribe");
  });

  it("keeps a few DIDs in the URL, moves many to an options_update with requireHello", () => {
    const few = buildSubscribeRequest("ws://h/subscribe", { ...filters, dids: ["did:plc:a", "did:plc:b"] }, null);
    expect(new URL(few.url).searchParams.getAll("wantedDids")).toEqual(["did:plc:a", "did:plc:b"]);
    const dids = Array.from({ length: 500 }, (_, i) => `did:plc:${"x".repeat(20)}${i}`);
    const many = buildSubscribeRequest("ws://h/subscribe", { ...filters, dids }, 5);
    const url = new URL(many.url);
    expect(url.searchParams.getAll("wantedDids")).toEqual([]);
    expect(url.searchParams.get("requireHello")).toBe("true");
    expect(url.searchParams.get("cursor")).toBe("5");
    expect(JSON.parse(many.optionsUpdate!)).toEqual({ type: "options_update", payload: { wantedCollections: filters.collections, wantedDids: dids, maxMessageSizeBytes: 0 } });
  });

  it("classifies transport errors with the server's words", () => {
    expect(refused(400, "invalid options: invalid collection: *\n")).toEqual({ kind: "refused", status: 400, message: "server said 400: invalid options: invalid collection: * (the server rejected the request: check JETSTREAM_COLLECTIONS / JETSTREAM_DIDS)" });
    expect(refused(502, "").message).toBe("server said 502");
    expect(closed(1006, "").message).toContain("without a close frame");
    expect(fromException(new Error("internal error; reference = abc123"))).toEqual({
      kind: "network",
      message: "could not reach the server (DNS lookup or network failed; workerd internal error; reference = abc123)",
    });
    expect(fromException(new Error("Network connection lost.")).kind).toBe("network");
    expect(fromException(new Error("weird")).kind).toBe("protocol");
  });
});

describe("configuration", () => {
  const base: Env = { WEBHOOK_URL: "https://example.com/hook", JETSTREAM_COLLECTIONS: "app.bsky.feed.post" } as Env;
  it("defaults: the public instances, commit only, documented tuning values", () => {
    const { config, problems } = parseRelayConfig(base);
    expect(problems).toEqual([]);
    expect(config!.endpoints).toEqual(DEFAULT_ENDPOINTS);
    expect(config!.kinds).toEqual(["commit"]);
    expect(config!.settings).toMatchObject({ alarmMs: 5000, stallMs: 60_000, maxRewindUs: 3600e6, flushMs: 0, sendSpacingMs: 200, gapThresholdUs: 60e6 });
    expect(config!.settings.backoff).toEqual({ baseMs: 1000, maxMs: 60_000, healthyAfterMs: 30_000, failoverAfter: 2 });
  });

  it.each([
    [{ JETSTREAM_COLLECTIONS: "" }, "JETSTREAM_COLLECTIONS"],
    [{ JETSTREAM_COLLECTIONS: "app.bsky.feed.post,*" }, "JETSTREAM_COLLECTIONS"],
    [{ JETSTREAM_COLLECTIONS: "app.bsky.feed.post,,app.bsky.feed.like" }, "JETSTREAM_COLLECTIONS"],
    [{ JETSTREAM_COLLECTIONS: "app bsky.*" }, "JETSTREAM_COLLECTIONS"],
    [{ JETSTREAM_DIDS: "did:plc:a,did:plc:" }, "JETSTREAM_DIDS"],
    [{ JETSTREAM_KINDS: "identity,delete" }, "JETSTREAM_KINDS"],
    [{ JETSTREAM_URL: "wss://ok.example/subscribe,https://bad.example/subscribe" }, "JETSTREAM_URL"],
    [{ JETSTREAM_URL: "wss://h/subscribe?wantedCollections=x" }, "JETSTREAM_URL"],
    [{ JETSTREAM_FLUSH_MS: "2.5" }, "JETSTREAM_FLUSH_MS"],
    [{ JETSTREAM_ALARM_SECONDS: "0" }, "JETSTREAM_ALARM_SECONDS"],
    [{ JETSTREAM_BACKOFF_BASE_SECONDS: "10", JETSTREAM_BACKOFF_MAX_SECONDS: "5" }, "JETSTREAM_BACKOFF_MAX_SECONDS"],
    [{ WEBHOOK_URL: "ftp://example.com" }, "WEBHOOK_URL"],
    [{ WEBHOOK_BATCH_SIZE: "many" }, "WEBHOOK_BATCH_SIZE"],
  ])("%j → problem with %s, no config", (over, variable) => {
    const { config, problems } = parseRelayConfig({ ...base, ...over } as Env);
    expect(config).toBeNull();
    expect(problems.map((p) => p.variable)).toContain(variable);
    for (const p of problems) expect(p.fix).toMatch(/\w/);
  });

  it("accepts every valid option", () => {
    const { config, problems } = parseRelayConfig({
      ...base,
      JETSTREAM_COLLECTIONS: " app.bsky.feed.post , app.bsky.graph.* ",
      JETSTREAM_KINDS: "commit,identity,account",
      JETSTREAM_DIDS: "did:plc:a,did:web:example.com,did:plc:a",
      JETSTREAM_URL: "ws://127.0.0.1:1234/subscribe, wss://b.example/subscribe",
      ...Object.fromEntries(Object.values(INGEST_TUNING).map((t) => [t.variable, String(t.max)])),
    } as Env);
    expect(problems).toEqual([]);
    expect(config!.collections).toEqual(["app.bsky.feed.post", "app.bsky.graph.*"]);
    expect(config!.dids).toEqual(["did:plc:a", "did:web:example.com"]);
    expect(config!.endpoints).toEqual(["ws://127.0.0.1:1234/subscribe", "wss://b.example/subscribe"]);
  });
});

describe("health", () => {
  const settings = { healthDisconnectedMs: 120_000, healthStaleMs: 300_000, healthDeliveryMs: 300_000 };
  const now = Date.parse("2026-01-01T12:00:00Z");
  const ok: HealthInput = {
    nowMs: now,
    state: "connected",
    configErrors: [],
    disconnectedSinceMs: null,
    lastError: null,
    lastFrameMs: now - 1000,
    deliveryLastErrorAt: null,
    deliveryLastSuccessAt: null,
    oldestUnackedUs: null,
    storageError: null,
    gaps: [],
  };
  const gap = { fromUs: 1, from: "a", toUs: 2, to: "b", detectedAt: "c", endpoint: "e", acknowledged: false };
  it.each([
    ["healthy", {}, []],
    ["config", { state: "config-error", configErrors: [{ variable: "X", message: "m", fix: "f" }] }, ["config-error"]],
    ["disconnected within grace", { state: "backoff", disconnectedSinceMs: now - 60_000 }, []],
    ["disconnected too long", { state: "backoff", disconnectedSinceMs: now - 200_000, lastFrameMs: now - 1000 }, ["disconnected"]],
    ["stale", { lastFrameMs: now - 400_000 }, ["stale"]],
    ["delivery failing with old unacked", { deliveryLastErrorAt: "2026-01-01T11:59:00Z", deliveryLastSuccessAt: "2026-01-01T11:00:00Z", oldestUnackedUs: (now - 600_000) * 1000 }, ["delivery-failing"]],
    ["delivery recovered", { deliveryLastErrorAt: "2026-01-01T11:00:00Z", deliveryLastSuccessAt: "2026-01-01T11:59:00Z", oldestUnackedUs: (now - 600_000) * 1000 }, []],
    ["delivery failing but recent", { deliveryLastErrorAt: "2026-01-01T11:59:00Z", oldestUnackedUs: (now - 10_000) * 1000 }, []],
    ["storage", { storageError: "disk full" }, ["storage"]],
    ["gap", { gaps: [gap] }, ["gap"]],
    ["acknowledged gap", { gaps: [{ ...gap, acknowledged: true }] }, []],
  ] as const)("%s", (_name, over, codes) => {
    expect(healthReasons({ ...ok, ...over } as HealthInput, settings).map((r) => r.code)).toEqual(codes);
  });
});
