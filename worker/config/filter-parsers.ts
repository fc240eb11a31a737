import type { EventKind } from "../jetstream/parsed-frame.ts";
import { isValidDid, MAX_WANTED_COLLECTIONS, MAX_WANTED_DIDS, parseWantedCollections, type CollectionPattern } from "../jetstream/identifiers.ts";
import { withoutSecrets } from "./redact.ts";
import { isUnset, type Reading } from "./variable.ts";

/** Parsers of the ingest filter's variables (comma-separated lists). Pure. */

export const EVENT_KINDS: readonly EventKind[] = ["commit", "identity", "account", "sync"];

function list(raw: unknown): string[] {
  return String(raw).trim().split(",").map((s) => s.trim());
}

const PREFIX_SEGMENT = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const COLLECTIONS_EXAMPLE = "e.g. app.bsky.feed.post,app.bsky.graph.*";

export function parseCollections(raw: unknown): Reading<{ names: string[]; patterns: CollectionPattern[] }> {
  if (isUnset(raw)) {
    return { wrong: "JETSTREAM_COLLECTIONS is not set: the relay does not know which collections to forward", fix: `Set JETSTREAM_COLLECTIONS to a comma-separated list of NSIDs or prefixes, ${COLLECTIONS_EXAMPLE}.` };
  }
  const items = list(raw);
  const bad: string[] = [];
  for (const item of items) {
    if (item === "*") return { wrong: "`*` is rejected by Jetstream (HTTP 400): it is not a collection", fix: `List the collections or prefixes you want, ${COLLECTIONS_EXAMPLE}.` };
    if (item === "") bad.push("(empty entry)");
    // Stricter than the server for prefixes (it takes anything ending in `.*`): each part must look like an NSID segment.
    else if (item.endsWith(".*") && !item.slice(0, -2).split(".").every((s) => PREFIX_SEGMENT.test(s))) bad.push(item);
  }
  const parsed = parseWantedCollections(items.filter((i) => i !== ""));
  if ("error" in parsed && parsed.error.startsWith("invalid collection: ")) bad.push(parsed.error.slice("invalid collection: ".length));
  if (bad.length > 0) {
    return {
      wrong: `Not a valid collection NSID or prefix: ${[...new Set(bad)].slice(0, 5).join(", ")}`,
      fix: `Use full NSIDs (at least three dot-separated parts, letters/digits/hyphens) or prefixes ending in .*, ${COLLECTIONS_EXAMPLE}.`,
    };
  }
  if ("error" in parsed) {
    return { wrong: `Too many collections: Jetstream accepts at most ${MAX_WANTED_COLLECTIONS}`, fix: "Use prefixes (app.bsky.feed.*) to cover several collections, or run several relays with disjoint filters." };
  }
  return { value: { names: [...new Set(items)], patterns: parsed.patterns } };
}

export function parseDids(raw: unknown): Reading<string[]> {
  if (isUnset(raw)) return { value: [] };
  const items = list(raw);
  const bad = items.filter((d) => !isValidDid(d));
  if (bad.length > 0) {
    const named = bad.slice(0, 5).map((d) => d || "(empty entry)").join(", ");
    return {
      wrong: `Not a valid DID: ${named}${bad.length > 5 ? ` and ${bad.length - 5} more` : ""}`,
      fix: "Use comma-separated DIDs such as did:plc:abc123 or did:web:example.com, or unset JETSTREAM_DIDS.",
    };
  }
  const unique = [...new Set(items)];
  if (unique.length > MAX_WANTED_DIDS) {
    return { wrong: `Too many DIDs (${unique.length}): Jetstream accepts at most ${MAX_WANTED_DIDS}`, fix: "Filter on fewer repositories, or run several relays with disjoint DID lists." };
  }
  return { value: unique };
}

export function parseKinds(raw: unknown): Reading<EventKind[]> {
  if (isUnset(raw)) return { value: ["commit"] };
  const items = list(raw);
  const bad = items.filter((k) => !EVENT_KINDS.includes(k as EventKind));
  if (bad.length > 0) {
    return { wrong: `Unknown event kind: ${bad.map((k) => k || "(empty entry)").join(", ")}`, fix: "Use any of commit, identity, account, sync (comma-separated), or unset it for commit only." };
  }
  return { value: [...new Set(items as EventKind[])] };
}

export function parseEndpoints(raw: unknown, defaults: readonly string[]): Reading<string[]> {
  if (isUnset(raw)) return { value: [...defaults] };
  const endpoints: string[] = [];
  for (const [index, item] of list(raw).entries()) {
    let url: URL | null = null;
    try {
      url = new URL(item);
    } catch {
      url = null;
    }
    if (!url || (url.protocol !== "ws:" && url.protocol !== "wss:") || url.search !== "" || url.hash !== "") {
      return {
        wrong: `Not a Jetstream endpoint: ${shownEntry(item, url, index)} (expected ws:// or wss://…/xrpc/network.bsky.jetstream.subscribeEvents or …/subscribe, without query string)`,
        fix: "Set JETSTREAM_URL to comma-separated wss://HOST/xrpc/network.bsky.jetstream.subscribeEvents (v2) or wss://HOST/subscribe (legacy) URLs, or unset it for Bluesky's v2 hosts.",
      };
    }
    endpoints.push(url.href);
  }
  return { value: [...new Set(endpoints)] };
}

/** A refused endpoint as a problem may quote it: never its credentials or query (they may be secrets). */
function shownEntry(item: string, url: URL | null, index: number): string {
  if (item === "") return `entry ${index + 1} is empty`;
  if (url) {
    const hidden = [url.username || url.password ? "credentials" : "", url.search ? "query string" : "", url.hash ? "fragment" : ""].filter(Boolean);
    return `"${withoutSecrets(url.href).slice(0, 200)}"${hidden.length > 0 ? ` (its ${hidden.join(" and ")} not shown)` : ""}`;
  }
  return /[@?#]/.test(item) ? `entry ${index + 1} is not a URL` : `"${item.slice(0, 200)}"`;
}
