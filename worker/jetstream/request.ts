import type { JetstreamWire } from "../api-types.ts";
import { withoutSecrets } from "../config/redact.ts";
import type { EventKind } from "./parsed-frame.ts";
import { V2_PATH } from "./v2-frame.ts";

/**
 * The subscription request: endpoint + filters + cursor, on the wire the endpoint's path names.
 * Legacy `/subscribe`: DIDs go in the URL while it stays short; otherwise the connection asks the server
 * to wait (`requireHello=true`) and the filters follow in an `options_update` message right after it
 * opens. v2 (`/xrpc/network.bsky.jetstream.subscribeEvents`): every filter is a repeated query key and the
 * server takes no message at all, so DIDs that do not fit a Worker's URL are left to the relay's own
 * filter (`didsLeftOut`, shown in /status).
 */

/** URLs longer than this are refused by some proxies; past it the DIDs travel in a message. */
export const MAX_URL_LENGTH = 4000;

export interface SubscribeRequest {
  /** The URL to `fetch` with `Upgrade: websocket` (http/https). */
  url: string;
  /** The message to send once open, when the filters did not fit in the URL. */
  optionsUpdate: string | null;
  /** The WebSocket subprotocol to ask for (v2: `xrpc.v1.json`). */
  protocol?: string;
  /** v2: how many DIDs were left out of the URL (filtered by the relay itself). */
  didsLeftOut?: number;
}

/** A Worker's URL may be 16 KB; the rest of the request needs some room. */
export const MAX_V2_URL_LENGTH = 16_000;

export interface Filters {
  collections: readonly string[];
  dids: readonly string[];
  /** What kinds the server should send (v2 only; the legacy server sends identity and account always). */
  kinds?: readonly EventKind[];
}

/** The request for either wire: `cursor` is a seq (v2, below 1e15) or unix µs. */
export function buildRequest(endpoint: string, filters: Filters, cursor: number | null): SubscribeRequest {
  return wireOf(endpoint) === "v2" ? buildV2Request(endpoint, filters, cursor) : buildSubscribeRequest(endpoint, filters, cursor);
}

export function buildV2Request(endpoint: string, filters: Filters, cursor: number | null, maxUrlLength = MAX_V2_URL_LENGTH): SubscribeRequest {
  const url = new URL(toHttp(endpoint));
  url.search = "";
  const kinds = filters.kinds ?? ["commit"];
  for (const k of kinds) url.searchParams.append("kinds", k);
  // `collections` constrains commits only, and the server refuses it when no commit is wanted.
  if (kinds.includes("commit")) for (const c of filters.collections) url.searchParams.append("collections", c);
  if (cursor !== null) url.searchParams.set("cursor", String(cursor));
  const base = url.href;
  for (const d of filters.dids) url.searchParams.append("dids", d);
  if (url.href.length <= maxUrlLength) return { url: url.href, optionsUpdate: null, protocol: "xrpc.v1.json" };
  return { url: base, optionsUpdate: null, protocol: "xrpc.v1.json", didsLeftOut: filters.dids.length };
}

export function buildSubscribeRequest(
  endpoint: string,
  filters: { collections: readonly string[]; dids: readonly string[] },
  cursorUs: number | null,
  maxUrlLength = MAX_URL_LENGTH,
): SubscribeRequest {
  const url = new URL(toHttp(endpoint));
  url.search = "";
  for (const c of filters.collections) url.searchParams.append("wantedCollections", c);
  if (cursorUs !== null) url.searchParams.set("cursor", String(cursorUs));
  if (filters.dids.length === 0) return { url: url.href, optionsUpdate: null };

  const withDids = new URL(url.href);
  for (const d of filters.dids) withDids.searchParams.append("wantedDids", d);
  if (withDids.href.length <= maxUrlLength) return { url: withDids.href, optionsUpdate: null };

  url.searchParams.set("requireHello", "true");
  const optionsUpdate = JSON.stringify({
    type: "options_update",
    payload: { wantedCollections: filters.collections, wantedDids: filters.dids, maxMessageSizeBytes: 0 },
  });
  return { url: url.href, optionsUpdate };
}

/** The wire an endpoint speaks, by its path. */
export function wireOf(endpoint: string): JetstreamWire {
  return new URL(endpoint).pathname.endsWith(V2_PATH) ? "v2" : "legacy";
}

/** `fetch` needs http(s) to open a WebSocket from a Durable Object: ws → http, wss → https. */
export function toHttp(endpoint: string): string {
  return endpoint.replace(/^ws(s?):\/\//i, "http$1://");
}

/** The endpoint as shown to operators, in routes and logs: without `user:password@`, query string or fragment. */
export function displayEndpoint(endpoint: string): string {
  return withoutSecrets(endpoint);
}
