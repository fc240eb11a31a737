import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBundle } from "./support/bundle.ts";
import { type FakeRelay, healthyReport, sampleStats, sampleStatus, startFakeRelay } from "./support/fake-relay.ts";
import { REPO_ROOT, runCli } from "./support/run-cli.ts";

// The operate commands start fast: they load neither wrangler, nor the prompts library, nor any other
// command's module. Every module the process loads is recorded by a resolve hook.

const HOOK = join(import.meta.dirname, "support", "record-imports.mjs");
// Packages of the project itself (tsx brings its own esbuild when the CLI runs from the sources).
const HEAVY = ["wrangler", "miniflare", "@clack/prompts", "@clack/core", "undici", "ws", "esbuild"].map((name) => `${pathToFileURL(REPO_ROOT).href}/node_modules/${name}/`);
const OTHER_COMMANDS = ["init", "deploy", "dev", "logs", "replay"];

let relay: FakeRelay;
let dir: string;

beforeAll(async () => {
  ensureBundle();
  relay = await startFakeRelay({
    "GET /stats": { json: sampleStats() },
    "GET /status": { json: sampleStatus() },
    "GET /health": { json: healthyReport() },
    "POST /reset": { json: { resetAt: new Date().toISOString() } },
    "POST /reconnect": { json: sampleStatus() },
  });
  dir = await mkdtemp(join(tmpdir(), "jr-imports-"));
});
afterAll(async () => {
  await relay.close();
  await rm(dir, { recursive: true, force: true });
});

async function loadedModules(args: string[], env: Record<string, string> = {}): Promise<string[]> {
  const log = join(dir, `${args.join("_").replace(/\W/g, "")}-${Math.random().toString(36).slice(2)}.log`);
  const result = await runCli(args, { nodeArgs: ["--import", HOOK], env: { JETSTREAM_RELAY_URL: relay.url, JETSTREAM_RELAY_TOKEN: "x-token", JETSTREAM_RELAY_IMPORT_LOG: log, ...env } });
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return (await readFile(log, "utf8")).trim().split("\n");
}

describe.each([
  ["bundle", {}],
  ["sources (tsx)", { JETSTREAM_RELAY_FROM_SOURCE: "1" }],
])("lazy imports, from the %s", (_, env: Record<string, string>) => {
  it.each(["status --json", "stats --json", "health", "reset --yes", "reconnect", "--version"])("%s loads nothing it does not use", async (command) => {
    const args = command.split(" ");
    const modules = await loadedModules(args, env);
    expect(modules.some((url) => url.endsWith("/dist/cli/main.js"))).toBe(!env.JETSTREAM_RELAY_FROM_SOURCE);
    expect(modules.some((url) => url.includes("commander"))).toBe(args[0] !== "--version");
    for (const heavy of HEAVY) expect(modules.filter((url) => url.startsWith(heavy))).toEqual([]);
    for (const name of OTHER_COMMANDS) expect(modules.filter((url) => new RegExp(`/(commands/${name}\\.ts|dist/cli/${name}-[A-Z0-9]+\\.js)$`).test(url))).toEqual([]);
  });
});
