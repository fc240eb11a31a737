// What the routes answer when a Durable Object fails. The real objects cannot be made to fail on demand,
// so these tests put a stand-in namespace in place of one binding (the other binding stays real).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env, HealthReport } from "../../worker/contract.ts";
import { objectFailure, RpcTimeout, withTimeout } from "../../worker/http/responses.ts";
import { HOSTILE } from "./http-fixtures.ts";
import { ADMIN_TOKEN, body, callWith } from "./http-support.ts";

/** A namespace whose single object fails every call with `error`. */
function failingNamespace(error: unknown): unknown {
  const stub = new Proxy({}, { get: () => () => Promise.reject(error) });
  return { getByName: () => stub };
}

function retryable(message: string): Error {
  return Object.assign(new Error(message), { retryable: true });
}

describe("a failing relay object", () => {
  const broken = { RELAY: failingNamespace(new Error(`storage exploded ${HOSTILE}`)) } as Partial<Env>;

  it("gives 500 JSON with the object's message on the JSON routes", async () => {
    for (const [path, method] of [["/stats", "GET"], ["/status", "GET"], ["/metrics", "GET"], ["/reset", "POST"], ["/reconnect", "POST"], ["/gaps/ack", "POST"]] as const) {
      const res = await callWith(broken, path, { method, token: ADMIN_TOKEN });
      expect(res.status, path).toBe(500);
      const answer = await body<{ error: string; code: string }>(res);
      expect(answer.code).toBe("object-failed");
      expect(answer.error).toContain("storage exploded");
    }
  });

  it("makes /health answer 503 with the reason", async () => {
    const res = await callWith(broken, "/health");
    expect(res.status).toBe(503);
    const report = await body<HealthReport>(res);
    expect(report.healthy).toBe(false);
    expect(report.reasons).toContainEqual({ code: "relay-unavailable", message: expect.stringContaining("storage exploded") });
  });

  it("makes the dashboard an escaped error page", async () => {
    const res = await callWith(broken, "/stats/html");
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const page = await res.text();
    expect(page).toContain("Statistics unavailable");
    expect(page).toContain("storage exploded &lt;img src=x onerror=alert(1)&gt;");
    expect(page).not.toContain(HOSTILE);
  });

  it("gives 503 with Retry-After when the platform says the object is unavailable", async () => {
    const res = await callWith({ RELAY: failingNamespace(retryable("Durable Object reset because its code was updated")) } as Partial<Env>, "/stats");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect((await body<{ code: string }>(res)).code).toBe("unavailable");
  });

  it("gives 501 for what the object has not implemented", async () => {
    const res = await callWith({ RELAY: failingNamespace(new Error("not implemented: time travel")) } as Partial<Env>, "/replay", { token: ADMIN_TOKEN });
    expect(res.status).toBe(501);
    expect(await body(res)).toEqual({ code: "not-implemented", error: expect.stringContaining("not implemented: time travel") });
  });
});

describe("a failing dead-letter store", () => {
  const broken = { DEAD_LETTERS: failingNamespace(new Error("disk full")) } as Partial<Env>;

  it("leaves /stats answering, with deadLetters null", async () => {
    const res = await callWith(broken, "/stats");
    expect(res.status).toBe(200);
    expect((await body(res)).deadLetters).toBeNull();
  });

  it("makes /health unhealthy: failed events could not be kept", async () => {
    const res = await callWith(broken, "/health");
    expect(res.status).toBe(503);
    expect((await body<HealthReport>(res)).reasons).toContainEqual({ code: "dead-letter-store-failing", message: expect.stringContaining("disk full") });
  });

  it("gives 500 on the dead-letter routes", async () => {
    expect((await callWith(broken, "/dlq", { token: ADMIN_TOKEN })).status).toBe(500);
    expect((await callWith(broken, "/dlq/purge", { token: ADMIN_TOKEN, body: { all: true } })).status).toBe(500);
    expect((await callWith(broken, "/dlq/replay", { token: ADMIN_TOKEN, body: { ids: ["a"] } })).status).toBe(500);
  });

  it("still serves the dashboard and the metrics without the count", async () => {
    const page = await callWith(broken, "/stats/html");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("dead-letter-store-failing");
    const metrics = await callWith(broken, "/metrics");
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).not.toContain("jetstream_relay_dead_letters ");
  });
});

describe("a hanging object", () => {
  it("is cut off by the timeout and answered with 503", async () => {
    const error = await withTimeout(new Promise(() => {}), 20).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcTimeout);
    const res = objectFailure("The relay object failed", error);
    expect(res.status).toBe(503);
    expect((await res.json()) as unknown).toEqual({ code: "unavailable", error: "The relay object failed: no answer within 0.02 s" });
  });

  it("passes a prompt answer through", async () => {
    expect(await withTimeout(Promise.resolve(7), 1000)).toBe(7);
  });
});

it("keeps the real bindings untouched by the stand-ins", () => {
  expect(typeof (env as Env).RELAY.getByName).toBe("function");
});
