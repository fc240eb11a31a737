// Constructed statistics for the pure renderers' tests (dashboard HTML, metrics text).
import type { HealthReport, RelayStats, RelayStatus } from "../../worker/contract.ts";

export const HOSTILE = "<img src=x onerror=alert(1)>";
export const NOW = new Date("2026-11-29T03:30:20.000Z");

/** Statistics before the first event: every counter zero, every time null. */
export function emptyStats(): RelayStats {
  return {
    cursor: null,
    position: null,
    consumerTooSlow: 0,
    eventCounts: {},
    totalEvents: 0,
    totalReceived: 0,
    lastEventTime: null,
    operationCounts: {},
    kindCounts: {},
    forwarded: 0,
    skipped: 0,
    malformed: 0,
    rates: { receivedPerSecond: 0, forwardedPerSecond: 0 },
    lagSeconds: null,
    delivery: {
      delivered: 0,
      retried: 0,
      failed: 0,
      deadLettered: 0,
      webhookRequests: 0,
      unackedMessages: 0,
      oldestUnackedUs: null,
      lastError: null,
      lastErrorAt: null,
      lastSuccessAt: null,
      latencyMs: { p50: null, p99: null },
      lagSeconds: null,
    },
    queue: { eventsEnqueued: 0, messagesSent: 0, sendCalls: 0, bytesSent: 0, billedUnits: 0, oversizedEvents: 0, backpressurePauses: 0 },
    reconnects: 0,
    gapsDetected: 0,
    gaps: [],
    perMinute: [],
    startedAt: "2026-11-29T03:00:00.000Z",
    statsResetAt: null,
    storage: { ok: true, lastError: null },
    replay: null,
  };
}

/** A busy relay, with a hostile collection name and hostile texts wherever the stream or a server reaches. */
export function busyStats(): RelayStats {
  const stats = emptyStats();
  stats.cursor = 1_795_923_015_000_000;
  stats.eventCounts = { "app.bsky.feed.post": 1200, "app.bsky.feed.like": 3400, [HOSTILE]: 7 };
  stats.operationCounts = {
    "app.bsky.feed.post": { create: 1100, delete: 100 },
    "app.bsky.feed.like": { create: 3000, delete: 400 },
    [HOSTILE]: { create: 7 },
  };
  stats.totalEvents = 4607;
  stats.totalReceived = 92_140;
  stats.forwarded = 4607;
  stats.skipped = 87_500;
  stats.malformed = 33;
  stats.kindCounts = { commit: 92_000, identity: 100, account: 7, unknown: 33 };
  stats.lastEventTime = "2026-11-29T03:30:15.000Z";
  stats.rates = { receivedPerSecond: 1535.7, forwardedPerSecond: 76.8 };
  stats.lagSeconds = 5.2;
  stats.delivery = {
    ...stats.delivery,
    delivered: 4500,
    retried: 42,
    failed: 3,
    deadLettered: 5,
    webhookRequests: 4547,
    unackedMessages: 4,
    oldestUnackedUs: 1_795_923_010_000_000,
    lastError: `webhook answered 500: ${HOSTILE}`,
    lastErrorAt: "2026-11-29T03:29:00.000Z",
    lastSuccessAt: "2026-11-29T03:30:16.000Z",
    latencyMs: { p50: 120, p99: 1850 },
    lagSeconds: 6.1,
  };
  stats.queue = { eventsEnqueued: 4607, messagesSent: 240, sendCalls: 30, bytesSent: 2_400_000, billedUnits: 240, oversizedEvents: 1, backpressurePauses: 0 };
  stats.reconnects = 3;
  stats.gapsDetected = 1;
  stats.gaps = [
    {
      fromUs: 1_795_800_000_000_000,
      from: "2026-11-27T17:20:00.000Z",
      toUs: 1_795_850_000_000_000,
      to: "2026-11-28T07:13:20.000Z",
      detectedAt: "2026-11-29T03:01:00.000Z",
      endpoint: `wss://jetstream.example/subscribe?${HOSTILE}`,
      acknowledged: false,
    },
  ];
  // Minutes 03:29 and 03:30 (the current one), and one from before the hour (outside the chart).
  stats.perMinute = [
    { minute: "2026-11-29T02:00:00.000Z", received: 999_999, forwarded: 999_999 },
    { minute: "2026-11-29T03:29:00.000Z", received: 90_000, forwarded: 4500 },
    { minute: "2026-11-29T03:30:00.000Z", received: 2140, forwarded: 107 },
  ];
  return stats;
}

export function connectedStatus(): RelayStatus {
  return {
    state: "connected",
    connected: true,
    endpoint: "wss://jetstream1.us-east.bsky.network/subscribe",
    endpoints: ["wss://jetstream1.us-east.bsky.network/subscribe"],
    cursor: 1_795_923_015_000_000,
    cursorTime: "2026-11-29T03:30:15.000Z",
    lagSeconds: 5.2,
    lastError: `closed: ${HOSTILE}`,
    lastErrorAt: "2026-11-29T03:01:00.000Z",
    reconnects: 3,
    connectedSince: "2026-11-29T03:01:02.000Z",
    lastFrameAt: "2026-11-29T03:30:15.000Z",
    nextAttemptAt: null,
    wire: "legacy",
    position: { endpoint: "wss://jetstream1.us-east.bsky.network/subscribe", wire: "legacy", seq: null, timeUs: 1_795_923_015_000_000, time: "2026-11-29T03:30:15.000Z" },
    consumerTooSlow: 0,
    configErrors: [],
    configWarnings: [],
    config: null,
  };
}

export function unhealthyReport(): HealthReport {
  return {
    healthy: false,
    reasons: [
      { code: "gap", message: `1 gap not acknowledged ${HOSTILE}` },
      { code: "delivery-failing", message: "the webhook answered 500 for 3 minutes" },
    ],
    checkedAt: NOW.toISOString(),
  };
}

export const V2_ENDPOINT = "wss://jetstream.us-east.bsky.network/xrpc/network.bsky.jetstream.subscribeEvents";

/** A relay on the v2 wire: its position has a seq, the server found it too slow twice. */
export function v2Status(): RelayStatus {
  return {
    ...connectedStatus(),
    endpoint: V2_ENDPOINT,
    endpoints: [V2_ENDPOINT, "wss://jetstream.us-west.bsky.network/xrpc/network.bsky.jetstream.subscribeEvents"],
    wire: "v2",
    position: { endpoint: V2_ENDPOINT, wire: "v2", seq: 123_456_789, timeUs: 1_795_923_015_000_000, time: "2026-11-29T03:30:15.000Z" },
    consumerTooSlow: 2,
  };
}

/** Busy statistics on the v2 wire, with an exact gap (CursorTooOld, hostile words) before the inferred one. */
export function v2Stats(): RelayStats {
  const stats = busyStats();
  stats.position = { endpoint: V2_ENDPOINT, wire: "v2", seq: 123_456_789, timeUs: 1_795_923_015_000_000, time: "2026-11-29T03:30:15.000Z" };
  stats.gapsDetected = 2;
  stats.gaps = [
    {
      fromUs: 1_795_910_000_000_000,
      from: "2026-11-28T23:53:20.000Z",
      toUs: 1_795_910_004_000_000,
      to: "2026-11-28T23:53:24.000Z",
      detectedAt: "2026-11-29T03:02:00.000Z",
      endpoint: V2_ENDPOINT,
      acknowledged: false,
      exact: true,
      fromSeq: 100_000,
      toSeq: 102_500,
      reason: `CursorTooOld: cursor 100000 is below the floor seq 102500 ${HOSTILE}`,
    },
    ...busyStats().gaps,
  ];
  return stats;
}
