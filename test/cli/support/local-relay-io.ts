// What the tests that drive a real local worker (and its test servers) repeat: a POST to a control
// route, and a CLI command whose JSON answer they read.
import { runCli } from "./run-cli.ts";

/** POSTs JSON to a test server's control route (or the relay); throws with its answer when not 2xx; its JSON answer. */
export async function postJson(url: string, body: unknown, timeoutMs = 30_000): Promise<unknown> {
  const res = await fetch(url, { method: "POST", body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`);
  return res.headers.get("content-type")?.includes("json") ? res.json() : res.text();
}

/** Runs `jetstream-relay ARGS --json` with `env`; its JSON output, unless it exited with a code not in `okCodes`. */
export async function cliJson<T>(args: string[], env: Record<string, string | undefined>, okCodes: readonly number[] = [0, 3]): Promise<T> {
  const result = await runCli([...args, "--json"], { env });
  if (!okCodes.includes(result.code ?? -1)) throw new Error(`jetstream-relay ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}
