/** The v2 wire's pure parts: frames read from both ends, the request, the position's seq, the server's signals. */
import { describe, expect, it } from "vitest";
import corpus from "../fixtures/jetstream/jetstream-v2-corpus-expected_v1.jsonl?raw";
import { v2MessageFrame } from "../../cli/lib/jetstream-v2-frames.ts";
import { parseFrame } from "../../worker/jetstream/legacy-frame.ts";
import { parseV2Frame, parseV2Payload, parseWireTime, wireTime } from "../../worker/jetstream/v2-frame.ts";
import { buildRequest, buildV2Request, wireOf } from "../../worker/jetstream/request.ts";
import { cursorFor, resumePosition } from "../../worker/stream/position.ts";
import { cursorTooOld, outdatedCursor } from "../../worker/jetstream/server-signals.ts";
import { refused } from "../../worker/jetstream/transport-errors.ts";
import { healthReasons } from "../../worker/relay/health.ts";

const V2 = "wss://jetstream.us-east.bsky.network/xrpc/network.bsky.jetstream.subscribeEvents";
const LEGACY = "wss://jetstream1.us-east.bsky.network/subscribe";

const events = corpus.split("\n").filter((l) => l.trim() !== "");

describe("v2 frames", () => {
  it("reads every real fixture event as its legacy twin reads, with its seq, and cuts the payload from the frame", () => {
    events.forEach((legacy, i) => {
      const frame = v2MessageFrame(legacy, 1000 + i)!;
      const v2 = parseV2Frame(frame);
      expect(v2.type).toBe("event");
      if (v2.type !== "event") return;
      const twin = parseFrame(legacy);
      expect({ ...v2.event, seq: undefined }).toEqual({ ...twin, seq: undefined });
      expect(v2.event.seq).toBe(1000 + i);
      expect(frame).toBe(`{"$type":"message","payload":${v2.payload}}`);
      // The consumer reads the forwarded payload again, the same way.
      expect(parseFrame(v2.payload)).toEqual(v2.event);
      expect(parseV2Payload(v2.payload)).toEqual(v2.event);
    });
  });

  it("reads a commit laid out otherwise (a newer field after time, keys reordered) by parsing it whole", () => {
    const extra = `{"$type":"network.bsky.jetstream.subscribeEvents#commit","collection":"app.bsky.feed.post","did":"did:plc:a","operation":"delete","rev":"r","rkey":"k","seq":5,"time":"2024-09-09T19:46:02.000007Z","zzz":1}`;
    const reordered = `{"$type":"network.bsky.jetstream.subscribeEvents#commit","did":"did:plc:a","seq":5,"time":"2024-09-09T19:46:02.000007Z","collection":"app.bsky.feed.post","operation":"delete","rev":"r","rkey":"k"}`;
    const expected = { type: "commit", did: "did:plc:a", timeUs: Date.parse("2024-09-09T19:46:02Z") * 1000 + 7, collection: "app.bsky.feed.post", operation: "delete", seq: 5 };
    for (const payload of [extra, reordered]) {
      expect(parseV2Payload(payload)).toEqual(expected);
      expect(parseV2Frame(`{"$type":"message","payload":${payload}}`)).toEqual({ type: "event", event: expected, payload });
    }
  });

  it("reads a commit's tail by position: the payload's own seq and time, never its record's; any other tail is parsed whole", () => {
    const commit = (record: string, tail: string) =>
      `{"$type":"network.bsky.jetstream.subscribeEvents#commit","cid":"c","collection":"app.bsky.feed.post","did":"did:plc:a","operation":"create","record":${record},"rev":"r","rkey":"k",${tail}}`;
    const second = Date.parse("2024-09-09T19:46:02Z") * 1000;
    const event = (seq: number, timeUs: number) => ({ type: "commit", did: "did:plc:a", timeUs, collection: "app.bsky.feed.post", operation: "create", seq });
    const cases: [string, unknown][] = [
      // A record with a seq and a time of its own, even a tail-shaped one.
      [commit(`{"text":"x","seq":99,"time":"2001-01-01T00:00:00.000000Z"}`, `"seq":5,"time":"2024-09-09T19:46:02.000007Z"`), event(5, second + 7)],
      [commit(`{"text":"\\\",\\"seq\\":9"}`, `"seq":12345678901,"time":"2024-09-09T19:46:02.999999Z"`), event(12345678901, second + 999_999)],
      // Three fractional digits: not the server's layout, read whole (and exactly).
      [commit(`{}`, `"seq":5,"time":"2024-09-09T19:46:02.329Z"`), event(5, second + 329_000)],
      // What is not a position is not taken as one.
      [commit(`{}`, `"seq":0,"time":"2024-09-09T19:46:02.000007Z"`), { type: "malformed", reason: "missing or invalid seq" }],
      [commit(`{}`, `"seq":12345678901234567890,"time":"2024-09-09T19:46:02.000007Z"`), { type: "malformed", reason: "missing or invalid seq" }],
      [commit(`{}`, `"seq":5,"time":"2024-09-09T19:46:0x.000007Z"`), { type: "malformed", reason: "missing or invalid time" }],
    ];
    for (const [payload, expected] of cases) {
      expect(JSON.parse(payload)).toBeTypeOf("object");
      expect(parseV2Payload(payload)).toEqual(expected);
      const frame = parseV2Frame(`{"$type":"message","payload":${payload}}`);
      expect(frame.type === "event" ? frame.event : frame).toEqual(expected);
    }
  });

  it("reads the terminal error, the info advisory, and says what is not an event", () => {
    expect(parseV2Frame(`{"$type":"error","error":"ConsumerTooSlow","message":"reconnect with cursor=5"}`)).toEqual({ type: "error", error: "ConsumerTooSlow", message: "reconnect with cursor=5" });
    expect(parseV2Frame(`{"$type":"message","payload":{"$type":"network.bsky.jetstream.subscribeEvents#info","message":"requested timestamp cursor below retention floor; starting at seq 7","name":"OutdatedCursor"}}`)).toEqual({
      type: "info",
      name: "OutdatedCursor",
      message: "requested timestamp cursor below retention floor; starting at seq 7",
    });
    expect(parseV2Frame("not json").type).toBe("malformed");
    expect(parseV2Frame(`{"did":"did:plc:a","time_us":1,"kind":"commit"}`).type).toBe("malformed");
    expect(parseV2Frame(`{"$type":"message","payload":{"$type":"network.bsky.jetstream.subscribeEvents#commit","did":"did:plc:a"}}`)).toMatchObject({ type: "malformed", reason: "missing or invalid seq" });
  });

  it("turns the wire's time into µs exactly and back", () => {
    expect(parseWireTime("2024-09-09T19:46:02.329308Z")).toBe(Date.parse("2024-09-09T19:46:02Z") * 1000 + 329308);
    expect(wireTime(1_725_911_162_329_308)).toBe("2024-09-09T19:46:02.329308Z");
    expect(wireTime(1_725_911_162_000_001)).toBe("2024-09-09T19:46:02.000001Z");
    expect(parseWireTime("yesterday")).toBeNull();
  });
});

describe("v2 request", () => {
  it("chooses the wire by the endpoint's path", () => {
    expect(wireOf(V2)).toBe("v2");
    expect(wireOf(LEGACY)).toBe("legacy");
    expect(new URL(buildRequest(LEGACY, { collections: ["app.bsky.feed.post"], dids: [] }, null).url).searchParams.getAll("wantedCollections")).toEqual(["app.bsky.feed.post"]);
  });

  it("repeats each filter as a query key, kinds first, with the cursor and the subprotocol", () => {
    const r = buildV2Request(V2, { collections: ["app.bsky.feed.post", "app.bsky.graph.*"], dids: ["did:plc:a", "did:plc:b"], kinds: ["commit", "account"] }, 42);
    const url = new URL(r.url);
    expect(url.protocol).toBe("https:");
    expect(url.searchParams.getAll("kinds")).toEqual(["commit", "account"]);
    expect(url.searchParams.getAll("collections")).toEqual(["app.bsky.feed.post", "app.bsky.graph.*"]);
    expect(url.searchParams.getAll("dids")).toEqual(["did:plc:a", "did:plc:b"]);
    expect(url.searchParams.get("cursor")).toBe("42");
    expect(url.searchParams.has("wantedCollections")).toBe(false);
    expect(r).toMatchObject({ optionsUpdate: null, protocol: "xrpc.v1.json" });
    expect(r.didsLeftOut).toBeUndefined();
  });

  it("leaves out collections when no commit is asked for (the server refuses them then), and DIDs past the URL limit", () => {
    expect(new URL(buildV2Request(V2, { collections: ["app.bsky.feed.post"], dids: [], kinds: ["account"] }, null).url).searchParams.has("collections")).toBe(false);
    const dids = Array.from({ length: 2000 }, (_, i) => `did:plc:${String(i).padStart(24, "x")}`);
    const r = buildV2Request(V2, { collections: ["app.bsky.feed.post"], dids, kinds: ["commit"] }, null);
    expect(r.url.length).toBeLessThan(16_000);
    expect(new URL(r.url).searchParams.has("dids")).toBe(false);
    expect(r.didsLeftOut).toBe(2000);
  });
});

describe("v2 position", () => {
  it.each([
    [{ instance: V2, timeUs: 2e15, seq: 77 }, V2, 77],
    [{ instance: V2, timeUs: 2e15, seq: null }, V2, 2e15],
    [{ instance: V2, timeUs: 2e15, seq: 77 }, "wss://jetstream.us-west.bsky.network/xrpc/network.bsky.jetstream.subscribeEvents", 2e15 - 10_000_000],
    [{ instance: LEGACY, timeUs: 2e15, seq: null }, V2, 2e15 - 10_000_000],
  ] as const)("%o asks %s for %s: its seq on its own instance, a rewound time elsewhere", (position, endpoint, expected) => {
    expect(cursorFor(position, endpoint, 10_000_000)).toBe(expected);
  });

  it("keeps the seq through a save, and rewinds to an unacknowledged message by its seq when it can", () => {
    expect(resumePosition({ position: { instance: V2, timeUs: 5000, seq: 9 }, cursor: 5000, oldestUnacked: null }, 1000)).toEqual({ instance: V2, timeUs: 5000, seq: 9 });
    expect(resumePosition({ position: { instance: V2, timeUs: 5000, seq: 9 }, cursor: 5000, oldestUnacked: 4500 }, 1000)).toEqual({ instance: V2, timeUs: 4500, seq: null });
    // Rewound to the oldest unacknowledged message: by its first event's seq when it came from the same instance.
    expect(resumePosition({ position: { instance: V2, timeUs: 5000, seq: 9 }, cursor: 5000, oldestUnacked: 4500, oldestUnackedFrom: { instance: V2, seq: 4 } }, 1000)).toEqual({ instance: V2, timeUs: 4500, seq: 4 });
    expect(resumePosition({ position: { instance: V2, timeUs: 5000, seq: 9 }, cursor: 5000, oldestUnacked: 4500, oldestUnackedFrom: { instance: LEGACY, seq: 4 } }, 1000)).toEqual({ instance: V2, timeUs: 4500, seq: null });
    // Past the maximum rewind the time bound wins, and the seq no longer applies.
    expect(resumePosition({ position: { instance: V2, timeUs: 5000, seq: 9 }, cursor: 5000, oldestUnacked: 1000, oldestUnackedFrom: { instance: V2, seq: 1 } }, 1000)).toEqual({ instance: V2, timeUs: 4000, seq: null });
  });
});

describe("the server's signals", () => {
  it("reads CursorTooOld's seqs from its XRPC body", () => {
    const body = JSON.stringify({ error: "CursorTooOld", message: "subscribe: cursor too old: cursor 12 below lookback floor 3456; re-backfill from your last seq" });
    expect(cursorTooOld(refused(400, body).xrpc)).toEqual({ requestedSeq: 12, floorSeq: 3456, message: expect.stringContaining("floor 3456") });
    expect(refused(400, body).message).not.toContain("check JETSTREAM_COLLECTIONS");
    expect(cursorTooOld(refused(400, JSON.stringify({ error: "InvalidRequest", message: "invalid options" })).xrpc)).toBeNull();
    expect(cursorTooOld(refused(400, "plain text 400").xrpc)).toBeNull();
  });

  it("reads the seq OutdatedCursor resumed from", () => {
    expect(outdatedCursor("requested timestamp cursor below retention floor; starting at seq 901")).toEqual({ startSeq: 901 });
  });
});

describe("ConsumerTooSlow and /health", () => {
  const base = {
    state: "connected" as const,
    configErrors: [],
    disconnectedSinceMs: null,
    lastError: null,
    deliveryLastErrorAt: null,
    deliveryLastSuccessAt: null,
    oldestUnackedUs: null,
    storageError: null,
    gaps: [],
  };
  const settings = { healthDisconnectedMs: 120_000, healthStaleMs: 300_000, healthDeliveryMs: 300_000 };
  const now = Date.parse("2026-12-07T12:00:00Z");
  const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();

  it("is a reason only when it happened three times within 15 minutes", () => {
    const codes = (times: string[]) => healthReasons({ ...base, nowMs: now, lastFrameMs: now, consumerTooSlowAt: times }, settings).map((r) => r.code);
    expect(codes([at(1), at(2)])).toEqual([]);
    expect(codes([at(1), at(2), at(14)])).toEqual(["consumer-too-slow"]);
    expect(codes([at(1), at(2), at(16)])).toEqual([]);
  });
});
