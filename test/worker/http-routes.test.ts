import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import packageJson from "../../package.json";
import type { DeadLetterPage, DeadLetterReplayJob, Env, HealthReport, RelayStats, RelayStatus } from "../../worker/contract.ts";
import { ROUTES } from "../../worker/http/router.ts";
import { admin, body, call } from "./http-support.ts";

const deadLetters = () => (env as Env).DEAD_LETTERS.getByName("dead-letters");

async function seedDeadLetters(ids: string[]): Promise<void> {
  await deadLetters().purge({ all: true });
  await deadLetters().add(
    ids.map((id, i) => ({ id, raw: JSON.stringify({ did: "did:plc:test", time_us: 1_700_000_000_000_000 + i, kind: "commit" }), error: "webhook answered 410", attempts: 1, failedAt: Date.now() })),
  );
}

describe("read routes", () => {
  it("GET / gives the version and every route", async () => {
    const res = await call("/");
    expect(res.status).toBe(200);
    const info = await body<{ version: string; routes: { method: string; path: string; auth: string }[]; auth: { adminTokenSet: boolean } }>(res);
    expect(info.version).toBe(packageJson.version);
    expect(info.routes.map((r) => `${r.method} ${r.path}`)).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`));
    expect(info.routes.find((r) => r.path === "/reset")?.auth).toBe("admin");
    expect(info.routes.find((r) => r.path === "/stats")?.auth).toBe("none");
    expect(info.auth.adminTokenSet).toBe(true);
  });

  it("GET /stats gives the relay's statistics and the dead-letter count", async () => {
    await seedDeadLetters(["stats-1", "stats-2"]);
    const res = await call("/stats");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const stats = await body<RelayStats & { deadLetters: { total: number; evicted: number } }>(res);
    for (const field of ["cursor", "eventCounts", "totalEvents", "totalReceived", "lastEventTime", "delivery", "gaps", "perMinute"]) expect(stats).toHaveProperty(field);
    expect(typeof stats.totalReceived).toBe("number");
    expect(stats.deadLetters).toEqual({ total: 2, evicted: 0 });
  });

  it("GET /status gives the connection state", async () => {
    const res = await call("/status");
    expect(res.status).toBe(200);
    const status = await body<RelayStatus>(res);
    expect(["config-error", "connecting", "connected", "backoff", "paused"]).toContain(status.state);
    expect(typeof status.connected).toBe("boolean");
    expect(Array.isArray(status.configErrors)).toBe(true);
    expect(status.endpoints.length).toBeGreaterThan(0);
  });

  it("GET /health answers 200 once the relay is connected to the test Jetstream server", async () => {
    const deadline = Date.now() + 20_000;
    while (!(await body<RelayStatus>(await call("/status"))).connected) {
      if (Date.now() > deadline) throw new Error("the relay did not connect to the test Jetstream server");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const res = await call("/health");
    const report = await body<HealthReport & { deadLetters: unknown }>(res);
    expect(report.reasons).toEqual([]);
    expect(res.status).toBe(200);
    expect(report.healthy).toBe(true);
    expect(Number.isNaN(Date.parse(report.checkedAt))).toBe(false);
    expect(report.deadLetters).toEqual({ total: expect.any(Number), evicted: 0 });
  });

  it("GET /stats/html serves the dashboard with a strict content security policy", async () => {
    const res = await call("/stats/html");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    const page = await res.text();
    expect(page).toContain("Commit events processed");
    expect(page).toContain('http-equiv="refresh" content="30"');
    expect(page).toContain('id="per-minute-chart"');
  });

  it("GET /metrics serves the Prometheus text format", async () => {
    const res = await call("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const families = new Map(parsePrometheusTextFormat(await res.text()).map((f) => [f.name, f]));
    expect(families.get("jetstream_relay_events_received_total")?.type).toBe("COUNTER");
    expect(families.get("jetstream_relay_connected")?.type).toBe("GAUGE");
    expect(families.get("jetstream_relay_info")?.metrics[0]?.labels?.version).toBe(packageJson.version);
  });

  it("HEAD answers like GET without a body; a trailing slash is the same route", async () => {
    const head = await call("/stats", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    expect((await call("/stats/")).status).toBe(200);
  });
});

describe("control routes (with the admin token)", () => {
  it("POST /reset resets the statistics and says when", async () => {
    const res = await admin("/reset", { method: "POST" });
    expect(res.status).toBe(200);
    const { resetAt } = await body<{ resetAt: string }>(res);
    const stats = await body<RelayStats>(await call("/stats"));
    expect(stats.statsResetAt).toBe(resetAt);
  });

  it("POST /reconnect reconnects and gives the status", async () => {
    const res = await admin("/reconnect", { method: "POST" });
    expect(res.status).toBe(200);
    const status = await body<RelayStatus>(res);
    expect(["connecting", "connected", "backoff"]).toContain(status.state);
  });

  it("POST /gaps/ack acknowledges the gaps", async () => {
    const res = await admin("/gaps/ack", { method: "POST" });
    expect(res.status).toBe(200);
    expect(await body(res)).toEqual({ acknowledged: expect.any(Number) });
    const stats = await body<RelayStats>(await call("/stats"));
    expect(stats.gaps.every((g) => g.acknowledged)).toBe(true);
  });
});

describe("dead-letter routes", () => {
  beforeEach(() => seedDeadLetters(["dl-a", "dl-b", "dl-c"]));

  it("GET /dlq pages through the dead letters", async () => {
    const first = await body<DeadLetterPage>(await admin("/dlq?limit=2"));
    expect(first.total).toBe(3);
    expect(first.events.map((e) => e.id)).toEqual(["dl-a", "dl-b"]);
    expect(first.nextOffset).toBe(2);
    expect(first.events[0]).toMatchObject({ error: "webhook answered 410", attempts: 1, event: { did: "did:plc:test" } });
    const second = await body<DeadLetterPage>(await admin("/dlq?offset=2&limit=2"));
    expect(second.events.map((e) => e.id)).toEqual(["dl-c"]);
    expect(second.nextOffset).toBeNull();
    const all = await body<DeadLetterPage>(await admin("/dlq"));
    expect(all.events).toHaveLength(3);
  });

  it("POST /dlq/purge deletes the chosen ones, then all", async () => {
    expect(await body(await admin("/dlq/purge", { body: { ids: ["dl-b", "missing"] } }))).toEqual({ purged: 1 });
    expect((await body<DeadLetterPage>(await admin("/dlq"))).events.map((e) => e.id)).toEqual(["dl-a", "dl-c"]);
    expect(await body(await admin("/dlq/purge", { body: { all: true } }))).toEqual({ purged: 2 });
    expect((await body<DeadLetterPage>(await admin("/dlq"))).total).toBe(0);
  });

  it("POST /dlq/replay starts a job (202), a retried request attaches to it (200), GET /dlq/replay/:id shows its progress", async () => {
    const started = await admin("/dlq/replay", { body: { ids: ["dl-a"], job: "job-http-1" } });
    expect(started.status).toBe(202);
    expect(await body(started)).toMatchObject({ attached: false, job: { id: "job-http-1", selection: { ids: 1 }, total: 1 } });
    const again = await admin("/dlq/replay", { body: { ids: ["dl-a"], job: "job-http-1" } });
    expect(again.status).toBe(200);
    expect(await body(again)).toMatchObject({ attached: true, job: { id: "job-http-1" } });
    const done = await eventuallyJob("job-http-1");
    expect(done).toMatchObject({ state: "done", sent: 1, skipped: 0, progress: 1 });
    expect((await body<{ jobs: DeadLetterReplayJob[] }>(await admin("/dlq/replay"))).jobs[0]).toMatchObject({ id: "job-http-1" });
    const missing = await admin("/dlq/replay/no-such-job");
    expect(missing.status).toBe(404);
    expect(await body(missing)).toMatchObject({ code: "no-such-replay-job" });
    expect((await admin("/dlq/replay", { body: { job: "no-such-job" } })).status).toBe(409);
    expect((await admin("/dlq/replay", { body: { all: true, job: "bad id!" } })).status).toBe(400);
  });

  it("GET /dlq/events/:id gives one dead letter, 404 when there is none", async () => {
    expect(await body(await admin("/dlq/events/dl-b"))).toMatchObject({ event: { id: "dl-b", event: { did: "did:plc:test" } } });
    const missing = await admin("/dlq/events/dl-none");
    expect(missing.status).toBe(404);
    expect(await body(missing)).toMatchObject({ code: "no-such-dead-letter" });
  });
});

async function eventuallyJob(id: string): Promise<DeadLetterReplayJob> {
  for (let i = 0; i < 150; i++) {
    const { job } = await body<{ job: DeadLetterReplayJob }>(await admin(`/dlq/replay/${id}`));
    if (job.state !== "running") return job;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`replay job ${id} still running`);
}

describe("replay (time travel) routes", () => {
  it("are wired to the relay object: its answer, or 501 while it is not implemented", async () => {
    for (const [path, init] of [
      ["/replay", { body: { from: "1h", collections: ["app.bsky.feed.post"] } }],
      ["/replay", {}],
      ["/replay/cancel", { method: "POST" }],
    ] as const) {
      const res = await admin(path, init);
      const answer = await body<{ error?: string; code?: string; replay?: unknown }>(res);
      if (res.status === 501) {
        expect(answer.code).toBe("not-implemented");
        expect(answer.error).toMatch(/not implemented/);
      } else {
        expect([200, 202]).toContain(res.status);
        expect(answer).toHaveProperty("replay");
      }
    }
  });
});

describe("errors", () => {
  it("answers an unknown route with 404 JSON", async () => {
    const res = await call("/nope");
    expect(res.status).toBe(404);
    const answer = await body<{ error: string; code: string }>(res);
    expect(answer.code).toBe("not-found");
    expect(answer.error).toContain("/nope");
  });

  it("answers a wrong method with 405 JSON and Allow", async () => {
    const cases: [string, string, string][] = [
      ["GET", "/reset", "POST"],
      ["POST", "/stats", "GET, HEAD"],
      ["DELETE", "/dlq", "GET, HEAD"],
      ["PUT", "/replay", "POST, GET, HEAD"],
    ];
    for (const [method, path, allow] of cases) {
      const res = await admin(path, { method });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get("allow")).toBe(allow);
      const answer = await body<{ error: string; code: string }>(res);
      expect(answer.code).toBe("method-not-allowed");
      expect(answer.error).toContain(method);
    }
  });

  it("answers OPTIONS with the allowed methods", async () => {
    const res = await call("/dlq/purge", { method: "OPTIONS" });
    expect(res.status).toBe(204);
    expect(res.headers.get("allow")).toBe("POST, OPTIONS");
  });
});

describe("input validation (400 with a message, 413 past the size bound, nothing done)", () => {
  beforeEach(() => seedDeadLetters(["keep-1", "keep-2"]));

  it("refuses bad dead-letter selections", async () => {
    const bad: [string, RegExp][] = [
      ["{not json", /not valid JSON/],
      ["", /empty/],
      ["[]", /JSON object/],
      ['"all"', /JSON object/],
      ["{}", /"ids".*"all"/],
      ['{"ids": []}', /non-empty array/],
      ['{"ids": "keep-1"}', /non-empty array/],
      ['{"ids": [1, 2]}', /non-empty string/],
      ['{"all": false}', /"all" must be true/],
      ['{"all": "yes"}', /"all" must be true/],
      ['{"ids": ["keep-1"], "all": true}', /not both/],
      ['{"id": ["keep-1"]}', /Unknown field "id"/],
    ];
    for (const path of ["/dlq/purge", "/dlq/replay"]) {
      for (const [text, message] of bad) {
        const res = await admin(path, { method: "POST", text });
        expect(res.status, `${path} ${text}`).toBe(400);
        const answer = await body<{ error: string; code: string }>(res);
        expect(answer.code).toBe("bad-request");
        expect(answer.error).toMatch(message);
      }
    }
    expect((await body<DeadLetterPage>(await admin("/dlq"))).total).toBe(2);
  });

  it("refuses a body over 1 MB", async () => {
    const res = await admin("/dlq/purge", { method: "POST", text: JSON.stringify({ ids: ["x".repeat(1_000_001)] }) });
    expect(res.status).toBe(413);
    expect((await body<{ error: string }>(res)).error).toMatch(/larger than/);
  });

  it("refuses bad paging", async () => {
    for (const query of ["limit=0", "limit=1001", "limit=abc", "offset=-1", "offset=1.5"]) {
      const res = await admin(`/dlq?${query}`);
      expect(res.status, query).toBe(400);
      expect((await body<{ error: string }>(res)).error).toMatch(/"(limit|offset)"/);
    }
  });

  it("refuses bad replay requests", async () => {
    const bad: [unknown, RegExp][] = [
      [{}, /"from" is required/],
      [{ from: "yesterday" }, /not an ISO time/],
      [{ from: 5 }, /ISO time/],
      [{ from: "2999-01-01T00:00:00Z" }, /future/],
      [{ from: "2h", to: "3h" }, /later than "from"/],
      [{ from: "2h", collections: [] }, /non-empty array/],
      [{ from: "2h", collections: ["*"] }, /not an NSID/],
      [{ from: "2h", collections: ["<img src=x>"] }, /not an NSID/],
      [{ from: "2h", window: "1h" }, /Unknown field "window"/],
    ];
    for (const [input, message] of bad) {
      const res = await admin("/replay", { body: input });
      expect(res.status, JSON.stringify(input)).toBe(400);
      expect((await body<{ error: string }>(res)).error).toMatch(message);
    }
  });
});
