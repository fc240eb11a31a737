/**
 * v2 frames built from the real captured legacy events (test/fixtures/jetstream), checked against the
 * v2 server's encoder (bluesky-social/jetstream internal/subscribe/encoder.go and the lexicon-generated
 * structs): payload keys in alphabetical order, `time` with six fractional digits, record and upstream
 * objects cut verbatim from the legacy text, record/cid absent on deletes.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  consumerTooSlowFrame,
  cursorTooOldMessage,
  legacyWithCursor,
  outdatedCursorFrame,
  v2ErrorFrame,
  v2InfoFrame,
  v2MessageFrame,
  v2PayloadText,
  wireTime,
  xrpcErrorBody,
} from "../../cli/lib/jetstream-v2-frames.ts";

const DIR = new URL("../fixtures/jetstream/", import.meta.url);
const files = readdirSync(DIR).filter((f) => f.endsWith(".jsonl")).sort();
const fixtures = files.flatMap((file) =>
  readFileSync(new URL(file, DIR), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((text, i) => ({ file, line: i + 1, text })),
);

type Legacy = { did: string; time_us: number; kind: string; commit?: Record<string, unknown>; identity?: unknown; account?: unknown };

const BLOB_FIELDS = ["$type", "ref", "mimeType", "size"];

/**
 * A value as Go's encoding/json writes a map (keys sorted; `<`, `>`, `&`, U+2028/9 escaped): what the v2
 * server's cbor.ToJSON gives. With `v1Blobs`, blob objects in the field order of legacy v1's blob struct.
 */
function goJson(value: unknown, v1Blobs = false): string {
  if (Array.isArray(value)) return `[${value.map((v) => goJson(v, v1Blobs)).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const object = value as Record<string, unknown>;
    let keys = Object.keys(object).sort();
    if (v1Blobs && object.$type === "blob") keys = [...BLOB_FIELDS.filter((k) => k in object), ...keys.filter((k) => !BLOB_FIELDS.includes(k))];
    return `{${keys.map((k) => `${goJson(k)}:${goJson(object[k], v1Blobs)}`).join(",")}}`;
  }
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

describe("v2 frames from legacy events", () => {
  it("renders a golden like exactly as the server's encoder would", () => {
    const golden = fixtures.find((f) => f.file === "jetstream-v2-golden_v1.jsonl" && f.line === 1)!.text;
    expect(v2MessageFrame(golden, 42)).toBe(
      '{"$type":"message","payload":{"$type":"network.bsky.jetstream.subscribeEvents#commit",' +
        '"cid":"bafyreidqpc7si3dbimffi64lz3xsx2qt45ip7rpna2qpslcddp23itjjzm","collection":"app.bsky.feed.like",' +
        '"did":"did:plc:mcc5yghbk7tixqryac2yxku7","operation":"create",' +
        '"record":{"$type":"app.bsky.feed.like","createdAt":"2026-05-25T14:23:28.778Z","subject":{"cid":"bafyreiaxf7tgbfydx3465sckitq6v564thxe2wwydbi7cwxbxvgssje3em","uri":"at://did:plc:vfnmgxg2yscfliemmcxzyfyh/app.bsky.feed.post/3mmoodizfwc2j"}},' +
        '"rev":"3mmoojp7vgo2g","rkey":"3mmoojp7etg2g","seq":42,"time":"2026-05-25T14:23:29.132431Z"}}',
    );
  });

  it("leaves record and cid out of deletes", () => {
    const del = fixtures.find((f) => f.file === "jetstream-v2-golden_v1.jsonl" && f.text.includes('"operation":"delete"'))!.text;
    expect(v2MessageFrame(del, 7)).toBe(
      '{"$type":"message","payload":{"$type":"network.bsky.jetstream.subscribeEvents#commit","collection":"org.hypercerts.claim.activity",' +
        '"did":"did:plc:3xnadku4kemqnycbweqnvgzx","operation":"delete","rev":"3mmoojpae7c2e","rkey":"3mmontn3gnc2e","seq":7,"time":"2026-05-25T14:23:29.153272Z"}}',
    );
  });

  it("wraps identity and account events verbatim", () => {
    const account =
      '{"did":"did:plc:yn72uqr4ihkjfbz7us7buqsq","time_us":1757517640675638,"kind":"account","account":{"active":false,"did":"did:plc:yn72uqr4ihkjfbz7us7buqsq","seq":13206502767,"status":"takendown","time":"2025-09-10T15:20:40.439Z"}}';
    expect(v2MessageFrame(account, 3)).toBe(
      '{"$type":"message","payload":{"$type":"network.bsky.jetstream.subscribeEvents#account",' +
        '"account":{"active":false,"did":"did:plc:yn72uqr4ihkjfbz7us7buqsq","seq":13206502767,"status":"takendown","time":"2025-09-10T15:20:40.439Z"},' +
        '"did":"did:plc:yn72uqr4ihkjfbz7us7buqsq","seq":3,"time":"2025-09-10T15:20:40.675638Z"}}',
    );
    const identity =
      '{"did":"did:plc:mbuadp4xzlbmc2ncqp3pmtox","time_us":1757517628039893,"kind":"identity","identity":{"did":"did:plc:mbuadp4xzlbmc2ncqp3pmtox","handle":"nhieothv.bsky.social","seq":13206497272,"time":"2025-09-10T15:20:27.610Z"}}';
    expect(v2MessageFrame(identity, 4)).toBe(
      '{"$type":"message","payload":{"$type":"network.bsky.jetstream.subscribeEvents#identity","did":"did:plc:mbuadp4xzlbmc2ncqp3pmtox",' +
        '"identity":{"did":"did:plc:mbuadp4xzlbmc2ncqp3pmtox","handle":"nhieothv.bsky.social","seq":13206497272,"time":"2025-09-10T15:20:27.610Z"},' +
        '"seq":4,"time":"2025-09-10T15:20:28.039893Z"}}',
    );
  });

  it.each(fixtures.map((f) => [`${f.file}:${f.line}`, f.text] as const))("%s: same event, lexicon shape, pieces cut verbatim", (_name, text) => {
    const legacy = JSON.parse(text) as Legacy;
    const frame = v2MessageFrame(text, 1000);
    expect(frame).not.toBeNull();
    const parsed = JSON.parse(frame!) as { $type: string; payload: Record<string, unknown> };
    expect(Object.keys(parsed)).toEqual(["$type", "payload"]);
    expect(parsed.$type).toBe("message");
    const p = parsed.payload;
    expect(JSON.parse(v2PayloadText(frame!)!)).toEqual(p);
    expect(p.$type).toBe(`network.bsky.jetstream.subscribeEvents#${legacy.kind}`);
    expect(p.did).toBe(legacy.did);
    expect(p.seq).toBe(1000);
    expect(p.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const time = p.time as string;
    expect((Date.parse(`${time.slice(0, 19)}Z`) / 1000) * 1e6 + Number(time.slice(20, 26))).toBe(legacy.time_us);
    const keys = Object.keys(p);
    expect(keys).toEqual([...keys].sort()); // "$type" sorts first, as the generated structs write it

    if (legacy.kind === "commit") {
      const c = legacy.commit as { rev: string; operation: string; collection: string; rkey: string; record?: unknown; cid?: string };
      const expected: Record<string, unknown> = { $type: p.$type, collection: c.collection, did: legacy.did, operation: c.operation, rev: c.rev, rkey: c.rkey, seq: 1000, time: p.time };
      if (c.operation !== "delete") Object.assign(expected, { cid: c.cid, record: c.record });
      expect(p).toEqual(expected);
      if (c.operation !== "delete") {
        // the record's text in the frame is a verbatim piece of the legacy text
        const recordText = frame!.slice(frame!.indexOf(',"record":') + ',"record":'.length, frame!.lastIndexOf(',"rev":'));
        expect(JSON.parse(recordText)).toEqual(c.record);
        expect(text).toContain(`"record":${recordText}`);
      }
    } else {
      const upstream = legacy.kind === "identity" ? legacy.identity : legacy.account;
      expect(p[legacy.kind]).toEqual(upstream);
      expect(frame).toContain(`"${legacy.kind}":${goJson(upstream)}`);
    }
  });

  it("cuts records verbatim: Go's sorted-key JSON, but blobs in v1's field order (the real v2 server sorts those too)", () => {
    // Every captured record is what Go's encoder writes (keys sorted, HTML characters escaped) except blob
    // objects, which legacy v1 wrote as $type, ref, mimeType, size (a struct). The v2 server renders
    // records with cbor.ToJSON (a sorted map) on both its wires, so for a record with a blob its bytes put
    // mimeType before ref; the frames here keep the legacy bytes. Values are equal either way.
    let withBlobs = 0;
    for (const { text } of fixtures) {
      const record = (JSON.parse(text) as Legacy).commit?.record;
      if (record === undefined || text.includes('"operation":"delete"')) continue;
      const frame = v2MessageFrame(text, 1)!;
      expect(frame).toContain(`"record":${goJson(record, true)},"rev":`);
      if (!frame.includes(`"record":${goJson(record)},"rev":`)) withBlobs++;
    }
    expect(withBlobs).toBe(9);
  });

  it("skips what is not a commit, identity or account event", () => {
    expect(v2MessageFrame("not json", 1)).toBeNull();
    expect(v2MessageFrame('{"did":"did:plc:a","time_us":1,"kind":"sync","sync":{}}', 1)).toBeNull();
    expect(v2MessageFrame('{"did":"did:plc:a","kind":"commit","commit":{}}', 1)).toBeNull();
    expect(v2MessageFrame('{"did":"did:plc:a","time_us":1,"kind":"commit","commit":{"rev":"r","operation":"create","collection":"a.b.c","rkey":"k"}}', 1)).toBeNull();
  });

  it("renders time as RFC 3339 UTC with exactly six fractional digits", () => {
    expect(wireTime(1725911162329308)).toBe("2024-09-09T19:46:02.329308Z");
    expect(wireTime(1725911162000000)).toBe("2024-09-09T19:46:02.000000Z");
    expect(wireTime(1725911162000007)).toBe("2024-09-09T19:46:02.000007Z");
  });

  it("adds the v2 server's cursor to a legacy event right after time_us", () => {
    const text = fixtures[0].text;
    const withCursor = legacyWithCursor(text, 12345);
    expect(withCursor).toMatch(/^\{"did":"[^"]+","time_us":\d+,"cursor":12345,"kind":/);
    const { cursor, ...rest } = JSON.parse(withCursor) as Record<string, unknown>;
    expect(cursor).toBe(12345);
    expect(rest).toEqual(JSON.parse(text));
  });

  it("writes info and error frames, refusals and notices with the server's words", () => {
    expect(v2InfoFrame("OutdatedCursor", "m")).toBe('{"$type":"message","payload":{"$type":"network.bsky.jetstream.subscribeEvents#info","message":"m","name":"OutdatedCursor"}}');
    expect(v2InfoFrame("X")).toBe('{"$type":"message","payload":{"$type":"network.bsky.jetstream.subscribeEvents#info","name":"X"}}');
    expect(outdatedCursorFrame(17)).toBe(
      '{"$type":"message","payload":{"$type":"network.bsky.jetstream.subscribeEvents#info","message":"requested timestamp cursor below retention floor; starting at seq 17","name":"OutdatedCursor"}}',
    );
    expect(v2PayloadText(v2ErrorFrame("ConsumerTooSlow"))).toBeNull();
    expect(v2ErrorFrame("ConsumerTooSlow")).toBe('{"$type":"error","error":"ConsumerTooSlow"}');
    expect(consumerTooSlowFrame(500, 1234)).toBe('{"$type":"error","error":"ConsumerTooSlow","message":"reading below the floor rate 500 events behind the tip; reconnect with cursor=1234"}');
    expect(xrpcErrorBody("CursorTooOld", cursorTooOldMessage(5, 100))).toBe(
      '{"error":"CursorTooOld","message":"subscribe: cursor too old: cursor 5 below lookback floor 100; re-backfill from your last seq"}',
    );
    expect(xrpcErrorBody("InvalidRequest", "a <b> & c")).toBe('{"error":"InvalidRequest","message":"a \\u003cb\\u003e \\u0026 c"}');
  });
});
