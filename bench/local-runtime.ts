/**
 * Runs the worker in wrangler's local runtime (workerd, local queues and storage) through wrangler's
 * programmatic API, with the inspector off: `wrangler dev` always attaches its DevTools proxy, which
 * forwards every runtime event to Node (measured: a third of a core during a flood), something no
 * deployed worker pays. Started by bench/start-runtime.ts as a process of its own:
 *   node --import tsx bench/local-runtime.ts <wrangler config> <env files, path.delimiter-separated> <persist folder>
 * Prints `ready <url>` once the worker answers; stops on SIGTERM.
 */
import { delimiter } from "node:path";
import { unstable_startWorker } from "wrangler";

const [config, envFile, persist] = process.argv.slice(2);
if (!config || !envFile || !persist) {
  process.stderr.write("usage: local-runtime.ts <wrangler config> <env files> <persist folder>\n");
  process.exit(2);
}

const worker = await unstable_startWorker({
  config,
  envFiles: envFile.split(delimiter),
  dev: { server: { hostname: "127.0.0.1", port: 0 }, inspector: false, persist, watch: false, logLevel: "warn" },
});
await worker.ready;
process.stdout.write(`ready ${(await worker.url).origin}\n`);

const stop = async () => {
  await worker.dispose();
  process.exit(0);
};
process.once("SIGTERM", () => void stop());
process.once("SIGINT", () => void stop());
