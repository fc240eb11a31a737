import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { DeadLetterPage, Gap, HealthReport, RelayStats, RelayStatus, StreamPosition } from "../../../worker/api-types.ts";

/** What a route of the fake relay answers: JSON, raw text, or nothing at all (the connection hangs). */
export type FakeAnswer = { status?: number; json?: unknown; text?: string; hang?: true };
export type FakeRoute = FakeAnswer | ((request: RecordedRequest) => FakeAnswer);

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: string;
}

export interface FakeRelay {
  url: string;
  requests: RecordedRequest[];
  /** Replace or add routes ("GET /stats" → answer). */
  set(routes: Record<string, FakeRoute>): void;
  close(): Promise<void>;
}

/**
 * A small HTTP server on 127.0.0.1 that answers like a relay (or like something that is not one), for the
 * CLI's error paths: 401, 404, 500, a hang, malformed JSON, and realistic JSON answers.
 */
export async function startFakeRelay(routes: Record<string, FakeRoute> = {}): Promise<FakeRelay> {
  const table = new Map<string, FakeRoute>(Object.entries(routes));
  const requests: RecordedRequest[] = [];
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? "/", "http://x");
    const recorded: RecordedRequest = { method: req.method ?? "GET", path: url.pathname + url.search, authorization: req.headers.authorization, body: Buffer.concat(chunks).toString("utf8") };
    requests.push(recorded);
    const route = table.get(`${recorded.method} ${url.pathname}`);
    const answer: FakeAnswer = route === undefined ? { status: 404, json: { error: `No route ${url.pathname}`, code: "not-found" } } : typeof route === "function" ? route(recorded) : route;
    if (answer.hang) {
      hanging.add(res);
      return;
    }
    res.statusCode = answer.status ?? 200;
    if (answer.text !== undefined) {
      res.setHeader("content-type", "text/html");
      res.end(answer.text);
    } else {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(answer.json ?? {}));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    set(more) {
      for (const [key, value] of Object.entries(more)) table.set(key, value);
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Realistic GET /stats JSON (RelayStats plus the dead-letter count), with overrides. */
export function sampleStats(overrides: Partial<RelayStats & { deadLetters: { total: number; evicted: number } | null }> = {}): RelayStats & { deadLetters: { total: number; evicted: number } | null } {
  const now = Date.now();
  return {
    cursor: (now - 1500) * 1000,
    position: { endpoint: "wss://jetstream1.us-east.bsky.network/subscribe", wire: "legacy", seq: null, timeUs: (now - 1500) * 1000, time: new Date(now - 1500).toISOString() },
    consumerTooSlow: 0,
    eventCounts: { "app.bsky.feed.post": 1200, "app.bsky.feed.like": 3400, "app.bsky.graph.follow": 56 },
    totalEvents: 4656,
    totalReceived: 5000,
    lastEventTime: new Date(now - 1000).toISOString(),
    operationCounts: {
      "app.bsky.feed.post": { create: 1100, delete: 100 },
      "app.bsky.feed.like": { create: 3000, delete: 400 },
      "app.bsky.graph.follow": { create: 50, delete: 6 },
    },
    kindCounts: { commit: 4990, identity: 6, account: 4 },
    forwarded: 4656,
    skipped: 342,
    malformed: 2,
    rates: { receivedPerSecond: 52.5, forwardedPerSecond: 48.25 },
    lagSeconds: 1.5,
    delivery: {
      delivered: 4600,
      retried: 12,
      failed: 1,
      deadLettered: 3,
      webhookRequests: 4613,
      unackedMessages: 2,
      oldestUnackedUs: (now - 3000) * 1000,
      lastError: "webhook answered 503 Service Unavailable",
      lastErrorAt: new Date(now - 60_000).toISOString(),
      lastSuccessAt: new Date(now - 2000).toISOString(),
      latencyMs: { p50: 120, p99: 950 },
      lagSeconds: 3,
    },
    queue: { eventsEnqueued: 4656, messagesSent: 240, sendCalls: 60, bytesSent: 2_400_000, billedUnits: 240, oversizedEvents: 0, backpressurePauses: 0 },
    reconnects: 2,
    gapsDetected: 0,
    gaps: [],
    perMinute: [],
    startedAt: new Date(now - 3_600_000).toISOString(),
    statsResetAt: null,
    storage: { ok: true, lastError: null },
    replay: null,
    deadLetters: { total: 3, evicted: 0 },
    ...overrides,
  };
}

export function sampleStatus(overrides: Partial<RelayStatus> = {}): RelayStatus {
  const now = Date.now();
  return {
    state: "connected",
    connected: true,
    endpoint: "wss://jetstream1.us-east.bsky.network/subscribe",
    endpoints: ["wss://jetstream1.us-east.bsky.network/subscribe", "wss://jetstream2.us-east.bsky.network/subscribe"],
    cursor: (now - 1500) * 1000,
    cursorTime: new Date(now - 1500).toISOString(),
    lagSeconds: 1.5,
    lastError: null,
    lastErrorAt: null,
    reconnects: 2,
    connectedSince: new Date(now - 600_000).toISOString(),
    lastFrameAt: new Date(now - 200).toISOString(),
    nextAttemptAt: null,
    wire: "legacy",
    position: { endpoint: "wss://jetstream1.us-east.bsky.network/subscribe", wire: "legacy", seq: null, timeUs: (now - 1500) * 1000, time: new Date(now - 1500).toISOString() },
    consumerTooSlow: 0,
    configErrors: [],
    configWarnings: [],
    config: {
      webhookOrigin: "https://example.com",
      webhookFingerprint: "5c1a0f3e",
      collections: ["app.bsky.feed.post", "app.bsky.feed.like"],
      dids: 0,
      kinds: ["commit"],
      endpoints: ["wss://jetstream1.us-east.bsky.network/subscribe", "wss://jetstream2.us-east.bsky.network/subscribe"],
      batchMode: false,
      webhookSigned: true,
      webhookBearer: false,
      adminTokenSet: true,
    },
    ...overrides,
  };
}

export const V2_EAST = "wss://jetstream.us-east.bsky.network/xrpc/network.bsky.jetstream.subscribeEvents";
export const V2_WEST = "wss://jetstream.us-west.bsky.network/xrpc/network.bsky.jetstream.subscribeEvents";

/** A position on a v2 instance: its seq is the exact resume point there. */
export function sampleV2Position(seq = 12_345, at = Date.now() - 1500): StreamPosition {
  return { endpoint: V2_EAST, wire: "v2", seq, timeUs: at * 1000, time: new Date(at).toISOString() };
}

/** An exact gap on v2: the server refused the cursor (CursorTooOld) and named its floor. */
export function sampleExactGap(overrides: Partial<Gap> = {}): Gap {
  return {
    fromUs: 1_700_000_000_000_000,
    from: "2023-11-14T22:13:20.000Z",
    toUs: 1_700_000_004_000_000,
    to: "2023-11-14T22:13:24.000Z",
    detectedAt: new Date().toISOString(),
    endpoint: V2_EAST,
    acknowledged: false,
    exact: true,
    fromSeq: 100_000,
    toSeq: 102_500,
    reason: "CursorTooOld: cursor 100000 is below the floor seq 102500",
    ...overrides,
  };
}

/** GET /stats of a relay on the v2 wire. */
export function sampleV2Stats(overrides: Parameters<typeof sampleStats>[0] = {}): ReturnType<typeof sampleStats> {
  return sampleStats({ position: sampleV2Position(), ...overrides });
}

/** GET /status of a relay on the v2 wire that the server found too slow twice. */
export function sampleV2Status(overrides: Partial<RelayStatus> = {}): RelayStatus {
  const base = sampleStatus();
  return sampleStatus({
    endpoint: V2_EAST,
    endpoints: [V2_EAST, V2_WEST],
    wire: "v2",
    position: sampleV2Position(),
    consumerTooSlow: 2,
    config: { ...base.config!, endpoints: [V2_EAST, V2_WEST] },
    ...overrides,
  });
}

export const healthyReport = (): HealthReport => ({ healthy: true, reasons: [], checkedAt: new Date().toISOString() });
export const unhealthyReport = (): HealthReport => ({
  healthy: false,
  reasons: [
    { code: "disconnected", message: "Not connected to Jetstream for 95 s (grace period 60 s)." },
    { code: "gap", message: "Events between 2026-11-27T01:00:00Z and 2026-11-27T09:00:00Z were lost upstream." },
  ],
  checkedAt: new Date().toISOString(),
});

export function sampleDeadLetters(count: number): DeadLetterPage["events"] {
  return Array.from({ length: count }, (_, i) => ({
    id: `msg_${String(i).padStart(4, "0")}`,
    event: { did: `did:plc:user${i}`, time_us: 1_700_000_000_000_000 + i, kind: "commit", commit: { collection: "app.bsky.feed.post", operation: "create", rkey: `r${i}` } },
    error: "webhook answered 410 Gone",
    attempts: 1,
    failedAt: new Date(Date.now() - i * 1000).toISOString(),
  }));
}
