/**
 * `npm run bench [-- --events N] [--runs R] [--baseline-events M] [--only …] [--rates …] [--seconds S] [--json]`
 *
 * First the latency table (bench/latency.ts: steady paced rates; `--only latency` for it alone). Then
 * floods the relay — the real worker in wrangler's local runtime — with N distinct Jetstream events in
 * the mix of real traffic, and prints side by side our configuration (batch and per-event webhook
 * modes) and a baseline configured like the original design (one event per queue message, one POST per
 * event). It prints; it asserts nothing about timings.
 */
import { cpus, loadavg, totalmem } from "node:os";
import { forwardedBy, mixedEvents } from "../test/support/event-mix.ts";
import { measureCliStartup, type StartupResult } from "./cli-startup.ts";
import { type Configuration, type RunResult, type Runtime, runOnce } from "./measure.ts";
import { formatReport } from "./report.ts";
import { runLatency, type LatencyConfiguration, type LatencyResult } from "./latency.ts";
import { formatLatencyReport } from "./latency-report.ts";
import { processesNamed } from "./cpu-time.ts";
import { median } from "./stats.ts";
import { runOrder, twinOf } from "./run-order.ts";
import { warmUpAndFlood } from "./warm-up.ts";
import { errorMessage } from "../worker/errors.ts";

/** Collections the relay forwards in the benchmark; the rest of the mix is filtered out. */
const COLLECTIONS = ["app.bsky.feed.*", "app.bsky.graph.*"];
/**
 * Events for the configurations that make one webhook request per event (ours per-event, baseline): the
 * local queue breaks past ~10,000 messages enqueued in one burst (the baseline's one message per event),
 * so these runs stay well below that; ours per-event gets the same count, for a like-for-like comparison.
 */
const PER_REQUEST_EVENTS = 5_000;

/** The second captured event (file order) is an identity event: the warm-up event, skipped by the relay. */
const IDENTITY_TEMPLATE_OFFSET = 1;

/** The variable that bounds events per queue message (worker/config.ts). */
export const EVENTS_PER_MESSAGE_VARIABLE = "JETSTREAM_MAX_EVENTS_PER_MESSAGE";

const CONFIGURATIONS: Configuration[] = [
  { name: "ours (batch)", vars: { WEBHOOK_BATCH_SIZE: "100" } },
  // The same flood on the v2 wire (frames built by our server as Bluesky's v2 hosts build them).
  { name: "ours (batch, v2)", vars: { WEBHOOK_BATCH_SIZE: "100" }, wire: "v2" },
  // The Durable Object's reading alone: the same commits arrive, are read, counted and filtered, but only
  // the few account events are forwarded (no queue and no deliveries competing for workerd's one thread).
  { name: "ours (reading only)", vars: { WEBHOOK_BATCH_SIZE: "100", JETSTREAM_KINDS: "account" }, kinds: ["account"] },
  // The reading alone on v2: the upstream sends every kind whatever `kinds` asks, so the object reads the
  // same frames as on the legacy wire and forwards only the account events.
  { name: "ours (reading only, v2)", vars: { WEBHOOK_BATCH_SIZE: "100", JETSTREAM_KINDS: "account" }, kinds: ["account"], wire: "v2", everyKind: true },
  { name: "ours (per-event)", vars: { WEBHOOK_BATCH_SIZE: "1" }, perRequest: true },
  { name: "baseline", vars: { WEBHOOK_BATCH_SIZE: "1", [EVENTS_PER_MESSAGE_VARIABLE]: "1" }, perRequest: true },
];

/**
 * The latency table's configurations: ours in both webhook modes, the baseline, and "before" — the
 * settings this relay shipped with until group commit: a 200 ms flush timer and a 1 s consumer batch
 * timeout (wrangler.jsonc's `max_batch_timeout`).
 */
const LATENCY_CONFIGURATIONS: LatencyConfiguration[] = [
  { name: "ours (per-event)", vars: { WEBHOOK_BATCH_SIZE: "1" } },
  { name: "ours (batch)", vars: { WEBHOOK_BATCH_SIZE: "100" } },
  { name: "baseline", vars: { WEBHOOK_BATCH_SIZE: "1", [EVENTS_PER_MESSAGE_VARIABLE]: "1" } },
  // Partly filled messages at most every 100 ms (the default is 200 ms, the former flush timer's queue bill): less wait, up to twice the queue messages at low rates.
  { name: "100 ms spacing (per-event)", vars: { WEBHOOK_BATCH_SIZE: "1", JETSTREAM_SEND_SPACING_MS: "100" } },
  // Group commit without spacing: a partly filled message leaves as soon as the previous send resolved.
  { name: "no spacing (per-event)", vars: { WEBHOOK_BATCH_SIZE: "1", JETSTREAM_SEND_SPACING_MS: "0" } },
  { name: "before (per-event)", vars: { WEBHOOK_BATCH_SIZE: "1", JETSTREAM_FLUSH_MS: "200" }, consumer: { max_batch_timeout: 1 } },
  { name: "before (batch)", vars: { WEBHOOK_BATCH_SIZE: "100", JETSTREAM_FLUSH_MS: "200" }, consumer: { max_batch_timeout: 1 } },
];
const LATENCY_RATES = [100, 1_000, 5_000];
/** Events per rate at most: the baseline's one message per event stays below the local queue's burst limit. */
const LATENCY_MAX_EVENTS = 10_000;

interface Options {
  events: number;
  perRequestEvents: number;
  runs: number;
  json: boolean;
  only: string[] | null;
  runtime: Runtime;
  rates: number[];
  seconds: number;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { events: 200_000, perRequestEvents: PER_REQUEST_EVENTS, runs: 1, json: false, only: null, runtime: "api", rates: LATENCY_RATES, seconds: 3 };
  const positive = (flag: string, value: string | undefined) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a whole number ≥ 1, not ${JSON.stringify(value)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === "--events") options.events = positive(flag, argv[++i]);
    else if (flag === "--per-request-events") options.perRequestEvents = positive(flag, argv[++i]);
    else if (flag === "--runs") options.runs = positive(flag, argv[++i]);
    else if (flag === "--json") options.json = true;
    else if (flag === "--only") options.only = (argv[++i] ?? "").split(",");
    else if (flag === "--wrangler-dev") options.runtime = "wrangler-dev";
    else if (flag === "--rates") options.rates = (argv[++i] ?? "").split(",").map((r) => positive(flag, r));
    else if (flag === "--seconds") options.seconds = positive(flag, argv[++i]);
    else if (flag === "--help" || flag === "-h") {
      process.stdout.write(
        "npm run bench -- [--events N (200000)] [--per-request-events M (5000): for per-event and baseline] [--runs R (1)] [--only latency,batch,reading,per-event,baseline,v2 (names containing them)] [--rates 100,1000,5000 and --seconds S (3): the latency table's paced rates] [--wrangler-dev: run under `wrangler dev`, whose inspector costs CPU] [--json]\n",
      );
      process.exit(0);
    } else throw new Error(`unknown option ${flag} (see --help)`);
  }
  return options;
}

/** Median of every numeric field over the runs of one configuration. */
function medianResult(runs: RunResult[]): RunResult {
  const first = runs[0];
  const out = { ...first } as Record<string, unknown>;
  for (const [key, value] of Object.entries(first)) {
    if (typeof value === "number") out[key] = median(runs.map((r) => r[key as keyof RunResult] as number));
  }
  out.timedOut = runs.some((r) => r.timedOut);
  out.lost = Math.max(...runs.map((r) => r.lost));
  return out as unknown as RunResult;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const stray = processesNamed("workerd");
  const machine =
    `${cpus().length} × ${cpus()[0]?.model.trim() ?? "CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}, load average ${loadavg()[0].toFixed(1)} at start` +
    (stray.length > 0 ? `; ${stray.length} other workerd process(es) running (pid ${stray.join(", ")}): figures will be low` : "");
  log(`machine: ${machine}`);
  // A runtime left behind by an interrupted run can take a core by itself.
  if (stray.length > 0) log(`warning: workerd is already running (pid ${stray.join(", ")}), e.g. left by an interrupted run: stop it (kill ${stray.join(" ")}) for figures that mean something`);

  const startUs = Date.now() * 1000 - options.events * 100;
  const prepare = (count: number, salt: number, config: Configuration) => {
    const wanted = forwardedBy(COLLECTIONS, config.kinds);
    const mixed = mixedEvents({ count: count + 1, startUs, stepUs: 100, salt, offset: IDENTITY_TEMPLATE_OFFSET });
    if (!mixed[0].includes('"kind":"identity"')) throw new Error("the warm-up event is not an identity event: check IDENTITY_TEMPLATE_OFFSET");
    const expected = mixed.slice(1).filter(wanted).map((raw) => Number(/"time_us":(\d+)/.exec(raw)![1]));
    // A v2 server sends only the kinds asked for (commits), unless the upstream is told to send every kind.
    return { ...warmUpAndFlood(mixed, wanted, config.wire !== "v2" || config.everyKind === true), expected };
  };
  // The latency table: everything, or `--only latency` (its configurations are not the flood's).
  const latency: LatencyResult[] = [];
  if (!options.only || options.only.includes("latency")) {
    if (options.runtime !== "api") throw new Error("the latency table runs through wrangler's API only (no --wrangler-dev)");
    log(`latency at ${options.rates.join(", ")} events/s, ${options.seconds} s each`);
    for (const config of LATENCY_CONFIGURATIONS) {
      try {
        latency.push(...(await runLatency(config, options.rates, options.seconds, LATENCY_MAX_EVENTS, COLLECTIONS, log)));
      } catch (error) {
        log(`  ${config.name}: failed: ${errorMessage(error)}`);
      }
    }
  }
  const configurations = CONFIGURATIONS.filter((c) => !options.only || options.only.some((o) => o !== "latency" && c.name.includes(o)));
  const results = new Map<string, RunResult[]>(configurations.map((c) => [c.name, []]));
  for (let run = 1; run <= options.runs; run++) {
    if (configurations.length > 0) log(`run ${run}/${options.runs}`);
    for (const config of runOrder(configurations, run)) {
      const count = config.perRequest ? Math.min(options.events, options.perRequestEvents) : options.events;
      // A v2 configuration floods the same events as its legacy twin (the same salt): the pair differs by its wire only.
      const { warmUp, events, expected } = prepare(count, run * 16 + configurations.indexOf(twinOf(config, configurations)), config);
      const timeoutMs = 120_000 + 2 * count;
      try {
        results.get(config.name)!.push(await runOnce(config, warmUp, events, expected, COLLECTIONS.join(","), log, timeoutMs, options.runtime));
      } catch (error) {
        log(`  ${config.name}: failed: ${errorMessage(error)}`);
      }
    }
  }

  let startup: StartupResult[] | null = null;
  if (configurations.length > 0) {
    try {
      log("CLI start-up…");
      startup = await measureCliStartup(7);
    } catch (error) {
      log(`CLI start-up: failed: ${errorMessage(error)}`);
    }
  }

  const measured = [...results.values()].filter((runs) => runs.length > 0);
  const medians = measured.map(medianResult);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ machine, options, latency, runs: Object.fromEntries(results), medians, startup }, null, 2)}\n`);
    return;
  }
  const runtime =
    options.runtime === "api" ? "wrangler's local runtime through its API, inspector off (--wrangler-dev: under `wrangler dev`)" : "`wrangler dev` (its inspector attached)";
  if (latency.length > 0) process.stdout.write(`machine: ${machine}\n${formatLatencyReport(latency, options.seconds)}\n`);
  if (configurations.length === 0) return;
  process.stdout.write(formatReport({ machine, runtime, runs: options.runs, events: options.events, perRequestEvents: Math.min(options.events, options.perRequestEvents), medians, runsOf: measured, startup }));
}

// Interrupted (Ctrl-C, a timeout): exit through process.exit so that the local workers are stopped too.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(signal === "SIGINT" ? 130 : 143));

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${errorMessage(error)}\n`);
  process.exit(1);
});
