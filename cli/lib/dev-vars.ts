import { readFile } from "node:fs/promises";
import { INGEST_TUNING } from "../../worker/config.ts";
import { TUNING } from "../../worker/delivery/delivery-config.ts";
import { REPLAY_TUNING } from "../../worker/ingest/replay-plan.ts";

/** Every variable the worker reads (the brief's, and each tuning variable). */
export const WORKER_VARIABLES: readonly string[] = [
  "WEBHOOK_URL",
  "JETSTREAM_COLLECTIONS",
  "WEBHOOK_BEARER_TOKEN",
  "WEBHOOK_SECRET",
  "ADMIN_TOKEN",
  "JETSTREAM_URL",
  "JETSTREAM_DIDS",
  "JETSTREAM_KINDS",
  "PROTECT_READ_ROUTES",
  ...Object.values(TUNING).map((t) => t.variable),
  ...Object.values(INGEST_TUNING).map((t) => t.variable),
  ...Object.values(REPLAY_TUNING).map((t) => t.variable),
];

/** Parses dotenv text (.dev.vars): NAME=value, optional quotes, # comments. */
export function parseDotenv(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    let value = match[2].trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        value = value.slice(1, -1);
      }
    } else if (value.startsWith("'") && value.endsWith("'") && value.length >= 2) {
      value = value.slice(1, -1);
    } else {
      value = value.replace(/\s+#.*$/, "");
    }
    vars[match[1]] = value;
  }
  return vars;
}

export async function readDotenvFile(path: string): Promise<Record<string, string>> {
  try {
    return parseDotenv(await readFile(path, "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw error;
  }
}

/**
 * The variables for the local worker: the .dev.vars file, overridden by the worker's variables found in
 * the environment, overridden by flags.
 */
export function mergeDevVars(file: Record<string, string>, env: NodeJS.ProcessEnv, flags: Record<string, string | undefined>): Record<string, string> {
  const merged: Record<string, string> = { ...file };
  for (const name of WORKER_VARIABLES) {
    const value = env[name];
    if (value !== undefined && value !== "") merged[name] = value;
  }
  for (const [name, value] of Object.entries(flags)) if (value !== undefined) merged[name] = value;
  return merged;
}
