import { EVENT_FORMATS, type EventFormat } from "../delivery/event-body.ts";
import { isUnset, type Reading } from "./variable.ts";

/** Parsers of the webhook's variables: where to deliver, how to authenticate, what to send. Pure. */

export function parseWebhookUrl(raw: unknown): Reading<string> {
  if (isUnset(raw)) {
    return { wrong: "WEBHOOK_URL is not set: there is nowhere to deliver events", fix: "Set WEBHOOK_URL to your endpoint, e.g. `wrangler secret put WEBHOOK_URL` with https://example.com/hook." };
  }
  let url: URL;
  try {
    url = new URL(String(raw).trim());
  } catch {
    return { wrong: "WEBHOOK_URL is not a valid absolute URL", fix: "Set WEBHOOK_URL to a full URL such as https://example.com/hook." };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return { wrong: `WEBHOOK_URL must use http or https, not ${url.protocol.replace(":", "")}`, fix: "Set WEBHOOK_URL to an http:// or https:// URL." };
  }
  return { value: url.href };
}

const SECRET_PATTERN = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

/** The HMAC key (the base64-decoded part after `whsec_`); null when unset. The value never appears in a message. */
export function parseWebhookSecret(raw: unknown): Reading<Uint8Array | null> {
  if (isUnset(raw)) return { value: null };
  const match = SECRET_PATTERN.exec(String(raw).trim());
  let key: Uint8Array | undefined;
  if (match) {
    try {
      key = Uint8Array.from(atob(match[1]), (c) => c.charCodeAt(0));
    } catch {
      key = undefined;
    }
  }
  if (!key || key.length === 0) {
    return {
      wrong: "WEBHOOK_SECRET is not a Standard Webhooks secret (`whsec_` followed by base64), and nothing is delivered unsigned",
      fix: "Set WEBHOOK_SECRET to `whsec_` + base64 of 24 to 64 random bytes, e.g. `whsec_$(openssl rand -base64 32)`.",
    };
  }
  return { value: key };
}

/** The token; null when unset. The value never appears in a message. */
export function parseBearerToken(raw: unknown): Reading<string | null> {
  if (isUnset(raw)) return { value: null };
  const token = String(raw).trim();
  if (!/^[\x21-\x7e]+$/.test(token)) {
    return { wrong: "WEBHOOK_BEARER_TOKEN contains spaces or characters that cannot be sent in an HTTP header", fix: "Use a token of printable ASCII characters without spaces." };
  }
  return { value: token };
}

/** The body format; `as-received` when unset. */
export function parseEventFormat(raw: unknown): Reading<EventFormat> {
  if (isUnset(raw)) return { value: "as-received" };
  const text = String(raw).trim().toLowerCase();
  const format = EVENT_FORMATS.find((f) => f === text);
  if (format) return { value: format };
  return {
    wrong: `WEBHOOK_EVENT_FORMAT is ${JSON.stringify(String(raw).trim().slice(0, 40))}, which is neither as-received nor v1`,
    fix: "Set WEBHOOK_EVENT_FORMAT to as-received (each event as Jetstream sent it) or v1 (the legacy Jetstream JSON), or unset it for as-received.",
  };
}
