// Start-up of the jetstream-relay command against a bare `node -e 0`: `--version`, and `status --json`
// against a local HTTP server answering like a relay — from the bundle (dist/cli, built first) and from the
// TypeScript sources (tsx, what a fresh clone without the build step runs).
// Run: npx tsx bench/cli-startup.ts [--runs N] [--json]
import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const BIN = join(ROOT, "bin", "jetstream-relay.js");

export interface StartupResult {
  name: string;
  medianMs: number;
  minMs: number;
  /** median / median of `node -e 0` */
  ratio: number;
}

function timeOnce(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "ignore", "inherit"] });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolvePromise(performance.now() - started) : reject(new Error(`${args.join(" ")} exited with ${code}`))));
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

export async function measureCliStartup(runs = 15): Promise<StartupResult[]> {
  execFileSync(process.execPath, [join(ROOT, "bin", "build-cli.js")], { stdio: ["ignore", "ignore", "inherit"] });
  const status = JSON.stringify({ state: "connected", connected: true, endpoint: "wss://example/subscribe", endpoints: [], cursor: null, cursorTime: null, lagSeconds: 0, lastError: null, lastErrorAt: null, reconnects: 0, connectedSince: null, lastFrameAt: null, nextAttemptAt: null, configErrors: [], config: null });
  const server = createServer((_req, res) => res.setHeader("content-type", "application/json").end(status));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const base = { ...process.env, JETSTREAM_RELAY_URL: url, JETSTREAM_RELAY_FROM_BUNDLE: "1" };
  const fromSource = { ...process.env, JETSTREAM_RELAY_URL: url, JETSTREAM_RELAY_FROM_SOURCE: "1" };
  const cases: [string, string[], NodeJS.ProcessEnv][] = [
    ["node -e 0", ["-e", "0"], base],
    ["jetstream-relay --version", [BIN, "--version"], base],
    ["jetstream-relay status --json", [BIN, "status", "--json"], base],
    ["jetstream-relay --version (tsx, no bundle)", [BIN, "--version"], fromSource],
    ["jetstream-relay status --json (tsx, no bundle)", [BIN, "status", "--json"], fromSource],
  ];
  const samples = new Map<string, number[]>(cases.map(([name]) => [name, []]));
  try {
    for (const [, args, env] of cases) await timeOnce(args, env); // warm the file cache
    // Interleaved, so that a burst of load on the machine affects every case alike.
    for (let i = 0; i < runs; i++) for (const [name, args, env] of cases) samples.get(name)!.push(await timeOnce(args, env));
  } finally {
    server.close();
  }
  const baseline = median(samples.get("node -e 0")!);
  return cases.map(([name]) => {
    const values = samples.get(name)!;
    return { name, medianMs: Math.round(median(values)), minMs: Math.round(Math.min(...values)), ratio: Number((median(values) / baseline).toFixed(2)) };
  });
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("cli-startup.ts")) {
  const runsFlag = process.argv.indexOf("--runs");
  const results = await measureCliStartup(runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 15);
  if (process.argv.includes("--json")) {
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } else {
    for (const r of results) process.stdout.write(`${r.name.padEnd(48)} median ${String(r.medianMs).padStart(5)} ms  min ${String(r.minMs).padStart(5)} ms  ×${r.ratio}\n`);
  }
}
