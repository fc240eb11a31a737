// v2 payloads built from real legacy Jetstream events, as the v2 server's encoder writes them
// (bluesky-social/jetstream internal/subscribe/encoder.go, EncodeV2): `$type` first, then the keys in
// alphabetical order; `time` in RFC 3339 UTC with exactly six fractional digits; a per-instance `seq`.
// The record and the upstream identity/account objects are copied from the legacy text, as written.
// Independent of the worker's code on purpose: it is what that code is checked against.
/// <reference types="vite/client" />
import atprotoCrates from "../fixtures/jetstream/atproto-crates-jetstream-tests.jsonl?raw";
import legacyReadme from "../fixtures/jetstream/jetstream-legacy-readme-examples.jsonl?raw";
import corpus from "../fixtures/jetstream/jetstream-v2-corpus-expected_v1.jsonl?raw";
import golden from "../fixtures/jetstream/jetstream-v2-golden_v1.jsonl?raw";
import microcosm from "../fixtures/jetstream/microcosm-constellation-tests.jsonl?raw";

const lines = (text: string) => text.split("\n").filter((line) => line.trim() !== "");

/** Every real legacy event of the fixtures (177), by file. */
export const FIXTURES: Record<string, string[]> = {
  "atproto-crates-jetstream-tests": lines(atprotoCrates),
  "jetstream-legacy-readme-examples": lines(legacyReadme),
  "jetstream-v2-corpus-expected_v1": lines(corpus),
  "jetstream-v2-golden_v1": lines(golden),
  "microcosm-constellation-tests": lines(microcosm),
};
export const ALL_FIXTURES = Object.values(FIXTURES).flat();

export const V2_TYPE = "network.bsky.jetstream.subscribeEvents";

/** unix µs → the v2 wire's `time`. */
export function v2Time(timeUs: number): string {
  const seconds = new Date(Math.floor(timeUs / 1_000_000) * 1000).toISOString().slice(0, 19);
  return `${seconds}.${String(timeUs % 1_000_000).padStart(6, "0")}Z`;
}

interface LegacyEvent {
  did: string;
  time_us: number;
  kind: string;
  commit?: { rev: string; operation: string; collection: string; rkey: string; record?: unknown; cid?: string };
}

/**
 * The v2 payload of a legacy event (in the legacy server's layout: all fixtures are), as an instance
 * with this `seq` would send it; `timeUs` for another instance's clock (default: the legacy `time_us`).
 */
export function v2PayloadOf(legacy: string, seq: number, timeUs?: number): string {
  const event = JSON.parse(legacy) as LegacyEvent;
  const members: Record<string, string> = { did: JSON.stringify(event.did), seq: String(seq), time: JSON.stringify(v2Time(timeUs ?? event.time_us)) };
  if (event.kind === "commit" && event.commit) {
    const { rev, operation, collection, rkey, cid } = event.commit;
    Object.assign(members, { rev: JSON.stringify(rev), operation: JSON.stringify(operation), collection: JSON.stringify(collection), rkey: JSON.stringify(rkey) });
    if (cid !== undefined) members.cid = JSON.stringify(cid);
    // The record as written: between the commit's `record` key and its `cid`, the last member.
    if (event.commit.record !== undefined) members.record = legacy.slice(legacy.indexOf(',"record":') + ',"record":'.length, legacy.lastIndexOf(',"cid":'));
  } else {
    const key = `,"${event.kind}":`;
    members[event.kind] = legacy.slice(legacy.indexOf(key) + key.length, -1);
  }
  const keys = Object.keys(members).sort();
  return `{"$type":"${V2_TYPE}#${event.kind}",${keys.map((k) => `"${k}":${members[k]}`).join(",")}}`;
}

/** The frame the v2 wire carries a payload in. */
export function v2Frame(payload: string): string {
  return `{"$type":"message","payload":${payload}}`;
}
