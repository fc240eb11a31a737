/**
 * `npx tsx bench/cpu-profile.ts [--events N] [--v2]`: where the worker's own CPU goes during a flood.
 *
 * Runs the worker under `wrangler dev` with an inspector port, floods it like `npm run bench` (batch
 * mode), records a V8 CPU profile of the worker's isolate over the flood and prints the functions with
 * the most self time. The inspector itself slows the worker, and time spent in the local queue's broker
 * (another isolate) is not seen: read the shares, not the totals. Writes the whole profile to
 * bench-profile.cpuprofile (open it in Chrome DevTools' Performance panel).
 */
import { writeFile } from "node:fs/promises";
import WebSocket from "ws";
import type { RelayStats, RelayStatus } from "../worker/api-types.ts";
import { freePort } from "../cli/lib/wrangler-dev.ts";
import { forwardedBy, mixedEvents } from "../test/support/event-mix.ts";
import { startLocalWorker } from "../test/support/local-worker.ts";
import { waitFor } from "../test/support/wait.ts";
import { startCountingReceiver } from "./counting-receiver.ts";
import { startFloodServer } from "./flood-server.ts";
import { warmUpAndFlood } from "./warm-up.ts";
import { errorMessage } from "../worker/errors.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const COLLECTIONS = ["app.bsky.feed.*", "app.bsky.graph.*"];
const SAMPLING_INTERVAL_US = 200;
const eventsFlag = process.argv.indexOf("--events");
const count = eventsFlag > 0 ? Number(process.argv[eventsFlag + 1]) : 100_000;
if (!Number.isInteger(count) || count < 1) throw new Error("--events needs a whole number ≥ 1");
const v2 = process.argv.includes("--v2");

/**
 * Self time per function, largest first. A sample stands for the time until the next one; workerd does
 * not report its idle time to the profiler, so a sample followed by a long pause would take the pause:
 * no sample counts for more than a few sampling intervals.
 */
export function selfTimes(profile: Profile, intervalUs: number): { name: string; ms: number; share: number }[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)!.callFrame;
    const name = `${frame.functionName || "(anonymous)"}${frame.url ? ` ${frame.url.split("/").slice(-1)[0]}:${frame.lineNumber + 1}` : ""}`;
    const us = Math.min(profile.timeDeltas[i + 1] ?? intervalUs, 4 * intervalUs);
    totals.set(name, (totals.get(name) ?? 0) + us);
    all += us;
  });
  return [...totals].map(([name, us]) => ({ name, ms: us / 1000, share: us / all })).sort((a, b) => b.ms - a.ms);
}

async function main(): Promise<void> {
  const upstream = await startFloodServer({ v2 });
  const wanted = forwardedBy(COLLECTIONS);
  const mixed = mixedEvents({ count: count + 1, startUs: Date.now() * 1000 - count * 100, stepUs: 100, salt: 5, offset: 1 });
  const expected = mixed.slice(1).filter(wanted).length;
  const flood = warmUpAndFlood(mixed, wanted, !v2);
  const warmUp = upstream.stage([flood.warmUp]);
  const events = upstream.stage(flood.events);
  const receiver = await startCountingReceiver((t) => upstream.sentAt(t));
  const inspectorPort = await freePort();
  const worker = await startLocalWorker(
    { WEBHOOK_URL: receiver.url, JETSTREAM_URL: v2 ? upstream.v2Url : upstream.url, JETSTREAM_COLLECTIONS: COLLECTIONS.join(","), WEBHOOK_BATCH_SIZE: "100" },
    { inspectorPort },
  );
  const socket = new WebSocket(((await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { webSocketDebuggerUrl: string }[])[0].webSocketDebuggerUrl);
  try {
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    let nextId = 0;
    const waiting = new Map<number, (result: unknown) => void>();
    socket.on("message", (data) => {
      const message = JSON.parse(String(data)) as { id?: number; result?: unknown };
      if (message.id !== undefined) waiting.get(message.id)?.(message.result);
    });
    const call = <T>(method: string, params: object = {}) =>
      new Promise<T>((resolve) => {
        const id = ++nextId;
        waiting.set(id, resolve as (result: unknown) => void);
        socket.send(JSON.stringify({ id, method, params }));
      });
    // As `npm run bench` does: connected, then one event, so that the flood is read from a cursor.
    await waitFor("the relay to connect", async () => ((await (await fetch(`${worker.url}/status`)).json()) as RelayStatus).connected);
    upstream.flood(warmUp);
    await waitFor("the relay to receive the first event", async () => ((await (await fetch(`${worker.url}/stats`)).json()) as RelayStats).totalReceived >= 1);
    await call("Profiler.enable");
    await call("Profiler.setSamplingInterval", { interval: SAMPLING_INTERVAL_US });
    await call("Profiler.start");
    upstream.flood(events);
    if (!(await receiver.waitForDistinct(expected, 300_000))) throw new Error(`only ${receiver.distinct} of ${expected} events arrived`);
    const { profile } = await call<{ profile: Profile }>("Profiler.stop");
    await writeFile("bench-profile.cpuprofile", JSON.stringify(profile));
    process.stdout.write(`${count.toLocaleString("en-US")} events flooded${v2 ? " on the v2 wire" : ""}, ${expected.toLocaleString("en-US")} delivered; self time of the worker's isolate:\n`);
    for (const { name, ms, share } of selfTimes(profile, SAMPLING_INTERVAL_US).slice(0, 30)) {
      process.stdout.write(`${ms.toFixed(0).padStart(8)} ms ${(share * 100).toFixed(1).padStart(5)}%  ${name}\n`);
    }
  } finally {
    socket.close();
    await worker.dispose();
    await Promise.all([upstream.close(), receiver.close()]);
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));
main().catch((error: unknown) => {
  process.stderr.write(`cpu-profile: ${errorMessage(error)}\n`);
  process.exit(1);
});
