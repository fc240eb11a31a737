import { resolve } from "node:path";
import type { Command } from "commander";
import { CliError, ExitCode } from "../lib/exit-codes.ts";
import { stopSignal } from "../lib/stop-signal.ts";

interface PlaybackFlags {
  demo?: boolean;
  port: string;
  host: string;
  rate: string;
  loop?: boolean;
  keepTimes?: boolean;
}

export function register(program: Command): void {
  program
    .command("playback")
    .argument("[file]", "recorded Jetstream events, one JSON object per line (.jsonl)")
    .description("Serve recorded events as a local Jetstream /subscribe endpoint (offline development)")
    .option("--demo", "play the real Jetstream events bundled with jetstream-relay instead of a file")
    .option("--port <port>", "port to listen on (0 = any free port)", "6008")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--rate <n>", "events per second (0 = all at once)", "20")
    .option("--loop", "start over when the file is done")
    .option("--keep-times", "keep the recorded time_us (default: stamp each event with the time it is played)")
    .addHelpText(
      "after",
      `
The endpoint behaves like Jetstream where a client can tell: cursor replay is inclusive,
wantedCollections takes NSIDs and prefix.* (a bare * is refused with HTTP 400), wantedDids filters by
repository, identity and account events reach every subscriber. The same events are served on the
Jetstream v2 wire at /xrpc/network.bsky.jetstream.subscribeEvents (seqs from 1; kinds, collections, dids;
seq or µs cursors). Playing starts when the first client connects. Point the relay at it with \`jetstream-relay dev --jetstream-url ws://127.0.0.1:6008/subscribe\`,
or let dev start one: \`jetstream-relay dev --playback FILE\` (or --demo).

Examples:
  jetstream-relay playback events.jsonl --rate 100 --loop
  jetstream-relay playback --demo`,
    )
    .action(async (file: string | undefined, flags: PlaybackFlags) => {
      await runPlayback(file, flags);
    });
}

export function parseRate(text: string): number {
  const rate = Number(text);
  if (!Number.isFinite(rate) || rate < 0) throw new CliError(`--rate must be a number of events per second ≥ 0, not ${text}`, ExitCode.usage);
  return rate;
}

/** The events to play: a file, or the bundled ones with --demo. */
export async function loadPlaybackEvents(file: string | undefined, demo: boolean | undefined): Promise<string[]> {
  const { demoEvents, readEventsFile } = await import("../lib/playback.ts");
  if (demo) return demoEvents();
  if (!file) throw new CliError("which events? give a .jsonl file or --demo", ExitCode.usage);
  let loaded: { events: string[]; skipped: number };
  try {
    loaded = await readEventsFile(resolve(file));
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, ExitCode.usage);
  }
  if (loaded.events.length === 0) throw new CliError(`${file} holds no Jetstream events (one JSON object with a time_us per line)`, ExitCode.usage);
  if (loaded.skipped > 0) process.stderr.write(`skipped ${loaded.skipped} line(s) of ${file} that are not events\n`);
  return loaded.events;
}

async function runPlayback(file: string | undefined, flags: PlaybackFlags): Promise<void> {
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be a port number, not ${flags.port}`, ExitCode.usage);
  const rate = parseRate(flags.rate);
  const stop = stopSignal();
  const events = await loadPlaybackEvents(file, flags.demo);
  const { startPlayback } = await import("../lib/playback.ts");
  let playback;
  try {
    playback = await startPlayback({
      events,
      rate,
      loop: Boolean(flags.loop),
      keepTimes: Boolean(flags.keepTimes),
      host: flags.host,
      port,
      onClients: (n) => process.stderr.write(`${n} client(s) connected\n`),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(`cannot listen on ${flags.host}:${port}: ${code ?? (error as Error).message}`, ExitCode.failure, code === "EADDRINUSE" ? "pick another --port (0 = any free port)" : undefined);
  }
  process.stdout.write(`ready: ${playback.url}\nv2: ${playback.v2Url}\n`);
  process.stderr.write(`${events.length} events, ${rate > 0 ? `${rate}/s` : "all at once"}${flags.loop ? ", looping" : ""}; playing starts when a client connects. Ctrl-C stops.\n`);
  void playback.finished.then(() => process.stderr.write(`played all ${playback.played()} events; still serving replays (cursor) until stopped\n`));
  await stop.stopped;
  await playback.close();
}
