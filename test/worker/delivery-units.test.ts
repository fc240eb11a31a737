import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import type { Env } from "../../worker/contract.ts";
import { backoffSeconds } from "../../worker/backoff.ts";
import { classifyFailure, classifyResponse, parseRetryAfter, retryDelaySeconds } from "../../worker/delivery/classify-response.ts";
import { parseDeliveryConfig } from "../../worker/delivery/delivery-config.ts";
import { assignLanes, packFollowUps, sendBatches } from "../../worker/delivery/delivery-plan.ts";
import { CAUTIOUS_LIMITS } from "../../worker/queue/limits.ts";
import { completeEvent } from "../../worker/queue/complete-event.ts";
import { batchId, eventId } from "../../worker/delivery/event-id.ts";
import { sha256Hex } from "../../worker/delivery/sha256.ts";
import { createSigner } from "../../worker/delivery/signing.ts";
import { buildWebhookRequest } from "../../worker/delivery/webhook-request.ts";
import { utf8Length } from "../../worker/delivery/utf8-length.ts";
import { holdGroup, holdSeconds } from "../../worker/delivery/delivery-pause.ts";
import { healthReasons, type HealthInput } from "../../worker/relay/health.ts";
import { DeliveryPauseStore, PAUSE_KEY } from "../../worker/relay/delivery-pause-store.ts";
import { CORPUS, GOLDEN } from "./delivery-support.ts";

const MAX_MESSAGE_BYTES = CAUTIOUS_LIMITS.messageTargetBytes; // follow-up messages
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const withVars = (vars: Record<string, unknown>) => ({ ...env, WEBHOOK_URL: "https://example.com/hook", ...vars }) as Env;

describe("delivery configuration", () => {
  it("accepts a plain https URL and uses the defaults", () => {
    const { config, problems } = parseDeliveryConfig(withVars({}));
    expect(problems).toEqual([]);
    expect(config).toMatchObject({
      webhookUrl: "https://example.com/hook",
      signingKey: null,
      bearerToken: null,
      batchSize: 1,
      concurrency: 6,
      timeoutMs: 15_000,
      maxAttempts: 10,
      retryBaseSeconds: 5,
      retryMaxSeconds: 900,
      deadLetterMaxEvents: 100_000,
      maxRequestsPerBatch: 1000,
      maxBatchBytes: 1_000_000,
    });
  });

  it.each([
    [undefined, "not set"],
    ["", "not set"],
    ["example.com/hook", "not a valid absolute URL"],
    ["ftp://example.com/hook", "must use http or https"],
  ])("refuses WEBHOOK_URL %j with a clear problem and no config", (url, message) => {
    const { config, problems } = parseDeliveryConfig({ ...env, WEBHOOK_URL: url } as Env);
    expect(config).toBeNull();
    expect(problems).toHaveLength(1);
    expect(problems[0].variable).toBe("WEBHOOK_URL");
    expect(problems[0].message).toContain(message);
    expect(problems[0].fix).toMatch(/WEBHOOK_URL/);
  });

  it("decodes a whsec_ secret and refuses a malformed one (nothing goes out unsigned)", () => {
    expect(parseDeliveryConfig(withVars({ WEBHOOK_SECRET: SECRET })).config?.signingKey).toHaveLength(24);
    for (const bad of ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_not base64!"]) {
      const { config, problems } = parseDeliveryConfig(withVars({ WEBHOOK_SECRET: bad }));
      expect(config).toBeNull();
      expect(problems.map((p) => p.variable)).toEqual(["WEBHOOK_SECRET"]);
      expect(JSON.stringify(problems)).not.toContain(bad.slice(6) || "whsec_x");
    }
  });

  it("refuses a bearer token that cannot travel in a header", () => {
    expect(parseDeliveryConfig(withVars({ WEBHOOK_BEARER_TOKEN: "tok-123" })).config?.bearerToken).toBe("tok-123");
    const { config, problems } = parseDeliveryConfig(withVars({ WEBHOOK_BEARER_TOKEN: "two words" }));
    expect(config).toBeNull();
    expect(problems[0].variable).toBe("WEBHOOK_BEARER_TOKEN");
  });

  it("reports each bad tuning value and delivers nothing meanwhile (no default in its place)", () => {
    const { config, problems } = parseDeliveryConfig(
      withVars({
        WEBHOOK_BATCH_SIZE: "0",
        WEBHOOK_CONCURRENCY: "many",
        WEBHOOK_TIMEOUT_SECONDS: "-1",
        WEBHOOK_MAX_ATTEMPTS: "2.5",
        WEBHOOK_RETRY_BASE_SECONDS: "99999",
        DEAD_LETTER_MAX_EVENTS: "5000000",
      }),
    );
    expect(problems.map((p) => p.variable).sort()).toEqual(
      ["DEAD_LETTER_MAX_EVENTS", "WEBHOOK_BATCH_SIZE", "WEBHOOK_CONCURRENCY", "WEBHOOK_MAX_ATTEMPTS", "WEBHOOK_RETRY_BASE_SECONDS", "WEBHOOK_TIMEOUT_SECONDS"],
    );
    expect(problems.find((p) => p.variable === "WEBHOOK_CONCURRENCY")?.message).toContain("webhook delivery is paused until it is fixed");
    expect(problems.find((p) => p.variable === "WEBHOOK_CONCURRENCY")?.fix).toBe("Set WEBHOOK_CONCURRENCY to a whole number from 1 to 100, or unset it for the default 6.");
    expect(config).toBeNull();
  });

  it("accepts tuning values as strings or numbers", () => {
    const { config, problems } = parseDeliveryConfig(
      withVars({ WEBHOOK_BATCH_SIZE: 25, WEBHOOK_TIMEOUT_SECONDS: "0.5", WEBHOOK_RETRY_BASE_SECONDS: "60", WEBHOOK_RETRY_MAX_SECONDS: "120" }),
    );
    expect(problems).toEqual([]);
    expect(config).toMatchObject({ batchSize: 25, timeoutMs: 500, retryBaseSeconds: 60, retryMaxSeconds: 120 });
  });

  it("refuses a max delay below the base, like any bad value", () => {
    const { config, problems } = parseDeliveryConfig(withVars({ WEBHOOK_RETRY_BASE_SECONDS: "60", WEBHOOK_RETRY_MAX_SECONDS: "30" }));
    expect(config).toBeNull();
    expect(problems).toEqual([
      {
        variable: "WEBHOOK_RETRY_MAX_SECONDS",
        message: expect.stringContaining("WEBHOOK_RETRY_MAX_SECONDS (30) is below WEBHOOK_RETRY_BASE_SECONDS (60)"),
        fix: "Set WEBHOOK_RETRY_MAX_SECONDS to at least WEBHOOK_RETRY_BASE_SECONDS, or unset both.",
      },
    ]);
  });
});

describe("events of a queue message", () => {
  it("are completed: whole ones kept, compact ones read from their text, anything else refused", () => {
    const whole = { raw: GOLDEN[0], did: "did:plc:w", timeUs: 5, receivedAt: 1, attempts: "2" as unknown as number };
    expect(completeEvent(whole)).toEqual({ ...whole, attempts: 2 });
    const { did, time_us } = JSON.parse(GOLDEN[0]) as { did: string; time_us: number };
    expect(completeEvent({ raw: GOLDEN[0], receivedAt: 7 })).toEqual({ raw: GOLDEN[0], did, timeUs: time_us, receivedAt: 7, attempts: 0 });
    // Another field order (not Jetstream's): parsed whole.
    const reordered = JSON.stringify({ kind: "identity", time_us: 42, did: "did:plc:r" });
    expect(completeEvent({ raw: reordered, receivedAt: 7 })).toMatchObject({ did: "did:plc:r", timeUs: 42 });
    // Not JSON: kept with what is known (the consumer dead-letters it when it takes it).
    expect(completeEvent({ raw: "{not json", receivedAt: 7 })).toMatchObject({ raw: "{not json", did: "", timeUs: 0 });
    for (const other of [null, 3, "text", {}, { receivedAt: 1 }]) expect(completeEvent(other)).toBeNull();
  });
});

describe("webhook-id", () => {
  it("is the same for the same event from two Jetstream instances (time_us and cursor differ)", async () => {
    for (const raw of [...GOLDEN, ...CORPUS.slice(0, 20)]) {
      const event = JSON.parse(raw) as Record<string, unknown>;
      const elsewhere = JSON.stringify({ ...event, time_us: (event.time_us as number) + 1234, cursor: 98765 });
      expect(eventId(elsewhere)).toBe(eventId(raw));
    }
  });

  it("differs between different events and has a readable form", async () => {
    const ids = CORPUS.map((raw) => eventId(raw));
    expect(new Set(ids).size).toBe(CORPUS.length);
    for (const id of ids) expect(id).toMatch(/^evt_[0-9a-f]{32}$/);
  });

  it("uses did + seq for identity and account events, and the content (without time_us) otherwise", async () => {
    const identity = GOLDEN.find((raw) => raw.includes('"kind":"identity"')) as string;
    const parsed = JSON.parse(identity) as { identity: Record<string, unknown> };
    const sameSeqOtherHandle = JSON.stringify({ ...parsed, identity: { ...parsed.identity, handle: "changed.example" } });
    expect(eventId(sameSeqOtherHandle)).toBe(eventId(identity));
    const nextSeq = JSON.stringify({ ...parsed, identity: { ...parsed.identity, seq: (parsed.identity.seq as number) + 1 } });
    expect(eventId(nextSeq)).not.toBe(eventId(identity));

    const unknown = { did: "did:plc:x", time_us: 1, kind: "future", future: { b: 1, a: [1, 2] } };
    const reordered = { future: { a: [1, 2], b: 1 }, kind: "future", time_us: 2, did: "did:plc:x" };
    expect(eventId(JSON.stringify(reordered))).toBe(eventId(JSON.stringify(unknown)));
    expect(eventId(JSON.stringify({ ...unknown, future: { b: 2, a: [1, 2] } }))).not.toBe(eventId(JSON.stringify(unknown)));
    expect(eventId("not json")).toMatch(/^evt_/);
  });

  it("never changes between versions (an event redelivered after an upgrade keeps its id)", () => {
    // Ids as the first release computed them; a faster implementation must give exactly these.
    expect(eventId(GOLDEN[0])).toBe("evt_a13dcacdc618cb1d14bf21cb556e2064"); // commit
    expect(eventId(GOLDEN[7])).toBe("evt_e6ba3a44ba82e5f9a64328dadcc206a1"); // identity
    expect(eventId(GOLDEN[8])).toBe("evt_8106c9c16fdc89b655fa3199d7105dd3"); // account
    expect(eventId(JSON.stringify({ did: "did:plc:x", time_us: 1, kind: "future", future: { b: 1, a: [1, 2] } }))).toBe("evt_26f55c0ea4c707f2179c3f6436f26ccc");
    expect(eventId("not json")).toBe("evt_521df44aefdead37161a1bcf7a4e84fc");
    expect(eventId("ü not json")).toBe("evt_56037da0025226f70133c25973b4e2ce");
    expect(batchId([eventId(GOLDEN[0]), eventId(GOLDEN[1])])).toBe("bat_434fd70bd1a2667a4acf1d5826994eba");
  });

  it("of a batch follows the ids of its events, in order", async () => {
    const [a, b] = [eventId(GOLDEN[0]), eventId(GOLDEN[1])];
    expect(batchId([a, b])).toMatch(/^bat_[0-9a-f]{32}$/);
    expect(batchId([a, b])).toBe(batchId([a, b]));
    expect(batchId([a, b])).not.toBe(batchId([b, a]));
  });
});

describe("SHA-256", () => {
  const subtleHex = async (text: string) => [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)))].map((b) => b.toString(16).padStart(2, "0")).join("");

  it("gives the runtime's digest for every padding boundary, multi-byte and broken text, long text and real events", async () => {
    const texts = ["", "abc", "é", "日本語", "🎉", "\ud800x", "x\udc00", ...[55, 56, 63, 64, 65, 119, 120, 128].map((n) => "a".repeat(n)), "ü".repeat(5000), ...CORPUS.slice(0, 20)];
    for (const text of texts) expect(sha256Hex(text)).toBe(await subtleHex(text));
    expect(sha256Hex("abc", 4)).toBe((await subtleHex("abc")).slice(0, 32));
  });
});

describe("webhook request", () => {
  it("carries the contract's headers and a signature the standardwebhooks library accepts", async () => {
    const { config } = parseDeliveryConfig(withVars({ WEBHOOK_SECRET: SECRET, WEBHOOK_BEARER_TOKEN: "tok" }));
    if (!config?.signingKey) throw new Error("config expected");
    const signer = await createSigner(config.signingKey);
    const now = Math.floor(Date.now() / 1000);
    const request = await buildWebhookRequest(config, signer, "evt_1", GOLDEN[0], now);
    expect(request.body).toBe(GOLDEN[0]);
    expect(request.headers).toMatchObject({
      "content-type": "application/json",
      "user-agent": "jetstream-relay/0.1.0",
      authorization: "Bearer tok",
      "webhook-id": "evt_1",
      "webhook-timestamp": String(now),
    });
    expect(request.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(SECRET).verify(request.body, request.headers)).toEqual(JSON.parse(GOLDEN[0]));
    expect(() => new Webhook(SECRET).verify(`${request.body} `, request.headers)).toThrow();
  });

  it("has no signature or authorization header when neither is configured", async () => {
    const { config } = parseDeliveryConfig(withVars({}));
    if (!config) throw new Error("config expected");
    const request = await buildWebhookRequest(config, null, "evt_1", GOLDEN[0], 1);
    expect(Object.keys(request.headers).sort()).toEqual(["content-type", "user-agent", "webhook-id", "webhook-timestamp"]);
  });
});

describe("response classification", () => {
  const now = Date.parse("2026-07-04T12:00:00Z");
  it("acknowledges any 2xx", () => {
    for (const status of [200, 201, 202, 204, 299]) expect(classifyResponse(status, null, "", now).kind).toBe("ack");
  });
  it("retries 5xx, 408 and 429, with Retry-After in seconds or as a date", () => {
    expect(classifyResponse(503, null, "down", now)).toEqual({ kind: "retry", reason: "webhook answered HTTP 503", detail: "down" });
    expect(classifyResponse(408, null, "", now).kind).toBe("retry");
    expect(classifyResponse(429, "30", "", now)).toMatchObject({ kind: "retry", retryAfterSeconds: 30 });
    expect(classifyResponse(503, "Sat, 04 Jul 2026 12:02:00 GMT", "", now)).toMatchObject({ kind: "retry", retryAfterSeconds: 120 });
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter("999999", now)).toBe(43_200);
  });
  it("makes other 4xx and unfollowed redirects permanent", () => {
    for (const status of [400, 401, 403, 404, 413, 422]) expect(classifyResponse(status, null, "", now).kind).toBe("permanent");
    expect(classifyResponse(301, null, "", now).kind).toBe("permanent");
  });
  it("takes 410 Gone as the receiver's wish to stop: delivery pauses (Standard Webhooks), the event is neither retried nor dead-lettered", () => {
    expect(classifyResponse(410, null, "unsubscribed", now)).toEqual({ kind: "gone", reason: expect.stringMatching(/^webhook answered HTTP 410 \(Gone: .*paused/) });
  });
  it("retries timeouts and network errors", () => {
    const url = "https://example.com/hook?token=s3cret";
    expect(classifyFailure(new DOMException("timed out", "TimeoutError"), 500, url)).toEqual({ kind: "retry", reason: "webhook did not answer within 500 ms" });
    expect(classifyFailure(new TypeError("Network connection lost."), 500, url)).toMatchObject({ kind: "retry" });
    expect(classifyFailure(new TypeError(`Fetch API cannot load: ${url}`), 500, url)).toEqual({ kind: "retry", reason: "webhook request failed: Fetch API cannot load: WEBHOOK_URL" });
  });
  it("keeps every part of the URL out of a failure's reason (a runtime may quote it without its credentials, or only its path)", () => {
    const url = "https://usertok3n:pwtok3n@hooks.example/api/webhooks/123/pathtok3n?token=querytok3n";
    const quotes = [url, "https://hooks.example/api/webhooks/123/pathtok3n?token=querytok3n", "/api/webhooks/123/pathtok3n", "?token=querytok3n", "usertok3n:pwtok3n"];
    for (const quote of quotes) {
      const outcome = classifyFailure(new TypeError(`could not reach ${quote} (reset)`), 500, url);
      expect(outcome.kind === "retry" && outcome.reason, quote).toMatch(/^webhook request failed: could not reach .* \(reset\)$/);
      expect(JSON.stringify(outcome), quote).not.toMatch(/tok3n|webhooks\/123/);
    }
  });
});

describe("a pause by 410 Gone", () => {
  const now = Date.parse("2026-07-04T12:00:00Z");
  const config = { retryBaseSeconds: 5, retryMaxSeconds: 900 };
  it("holds events a tenth of the time paused so far, between the retry base and maximum", () => {
    expect([0, 30_000, 120_000, 3_600_000, 36_000_000].map((ms) => holdSeconds(ms, config))).toEqual([5, 5, 12, 360, 900]);
    expect(holdGroup({ since: new Date(now - 600_000).toISOString(), reason: "r", held: 0 }, now, config)).toEqual({ attempts: 0, retryAfterSeconds: 60 });
    expect(holdGroup(null, now, config)).toEqual({ attempts: 0, retryAfterSeconds: 5 });
  });

  const ok: HealthInput = {
    nowMs: now,
    state: "connected",
    configErrors: [],
    disconnectedSinceMs: null,
    lastError: null,
    lastFrameMs: now - 1000,
    deliveryLastErrorAt: "2026-07-04T11:59:00Z",
    deliveryLastSuccessAt: "2026-07-04T11:00:00Z",
    oldestUnackedUs: (now - 600_000) * 1000,
    storageError: null,
    gaps: [],
  };
  const settings = { healthDisconnectedMs: 120_000, healthStaleMs: 300_000, healthDeliveryMs: 300_000 };
  it("is a /health reason of its own, in place of delivery-failing", () => {
    expect(healthReasons(ok, settings).map((r) => r.code)).toEqual(["delivery-failing"]);
    const reasons = healthReasons({ ...ok, deliveryPause: { since: "2026-07-04T11:50:00.000Z", reason: "webhook answered HTTP 410 Gone", held: 7 } }, settings);
    expect(reasons.map((r) => r.code)).toEqual(["webhook-gone"]);
    expect(reasons[0].message).toContain("410 Gone at 2026-07-04T11:50:00.000Z");
    expect(reasons[0].message).toContain("none is dead-lettered");
  });
});

describe("utf8Length", () => {
  it("counts the bytes TextEncoder would write, for ASCII, two-, three- and four-byte characters and lone surrogates", () => {
    for (const text of ["", "plain ascii", "é ü ß", "€ 漢字", "🦋 post 🦋", "lone \ud800 and \udc00 surrogates", ...GOLDEN.slice(0, 5)]) {
      expect(utf8Length(text), text).toBe(new TextEncoder().encode(text).length);
    }
  });
});

describe("backoff", () => {
  it("doubles per attempt up to the cap, with jitter between half and all of it", () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffSeconds(n, 5, 60, () => 1))).toEqual([5, 10, 20, 40, 60, 60]);
    expect([1, 2, 3].map((n) => backoffSeconds(n, 10, 900, () => 0))).toEqual([5, 10, 20]);
    for (let i = 0; i < 50; i++) {
      const value = backoffSeconds(4, 5, 900, Math.random);
      expect(value).toBeGreaterThanOrEqual(20);
      expect(value).toBeLessThanOrEqual(40);
    }
  });
  it("waits at least as long as Retry-After says", () => {
    expect(retryDelaySeconds(5, 120)).toBe(120);
    expect(retryDelaySeconds(50, 2)).toBe(50);
    expect(retryDelaySeconds(5, undefined)).toBe(5);
  });
});

describe("delivery plan", () => {
  it("keeps each DID in one lane, in order of receipt, and spreads DIDs over the lanes", () => {
    const items = [
      { did: "a", receivedAt: 2, n: 1 },
      { did: "b", receivedAt: 1, n: 2 },
      { did: "a", receivedAt: 1, n: 3 },
      { did: "c", receivedAt: 1, n: 4 },
      { did: "a", receivedAt: 3, n: 5 },
      { did: "b", receivedAt: 1, n: 6 },
    ];
    const lanes = assignLanes(items, 2);
    expect(lanes).toHaveLength(2);
    const laneOf = (did: string) => lanes.findIndex((lane) => lane.some((i) => i.did === did));
    for (const did of ["a", "b", "c"]) expect(lanes.filter((lane) => lane.some((i) => i.did === did))).toHaveLength(1);
    expect(lanes[laneOf("a")].filter((i) => i.did === "a").map((i) => i.n)).toEqual([3, 1, 5]);
    expect(lanes[laneOf("b")].filter((i) => i.did === "b").map((i) => i.n)).toEqual([2, 6]);
    expect(laneOf("a")).not.toBe(laneOf("b"));
    expect(assignLanes(items, 10)).toHaveLength(3);
  });

  it("packs follow-ups by group within the message size, later parts of a group a second later", () => {
    const big = "x".repeat(25_000); // two fit in a follow-up message, three do not
    const event = (did: string) => ({ raw: big, did, timeUs: 1, receivedAt: 1, attempts: 1 });
    const entries = [
      { event: event("a"), origin: 0, group: "1", delaySeconds: 10 },
      { event: event("a"), origin: 1, group: "1", delaySeconds: 10 },
      { event: event("a"), origin: 1, group: "1", delaySeconds: 10 },
      { event: event("b"), origin: 2, group: "2", delaySeconds: 20 },
    ];
    const messages = packFollowUps(entries, (group) => `L${group}`);
    expect(messages.map((m) => [m.body.events.length, m.delaySeconds, [...m.origins]])).toEqual([
      [2, 10, [0, 1]],
      [1, 11, [1]],
      [1, 20, [2]],
    ]);
    for (const m of messages) expect(m.bytes).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(sendBatches(messages).map((b) => b.length)).toEqual([3]);
    const many = packFollowUps(
      Array.from({ length: 7 }, (_, i) => ({ event: event(`d${i}`), origin: i, group: String(i), delaySeconds: 1 })),
      (group) => `L${group}`,
    );
    expect(sendBatches(many).map((b) => b.length)).toEqual([4, 3]);
  });

  it("keeps each DID's follow-ups in one message, so that many handed-on events go on at once, not a second apart", () => {
    const text = "y".repeat(1_000);
    // A batch out of its request budget hands on 3 events of each of 100 DIDs (~300 KB): several messages.
    const entries = Array.from({ length: 300 }, (_, i) => ({
      event: { raw: text, did: `did:plc:${Math.floor(i / 3)}`, timeUs: i, receivedAt: i, attempts: 0 },
      origin: Math.floor(i / 60),
      group: "0",
      delaySeconds: 0,
    }));
    const messages = packFollowUps(entries, (group) => `L${group}`);
    expect(messages.length).toBeGreaterThanOrEqual(5);
    expect(messages.map((m) => m.delaySeconds)).toEqual(messages.map(() => 0));
    for (const m of messages) expect(m.bytes).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    const messageOf = new Map<string, Set<number>>();
    messages.forEach((m, n) => m.body.events.forEach((e) => messageOf.set(e.did, (messageOf.get(e.did) ?? new Set()).add(n))));
    expect([...messageOf.values()].every((set) => set.size === 1)).toBe(true);
    expect(messages.flatMap((m) => m.body.events.map((e) => e.timeUs))).toEqual(entries.map((e) => e.event.timeUs));
  });
});

describe("the relay object's record of a pause (DeliveryPauseStore)", () => {
  const memory = () => {
    const saved = new Map<string, unknown>();
    return { saved, storage: { put: async (key: string, value: unknown) => void saved.set(key, structuredClone(value)), delete: async (key: string) => saved.delete(key) } };
  };
  const gone = { at: "2026-07-04T12:00:00.000Z", reason: "webhook answered HTTP 410 Gone" };

  it("keeps the first 410 while paused, counts the held events, and ends on resume", async () => {
    const { saved, storage } = memory();
    const store = new DeliveryPauseStore(storage, "https://example.com/hook/secret", () => {});
    expect(await store.get()).toBeNull();
    await store.pause(gone);
    await store.pause({ ...gone, at: "2026-07-04T12:05:00.000Z" });
    store.countHeld(40);
    expect(await store.get()).toEqual({ since: gone.at, reason: gone.reason, held: 40 });
    const record = saved.get(PAUSE_KEY) as Record<string, unknown>;
    expect(record).toMatchObject({ since: gone.at });
    expect(JSON.stringify(record)).not.toContain("secret");
    expect(await store.resume()).toEqual({ resumed: true, pause: { since: gone.at, reason: gone.reason, held: 40 } });
    expect(saved.has(PAUSE_KEY)).toBe(false);
    expect(await store.get()).toBeNull();
    expect(await store.resume()).toEqual({ resumed: false, pause: null });
  });

  it("survives a restart; a new WEBHOOK_URL ends the pause by itself; anything unreadable is no pause", async () => {
    const { saved, storage } = memory();
    await new DeliveryPauseStore(storage, "https://example.com/a", () => {}).pause(gone);
    const same = new DeliveryPauseStore(storage, "https://example.com/a", () => {});
    same.restore(saved.get(PAUSE_KEY));
    expect(await same.get()).toEqual({ since: gone.at, reason: gone.reason, held: 0 });
    const moved = new DeliveryPauseStore(storage, "https://example.com/b", () => {});
    moved.restore(saved.get(PAUSE_KEY));
    expect(await moved.get()).toBeNull();
    expect(saved.has(PAUSE_KEY)).toBe(false);
    for (const junk of [undefined, null, "paused", { since: 1 }]) {
      const store = new DeliveryPauseStore(storage, "https://example.com/a", () => {});
      store.restore(junk);
      expect(await store.get()).toBeNull();
    }
  });

  it("a failing storage is reported and the pause holds in memory", async () => {
    const failures: unknown[] = [];
    const storage = {
      put: async () => {
        throw new Error("storage down");
      },
      delete: async () => {
        throw new Error("storage down");
      },
    };
    const store = new DeliveryPauseStore(storage, "https://example.com/a", (error) => failures.push(error));
    await store.pause(gone);
    expect(await store.get()).toMatchObject({ since: gone.at });
    expect(failures).toHaveLength(1);
    expect((await store.resume()).resumed).toBe(true);
    expect(failures).toHaveLength(2);
  });
});
