import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { DeadLetterPage, Env, HealthReport, RelayStats, RelayStatus } from "../../worker/contract.ts";
import { tokensEqual } from "../../worker/http/auth.ts";
import { ROUTES } from "../../worker/http/router.ts";
import { ADMIN_TOKEN, admin, body, call, callWith } from "./http-support.ts";

const controlRoutes = ROUTES.filter((r) => r.access === "admin");
const readRoutes = ROUTES.filter((r) => r.access === "read");
const publicRoutes = ROUTES.filter((r) => r.access === "public");
const deadLetters = () => (env as Env).DEAD_LETTERS.getByName("dead-letters");

describe("constant-time token comparison", () => {
  it("accepts only the same token", async () => {
    expect(await tokensEqual("secret-token", "secret-token")).toBe(true);
    expect(await tokensEqual("secret-tokeN", "secret-token")).toBe(false);
    expect(await tokensEqual("secret", "secret-token")).toBe(false);
    expect(await tokensEqual("", "secret-token")).toBe(false);
  });
});

describe("control routes", () => {
  it("covers every control route of the brief", () => {
    expect(controlRoutes.map((r) => `${r.method} ${r.path}`).sort()).toEqual(
      [
        "POST /reset",
        "POST /reconnect",
        "POST /gaps/ack",
        "GET /dlq",
        "GET /dlq/events/:id",
        "POST /dlq/replay",
        "GET /dlq/replay",
        "GET /dlq/replay/:id",
        "POST /dlq/purge",
        "POST /replay",
        "POST /replay/cancel",
        "POST /webhook/resume",
      ].sort(),
    );
  });

  it("refuse a missing, wrong or non-bearer token with 401 and a challenge", async () => {
    const attempts = [{}, { token: "wrong-token" }, { token: `${ADMIN_TOKEN}x` }, { authorization: `Basic ${btoa(`admin:${ADMIN_TOKEN}`)}` }, { authorization: ADMIN_TOKEN }, { authorization: "Bearer" }];
    for (const route of controlRoutes) {
      for (const attempt of attempts) {
        const res = await call(route.path, { method: route.method, body: route.method === "POST" ? { all: true } : undefined, ...attempt });
        expect(res.status, `${route.method} ${route.path} ${JSON.stringify(attempt)}`).toBe(401);
        expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="jetstream-relay"/);
        const answer = await body<{ error: string; code: string }>(res);
        expect(answer.code).toBe("unauthorized");
        expect(answer.error).toContain("Bearer");
      }
    }
  });

  it("accept the token case-insensitively on the scheme, with surrounding space", async () => {
    expect((await call("/gaps/ack", { method: "POST", authorization: `bearer ${ADMIN_TOKEN}` })).status).toBe(200);
    expect((await call("/gaps/ack", { method: "POST", authorization: `  Bearer   ${ADMIN_TOKEN}  ` })).status).toBe(200);
  });

  describe("a refused request changes nothing", () => {
    beforeEach(async () => {
      await deadLetters().purge({ all: true });
      await deadLetters().add([{ id: "guarded", raw: "{}", error: "x", attempts: 1, failedAt: Date.now() }]);
    });

    it("leaves the statistics, the dead letters and the connection alone", async () => {
      const before = await body<RelayStats>(await call("/stats"));
      const statusBefore = await body<RelayStatus>(await call("/status"));
      expect((await call("/reset", { method: "POST", token: "wrong" })).status).toBe(401);
      expect((await call("/reconnect", { method: "POST", token: "wrong" })).status).toBe(401);
      expect((await call("/dlq/purge", { body: { all: true }, token: "wrong" })).status).toBe(401);
      expect((await call("/dlq/replay", { body: { all: true }, token: "wrong" })).status).toBe(401);
      const after = await body<RelayStats>(await call("/stats"));
      expect(after.statsResetAt).toBe(before.statsResetAt);
      expect((await body<RelayStatus>(await call("/status"))).reconnects).toBe(statusBefore.reconnects);
      const page = await body<DeadLetterPage>(await admin("/dlq"));
      expect(page.events.map((e) => [e.id, e.replaying ?? false])).toEqual([["guarded", false]]);
    });
  });

  it("refuse with 403 and say how to set ADMIN_TOKEN when none is configured", async () => {
    for (const token of [undefined, ""]) {
      for (const route of controlRoutes) {
        const res = await callWith({ ADMIN_TOKEN: token }, route.path, { method: route.method, token: "anything", body: route.method === "POST" ? { all: true } : undefined });
        expect(res.status, `${route.method} ${route.path}`).toBe(403);
        const answer = await body<{ error: string; code: string }>(res);
        expect(answer.code).toBe("admin-token-not-set");
        expect(answer.error).toContain("wrangler secret put ADMIN_TOKEN");
      }
    }
    // Read routes stay open.
    expect((await callWith({ ADMIN_TOKEN: undefined }, "/stats")).status).toBe(200);
    const info = await body<{ auth: { adminTokenSet: boolean } }>(await callWith({ ADMIN_TOKEN: undefined }, "/"));
    expect(info.auth.adminTokenSet).toBe(false);
  });
});

describe("read routes", () => {
  it("are open by default", async () => {
    for (const route of readRoutes) {
      const res = await call(route.path);
      expect(res.status, route.path).not.toBe(401);
      expect(res.status, route.path).not.toBe(403);
    }
  });

  it("need the token with PROTECT_READ_ROUTES=true; / and /health stay open", async () => {
    const protect = { PROTECT_READ_ROUTES: "true" };
    for (const route of readRoutes) {
      const refused = await callWith(protect, route.path);
      expect(refused.status, route.path).toBe(401);
      expect((await body<{ code: string }>(refused)).code).toBe("unauthorized");
      expect((await callWith(protect, route.path, { token: "wrong" })).status, route.path).toBe(401);
      const allowed = await callWith(protect, route.path, { token: ADMIN_TOKEN });
      expect(allowed.status, route.path).not.toBe(401);
      expect(allowed.status, route.path).not.toBe(403);
    }
    for (const route of publicRoutes) {
      const res = await callWith(protect, route.path);
      expect([200, 503], route.path).toContain(res.status);
    }
    const info = await body<{ routes: { path: string; auth: string }[] }>(await callWith(protect, "/"));
    expect(info.routes.find((r) => r.path === "/stats")?.auth).toBe("admin");
  });

  it("refuse with 403 when protected but no ADMIN_TOKEN is set", async () => {
    const res = await callWith({ PROTECT_READ_ROUTES: "true", ADMIN_TOKEN: undefined }, "/stats");
    expect(res.status).toBe(403);
    expect((await body<{ error: string }>(res)).error).toContain("PROTECT_READ_ROUTES");
  });

  it("stay protected when PROTECT_READ_ROUTES has a bad value, and /health and /status say so", async () => {
    const bad = { PROTECT_READ_ROUTES: "ture" };
    expect((await callWith(bad, "/stats")).status).toBe(401);
    const health = await callWith(bad, "/health");
    expect(health.status).toBe(503);
    const report = await body<HealthReport>(health);
    expect(report.reasons).toContainEqual({ code: "config-error", message: expect.stringContaining("PROTECT_READ_ROUTES") });
    const status = await body<RelayStatus>(await callWith(bad, "/status", { token: ADMIN_TOKEN }));
    expect(status.configErrors).toContainEqual(expect.objectContaining({ variable: "PROTECT_READ_ROUTES", fix: expect.stringContaining("true or false") }));
  });

  it("accept the usual spellings of PROTECT_READ_ROUTES", async () => {
    for (const value of ["false", "0", "no", "FALSE", ""]) expect((await callWith({ PROTECT_READ_ROUTES: value }, "/status")).status, value).toBe(200);
    for (const value of ["true", "1", "yes", "TRUE"]) expect((await callWith({ PROTECT_READ_ROUTES: value }, "/status")).status, value).toBe(401);
  });
});
