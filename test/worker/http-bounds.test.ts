// The HTTP layer's edges: a body without a length is read only up to the bound (413), an ADMIN_TOKEN
// shorter than 32 characters is a configuration problem (not used), and repeated failed admin logins
// from one client are slowed (429 with Retry-After).
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Env, HealthReport, RelayStatus } from "../../worker/contract.ts";
import { handleHttp } from "../../worker/http/router.ts";
import { LOGIN_FAILURES_ALLOWED, LOGIN_WINDOW_MS, LoginThrottle } from "../../worker/http/login-throttle.ts";
import { MAX_BODY_BYTES } from "../../worker/http/request-input.ts";
import { ADMIN_TOKEN, body, call, callWith } from "./http-support.ts";
import { countingBody } from "./counting-body.ts";

describe("a request body without Content-Length", () => {
  it("is read up to the bound only, then refused with 413", async () => {
    const { stream, seen } = countingBody(20 * MAX_BODY_BYTES, `{"ids":["${"x".repeat(16 * 1024 - 9)}`);
    const request = new Request("http://relay.test/dlq/purge", { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "cf-connecting-ip": "192.0.2.1" }, body: stream });
    expect(request.headers.get("content-length")).toBeNull();
    const res = await handleHttp(request, env as Env, createExecutionContext());
    expect(res.status).toBe(413);
    expect((await body<{ error: string; code: string }>(res)).code).toBe("too-large");
    expect(seen.pulled).toBeLessThanOrEqual(MAX_BODY_BYTES + 64 * 1024);
  });

  it("a declared Content-Length over the bound is refused with 413 before reading", async () => {
    const res = await call("/dlq/purge", { method: "POST", token: ADMIN_TOKEN, text: JSON.stringify({ ids: ["x".repeat(MAX_BODY_BYTES)] }) });
    expect(res.status).toBe(413);
  });
});

describe("an ADMIN_TOKEN shorter than 32 characters", () => {
  const short = "x".repeat(31);

  it("is a configuration problem on /status and /health, and is not accepted", async () => {
    const status = await body<RelayStatus>(await callWith({ ADMIN_TOKEN: short }, "/status"));
    const problem = status.configErrors.find((p) => p.variable === "ADMIN_TOKEN");
    expect(problem?.message).toMatch(/shorter than 32 characters/);
    expect(problem?.message).not.toContain(short);
    expect(problem?.fix).toMatch(/openssl rand|init/);

    const health = await callWith({ ADMIN_TOKEN: short }, "/health");
    expect(health.status).toBe(503);
    const report = await body<HealthReport>(health);
    expect(report.reasons.some((r) => r.code === "config-error" && /ADMIN_TOKEN/.test(r.message))).toBe(true);

    const refused = await callWith({ ADMIN_TOKEN: short }, "/gaps/ack", { method: "POST", token: short });
    expect(refused.status).toBe(403);
    expect((await body<{ error: string }>(refused)).error).toMatch(/shorter than 32 characters/);
  });

  it("32 characters are enough", async () => {
    const long = "y".repeat(32);
    const status = await body<RelayStatus>(await callWith({ ADMIN_TOKEN: long }, "/status"));
    expect(status.configErrors.filter((p) => p.variable === "ADMIN_TOKEN")).toEqual([]);
    expect((await callWith({ ADMIN_TOKEN: long }, "/gaps/ack", { method: "POST", token: long })).status).toBe(200);
  });
});

describe("failed admin logins", () => {
  const from = (ip: string, token: string) => callWith({}, "/gaps/ack", { method: "POST", token, headers: { "cf-connecting-ip": ip } });

  it(`are slowed after ${LOGIN_FAILURES_ALLOWED} from one client: 429 with Retry-After, even for the right token, other clients unaffected`, async () => {
    const ip = "198.51.100.7";
    for (let i = 0; i < LOGIN_FAILURES_ALLOWED; i++) expect((await from(ip, `wrong-${i}`)).status).toBe(401);
    const slowed = await from(ip, "wrong-again");
    expect(slowed.status).toBe(429);
    const retryAfter = Number(slowed.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect((await body<{ code: string }>(slowed)).code).toBe("too-many-failed-logins");
    expect((await from(ip, ADMIN_TOKEN)).status).toBe(429);
    expect((await from("198.51.100.8", ADMIN_TOKEN)).status).toBe(200);
  });

  it("a success forgets the client's earlier failures", async () => {
    const ip = "198.51.100.9";
    for (let i = 0; i < LOGIN_FAILURES_ALLOWED - 1; i++) expect((await from(ip, `wrong-${i}`)).status).toBe(401);
    expect((await from(ip, ADMIN_TOKEN)).status).toBe(200);
    for (let i = 0; i < LOGIN_FAILURES_ALLOWED - 1; i++) expect((await from(ip, `wrong-${i}`)).status).toBe(401);
    expect((await from(ip, ADMIN_TOKEN)).status).toBe(200);
  });

  it("without CF-Connecting-IP, count against one shared client", async () => {
    for (let i = 0; i < LOGIN_FAILURES_ALLOWED; i++) await callWith({}, "/gaps/ack", { method: "POST", token: `wrong-${i}`, headers: { "cf-connecting-ip": null } });
    expect((await callWith({}, "/gaps/ack", { method: "POST", token: ADMIN_TOKEN, headers: { "cf-connecting-ip": null } })).status).toBe(429);
  });
});

describe("the login throttle", () => {
  it("lets a client try again once its window has passed", () => {
    const throttle = new LoginThrottle();
    const t0 = 1_000_000;
    for (let i = 0; i < LOGIN_FAILURES_ALLOWED; i++) throttle.failed("a", t0 + i);
    expect(throttle.retryAfterSeconds("a", t0 + 1000)).toBe(Math.ceil((LOGIN_WINDOW_MS - 1000) / 1000));
    expect(throttle.retryAfterSeconds("a", t0 + LOGIN_WINDOW_MS - 1)).toBe(1);
    expect(throttle.retryAfterSeconds("a", t0 + LOGIN_WINDOW_MS)).toBe(0);
    throttle.failed("a", t0 + LOGIN_WINDOW_MS);
    expect(throttle.retryAfterSeconds("a", t0 + LOGIN_WINDOW_MS)).toBe(0);
  });

  it("remembers a bounded number of clients, the oldest forgotten first", () => {
    const throttle = new LoginThrottle(2, 60_000, 3);
    for (const client of ["a", "b", "c", "d"]) throttle.failed(client, 0);
    expect(throttle.size).toBe(3);
    throttle.failed("d", 1);
    expect(throttle.retryAfterSeconds("d", 2)).toBe(60);
    throttle.failed("a", 3);
    expect(throttle.retryAfterSeconds("a", 3)).toBe(0);
  });
});
