import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The folder of the jetstream-relay package itself (this repository, or node_modules/jetstream-relay
 * when run through npx): it holds the worker's source and its reference wrangler.jsonc. This file sits two
 * levels below it both in the sources (cli/lib/) and in the bundle (dist/cli/).
 */
export function packageRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "..");
}

export const packageWorkerEntry = (): string => join(packageRoot(), "worker", "index.ts");
export const packageWranglerConfig = (): string => join(packageRoot(), "wrangler.jsonc");
