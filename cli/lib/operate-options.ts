import { type Command, InvalidArgumentError, Option } from "commander";
import { exitOnSignals } from "./interrupt.ts";
import { Output } from "./output.ts";
import { RelayClient } from "./relay-client.ts";
import { resolveTarget } from "./target.ts";

/** The options every command that talks to a deployed relay shares. */
export interface ConnectionFlags {
  url?: string;
  tokenFile?: string;
  /** milliseconds */
  timeout: number;
  color?: boolean;
  json?: boolean;
}

export interface WatchFlags {
  watch?: boolean;
  /** milliseconds */
  interval: number;
  count?: number;
}

export const DEFAULT_TIMEOUT_S = 10;
export const DEFAULT_INTERVAL_S = 2;

export function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !Number.isFinite(seconds) || seconds <= 0) {
    throw new InvalidArgumentError("expected a number of seconds greater than 0, e.g. 2 or 0.5");
  }
  return Math.round(seconds * 1000);
}

export function parseCount(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new InvalidArgumentError("expected a whole number of at least 1");
  return Number(value);
}

export function parseOffset(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError("expected a whole number of at least 0");
  return Number(value);
}

/**
 * --url, --token-file, --timeout, --no-color and --json (with `jsonWhenPiped`, also --no-json: data
 * commands print JSON when stdout is not a terminal).
 */
export function addConnectionOptions(command: Command, options: { jsonWhenPiped?: boolean } = {}): Command {
  command
    .option("--url <url>", "the relay's base URL (default: $JETSTREAM_RELAY_URL, then \"url\" in ./jetstream-relay.json)")
    .option("--token-file <path>", "read the admin token from this file (default: $JETSTREAM_RELAY_TOKEN, then ./.jetstream-relay/admin-token.json for the relay it is bound to)")
    .addOption(new Option("--timeout <seconds>", "give up on a request after this long").argParser(parseSeconds).default(DEFAULT_TIMEOUT_S * 1000, String(DEFAULT_TIMEOUT_S)))
    .option("--json", options.jsonWhenPiped ? "print JSON (the default when stdout is not a terminal)" : "print the answer as JSON");
  if (options.jsonWhenPiped) command.option("--no-json", "print the human-readable view even when stdout is not a terminal");
  return command.option("--no-color", "no colours (also NO_COLOR=1; FORCE_COLOR=1 forces them)");
}

export function addWatchOptions(command: Command): Command {
  return command
    .option("-w, --watch", "keep polling and redraw in place (one JSON line per poll with --json or when piped)")
    .addOption(new Option("-i, --interval <seconds>", "seconds between polls under --watch").argParser(parseSeconds).default(DEFAULT_INTERVAL_S * 1000, String(DEFAULT_INTERVAL_S)))
    .option("-n, --count <polls>", "stop after this many polls under --watch", parseCount);
}

/**
 * Resolve where to talk to and build the client and the output for a command's flags. From here on,
 * Ctrl-C ends the command with exit 130 (the operate commands have nothing to clean up but the terminal,
 * which the 'exit' listeners restore).
 */
export async function connect(flags: ConnectionFlags, options: { jsonWhenPiped?: boolean } = {}): Promise<{ client: RelayClient; output: Output }> {
  exitOnSignals();
  const output = new Output(flags, options);
  const target = await resolveTarget({ url: flags.url, tokenFile: flags.tokenFile });
  return { client: new RelayClient(target, flags.timeout), output };
}
