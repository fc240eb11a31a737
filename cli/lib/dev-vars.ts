import { readFile } from "node:fs/promises";
import { VARIABLE_NAMES } from "../../worker/config/registry.ts";

/** Every variable the worker reads (the configuration registry's). */
export const WORKER_VARIABLES: readonly string[] = VARIABLE_NAMES;

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
