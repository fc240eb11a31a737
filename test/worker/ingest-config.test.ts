/**
 * A missing or invalid configuration puts the relay object in state "config-error": it reports what is
 * wrong and how to fix it (status, health), does not connect, sets no alarm (no crash loop), and still
 * answers every read.
 * Each case runs a relay instance of its own name, created after `env` was changed for it (the object
 * reads `env` when constructed); `env` is restored after each case. See ingest-support.ts.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { JetstreamRelay } from "../../worker/relay/relay-object.ts";
import { configure, connections, control, jetstreamWs } from "./ingest-support.ts";

const INSTANCE = "cfg";
const vars = env as Record<string, unknown>;
let original: Record<string, unknown>;

beforeAll(async () => {
  await control(INSTANCE, "reset", {});
  configure(INSTANCE);
  original = { ...vars };
});

afterEach(() => {
  for (const key of Object.keys(vars)) if (!(key in original)) delete vars[key];
  Object.assign(vars, original);
});

const many = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join(",");

const CASES: { name: string; set: Record<string, string | undefined>; variable: string; message: RegExp }[] = [
  { name: "no-collections", set: { JETSTREAM_COLLECTIONS: undefined }, variable: "JETSTREAM_COLLECTIONS", message: /not set/ },
  { name: "star", set: { JETSTREAM_COLLECTIONS: "*" }, variable: "JETSTREAM_COLLECTIONS", message: /rejected by Jetstream \(HTTP 400\)/ },
  { name: "bad-nsid", set: { JETSTREAM_COLLECTIONS: "app.bsky.feed.post,app.bsky" }, variable: "JETSTREAM_COLLECTIONS", message: /app\.bsky\b/ },
  { name: "too-many", set: { JETSTREAM_COLLECTIONS: many(101, (i) => `com.example.c${i}`) }, variable: "JETSTREAM_COLLECTIONS", message: /at most 100/ },
  { name: "bad-did", set: { JETSTREAM_DIDS: "did:plc:abc,not-a-did" }, variable: "JETSTREAM_DIDS", message: /not-a-did/ },
  { name: "too-many-dids", set: { JETSTREAM_DIDS: many(10_001, (i) => `did:plc:d${i}`) }, variable: "JETSTREAM_DIDS", message: /at most 10000/ },
  { name: "bad-url", set: { JETSTREAM_URL: "http://127.0.0.1:1/subscribe" }, variable: "JETSTREAM_URL", message: /ws:\/\/ or wss:\/\// },
  { name: "bad-kinds", set: { JETSTREAM_KINDS: "commit,posts" }, variable: "JETSTREAM_KINDS", message: /posts/ },
  { name: "bad-tuning", set: { JETSTREAM_STALL_SECONDS: "soon" }, variable: "JETSTREAM_STALL_SECONDS", message: /not a number from 1 to 3600/ },
  { name: "no-webhook", set: { WEBHOOK_URL: undefined }, variable: "WEBHOOK_URL", message: /not set/ },
];

describe("bad configuration", () => {
  it.each(CASES)("$name: reported with a fix, not connecting, no alarm", async ({ name, set, variable, message }) => {
    for (const [key, value] of Object.entries(set)) {
      if (value === undefined) delete vars[key];
      else vars[key] = value;
    }
    const relay = env.RELAY.getByName(`cfg-${name}`);
    const status = await relay.ensureRunning();
    expect(status.state).toBe("config-error");
    expect(status.connected).toBe(false);
    expect(status.config).toBeNull();
    const problem = status.configErrors.find((p) => p.variable === variable);
    expect(problem, JSON.stringify(status.configErrors)).toBeDefined();
    expect(problem!.message).toMatch(message);
    expect(problem!.fix.length).toBeGreaterThan(10);

    const health = await relay.getHealth();
    expect(health.healthy).toBe(false);
    expect(health.reasons[0].code).toBe("config-error");
    expect(health.reasons[0].message).toContain(variable);
    expect((await relay.getStats()).totalReceived).toBe(0);
    expect(await runInDurableObject(relay, (_i, state) => state.storage.getAlarm())).toBeNull();
    expect(await connections(INSTANCE)).toEqual([]);
  });

  it("an invalid replay variable is a warning: the relay runs, its status says what is wrong, a replay is refused", async () => {
    vars.JETSTREAM_RETENTION_HOURS = "a day";
    const relay = env.RELAY.getByName("cfg-replay-warning");
    const status = await relay.ensureRunning();
    expect(status.state).not.toBe("config-error");
    expect(status.configErrors).toEqual([]);
    expect(status.configWarnings).toEqual([expect.objectContaining({ variable: "JETSTREAM_RETENTION_HOURS", message: expect.stringContaining("replays are refused until it is fixed") })]);
    expect((await relay.getHealth()).reasons.map((r) => r.code)).not.toContain("config-error");
    // Inside the object: a refusal crossing the RPC boundary would also be logged as an unhandled rejection.
    const refusal = await runInDurableObject(relay, (instance: JetstreamRelay) => instance.startReplay({ fromUs: (Date.now() - 60_000) * 1000 }).then(() => "started", (error: unknown) => String(error)));
    expect(refusal).toMatch(/refused: JETSTREAM_RETENTION_HOURS is "a day"/);
    expect(await runInDurableObject(relay, (_i, state) => state.storage.getAlarm())).not.toBeNull();
  });

  it("a valid configuration with every option runs, and shows its effective settings without secrets", async () => {
    Object.assign(vars, {
      JETSTREAM_COLLECTIONS: "app.bsky.feed.post, app.bsky.graph.*",
      JETSTREAM_KINDS: "commit,account",
      JETSTREAM_DIDS: "did:plc:abc,did:web:example.com",
      JETSTREAM_URL: `${jetstreamWs()}/${INSTANCE}/subscribe, ${jetstreamWs()}/${INSTANCE}-b/subscribe`,
      WEBHOOK_BEARER_TOKEN: "bearer-secret-value",
      WEBHOOK_URL: "https://user:pw@example.com/hook?token=secret",
    });
    const relay = env.RELAY.getByName("cfg-valid");
    const status = await relay.ensureRunning();
    expect(status.configErrors).toEqual([]);
    expect(status.configWarnings).toEqual([]);
    expect(status.state).not.toBe("config-error");
    expect(status.config).toMatchObject({
      collections: ["app.bsky.feed.post", "app.bsky.graph.*"],
      kinds: ["commit", "account"],
      dids: 2,
      endpoints: [`${jetstreamWs()}/${INSTANCE}/subscribe`, `${jetstreamWs()}/${INSTANCE}-b/subscribe`],
      webhookBearer: true,
      adminTokenSet: true,
    });
    expect(JSON.stringify(status)).not.toMatch(/secret|pw@/);
    expect(await runInDurableObject(relay, (_i, state) => state.storage.getAlarm())).not.toBeNull();
    await relay.reconnect();
  });
});
