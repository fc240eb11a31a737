/**
 * The latency table: one fresh worker per configuration, fed at steady paced rates (not a flood) from the
 * Jetstream-compatible server, each rate for a few seconds; per rate the delay from the upstream's send
 * of each event to its arrival at the webhook, and what the rate cost in queue messages, billed
 * operations and webhook requests (deltas of the relay's /stats and the receiver's counts).
 */
import type { RelayStats, RelayStatus } from "../worker/api-types.ts";
import { forwardedBy, mixedEvents } from "../test/support/event-mix.ts";
import { waitFor } from "../test/support/wait.ts";
import { startCountingReceiver, type CountingReceiver } from "./counting-receiver.ts";
import { startFloodServer, type FloodServer } from "./flood-server.ts";
import { queueOperations } from "./measure.ts";
import { startLocalRuntime, type ConsumerOverrides } from "./start-runtime.ts";
import { percentile } from "./stats.ts";

export interface LatencyConfiguration {
  name: string;
  vars: Record<string, string>;
  /** The events consumer's settings where they differ from the shipped wrangler.jsonc. */
  consumer?: ConsumerOverrides;
}

export interface LatencyResult {
  config: string;
  /** The rate asked for, and the one the pacing achieved (upstream events/s, the whole mix). */
  rate: number;
  achievedRate: number;
  /** Events the upstream sent, and those the relay should forward. */
  events: number;
  expected: number;
  delivered: number;
  lost: number;
  /** Upstream send → webhook (ms), over every event delivered. */
  p50: number;
  p99: number;
  queueMessages: number;
  queueOperations: number;
  webhookRequests: number;
  timedOut: boolean;
}

/** The second captured event (file order) is an identity event: the warm-up, skipped by the relay. */
const IDENTITY_TEMPLATE_OFFSET = 1;

async function stats(url: string): Promise<RelayStats> {
  return (await (await fetch(`${url}/stats`, { signal: AbortSignal.timeout(60_000) })).json()) as RelayStats;
}

/** Sends `events` at `rate` per second (in small steps, as they fall due); resolves with the achieved rate. */
async function pace(upstream: FloodServer, events: string[], rate: number): Promise<number> {
  const start = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(events.length, Math.floor((rate * (performance.now() - start)) / 1000) + 1);
      if (due > sent) {
        upstream.flood(events.slice(sent, due));
        sent = due;
      }
      if (sent >= events.length) resolve();
      else setTimeout(tick, 2);
    };
    tick();
  });
  const seconds = (performance.now() - start) / 1000;
  return seconds > 0 ? events.length / seconds : rate;
}

async function measureRate(
  config: LatencyConfiguration,
  url: string,
  upstream: FloodServer,
  receiver: CountingReceiver,
  rate: number,
  seconds: number,
  maxEvents: number,
  firstUs: number,
  offset: number,
  collections: string[],
): Promise<LatencyResult> {
  const count = Math.max(1, Math.min(maxEvents, Math.round(rate * seconds)));
  const stepUs = Math.max(1, Math.round(1e6 / rate));
  const events = mixedEvents({ count, startUs: firstUs, stepUs, salt: rate, offset });
  const wanted = forwardedBy(collections);
  const expected = events.filter(wanted).length;
  const before = { stats: (await stats(url)).queue, requests: receiver.requests, delays: receiver.delays().length, distinct: receiver.distinct };
  const achievedRate = await pace(upstream, events, rate);
  const complete = await receiver.waitForDistinct(before.distinct + expected, 60_000 + count * 2);
  const after = (await stats(url)).queue;
  const delays = receiver.delays().slice(before.delays);
  const delivered = receiver.distinct - before.distinct;
  return {
    config: config.name,
    rate,
    achievedRate,
    events: count,
    expected,
    delivered,
    lost: expected - delivered,
    p50: percentile(delays, 50),
    p99: percentile(delays, 99),
    queueMessages: after.messagesSent - before.stats.messagesSent,
    queueOperations: queueOperations(after.billedUnits - before.stats.billedUnits),
    webhookRequests: receiver.requests - before.requests,
    timedOut: !complete,
  };
}

/** One configuration at every rate, on one worker (the rates one after the other, each delivered before the next). */
export async function runLatency(
  config: LatencyConfiguration,
  rates: number[],
  seconds: number,
  maxEvents: number,
  collections: string[],
  log: (line: string) => void,
): Promise<LatencyResult[]> {
  const upstream = await startFloodServer();
  const receiver = await startCountingReceiver((t) => upstream.sentAt(t));
  const vars = { WEBHOOK_URL: receiver.url, JETSTREAM_URL: upstream.url, JETSTREAM_COLLECTIONS: collections.join(","), ...config.vars };
  const worker = await startLocalRuntime(vars, 60_000, config.consumer);
  try {
    await waitFor("the relay to connect", async () => ((await (await fetch(`${worker.url}/status`)).json()) as RelayStatus).connected, 60_000);
    let nextUs = Date.now() * 1000;
    upstream.flood(mixedEvents({ count: 1, startUs: nextUs, offset: IDENTITY_TEMPLATE_OFFSET }));
    await waitFor("the relay to receive the first event", async () => (await stats(worker.url)).totalReceived >= 1, 60_000);
    const results: LatencyResult[] = [];
    let offset = IDENTITY_TEMPLATE_OFFSET + 1;
    for (const rate of rates) {
      nextUs += 1_000_000;
      const result = await measureRate(config, worker.url, upstream, receiver, rate, seconds, maxEvents, nextUs, offset, collections);
      nextUs += result.events * Math.max(1, Math.round(1e6 / rate));
      offset += result.events;
      log(
        `  ${config.name} at ${rate.toLocaleString("en-US")} events/s (achieved ${Math.round(result.achievedRate).toLocaleString("en-US")}): ` +
          `${result.delivered}/${result.expected} delivered${result.timedOut ? " (TIMED OUT)" : ""}, p50 ${Math.round(result.p50)} ms, p99 ${Math.round(result.p99)} ms`,
      );
      results.push(result);
    }
    return results;
  } finally {
    await worker.dispose();
    await Promise.all([upstream.close(), receiver.close()]);
  }
}
