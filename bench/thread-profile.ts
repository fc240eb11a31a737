/**
 * `npx tsx bench/thread-profile.ts [--events N] [--reading-only] [--v2] [--leaves N]`: where workerd's thread goes during a
 * flood, by part — the Durable Object's reading, the local queue's broker, the consumer, garbage
 * collection — with Linux `perf` sampling the runtime's C++ stacks (the whole process, every isolate,
 * the kernel's page faults and system calls included; bench/cpu-profile.ts sees the worker's own
 * JavaScript only). Runs the worker as `npm run bench` does (wrangler's API, inspector off), batch mode.
 * Needs `perf` (linux-tools) and the permission to attach to a process.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RelayStats, RelayStatus } from "../worker/api-types.ts";
import { forwardedBy, mixedEvents } from "../test/support/event-mix.ts";
import { waitFor } from "../test/support/wait.ts";
import { startCountingReceiver } from "./counting-receiver.ts";
import { groupProcesses } from "./cpu-time.ts";
import { startFloodServer } from "./flood-server.ts";
import { breakdown, parsePerfScript, PARTS, topLeaves } from "./perf-stacks.ts";
import { startLocalRuntime } from "./start-runtime.ts";
import { warmUpAndFlood } from "./warm-up.ts";
import { errorMessage } from "../worker/errors.ts";

const COLLECTIONS = ["app.bsky.feed.*", "app.bsky.graph.*"];
const argv = process.argv.slice(2);
const eventsFlag = argv.indexOf("--events");
const count = eventsFlag >= 0 ? Number(argv[eventsFlag + 1]) : 200_000;
if (!Number.isInteger(count) || count < 1) throw new Error("--events needs a whole number ≥ 1");
const readingOnly = argv.includes("--reading-only");
const v2 = argv.includes("--v2");
const leavesFlag = argv.indexOf("--leaves");
const leaves = leavesFlag >= 0 ? Number(argv[leavesFlag + 1]) : 0;

async function main(): Promise<void> {
  if (spawnSync("perf", ["--version"]).status !== 0) throw new Error("needs Linux perf (`apt install linux-tools-generic` or your distribution's perf package)");
  const folder = await mkdtemp(join(tmpdir(), "jetstream-relay-perf-"));
  // Reading only on v2: the upstream sends every kind, so the object reads the same commits as on the legacy wire.
  const upstream = await startFloodServer({ v2, everyKind: readingOnly ? { collections: COLLECTIONS } : undefined });
  const wanted = forwardedBy(COLLECTIONS, readingOnly ? ["account"] : undefined);
  const mixed = mixedEvents({ count: count + 1, startUs: Date.now() * 1000 - count * 100, stepUs: 100, salt: 11, offset: 1 });
  const expected = mixed.slice(1).filter(wanted).length;
  // Reading only on v2, the upstream sends every kind (the identity warm-up too).
  const flood = warmUpAndFlood(mixed, wanted, !v2 || readingOnly);
  const warmUp = upstream.stage([flood.warmUp]);
  const events = upstream.stage(flood.events);
  const receiver = await startCountingReceiver((t) => upstream.sentAt(t));
  const kinds: Record<string, string> = readingOnly ? { JETSTREAM_KINDS: "account" } : {};
  const worker = await startLocalRuntime({ WEBHOOK_URL: receiver.url, JETSTREAM_URL: v2 ? upstream.v2Url : upstream.url, JETSTREAM_COLLECTIONS: COLLECTIONS.join(","), WEBHOOK_BATCH_SIZE: "100", ...kinds });
  try {
    const getJson = async <T>(path: string) => (await (await fetch(`${worker.url}${path}`)).json()) as T;
    await waitFor("the relay to connect", async () => (await getJson<RelayStatus>("/status")).connected, 60_000);
    upstream.flood(warmUp);
    await waitFor("the relay to receive the first event", async () => (await getJson<RelayStats>("/stats")).totalReceived >= 1, 60_000);

    const pids = groupProcesses(worker.process.pid!, "workerd");
    const data = join(folder, "perf.data");
    const perf = spawn("perf", ["record", "-q", "-F", "499", "-g", "-o", data, "-p", pids.join(",")], { stdio: ["ignore", "ignore", "pipe"] });
    let perfErrors = "";
    perf.stderr.setEncoding("utf8").on("data", (chunk: string) => (perfErrors += chunk));
    const perfExited = new Promise<number | null>((resolve) => perf.once("exit", resolve));
    await new Promise((resolve) => setTimeout(resolve, 500)); // perf attaches
    upstream.flood(events);
    const complete = await receiver.waitForDistinct(expected, 300_000);
    const stats = await getJson<RelayStats>("/stats");
    perf.kill("SIGINT");
    if ((await perfExited) !== 0 && perfErrors.trim()) throw new Error(`perf record failed: ${perfErrors.trim()}`);
    const script = spawnSync("perf", ["script", "-i", data, "-F", "comm,tid,ip,sym"], { encoding: "utf8", maxBuffer: 1 << 30 });
    if (script.status !== 0) throw new Error(`perf script failed: ${script.stderr}`);

    const samples = parsePerfScript(script.stdout);
    const result = breakdown(samples);
    const seconds = (Date.parse(stats.lastEventTime ?? new Date().toISOString()) - (upstream.firstSentAt ?? Date.now())) / 1000;
    const out = process.stdout;
    out.write(`${count.toLocaleString("en-US")} events flooded (${readingOnly ? "reading only: account events forwarded" : "batch mode"}${v2 ? ", v2 wire" : ", legacy wire"}), ${receiver.distinct.toLocaleString("en-US")} of ${expected.toLocaleString("en-US")} delivered${complete ? "" : " (INCOMPLETE)"}; ingest ${Math.round((stats.totalReceived - 1) / Math.max(0.001, seconds)).toLocaleString("en-US")} events/s\n`);
    out.write(`workerd's busiest thread (${result.thread}): ${result.samples.toLocaleString("en-US")} samples at 499 Hz ≈ ${(result.samples / 499).toFixed(1)} s of CPU, from the flood to the last delivery\n\n`);
    out.write(`${"share".padStart(6)}  ${"kernel".padStart(6)}  ${"CPU s".padStart(6)}  part\n`);
    for (const part of result.parts) out.write(`${(part.share * 100).toFixed(1).padStart(5)}%  ${(part.kernelShare * 100).toFixed(1).padStart(5)}%  ${((part.share * result.samples) / 499).toFixed(2).padStart(6)}  ${part.name}\n`);
    out.write("\nkernel: of the thread's samples, those in page faults and system calls (part of the share).\n");
    if (leaves > 0) {
      out.write(`\nwhere the object's reading ends (the leaf of its samples, top ${leaves}):\n`);
      for (const leaf of topLeaves(samples, PARTS[0], leaves)) out.write(`${(leaf.share * 100).toFixed(1).padStart(5)}%  ${leaf.symbol}\n`);
    }
  } finally {
    await worker.dispose();
    await Promise.all([upstream.close(), receiver.close()]);
    await rm(folder, { recursive: true, force: true });
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));
main().catch((error: unknown) => {
  process.stderr.write(`thread-profile: ${errorMessage(error)}\n`);
  process.exit(1);
});
