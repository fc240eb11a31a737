import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./run-cli.ts";

/**
 * Builds dist/cli/ (bin/build-cli.js) unless it is fresh, so that the many CLI subprocesses of a test file
 * start from the bundle rather than compiling TypeScript each time. (bin/jetstream-relay.js falls back to
 * the sources through tsx whenever the bundle is missing or stale; a test covers that path too.)
 */
export function ensureBundle(): void {
  if (isFresh()) return;
  execFileSync(process.execPath, [join(REPO_ROOT, "bin", "build-cli.js")], { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "inherit"], timeout: 60_000 });
}

function isFresh(): boolean {
  try {
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, "dist", "cli", "manifest.json"), "utf8")) as { builtAt: number; inputs: string[] };
    return manifest.inputs.every((input) => {
      try {
        return statSync(join(REPO_ROOT, input)).mtimeMs <= manifest.builtAt;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}
