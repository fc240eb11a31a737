/**
 * The configuration registry's one policy for a bad value, part by part: it is reported (the variable,
 * what is wrong, the fix, what stops meanwhile), never used and never replaced by a default; only its own
 * part stops. And the settings are read once per env object.
 */
import { describe, expect, it } from "vitest";
import { readSettings } from "../../worker/config/settings.ts";
import { parseRelayConfig } from "../../worker/config.ts";
import type { Env, WorkerVars } from "../../worker/contract.ts";
import { deadLetterMaxEvents } from "../../worker/delivery/delivery-config.ts";
import { GOLDEN, messageBody, queued, receiver, recordingPorts, runBatch, testEnv, uniquePath } from "./delivery-support.ts";

const base = { WEBHOOK_URL: "https://example.com/hook", JETSTREAM_COLLECTIONS: "app.bsky.feed.post" };
const vars = (over: Record<string, unknown>) => ({ ...base, ...over }) as WorkerVars;

describe("a bad value stops its own part, says so, and is never replaced by a default", () => {
  it.each([
    { part: "ingest", variable: "JETSTREAM_FLUSH_MS", value: "soon", stops: "the relay does not connect until it is fixed" },
    { part: "delivery", variable: "WEBHOOK_CONCURRENCY", value: "many", stops: "the relay does not connect and webhook delivery is paused until it is fixed" },
    { part: "replay", variable: "JETSTREAM_RETENTION_HOURS", value: "a day", stops: "replays are refused until it is fixed" },
  ] as const)("$part: $variable=$value", ({ part, variable, value, stops }) => {
    const settings = readSettings(vars({ [variable]: value }));
    expect(settings[part]).toBeNull();
    expect(settings.byPart[part]).toEqual([{ variable, message: expect.stringContaining(`"${value}"`), fix: expect.stringContaining(`Set ${variable} to`) }]);
    expect(settings.byPart[part][0].message).toContain(stops);
    for (const other of (["ingest", "delivery", "replay"] as const).filter((p) => p !== part)) expect(settings[other], other).not.toBeNull();
    // Errors stop the relay; a replay variable is a warning only.
    expect(part === "replay" ? settings.warnings : settings.problems).toEqual(settings.byPart[part]);
  });

  it("http: a bad PROTECT_READ_ROUTES protects the read routes (fail closed) and says so", () => {
    const token = "t".repeat(32);
    const settings = readSettings(vars({ PROTECT_READ_ROUTES: "ture", ADMIN_TOKEN: token }));
    expect(settings.http).toEqual({ adminToken: token, adminTokenRefused: false, protectReadRoutes: true });
    expect(settings.problems).toEqual([{ variable: "PROTECT_READ_ROUTES", message: expect.stringContaining("the read routes are protected until it is fixed"), fix: expect.stringContaining("true or false") }]);
  });

  it("http: an ADMIN_TOKEN shorter than 32 characters is not used, and says what stops (not the read routes' protection)", () => {
    const settings = readSettings(vars({ ADMIN_TOKEN: "t".repeat(31) }));
    expect(settings.http).toEqual({ adminToken: null, adminTokenRefused: true, protectReadRoutes: false });
    expect(settings.problems).toEqual([{ variable: "ADMIN_TOKEN", message: expect.stringContaining("the control routes (and protected read routes) refuse until it is fixed"), fix: expect.stringContaining("openssl rand") }]);
    expect(JSON.stringify(settings.problems)).not.toContain("t".repeat(31));
  });

  it("a bad delivery value stops the relay too (the relay reports it), like an ingest value", () => {
    const { config, problems } = parseRelayConfig(vars({ WEBHOOK_TIMEOUT_SECONDS: "-1" }) as Env);
    expect(config).toBeNull();
    expect(problems.map((p) => p.variable)).toEqual(["WEBHOOK_TIMEOUT_SECONDS"]);
  });

  it("the queue consumer delivers nothing with a bad delivery value: it keeps the batch and says which variable", async () => {
    const path = uniquePath();
    const recorder = recordingPorts();
    const env = testEnv(path, { WEBHOOK_CONCURRENCY: "many" });
    const { report, result, retries } = await runBatch([messageBody([queued(GOLDEN[0])])], env, recorder.ports);
    expect(retries).toEqual([{ id: "all", delaySeconds: 300 }]);
    expect(result.explicitAcks).toEqual([]);
    expect(report).toMatchObject({ settled: [], delivered: 0, requests: 0 });
    expect(report.lastError?.message).toContain("WEBHOOK_CONCURRENCY");
    expect(await receiver.requests({ path })).toEqual([]);
  });

  it("a bad DEAD_LETTER_MAX_EVENTS makes the dead-letter store evict nothing (no default bound in its place)", () => {
    expect(deadLetterMaxEvents(vars({}))).toBe(100_000);
    expect(deadLetterMaxEvents(vars({ DEAD_LETTER_MAX_EVENTS: "500" }))).toBe(500);
    expect(deadLetterMaxEvents(vars({ DEAD_LETTER_MAX_EVENTS: "lots" }))).toBe(Number.POSITIVE_INFINITY);
  });

  it("a relation between two valid values is checked the same way (a maximum below its base)", () => {
    const ingest = readSettings(vars({ JETSTREAM_BACKOFF_BASE_SECONDS: "10", JETSTREAM_BACKOFF_MAX_SECONDS: "5" }));
    expect(ingest.ingest).toBeNull();
    expect(ingest.problems).toEqual([expect.objectContaining({ variable: "JETSTREAM_BACKOFF_MAX_SECONDS", message: expect.stringContaining("the relay does not connect") })]);
    // Reported even while another variable of the part is missing.
    expect(readSettings({ JETSTREAM_BACKOFF_BASE_SECONDS: "10", JETSTREAM_BACKOFF_MAX_SECONDS: "5" } as WorkerVars).problems.map((p) => p.variable)).toContain("JETSTREAM_BACKOFF_MAX_SECONDS");
  });
});

describe("reading", () => {
  it("happens once per env object, again when one of its variables changed", () => {
    const env = vars({ WEBHOOK_BATCH_SIZE: "5" }) as Record<string, unknown>;
    const first = readSettings(env);
    expect(readSettings(env)).toBe(first);
    expect(readSettings({ ...env })).not.toBe(first);
    env.WEBHOOK_BATCH_SIZE = "7";
    const second = readSettings(env);
    expect(second).not.toBe(first);
    expect(second.delivery?.batchSize).toBe(7);
    env.WEBHOOK_BATCH_SIZE = "zero";
    expect(readSettings(env).delivery).toBeNull();
  });

  it("gives shared settings that cannot be changed by one of their readers", () => {
    const settings = readSettings(vars({ WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }));
    expect(Object.isFrozen(settings.ingest!.settings)).toBe(true);
    expect(() => settings.ingest!.endpoints.push("wss://elsewhere/subscribe")).toThrow(TypeError);
    expect(settings.delivery!.signingKey).toHaveLength(24);
  });
});
