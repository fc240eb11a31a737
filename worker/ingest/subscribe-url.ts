import type { JetstreamWire } from "../api-types.ts";
import { V2_PATH } from "./event-v2.ts";
/**
 * The `/subscribe` request: endpoint + filters + cursor. DIDs go in the URL while it stays short;
 * otherwise the connection asks the server to wait (`requireHello=true`) and the filters follow in an
 * `options_update` message right after it opens.
 */

/** URLs longer than this are refused by some proxies; past it the DIDs travel in a message. */
export const MAX_URL_LENGTH = 4000;

export interface SubscribeRequest {
  /** The URL to `fetch` with `Upgrade: websocket` (http/https). */
  url: string;
  /** The message to send once open, when the filters did not fit in the URL. */
  optionsUpdate: string | null;
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

/** The endpoint as shown to operators: without query string. */
export function displayEndpoint(endpoint: string): string {
  const url = new URL(endpoint);
  url.search = "";
  return url.href;
}
