import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import type { RelayStatus } from "../../worker/api-types.ts";
import { CliError, ExitCode } from "../lib/exit-codes.ts";
import { PROJECT_FILE, readProjectFile } from "../lib/project-file.ts";
import { stopSignal } from "../lib/stop-signal.ts";
import { BLUESKY_LEGACY_ENDPOINTS, describeEndpoints } from "../lib/jetstream-endpoints.ts";
import { DEFAULT_ENDPOINTS } from "../../worker/config/registry.ts";
import { httpExchange } from "../lib/http-request.ts";

interface DevFlags {
  ip: string;
  port: string;
  inspectorPort?: string;
  jetstreamUrl?: string;
  webhookUrl?: string;
  collections?: string;
  persistTo?: string;
  playback?: string;
  demo?: boolean;
  rate: string;
  config?: string;
  verbose?: boolean;
}

export function register(program: Command): void {
  program
    .command("dev")
    .description("Run the relay locally (wrangler's local runtime, local queues and storage); with no webhook, a built-in receiver prints what arrives")
    .option("--ip <ip>", "address to serve on", "127.0.0.1")
    .option("--port <port>", "port to serve on (0 = any free port)", "8787")
    .option("--inspector-port <port>", "port of the debugger inspector (default, or none: any free port, not printed)")
    .option("--jetstream-url <urls>", "Jetstream endpoint(s), comma-separated; the path picks the wire (JETSTREAM_URL; default: Bluesky's v2 hosts)")
    .option("--webhook-url <url>", "deliver here instead of the built-in receiver (WEBHOOK_URL)")
    .option("--collections <list>", "comma-separated NSIDs or prefixes (JETSTREAM_COLLECTIONS)")
    .option("--persist-to <dir>", "folder of the local storage (Durable Objects, queues)", ".wrangler/state")
    .option("--playback <file>", "serve this file of recorded events as the Jetstream endpoint (offline)")
    .option("--demo", "play the real Jetstream events bundled with jetstream-relay (offline; collections default to app.bsky.*)")
    .option("--rate <n>", "events per second for --playback/--demo (0 = all at once)", "20")
    .option("--config <path>", `wrangler configuration (default: the one ${PROJECT_FILE} names, else the relay's own)`)
    .option("--verbose", "show wrangler's and the worker's output")
    .addHelpText(
      "after",
      `
The other worker variables (WEBHOOK_BEARER_TOKEN, WEBHOOK_SECRET, ADMIN_TOKEN, JETSTREAM_DIDS, JETSTREAM_KINDS,
tuning variables) come from the environment and from a .dev.vars file in this folder; flags win over the
environment, which wins over .dev.vars. They reach the worker unchanged ($, quotes, backslashes and line
breaks included) through private files, never a command line.

Jetstream: by default Bluesky's v2 hosts, on the v2 wire:
${DEFAULT_ENDPOINTS.map((url) => `  ${url}`).join("\n")}
The numbered legacy hosts speak the legacy wire (/subscribe); name one or more to use them:
  jetstream-relay dev --jetstream-url ${BLUESKY_LEGACY_ENDPOINTS[0]}
Nothing prompts: --jetstream-url, else JETSTREAM_URL (environment or .dev.vars), else the default.

Prints "ready: http://IP:PORT" once the worker serves, then the dashboard URL. Ctrl-C stops everything.

Examples:
  npx jetstream-relay dev
  jetstream-relay dev --demo
  jetstream-relay dev --playback events.jsonl --rate 0
  jetstream-relay dev --webhook-url http://localhost:3000/jetstream --collections app.bsky.graph.*`,
    )
    .action(async (flags: DevFlags) => {
      await runDev(flags);
    });
}

function parsePort(text: string, flag: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`${flag} must be a port number (0–65535), not ${text}`, ExitCode.usage);
  return port;
}

async function runDev(flags: DevFlags): Promise<void> {
  const stop = stopSignal();
  const cwd = process.cwd();
  const port = parsePort(flags.port, "--port");
  const inspectorPort = flags.inspectorPort === undefined || flags.inspectorPort === "none" ? null : parsePort(flags.inspectorPort, "--inspector-port");
  if (flags.playback && flags.demo) throw new CliError("--playback and --demo both choose the events to play: pick one", ExitCode.usage);
  const playing = Boolean(flags.playback || flags.demo);
  if (playing && flags.jetstreamUrl) throw new CliError("--jetstream-url and --playback/--demo both choose the Jetstream endpoint: pick one", ExitCode.usage);

  const { mergeDevVars, readDotenvFile } = await import("../lib/dev-vars.ts");
  const { settingsProblems } = await import("../lib/setting-checks.ts");
  const config = await chooseConfig(flags.config, cwd);
  const vars = mergeDevVars(await readDotenvFile(join(cwd, ".dev.vars")), process.env, {
    JETSTREAM_URL: flags.jetstreamUrl,
    WEBHOOK_URL: flags.webhookUrl,
    JETSTREAM_COLLECTIONS: flags.collections ?? (flags.demo && !process.env.JETSTREAM_COLLECTIONS ? "app.bsky.*" : undefined),
  });
  const problems = settingsProblems(Object.fromEntries(Object.entries(vars).filter(([name]) => name !== "WEBHOOK_URL" || vars.WEBHOOK_URL)));
  if (problems.length > 0) throw new CliError(`invalid settings:\n  ${problems.join("\n  ")}`, ExitCode.usage);
  // Every value reaches the worker byte for byte, or nothing starts.
  const { unwritableVariables } = await import("../lib/env-file.ts");
  const unwritable = unwritableVariables(vars);
  if (unwritable.length > 0) throw new CliError(`cannot pass these variables to the local worker unchanged:\n  ${unwritable.join("\n  ")}`, ExitCode.usage, "use another value for the local run");

  const say = (text: string) => process.stderr.write(`${text}\n`);
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
  };
  try {
    // The built-in receiver, unless a webhook is configured.
    if (!vars.WEBHOOK_URL) {
      const { startReceiver, describeEvent } = await import("../lib/receiver.ts");
      const receiver = await startReceiver({
        onDelivery: (d) => {
          const id = d.webhookId ? `  webhook-id ${d.webhookId}` : "";
          for (const event of d.events.length ? d.events : [null]) process.stdout.write(`webhook: ${event === null ? `${d.bytes} bytes (not JSON)` : describeEvent(event)}${id}${d.signed ? "  signed" : ""}\n`);
        },
      });
      cleanups.push(() => receiver.close());
      vars.WEBHOOK_URL = receiver.url;
      say(`built-in webhook receiver at ${receiver.url} (give --webhook-url to deliver elsewhere)`);
    }

    // A local Jetstream playing recorded events, for offline runs.
    if (playing) {
      const { loadPlaybackEvents, parseRate } = await import("./playback.ts");
      const { startPlayback } = await import("../lib/playback.ts");
      const events = await loadPlaybackEvents(flags.playback, flags.demo);
      const playback = await startPlayback({ events, rate: parseRate(flags.rate), loop: false, keepTimes: false });
      cleanups.push(() => playback.close());
      // The v2 wire, as Bluesky's hosts speak it (the same server answers the legacy /subscribe too).
      vars.JETSTREAM_URL = playback.v2Url;
      say(`playing ${events.length} recorded events at ${playback.v2Url}`);
      void playback.finished.then(() => say(`played all ${events.length} recorded events`));
    } else {
      say(`jetstream: ${describeEndpoints(vars.JETSTREAM_URL)}`);
    }
    if (stop.isStopped()) return;

    const { startWranglerDev } = await import("../lib/wrangler-dev.ts");
    say(`starting the worker (${config.label})…`);
    const starting = startWranglerDev({
      config: config.path,
      ip: flags.ip,
      port,
      inspectorPort,
      persistTo: resolve(cwd, flags.persistTo ?? ".wrangler/state"),
      vars,
      onOutput: flags.verbose ? (line) => say(`[wrangler] ${line}`) : undefined,
      readyTimeoutMs: 120_000,
    });
    cleanups.push(async () => {
      const running = await starting.catch(() => null);
      await running?.stop();
    });
    const worker = await Promise.race([starting, stop.stopped.then(() => null)]);
    if (!worker) return;

    // One write: a reader that acts on "ready" finds the dashboard line with it.
    process.stdout.write(`ready: ${worker.url}\ndashboard: ${worker.url}/stats/html\n`);
    // One request wakes the relay at once (it also starts by itself, from its cron and alarm).
    await fetch(`${worker.url}/health`, { signal: AbortSignal.timeout(10_000) })
      .then((r) => r.body?.cancel())
      .catch(() => {});
    const watcher = watchStatus(worker.url, say);
    cleanups.push(async () => watcher.stop());

    const ended = await Promise.race([stop.stopped.then(() => "stopped" as const), worker.exited.then(() => "exited" as const)]);
    if (ended === "exited") throw new CliError("wrangler dev stopped unexpectedly", ExitCode.failure, "run again with --verbose to see its output");
    say("stopping…");
  } catch (error) {
    if (error instanceof Error && !(error instanceof CliError) && /wrangler dev (exited|did not answer)/.test(error.message)) {
      const busy = /EADDRINUSE|address already in use/i.test(error.message);
      throw new CliError(
        busy ? `port ${port} on ${flags.ip} is in use` : "the local worker did not start",
        ExitCode.failure,
        busy ? "pass --port 0 for any free port, or another --port" : error.message.split("\n").slice(-8).join("\n"),
      );
    }
    throw error;
  } finally {
    await cleanup();
  }
}

/** The wrangler configuration to run: --config, else the project's, else the relay's own. */
async function chooseConfig(flag: string | undefined, cwd: string): Promise<{ path: string; label: string }> {
  if (flag) {
    if (!existsSync(resolve(cwd, flag))) throw new CliError(`no such configuration: ${flag}`, ExitCode.usage);
    return { path: resolve(cwd, flag), label: flag };
  }
  const project = await readProjectFile(cwd);
  if (project && existsSync(join(cwd, project.wranglerConfig))) return { path: join(cwd, project.wranglerConfig), label: project.wranglerConfig };
  const { packageWranglerConfig } = await import("../lib/package-paths.ts");
  return { path: packageWranglerConfig(), label: "the relay's own wrangler.jsonc" };
}

/** The most the status watcher reads of one answer. */
const STATUS_ANSWER_BYTES = 1024 * 1024;

/** Prints the relay's connection state whenever it changes (connected, reconnecting and why). */
function watchStatus(url: string, say: (text: string) => void): { stop(): void } {
  let last = "";
  let stopped = false;
  const tick = async () => {
    try {
      // Bounded like every answer the CLI reads (a status is a few KB).
      const answer = await httpExchange(`${url}/status`, { method: "GET", headers: { accept: "application/json" }, timeoutMs: 5_000, maxBytes: STATUS_ANSWER_BYTES });
      const status = JSON.parse(answer.text) as RelayStatus;
      let line: string;
      if (status.configErrors?.length) line = `relay: configuration problem: ${status.configErrors.map((p) => `${p.variable}: ${p.message}`).join("; ")}`;
      else if (status.connected) line = `relay: connected to ${status.endpoint}${status.wire ? ` (${status.wire} wire)` : ""}`;
      else line = `relay: ${status.state}${status.endpoint ? ` ${status.endpoint}` : ""}${status.lastError ? ` (last error: ${status.lastError})` : ""}${status.reconnects ? `, ${status.reconnects} reconnects` : ""}`;
      const key = line.replace(/, \d+ reconnects$/, "");
      if (key !== last) say(line);
      last = key;
    } catch {
      // the worker is busy or stopping; try again
    }
    if (!stopped) timer = setTimeout(tick, 3_000);
  };
  let timer = setTimeout(tick, 500);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
