/**
 * The v2 endpoint's pre-upgrade judgement (cli/lib/jetstream-v2-query.ts), against the rules and texts
 * of the real server (bluesky-social/jetstream internal/subscribe/filterv2.go, cursor.go).
 */
import { describe, expect, it } from "vitest";
import { parseV2Query, resolveLegacySeqCursor, resolveV2Cursor, v2Filter, type SeqSpace } from "../../cli/lib/jetstream-v2-query.ts";

const q = (text: string) => parseV2Query(new URLSearchParams(text));
const refusal = (text: string) => {
  const parsed = q(text);
  if (!("refusal" in parsed)) throw new Error(`accepted: ${text}`);
  return parsed.refusal;
};

describe("v2 query", () => {
  it("reads repeated keys", () => {
    expect(q("kinds=commit&kinds=identity&collections=app.bsky.feed.post&collections=app.bsky.graph.*&dids=did:plc:a&cursor=12")).toEqual({
      query: { kinds: ["commit", "identity"], collections: ["app.bsky.feed.post", "app.bsky.graph.*"], dids: ["did:plc:a"], cursor: 12, maxMessageSizeBytes: 0 },
    });
    expect(q("")).toEqual({ query: { kinds: [], collections: [], dids: [], cursor: null, maxMessageSizeBytes: 0 } });
  });

  it("refuses what the server refuses, with its words", () => {
    const invalid = (message: string) => ({ status: 400, error: "InvalidRequest", message: `subscribe: invalid options: ${message}` });
    expect(refusal("wantedCollections=app.bsky.feed.post")).toEqual(invalid("wantedCollections is the legacy /subscribe parameter; use collections"));
    expect(refusal("wantedDids=did:plc:a")).toEqual(invalid("wantedDids is the legacy /subscribe parameter; use dids"));
    expect(refusal("requireHello=true").message).toContain("requireHello is not supported on this endpoint");
    expect(refusal("kinds=commits")).toEqual(invalid('unknown kind "commits" (valid: commit, identity, account, sync)'));
    expect(refusal("kinds=identity&collections=app.bsky.feed.post")).toEqual(invalid("collections filter can never apply: kinds excludes commit"));
    expect(refusal(Array.from({ length: 101 }, (_, i) => `collections=a.b.c${i}`).join("&"))).toEqual(invalid("too many collections values: 101 > 100"));
    expect(refusal(Array.from({ length: 10_001 }, (_, i) => `dids=did:plc:x${i}`).join("&"))).toEqual(invalid("too many dids values: 10001 > 10000"));
    expect(refusal("dids=nope")).toEqual(invalid("invalid DID: nope"));
    expect(refusal("collections=not_an_nsid")).toEqual(invalid("invalid collection: not_an_nsid"));
    expect(refusal("collections=not_an.*")).toEqual(invalid("invalid collection wildcard: not_an.*"));
    expect(refusal("cursor=abc")).toEqual({ status: 400, error: "InvalidRequest", message: 'subscribe: invalid cursor: "abc"' });
    expect(refusal("cursor=-5")).toEqual({ status: 400, error: "InvalidRequest", message: "subscribe: invalid cursor: negative value -5" });
    expect(refusal("compress=true").error).toBe("InvalidRequest");
    // identity with commit and collections is fine; sync is accepted
    expect(q("kinds=commit&kinds=sync&collections=app.bsky.*")).toHaveProperty("query");
  });

  it("filters: kinds AND dids AND collections, collections constraining commits only", () => {
    const like = { kind: "commit", did: "did:plc:a", collection: "app.bsky.feed.like" };
    const post = { kind: "commit", did: "did:plc:a", collection: "app.bsky.feed.post" };
    const identity = { kind: "identity", did: "did:plc:a", collection: null };
    const other = { kind: "account", did: "did:plc:b", collection: null };
    const wants = (text: string) => {
      const parsed = q(text);
      if (!("query" in parsed)) throw new Error(text);
      const f = v2Filter(parsed.query);
      return [like, post, identity, other].map(f);
    };
    expect(wants("")).toEqual([true, true, true, true]);
    expect(wants("collections=app.bsky.feed.post")).toEqual([false, true, true, true]);
    expect(wants("kinds=commit&collections=app.bsky.feed.post")).toEqual([false, true, false, false]);
    expect(wants("kinds=identity&kinds=account")).toEqual([false, false, true, true]);
    expect(wants("dids=did:plc:b")).toEqual([false, false, false, true]);
    expect(wants("kinds=sync")).toEqual([false, false, false, false]);
  });
});

describe("v2 cursor", () => {
  // seqs 100..199 with time_us 1e15+1000·(seq−100)
  const space: SeqSpace = {
    floorSeq: 100,
    nextSeq: 200,
    oldestUs: 1_700_000_000_000_000,
    seqAtOrAfter: (t) => Math.min(200, 100 + Math.max(0, Math.ceil((t - 1_700_000_000_000_000) / 1000))),
  };

  it("reads seqs inclusively, refuses one below the floor with CursorTooOld, and a future seq is live", () => {
    expect(resolveV2Cursor(null, space)).toEqual({ startSeq: 200, outdated: false });
    expect(resolveV2Cursor(150, space)).toEqual({ startSeq: 150, outdated: false });
    expect(resolveV2Cursor(100, space)).toEqual({ startSeq: 100, outdated: false });
    expect(resolveV2Cursor(99, space)).toEqual({
      refusal: { status: 400, error: "CursorTooOld", message: "subscribe: cursor too old: cursor 99 below lookback floor 100; re-backfill from your last seq" },
    });
    expect(resolveV2Cursor(0, space)).toHaveProperty("refusal");
    expect(resolveV2Cursor(0, { ...space, floorSeq: 1 })).toEqual({ startSeq: 1, outdated: false });
    expect(resolveV2Cursor(200, space)).toEqual({ startSeq: 200, outdated: false });
    expect(resolveV2Cursor(5_000, space)).toEqual({ startSeq: 200, outdated: false });
  });

  it("translates µs timestamps, clamping one below the floor with an OutdatedCursor notice", () => {
    expect(resolveV2Cursor(1_700_000_000_010_000, space)).toEqual({ startSeq: 110, outdated: false });
    expect(resolveV2Cursor(1_700_000_000_000_000, space)).toEqual({ startSeq: 100, outdated: false });
    expect(resolveV2Cursor(1_699_999_999_999_999, space)).toEqual({ startSeq: 100, outdated: true });
    expect(resolveV2Cursor(1_800_000_000_000_000, space)).toEqual({ startSeq: 200, outdated: false });
  });

  it("on the legacy wire of a v2 server, clamps seqs silently", () => {
    expect(resolveLegacySeqCursor(5, space)).toBe(100);
    expect(resolveLegacySeqCursor(150, space)).toBe(150);
    expect(resolveLegacySeqCursor(300, space)).toBe(200);
    expect(resolveLegacySeqCursor(1_600_000_000_000_000, space)).toBe(100);
    expect(resolveLegacySeqCursor(null, space)).toBe(200);
  });
});
