import type { ConfigProblem, WorkerVars } from "../../worker/api-types.ts";
import { readSettings } from "../../worker/config/settings.ts";

/** Everything the worker would report about these variables: errors (a part stops) and warnings (replays are refused). */
function problemsOf(env: WorkerVars): ConfigProblem[] {
  const { problems, warnings } = readSettings(env);
  return [...problems, ...warnings];
}

/**
 * Checks one worker variable exactly as the relay will when it starts (the worker's own parser), so
 * that `init` and `dev` refuse what the deployed relay would refuse. Returns the problem and its fix,
 * or null when the value is accepted.
 */
export function settingProblem(variable: string, value: string): string | null {
  const env = { WEBHOOK_URL: "https://example.com/hook", JETSTREAM_COLLECTIONS: "app.bsky.feed.post", [variable]: value } as WorkerVars;
  const problem = problemsOf(env).find((p) => p.variable === variable);
  return problem ? `${problem.message} ${problem.fix}` : null;
}

/** Problems of a whole set of variables (the ones given), each as "VARIABLE: message fix". */
export function settingsProblems(vars: Record<string, string>): string[] {
  const env = { WEBHOOK_URL: "https://example.com/hook", JETSTREAM_COLLECTIONS: "app.bsky.feed.post", ...vars } as WorkerVars;
  return problemsOf(env)
    .filter((p) => p.variable in vars)
    .map((p) => `${p.variable}: ${p.message} ${p.fix}`);
}
