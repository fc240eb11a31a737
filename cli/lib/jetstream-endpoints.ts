// The Jetstream endpoints `init` offers and `dev` names: Bluesky's v2 hosts by default (the worker's own
// default, DEFAULT_ENDPOINTS), the numbered legacy hosts when chosen, or any endpoint the user runs.
import { withoutSecrets } from "../../worker/config/redact.ts";
import { DEFAULT_ENDPOINTS } from "../../worker/config/registry.ts";

/** Bluesky's numbered hosts: the legacy `/subscribe` wire only (their time_us cursors do not carry over to a v2 host). */
export const BLUESKY_LEGACY_ENDPOINTS = [
  "wss://jetstream1.us-east.bsky.network/subscribe",
  "wss://jetstream2.us-east.bsky.network/subscribe",
  "wss://jetstream1.us-west.bsky.network/subscribe",
  "wss://jetstream2.us-west.bsky.network/subscribe",
];

export type EndpointChoice = "v2" | "legacy" | "custom";

export const ENDPOINT_CHOICES: { value: EndpointChoice; label: string; hint: string }[] = [
  { value: "v2", label: "Bluesky's v2 hosts (recommended)", hint: "jetstream.us-east and us-west, subscribeEvents: resumes by seq, exact gaps" },
  { value: "legacy", label: "Bluesky's numbered legacy hosts", hint: "jetstream1/2.us-east and us-west, /subscribe" },
  { value: "custom", label: "Other endpoints", hint: "your own Jetstream, comma-separated; the path picks the wire" },
];

const split = (urls: string) => urls.split(",").map((url) => url.trim()).filter(Boolean);
const same = (a: string[], b: string[]) => a.length === b.length && a.every((url, i) => url === b[i]);

/** Which choice a JETSTREAM_URL value is: unset (the worker's default) or the v2 hosts is "v2". */
export function choiceOf(jetstreamUrl: string | undefined): EndpointChoice {
  if (!jetstreamUrl || same(split(jetstreamUrl), DEFAULT_ENDPOINTS)) return "v2";
  if (same(split(jetstreamUrl), BLUESKY_LEGACY_ENDPOINTS)) return "legacy";
  return "custom";
}

/** The JETSTREAM_URL to write for a choice: none for v2 (the worker's default applies), the numbered hosts for legacy. */
export function jetstreamUrlFor(choice: Exclude<EndpointChoice, "custom">): string | undefined {
  return choice === "legacy" ? BLUESKY_LEGACY_ENDPOINTS.join(",") : undefined;
}

/** One line saying which endpoints a JETSTREAM_URL value means. */
export function describeEndpoints(jetstreamUrl: string | undefined): string {
  switch (choiceOf(jetstreamUrl)) {
    case "v2":
      return `Bluesky's v2 hosts (${DEFAULT_ENDPOINTS.join(", ")})${jetstreamUrl ? "" : ", the default"}`;
    case "legacy":
      return "Bluesky's numbered legacy hosts (jetstream1/2.us-east and us-west, /subscribe)";
    default:
      return split(jetstreamUrl!).map(shown).join(", ");
  }
}

/** An endpoint as printed: without its credentials (or query), like the relay shows it. */
function shown(url: string): string {
  try {
    return withoutSecrets(url);
  } catch {
    return "(not a URL)";
  }
}
