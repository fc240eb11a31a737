import { DEAD_LETTER_OBJECT_NAME, RELAY_OBJECT_NAME, type DeadLetter, type DeliveryResume, type Env, type HealthReason, type HealthReport, type RelayStats, type RelayStatus } from "../contract.ts";
import type { HttpConfig } from "./auth.ts";
import { type DeadLetterCount, renderDashboard, renderDashboardError } from "./dashboard.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
import { parseDeadLetterReplay, parsePaging, parseReplayRequest, parseSelection, readJsonObject } from "./request-input.ts";
import { errorResponse, json, objectFailure, withTimeout } from "./responses.ts";
import { VERSION } from "../version.ts";
import { errorMessage } from "../errors.ts";

export interface RouteContext {
  request: Request;
  url: URL;
  env: Env;
  ctx: ExecutionContext;
  config: HttpConfig;
  now: Date;
  /** The route path's parameters (`:id`). */
  params: Record<string, string>;
}

/** Thrown by a handler to answer with a prepared response (an object failed, an input was refused). */
export class HttpFailure extends Error {
  constructor(readonly response: Response) {
    super(`HTTP ${response.status}`);
  }
}

/** How long a route waits for a Durable Object before it answers 503. */
export const RPC_TIMEOUT_MS = 15_000;

const relay = (env: Env) => env.RELAY.getByName(RELAY_OBJECT_NAME);
const deadLetterStore = (env: Env) => env.DEAD_LETTERS.getByName(DEAD_LETTER_OBJECT_NAME);

/** Calls an object's RPC method; a failure becomes an honest JSON error (501, 503 or 500). */
async function ask<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await withTimeout(call(), RPC_TIMEOUT_MS);
  } catch (error) {
    throw new HttpFailure(objectFailure(what, error));
  }
}

/** Like `ask`, for optional parts of an answer: null plus a sentence when the call failed. */
async function tryAsk<T>(what: string, call: () => Promise<T>): Promise<{ value: T | null; problem: string | null }> {
  try {
    return { value: await withTimeout(call(), RPC_TIMEOUT_MS), problem: null };
  } catch (error) {
    return { value: null, problem: `${what}: ${errorMessage(error)}` };
  }
}

const getStats = (env: Env) => ask("The relay object failed to give its statistics", async () => (await relay(env).getStats()) as RelayStats);
const tryStatus = (env: Env) => tryAsk("The relay object failed to give its status", async () => (await relay(env).getStatus()) as RelayStatus);
const tryHealth = (env: Env) => tryAsk("The relay object failed to give its health", async () => (await relay(env).getHealth()) as HealthReport);
const tryDeadLetterCount = (env: Env) => tryAsk("The dead-letter store failed to count", async () => (await deadLetterStore(env).count()) as DeadLetterCount);

/** GET /stats: RelayStats plus `deadLetters` ({total, evicted}, null when the store could not answer). */
export async function stats({ env }: RouteContext): Promise<Response> {
  const [relayStats, deadLetters] = await Promise.all([getStats(env), tryDeadLetterCount(env)]);
  return json({ ...relayStats, deadLetters: deadLetters.value });
}

/** The relay's status with the HTTP layer's own configuration problems added to configErrors. */
function withHttpProblems(relayStatus: RelayStatus, config: HttpConfig): RelayStatus {
  return { ...relayStatus, configErrors: [...(relayStatus.configErrors ?? []), ...config.problems] };
}

/** GET /status */
export async function status({ env, config }: RouteContext): Promise<Response> {
  const relayStatus = await ask("The relay object failed to give its status", async () => (await relay(env).getStatus()) as RelayStatus);
  return json(withHttpProblems(relayStatus, config));
}

/** The relay's health merged with the HTTP layer's configuration problems and the dead-letter store's state. */
export async function healthReport(env: Env, config: HttpConfig, now: Date): Promise<HealthReport & { deadLetters: DeadLetterCount | null }> {
  const [relayHealth, deadLetters] = await Promise.all([tryHealth(env), tryDeadLetterCount(env)]);
  const reasons: HealthReason[] = [];
  if (relayHealth.value) reasons.push(...relayHealth.value.reasons);
  else reasons.push({ code: "relay-unavailable", message: relayHealth.problem! });
  for (const problem of config.problems) reasons.push({ code: "config-error", message: `${problem.message} ${problem.fix}` });
  // Without a working store, events that exhaust their retries cannot be kept: that is data at risk.
  if (deadLetters.problem) reasons.push({ code: "dead-letter-store-failing", message: deadLetters.problem });
  const healthy = relayHealth.value !== null && relayHealth.value.healthy && reasons.length === 0;
  return { healthy, reasons, notes: relayHealth.value?.notes ?? [], checkedAt: now.toISOString(), deadLetters: deadLetters.value };
}

/** GET /health: 200 when healthy, 503 with the reasons when not. */
export async function health({ env, config, now }: RouteContext): Promise<Response> {
  const report = await healthReport(env, config, now);
  return json(report, report.healthy ? 200 : 503);
}

/** GET /stats/html: the dashboard. Parts that fail are named on the page; without statistics, an error page. */
export async function dashboard({ env, config, now }: RouteContext): Promise<Response> {
  const headers = {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    // Defence in depth beside escaping: the page needs no script and loads nothing from elsewhere.
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  };
  let relayStats: RelayStats;
  try {
    relayStats = await getStats(env);
  } catch (error) {
    if (!(error instanceof HttpFailure)) throw error;
    const body = (await error.response.clone().json()) as { error: string };
    return new Response(renderDashboardError(body.error, VERSION), { status: error.response.status, headers });
  }
  const [relayStatus, report] = await Promise.all([tryStatus(env), healthReport(env, config, now)]);
  const problems = relayStatus.problem ? [relayStatus.problem] : [];
  const statusValue = relayStatus.value && withHttpProblems(relayStatus.value, config);
  const page = renderDashboard({ stats: relayStats, status: statusValue, health: report, deadLetters: report.deadLetters, version: VERSION, now, problems });
  return new Response(page, { headers });
}

/** GET /metrics: Prometheus text exposition. */
export async function metrics({ env, config, now }: RouteContext): Promise<Response> {
  const relayStats = await getStats(env);
  const [relayStatus, report] = await Promise.all([tryStatus(env), healthReport(env, config, now)]);
  const statusValue = relayStatus.value && withHttpProblems(relayStatus.value, config);
  const text = renderMetrics({ stats: relayStats, status: statusValue, health: report, deadLetters: report.deadLetters, version: VERSION });
  return new Response(text, { headers: { "content-type": METRICS_CONTENT_TYPE, "cache-control": "no-store" } });
}

export async function reset({ env }: RouteContext): Promise<Response> {
  return json(await ask("The relay object failed to reset its statistics", () => relay(env).resetStats()));
}

export async function reconnect({ env }: RouteContext): Promise<Response> {
  return json(await ask("The relay object failed to reconnect", async () => (await relay(env).reconnect()) as RelayStatus));
}

export async function resumeDelivery({ env }: RouteContext): Promise<Response> {
  return json(await ask("The relay object failed to resume webhook delivery", async () => (await relay(env).resumeDelivery()) as DeliveryResume));
}

export async function acknowledgeGaps({ env }: RouteContext): Promise<Response> {
  return json(await ask("The relay object failed to acknowledge the gaps", () => relay(env).acknowledgeGaps()));
}

export async function listDeadLetters({ env, url }: RouteContext): Promise<Response> {
  const paging = parsePaging(url);
  return json(await ask("The dead-letter store failed to list", () => deadLetterStore(env).list(paging)));
}

export async function getDeadLetter({ env, params }: RouteContext): Promise<Response> {
  const letter = await ask("The dead-letter store failed to read", async () => (await deadLetterStore(env).get(params.id)) as DeadLetter | null);
  if (!letter) return errorResponse(404, "no-such-dead-letter", `No dead letter ${JSON.stringify(params.id)}: it may have been replayed and delivered, or purged. GET /dlq lists them.`);
  return json({ event: letter });
}

/** POST /dlq/replay: starts a job (202), or answers with the existing one (200, `attached`). */
export async function replayDeadLetters({ env, request }: RouteContext): Promise<Response> {
  const replay = parseDeadLetterReplay(await readJsonObject(request));
  const answer = await ask("The dead-letter store failed to start the replay", () => deadLetterStore(env).startReplay(replay));
  return json(answer, answer.attached ? 200 : 202);
}

export async function listDeadLetterReplays({ env }: RouteContext): Promise<Response> {
  return json({ jobs: await ask("The dead-letter store failed to list its replay jobs", () => deadLetterStore(env).listReplays()) });
}

export async function getDeadLetterReplay({ env, params }: RouteContext): Promise<Response> {
  const job = await ask("The dead-letter store failed to give the replay job", () => deadLetterStore(env).getReplay(params.id));
  if (!job) return errorResponse(404, "no-such-replay-job", `No dead-letter replay job ${JSON.stringify(params.id)} (the latest ${20} are kept). GET /dlq/replay lists them.`);
  return json({ job });
}

export async function purgeDeadLetters({ env, request }: RouteContext): Promise<Response> {
  const selection = parseSelection(await readJsonObject(request));
  return json(await ask("The dead-letter store failed to purge", () => deadLetterStore(env).purge(selection)));
}

export async function startReplay({ env, request, now }: RouteContext): Promise<Response> {
  const replayRequest = parseReplayRequest(await readJsonObject(request), now.getTime());
  const replay = await ask("The relay object failed to start the replay", () => relay(env).startReplay(replayRequest));
  return json({ replay }, 202);
}

export async function getReplay({ env }: RouteContext): Promise<Response> {
  return json({ replay: await ask("The relay object failed to give the replay", () => relay(env).getReplay()) });
}

export async function cancelReplay({ env }: RouteContext): Promise<Response> {
  return json({ replay: await ask("The relay object failed to cancel the replay", () => relay(env).cancelReplay()) });
}
