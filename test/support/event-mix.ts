/**
 * Distinct Jetstream events in the mix of real traffic, for the end-to-end suite and the benchmark.
 *
 * The templates are the real captured events of test/fixtures/jetstream (mostly likes, then posts,
 * reposts, follows, some other collections, identity and account events). Each generated event is a
 * template with a unique `time_us`, and a unique `rkey`/`rev` (commits) or `seq` (identity/account), so
 * that every event is distinct — also for the relay's webhook-id — and can be counted at the webhook.
 * Only those fields are changed; everything else is the captured event.
 */
import { fixtureEvents } from "./jetstream-test-server.ts";

type Json = Record<string, unknown>;

let templates: Json[] | null = null;

function loadTemplates(): Json[] {
  templates ??= fixtureEvents().map((raw) => JSON.parse(raw) as Json);
  return templates;
}

/** A TID-like key (13 base32-sortable characters) for sequence number `n`. */
export function tidFor(n: number, salt = 0): string {
  const alphabet = "234567abcdefghijklmnopqrstuvwxyz";
  let value = BigInt(n) * 1024n + BigInt(salt % 1024);
  let out = "";
  for (let i = 0; i < 13; i++) {
    out = alphabet[Number(value % 32n)] + out;
    value /= 32n;
  }
  return out;
}

export interface MixOptions {
  count: number;
  /** time_us of the first event; the others follow `stepUs` apart. */
  startUs: number;
  stepUs?: number;
  /** Distinguishes runs so that events of two runs never share an rkey. */
  salt?: number;
  /** Offset into the sequence (to generate a continuation of an earlier call). */
  offset?: number;
}

/** `count` distinct events (JSON text), in time order. */
export function mixedEvents(options: MixOptions): string[] {
  const all = loadTemplates();
  const step = options.stepUs ?? 1000;
  const offset = options.offset ?? 0;
  const out: string[] = new Array(options.count);
  for (let i = 0; i < options.count; i++) {
    const n = offset + i;
    const template = all[n % all.length];
    const event: Json = { ...template, time_us: options.startUs + i * step };
    if (template.commit && typeof template.commit === "object") {
      const key = tidFor(n, options.salt ?? 0);
      event.commit = { ...(template.commit as Json), rkey: key, rev: key };
    } else if (template.identity && typeof template.identity === "object") {
      event.identity = { ...(template.identity as Json), seq: n + 1 };
    } else if (template.account && typeof template.account === "object") {
      event.account = { ...(template.account as Json), seq: n + 1 };
    }
    out[i] = JSON.stringify(event);
  }
  return out;
}

/** What the relay forwards, given its collections (exact NSIDs or `prefix.*`) and kinds. */
export function forwardedBy(collections: string[], kinds: string[] = ["commit"]): (raw: string) => boolean {
  const exact = new Set(collections.filter((c) => !c.endsWith(".*")));
  const prefixes = collections.filter((c) => c.endsWith(".*")).map((c) => c.slice(0, -1));
  return (raw) => {
    const event = JSON.parse(raw) as { kind?: string; commit?: { collection?: string } };
    if (!kinds.includes(event.kind ?? "")) return false;
    if (event.kind !== "commit") return true;
    const collection = event.commit?.collection ?? "";
    return exact.has(collection) || prefixes.some((p) => collection.startsWith(p));
  };
}

/** The time_us of every event in a webhook request body (one event, or a JSON array in batch mode). */
export function timesIn(body: string): number[] {
  const times: number[] = [];
  for (const match of body.matchAll(/"time_us":(\d+)/g)) times.push(Number(match[1]));
  return times;
}
