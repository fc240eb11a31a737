/**
 * AT Protocol identifiers as the Jetstream server validates them: collection NSIDs (exact, or a
 * `prefix.*` pattern) and DIDs, plus the server's caps. Pure; used by the relay's configuration and by
 * our Jetstream-compatible replay server, so both reject exactly what the real server rejects.
 */

export const MAX_WANTED_COLLECTIONS = 100;
export const MAX_WANTED_DIDS = 10_000;

// NSID (atproto spec): ≥ 3 dot-separated segments, ASCII; domain segments 1–63 chars of letters, digits
// and hyphens (not at either end), the first one not starting with a digit; the last (name) segment
// letters and digits only, not starting with a digit. At most 317 characters, authority ≤ 253.
const DOMAIN_SEGMENT = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const NAME_SEGMENT = /^[a-zA-Z][a-zA-Z0-9]{0,62}$/;

export function isValidNsid(text: string): boolean {
  if (text.length > 317) return false;
  const segments = text.split(".");
  if (segments.length < 3) return false;
  const name = segments.pop()!;
  if (!NAME_SEGMENT.test(name)) return false;
  if (segments.join(".").length > 253) return false;
  if (/^[0-9]/.test(segments[0])) return false;
  return segments.every((s) => DOMAIN_SEGMENT.test(s));
}

// DID (atproto spec): did:<lowercase method>:<identifier>, at most 2048 characters.
const DID_PATTERN = /^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$/;

export function isValidDid(text: string): boolean {
  return text.length <= 2048 && DID_PATTERN.test(text);
}

/** A collection wanted by a subscriber: an exact NSID, or a prefix (kept with its trailing dot). */
export type CollectionPattern = { exact: string } | { prefix: string };

/**
 * Parses wantedCollections like the server: `x.y.*` is a prefix (the server accepts any prefix ending in
 * `.*`), anything else must be a valid NSID (so a bare `*` is rejected); duplicates are dropped before the
 * cap of 100 is checked. Returns the server's error text on failure.
 */
export function parseWantedCollections(values: readonly string[]): { patterns: CollectionPattern[] } | { error: string } {
  const seen = new Set<string>();
  const patterns: CollectionPattern[] = [];
  for (const raw of values) {
    if (raw.endsWith(".*")) {
      const prefix = raw.slice(0, -1);
      if (!seen.has(`p:${prefix}`)) patterns.push({ prefix });
      seen.add(`p:${prefix}`);
    } else if (isValidNsid(raw)) {
      if (!seen.has(`e:${raw}`)) patterns.push({ exact: raw });
      seen.add(`e:${raw}`);
    } else {
      return { error: `invalid collection: ${raw}` };
    }
    if (patterns.length > MAX_WANTED_COLLECTIONS) return { error: `too many wanted collections: > ${MAX_WANTED_COLLECTIONS}` };
  }
  return { patterns };
}

/** Parses wantedDids like the server: each must be a valid DID; at most 10,000 distinct. */
export function parseWantedDids(values: readonly string[]): { dids: Set<string> } | { error: string } {
  const dids = new Set<string>();
  for (const raw of values) {
    if (!isValidDid(raw)) return { error: `invalid DID: ${raw}` };
    dids.add(raw);
  }
  if (dids.size > MAX_WANTED_DIDS) return { error: `too many wanted DIDs: ${dids.size} > ${MAX_WANTED_DIDS}` };
  return { dids };
}

/** A predicate over collection names; an empty pattern list matches nothing. */
export function collectionMatcher(patterns: readonly CollectionPattern[]): (collection: string) => boolean {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const p of patterns) {
    if ("exact" in p) exact.add(p.exact);
    else prefixes.push(p.prefix);
  }
  return (collection) => exact.has(collection) || prefixes.some((prefix) => collection.startsWith(prefix));
}
