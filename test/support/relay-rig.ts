/**
 * The end-to-end rig: the real worker in wrangler's local runtime (`wrangler dev`), the Jetstream test
 * server and the webhook receiver on 127.0.0.1, and helpers to steer them and to count at the webhook
 * every event that arrived. Tuning variables are small so that each failure plays out in seconds.
 */
import { randomBytes } from "node:crypto";
import type { RelayStats, RelayStatus } from "../../worker/api-types.ts";
import { startJetstreamTestServer } from "./jetstream-test-server.ts";
import { type LocalWorker, startLocalWorker } from "./local-worker.ts";
import { forwardedBy, timesIn } from "./event-mix.ts";
import type { ReceivedRequest, ReceiverRule } from "./webhook-receiver.ts";
import { startWebhookReceiver } from "./webhook-receiver.ts";
import { startWebhookGate, type WebhookGate } from "./webhook-gate.ts";
import { waitFor } from "./wait.ts";

/** What the relay forwards in the rig (server-side filter too): feed and graph commits. */
export const RIG_COLLECTIONS = ["app.bsky.feed.*", "app.bsky.graph.*"];

/** Knobs that make reconnects, stalls, retries and the watchdog play out in seconds. */
export const FAST_TUNING: Record<string, string> = {
  JETSTREAM_ALARM_SECONDS: "1",
  JETSTREAM_STALL_SECONDS: "3",
  JETSTREAM_BACKOFF_BASE_SECONDS: "0.2",
  JETSTREAM_BACKOFF_MAX_SECONDS: "1",
  JETSTREAM_HEALTHY_SECONDS: "5",
  JETSTREAM_CONNECT_TIMEOUT_SECONDS: "3",
  JETSTREAM_FLUSH_MS: "50",
  WEBHOOK_RETRY_BASE_SECONDS: "1",
  WEBHOOK_RETRY_MAX_SECONDS: "2",
  WEBHOOK_TIMEOUT_SECONDS: "3",
};

export interface RigOptions {
  /** Jetstream test server instances the relay gets as JETSTREAM_URL, in failover order. */
  instances?: string[];
  /** The wire of those endpoints (their path): legacy `/subscribe` by default. */
  wire?: "legacy" | "v2";
  /** Further or overriding worker variables. */
  vars?: Record<string, string>;
  /** Don't wait for the relay to connect (e.g. invalid configuration). */
  noWait?: boolean;
  /** Put a switchable gate between the relay and the receiver (to take the webhook down). */
  gate?: boolean;
}

export interface Rig {
  worker: LocalWorker;
  vars: Record<string, string>;
  adminToken: string;
  jetstreamBase: string;
  receiverBase: string;
  hookPath: string;
  /** The gate in front of the receiver (only with `gate: true`). */
  gate: WebhookGate | null;
  /** Worker route, parsed as JSON (admin token sent when `admin`). */
  relay<T = unknown>(path: string, init?: { method?: string; body?: unknown; admin?: boolean; token?: string }): Promise<{ status: number; body: T; text: string }>;
  stats(): Promise<RelayStats>;
  status(): Promise<RelayStatus>;
  /** POST /control/INSTANCE/ACTION on the Jetstream test server. */
  jetstream<T = unknown>(instance: string, action: string, body?: unknown): Promise<T>;
  append(instance: string, events: string[]): Promise<void>;
  /** Add a rule to the webhook receiver (limited to the rig's hook path). */
  webhookRule(rule: ReceiverRule): Promise<void>;
  webhookReset(): Promise<void>;
  requests(): Promise<ReceivedRequest[]>;
  /** time_us → how many times it was acknowledged (2xx) at the webhook. */
  acknowledged(): Promise<Map<number, number>>;
  /** Waits until every given event was acknowledged at least once; returns the acknowledgement counts. */
  waitForAll(events: string[], what: string, timeoutMs?: number): Promise<Map<number, number>>;
  /** Kill (SIGKILL) or stop the worker and start it again with the same storage and port. */
  restart(how?: "kill" | "stop"): Promise<void>;
  close(): Promise<void>;
}

export { waitFor };

async function getJson<T>(url: string, init: RequestInit = {}): Promise<{ status: number; body: T; text: string }> {
  const request = () => fetch(url, { ...init, signal: AbortSignal.timeout(20_000) });
  // A GET is tried once more on a network error: a kept-alive connection the local server had just
  // closed is reset when reused (ECONNRESET), which says nothing about the relay.
  const response = await request().catch((error: unknown) => {
    if ((init.method ?? "GET") !== "GET") throw error;
    return request();
  });
  const text = await response.text();
  let body: T;
  try {
    body = JSON.parse(text) as T;
  } catch {
    body = undefined as T;
  }
  return { status: response.status, body, text };
}

/** The events of `events` that the rig's relay forwards. */
export const rigForwards = forwardedBy(RIG_COLLECTIONS);

export function expectedTimes(events: string[]): number[] {
  return events.filter(rigForwards).map((raw) => timesIn(raw)[0]);
}

export async function startRig(options: RigOptions = {}): Promise<Rig> {
  const jetstream = await startJetstreamTestServer();
  const receiver = await startWebhookReceiver();
  const instances = options.instances ?? ["a"];
  const hookPath = `/hook-${randomBytes(4).toString("hex")}`;
  const adminToken = randomBytes(24).toString("base64url");
  const httpBase = jetstream.base.replace(/^ws:/, "http:");
  const gate = options.gate ? await startWebhookGate(receiver.base) : null;
  const vars: Record<string, string> = {
    WEBHOOK_URL: `${gate?.base ?? receiver.base}${hookPath}`,
    JETSTREAM_URL: instances.map((name) => `${jetstream.base}/${name}/${options.wire === "v2" ? "xrpc/network.bsky.jetstream.subscribeEvents" : "subscribe"}`).join(","),
    JETSTREAM_COLLECTIONS: RIG_COLLECTIONS.join(","),
    ADMIN_TOKEN: adminToken,
    ...FAST_TUNING,
    ...options.vars,
  };
  let worker: LocalWorker;
  try {
    worker = await startLocalWorker(vars);
  } catch (error) {
    await Promise.all([jetstream.close(), receiver.close(), gate?.close()]);
    throw error;
  }

  const rig: Rig = {
    get worker() {
      return worker;
    },
    vars,
    adminToken,
    jetstreamBase: jetstream.base,
    receiverBase: receiver.base,
    hookPath,
    gate,
    relay: (path, init = {}) => {
      const headers: Record<string, string> = {};
      const token = init.token ?? (init.admin ? adminToken : undefined);
      if (token !== undefined) headers.authorization = `Bearer ${token}`;
      if (init.body !== undefined) headers["content-type"] = "application/json";
      return getJson(`${worker.url}${path}`, { method: init.method ?? "GET", headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
    },
    stats: async () => (await getJson<RelayStats>(`${worker.url}/stats`)).body,
    status: async () => (await getJson<RelayStatus>(`${worker.url}/status`)).body,
    jetstream: async (instance, action, body) =>
      (await getJson<never>(`${httpBase}/control/${instance}/${action}`, { method: body === undefined && action === "connections" ? "GET" : "POST", body: body === undefined ? undefined : JSON.stringify(body) })).body,
    append: async (instance, events) => {
      // In slices: one control request per few thousand events keeps each body small.
      for (let i = 0; i < events.length; i += 2000) await rig.jetstream(instance, "append", { events: events.slice(i, i + 2000) });
    },
    webhookRule: async (rule) => {
      await getJson(`${receiver.base}/_control/rules`, { method: "POST", body: JSON.stringify({ path: hookPath, ...rule }) });
    },
    webhookReset: async () => {
      await getJson(`${receiver.base}/_control/reset`, { method: "POST", body: JSON.stringify({ path: hookPath }) });
    },
    requests: async () => (await getJson<{ requests: ReceivedRequest[] }>(`${receiver.base}/_control/requests?path=${encodeURIComponent(hookPath)}`)).body.requests,
    acknowledged: async () => {
      const counts = new Map<number, number>();
      for (const request of await rig.requests()) {
        if (typeof request.answer !== "number" || request.answer < 200 || request.answer > 299) continue;
        for (const time of timesIn(request.body)) counts.set(time, (counts.get(time) ?? 0) + 1);
      }
      return counts;
    },
    waitForAll: (events, what, timeoutMs = 90_000) => {
      const wanted = expectedTimes(events);
      return waitFor(what, async () => {
        const counts = await rig.acknowledged();
        return wanted.every((t) => counts.has(t)) ? counts : undefined;
      }, timeoutMs, 500);
    },
    restart: async (how = "kill") => {
      worker = await worker.restart(how);
    },
    close: async () => {
      await worker.dispose().catch(() => {});
      await Promise.all([jetstream.close(), receiver.close(), gate?.close()]);
    },
  };

  if (!options.noWait) {
    try {
      await waitForConnected(rig);
    } catch (error) {
      await rig.close();
      throw error;
    }
  }
  return rig;
}

/** Wakes the relay (any request reaches the object, which connects by itself) and waits until it is connected. */
export async function waitForConnected(rig: Rig, timeoutMs = 60_000): Promise<RelayStatus> {
  return waitFor("the relay to connect to Jetstream", async () => {
    const status = await rig.status();
    return status.connected ? status : undefined;
  }, timeoutMs);
}

/** Counts: how many acknowledged more than once (duplicates) among `times`, and which are missing. */
export function tally(counts: Map<number, number>, times: number[]): { missing: number[]; duplicates: number } {
  const missing = times.filter((t) => !counts.has(t));
  const duplicates = times.reduce((sum, t) => sum + Math.max(0, (counts.get(t) ?? 0) - 1), 0);
  return { missing, duplicates };
}
