import { sha256Hex } from "../delivery/sha256.ts";

/**
 * What public routes, logs and metrics show of a configured URL. Many webhooks carry their secret in the
 * path (`…/api/webhooks/123/SECRET`), in the query or as `user:password@`, so a webhook shows only as its
 * scheme and host plus a fingerprint (to tell two apart); a Jetstream endpoint keeps its path, which
 * names the wire, but loses its credentials and query. Pure.
 */

/** The first 8 hex digits of the SHA-256 of the URL as the relay reads it (`new URL(value).href`). */
export function urlFingerprint(href: string): string {
  return sha256Hex(href, 1);
}

/** `https://hooks.example` (scheme, host and port only) and its fingerprint. */
export function webhookShown(href: string): { origin: string; fingerprint: string } {
  return { origin: new URL(href).origin, fingerprint: urlFingerprint(href) };
}

/** The URL without `user:password@`, query and fragment. */
export function withoutSecrets(href: string): string {
  const url = new URL(href);
  url.username = "";
  url.password = "";
  url.search = "";
  url.hash = "";
  return url.href;
}

/**
 * Replaces every trace of `href` in a message (a runtime's error may quote the URL, whole or without its
 * credentials): the URL, its path and query, its user and password.
 */
export function scrubUrl(text: string, href: string, replacement: string): string {
  const url = new URL(href);
  const parts = [href, withoutCredentials(url), `${url.pathname}${url.search}`, url.search, url.password, url.username];
  if (url.pathname.length > 1) parts.push(url.pathname);
  let scrubbed = text;
  for (const part of parts.filter((p) => p.length > 1).sort((a, b) => b.length - a.length)) scrubbed = scrubbed.replaceAll(part, replacement);
  return scrubbed;
}

function withoutCredentials(url: URL): string {
  const copy = new URL(url.href);
  copy.username = "";
  copy.password = "";
  return copy.href;
}
