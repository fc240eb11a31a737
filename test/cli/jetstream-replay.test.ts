/**
 * The Jetstream-compatible replay server (cli/lib/jetstream-replay.ts) behaves like the real /subscribe
 * where a client can tell: inclusive cursor replay, live appends, filters and their 400s, identity and
 * account events regardless of collections, options_update / requireHello, retention clamping.
 * Real captured events (test/fixtures/jetstream), restamped with increasing time_us.
 */
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { start, type ReplayServer } from "../../cli/lib/jetstream-replay.ts";
import { fixtureEvents, restamp } from "../support/jetstream-test-server.ts";

const servers: ReplayServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(events: string[], retentionSeconds?: number): Promise<ReplayServer> {
  const server = await start({ events, retentionSeconds });
  servers.push(server);
  return server;
}

const nowUs = () => Date.now() * 1000;
const parsed = (raw: string) => JSON.parse(raw) as { time_us: number; kind: string; did: string; commit?: { collection: string } };

/** Connects, collects frames until `count` arrived (or `quietMs` passed without one), then closes. */
function collect(url: string, options: { count?: number; quietMs?: number; onOpen?: (ws: WebSocket) => void } = {}): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const frames: string[] = [];
    let timer: ReturnType<typeof setTimeout>;
    const done = () => {
      clearTimeout(timer);
      ws.terminate();
      resolve(frames);
    };
    const quiet = () => {
      clearTimeout(timer);
      timer = setTimeout(done, options.quietMs ?? 300);
    };
    ws.on("open", () => {
      options.onOpen?.(ws);
      quiet();
    });
    ws.on("message", (data) => {
      frames.push(data.toString());
      if (options.count !== undefined && frames.length >= options.count) done();
      else quiet();
    });
    ws.on("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.on("error", reject);
  });
}

/** The HTTP answer to an upgrade the server refuses. */
function refusal(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on("open", () => reject(new Error("upgrade was accepted")));
    ws.on("error", () => {});
  });
}

describe("jetstream replay server", () => {
  const events = restamp(fixtureEvents(), nowUs() - 60_000_000, 1000);

  it("replays inclusively from the cursor, in order, then streams appended events live", async () => {
    const server = await serve(events);
    const cursor = parsed(events[10]).time_us;
    const frames = await collect(`${server.url}?cursor=${cursor}`, { count: events.length - 10 });
    expect(frames).toEqual(events.slice(10));

    const live = new Promise<string[]>((resolve) => {
      const got: string[] = [];
      const ws = new WebSocket(server.url); // no cursor: live only
      ws.on("open", () => server.append(restamp(events.slice(0, 3), nowUs(), 1)));
      ws.on("message", (d) => {
        got.push(d.toString());
        if (got.length === 3) {
          ws.terminate();
          resolve(got);
        }
      });
    });
    expect((await live).map((f) => parsed(f).did)).toEqual(events.slice(0, 3).map((e) => parsed(e).did));
  });

  it("filters collections (exact and prefix) but always sends identity and account events; DIDs apply to all", async () => {
    const server = await serve(events);
    const first = parsed(events[0]).time_us;
    const frames = (await collect(`${server.url}?cursor=${first}&wantedCollections=app.bsky.feed.post&wantedCollections=app.bsky.graph.*`)).map(parsed);
    expect(frames.length).toBeGreaterThan(20);
    for (const f of frames) {
      if (f.kind === "commit") expect(f.commit!.collection === "app.bsky.feed.post" || f.commit!.collection.startsWith("app.bsky.graph.")).toBe(true);
    }
    expect(frames.some((f) => f.kind === "identity")).toBe(true);
    expect(frames.some((f) => f.kind === "account")).toBe(true);

    const account = events.map(parsed).find((e) => e.kind === "account")!;
    const byDid = (await collect(`${server.url}?cursor=${first}&wantedCollections=app.bsky.feed.post&wantedDids=${account.did}`)).map(parsed);
    expect(byDid.length).toBeGreaterThan(0);
    expect(byDid.every((f) => f.did === account.did)).toBe(true);
  });

  it.each([
    ["wantedCollections=*", "invalid collection: *"],
    ["wantedCollections=app.bsky", "invalid collection: app.bsky"],
    [Array.from({ length: 101 }, (_, i) => `wantedCollections=com.example.c${i}`).join("&"), "too many wanted collections"],
    ["wantedDids=nope", "invalid DID: nope"],
    ["cursor=abc", "invalid cursor"],
  ])("refuses %s with HTTP 400 and the reason", async (query, message) => {
    const server = await serve(events);
    const answer = await refusal(`${server.url}?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.body).toContain(message);
  });

  it("waits for options_update under requireHello and applies the filters it carries", async () => {
    const server = await serve(events);
    const first = parsed(events[0]).time_us;
    const frames = (
      await collect(`${server.url}?cursor=${first}&requireHello=true`, {
        onOpen: (ws) => setTimeout(() => ws.send(JSON.stringify({ type: "options_update", payload: { wantedCollections: ["app.bsky.feed.repost"], wantedDids: [] } })), 100),
      })
    ).map(parsed);
    expect(frames.length).toBeGreaterThan(5);
    expect(frames.filter((f) => f.kind === "commit").every((f) => f.commit!.collection === "app.bsky.feed.repost")).toBe(true);
  });

  it("clamps a cursor older than the retention window to the oldest retained event", async () => {
    const old = restamp(events.slice(0, 50), nowUs() - 120_000_000, 1000);
    const recent = restamp(events.slice(50, 60), nowUs() - 10_000_000, 1000);
    const server = await serve([...old, ...recent], 60);
    const frames = await collect(`${server.url}?cursor=${parsed(old[0]).time_us}`, { count: 10 });
    expect(frames).toEqual(recent);
  });
});
