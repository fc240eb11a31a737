import type { HealthReport } from "../../worker/api-types.ts";
import { httpExchange } from "./http-request.ts";

/** The last answer of a relay's /health while waiting for it. */
export type HealthObservation =
  | { state: "healthy"; report: HealthReport }
  | { state: "unhealthy"; status: number; report: HealthReport | null }
  | { state: "unreachable"; error: string };

/**
 * Polls GET /health until the relay answers 200 or the time is up. A fresh deploy answers 404/5xx or not
 * at all for a moment (the workers.dev route and DNS propagate), and then 503 while it connects.
 */
export async function waitForHealth(
  baseUrl: string,
  options: { timeoutMs: number; intervalMs?: number; onObservation?: (o: HealthObservation) => void; signal?: AbortSignal },
): Promise<HealthObservation> {
  const deadline = Date.now() + options.timeoutMs;
  let last: HealthObservation = { state: "unreachable", error: "not asked yet" };
  while (true) {
    last = await observeHealth(baseUrl, Math.max(1_000, Math.min(10_000, deadline - Date.now())));
    options.onObservation?.(last);
    if (last.state === "healthy" || Date.now() >= deadline || options.signal?.aborted) return last;
    await new Promise((resolve) => setTimeout(resolve, Math.min(options.intervalMs ?? 2_000, Math.max(0, deadline - Date.now()))));
  }
}

/** A health report is a few KB; more is not a relay's. */
const HEALTH_MAX_BYTES = 1024 * 1024;

export async function observeHealth(baseUrl: string, timeoutMs: number): Promise<HealthObservation> {
  try {
    const answer = await httpExchange(`${baseUrl.replace(/\/+$/, "")}/health`, { method: "GET", headers: { accept: "application/json" }, timeoutMs, maxBytes: HEALTH_MAX_BYTES });
    let report: HealthReport | null = null;
    try {
      const parsed = JSON.parse(answer.text) as HealthReport;
      if (typeof parsed?.healthy === "boolean" && Array.isArray(parsed.reasons)) report = parsed;
    } catch {
      report = null;
    }
    if (answer.status === 200 && report?.healthy) return { state: "healthy", report };
    return { state: "unhealthy", status: answer.status, report };
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    return { state: "unreachable", error: err.code ?? err.message };
  }
}
