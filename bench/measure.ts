/**
 * One benchmark run of one configuration: a fresh worker in wrangler's local runtime, the flood server
 * and the counting receiver; N events flooded once the relay is connected; figures from the receiver,
 * the flood server and the relay's own /stats.
 */
import type { RelayStats, RelayStatus } from "../worker/api-types.ts";
import { startCountingReceiver } from "./counting-receiver.ts";
import { groupCpuSeconds, ownCpuSeconds } from "./cpu-time.ts";
import { startFloodServer } from "./flood-server.ts";
import { startLocalWorker } from "../test/support/local-worker.ts";
import { waitFor } from "../test/support/wait.ts";
import { startLocalRuntime } from "./start-runtime.ts";

/**
 * How the worker runs locally: wrangler's programmatic API without the inspector (default), or the
 * `wrangler dev` command, which always attaches its DevTools proxy (for comparison).
 */
export type Runtime = "api" | "wrangler-dev";
import { percentile } from "./stats.ts";

export interface Configuration {
  name: string;
  /** Worker variables beyond the common ones (webhook, endpoint, collections). */
  vars: Record<string, string>;
  /** One webhook request per event: run on fewer events (limits of the local runtime). */
  perRequest?: boolean;
  /** Event kinds the relay forwards (JETSTREAM_KINDS); commits by default. */
  kinds?: string[];
  /** The wire the relay reads (the upstream serves both): legacy by default. */
  wire?: "legacy" | "v2";
  /** The upstream's v2 wire ignores `kinds` and sends every kind (flood-server.ts: reading only on v2). */
  everyKind?: boolean;
}

export interface RunResult {
  config: string;
  events: number;
  /** Events the relay should forward (wanted collections). */
  expected: number;
  /** Events the relay received from the upstream (its /stats totalReceived). */
  received: number;
  delivered: number;
  duplicates: number;
  lost: number;
  /** Events per second read by the Durable Object (first frame sent → last frame received). */
  ingestPerSecond: number;
  /**
   * The flood's events per second of that same time: what a wire's server does not send (v2 sends only
   * the kinds asked for) counts too, so both wires are compared on the same stream.
   */
  streamPerSecond: number;
  /** Events per second at the webhook (first frame sent → last event at the webhook). */
  endToEndPerSecond: number;
  /** Upstream send → webhook, over every event (ms). */
  delayP50: number;
  delayP99: number;
  /** Relay receipt → webhook acknowledgement, from /stats (its recent samples; ms). */
  relayLatencyP50: number | null;
  relayLatencyP99: number | null;
  queueMessages: number;
  queueBytes: number;
  sendCalls: number;
  /** Billed operations: write + read + delete per 64 KB of each message. */
  queueOperations: number;
  webhookRequests: number;
  /** TCP connections opened to the webhook. */
  webhookConnections: number;
  retried: number;
  backpressurePauses: number;
  upstreamConnections: number;
  seconds: number;
  /** CPU seconds during the flood: the local runtime (wrangler and workerd), and the bench's own Node process (upstream and webhook). */
  workerCpuSeconds: number | null;
  /** Of which workerd's processes (the worker, the local queue, wrangler's proxy); the rest is wrangler's Node process. */
  workerdCpuSeconds: number | null;
  benchCpuSeconds: number;
  timedOut: boolean;
}

/** Cloudflare Queues bill per 64 KB written, read and deleted: three operations per started 64 KB of each message. */
export function queueOperations(billedUnits: number): number {
  return 3 * billedUnits;
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(120_000) });
  return (await response.json()) as T;
}

export async function runOnce(
  config: Configuration,
  warmUp: string,
  events: string[],
  expectedTimes: number[],
  collections: string,
  log: (line: string) => void,
  timeoutMs: number,
  runtime: Runtime = "api",
): Promise<RunResult> {
  const upstream = await startFloodServer({ v2: config.wire === "v2", everyKind: config.everyKind ? { collections: collections.split(",") } : undefined });
  // Both floods made ready before the worker starts: their making and its garbage are not measured.
  const [warmUpStaged, flood] = [upstream.stage([warmUp]), upstream.stage(events)];
  const receiver = await startCountingReceiver((t) => upstream.sentAt(t));
  const vars = { WEBHOOK_URL: receiver.url, JETSTREAM_URL: config.wire === "v2" ? upstream.v2Url : upstream.url, JETSTREAM_COLLECTIONS: collections, ...config.vars };
  const worker = runtime === "api" ? await startLocalRuntime(vars) : await startLocalWorker(vars);
  try {
    await waitFor("the relay to connect", async () => (await getJson<RelayStatus>(`${worker.url}/status`)).connected, 60_000);
    // One event first (an identity event: received, skipped): once the relay has it, its cursor is set,
    // so that any reconnect during the flood resumes from there instead of from "live".
    upstream.flood(warmUpStaged);
    await waitFor("the relay to receive the first event", async () => (await getJson<RelayStats>(`${worker.url}/stats`)).totalReceived >= 1, 60_000);
    const started = Date.now();
    const workerCpuBefore = groupCpuSeconds(worker.process.pid!);
    const workerdCpuBefore = groupCpuSeconds(worker.process.pid!, "workerd");
    upstream.flood(flood);
    const benchCpuBefore = ownCpuSeconds();
    const complete = await receiver.waitForDistinct(expectedTimes.length, timeoutMs);
    const workerCpuAfter = groupCpuSeconds(worker.process.pid!);
    const workerdCpuAfter = groupCpuSeconds(worker.process.pid!, "workerd");
    const benchCpu = ownCpuSeconds() - benchCpuBefore;
    // Straggling duplicates and the last reports to the relay object.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const stats = await getJson<RelayStats>(`${worker.url}/stats`);
    const firstSent = upstream.firstSentAt ?? started;
    const lastReceived = stats.lastEventTime ? Date.parse(stats.lastEventTime) : Date.now();
    const lastDelivered = receiver.lastAt ?? Date.now();
    const delays = receiver.delays();
    const ingestSeconds = Math.max(0.001, (lastReceived - firstSent) / 1000);
    const result: RunResult = {
      config: config.name,
      events: events.length,
      expected: expectedTimes.length,
      received: stats.totalReceived - 1,
      delivered: receiver.distinct,
      duplicates: receiver.events - receiver.distinct,
      lost: expectedTimes.length - receiver.distinct,
      ingestPerSecond: (stats.totalReceived - 1) / ingestSeconds,
      streamPerSecond: events.length / ingestSeconds,
      endToEndPerSecond: receiver.distinct / Math.max(0.001, (lastDelivered - firstSent) / 1000),
      delayP50: percentile(delays, 50),
      delayP99: percentile(delays, 99),
      relayLatencyP50: stats.delivery.latencyMs.p50,
      relayLatencyP99: stats.delivery.latencyMs.p99,
      queueMessages: stats.queue.messagesSent,
      queueBytes: stats.queue.bytesSent,
      sendCalls: stats.queue.sendCalls,
      queueOperations: queueOperations(stats.queue.billedUnits),
      webhookRequests: receiver.requests,
      webhookConnections: receiver.connections,
      retried: stats.delivery.retried,
      backpressurePauses: stats.queue.backpressurePauses,
      upstreamConnections: upstream.connections,
      seconds: (Date.now() - started) / 1000,
      workerCpuSeconds: workerCpuBefore === null || workerCpuAfter === null ? null : workerCpuAfter - workerCpuBefore,
      workerdCpuSeconds: workerdCpuBefore === null || workerdCpuAfter === null ? null : workerdCpuAfter - workerdCpuBefore,
      benchCpuSeconds: benchCpu,
      timedOut: !complete,
    };
    log(
      `  ${config.name}: ${result.delivered}/${result.expected} delivered in ${result.seconds.toFixed(1)} s` +
        `${result.timedOut ? ` (TIMED OUT: ${upstream.framesSent} frames sent over ${upstream.connections} connections, relay received ${result.received})` : ""}; ingest ${Math.round(result.ingestPerSecond)}/s, end to end ${Math.round(result.endToEndPerSecond)}/s` +
        `; CPU s: local runtime ${result.workerCpuSeconds?.toFixed(1) ?? "?"} (workerd ${result.workerdCpuSeconds?.toFixed(1) ?? "?"}), bench ${result.benchCpuSeconds.toFixed(1)}`,
    );
    return result;
  } finally {
    await worker.dispose();
    await Promise.all([upstream.close(), receiver.close()]);
  }
}
