import type { Colors } from "./colors.ts";
import { ExitCode } from "./exit-codes.ts";
import { LiveScreen } from "./live-screen.ts";
import type { Output } from "./output.ts";
import { wrapText } from "./table.ts";
import { pollEvery } from "./watch.ts";

export interface Sample<T> {
  value: T;
  /** Local clock (ms) when the answer arrived. */
  at: number;
}

export interface FrameContext<T> {
  now: number;
  /** The sample before this one (for rates between polls). */
  previous?: Sample<T>;
  /** Under --watch. */
  watch?: WatchState;
}

export interface WatchState {
  intervalMs: number;
  /** The latest poll failed: what happened, when, and since when the data shown is. */
  failure?: { message: string; at: number; since: number };
}

/** The lines that say a poll failed, the message wrapped to the terminal's width so none of it is cut off. */
export function failureLines(failure: NonNullable<WatchState["failure"]>, c: Colors): string[] {
  const width = Math.max(20, (process.stdout.columns || 80) - 5);
  return [
    c.red(`✗ poll failed at ${clockOf(failure.at)} — showing data from ${clockOf(failure.since)}, retrying`),
    ...wrapText(failure.message, width).map((line) => `  ${c.red(line)}`),
  ];
}

function clockOf(at: number): string {
  return `${new Date(at).toISOString().slice(11, 19)}Z`;
}

export interface ShowOptions<T> {
  output: Output;
  watch?: boolean;
  intervalMs: number;
  count?: number;
  fetch(): Promise<T>;
  render(value: T, context: FrameContext<T>): string[];
}

/**
 * Shows one answer, or keeps polling under --watch: redrawn in place on a terminal, one JSON line per poll
 * with --json (or when piped), plain successive frames otherwise (nothing animated off a terminal). A failed
 * poll is shown and polling goes on; with --count, the exit code is 1 when the last poll failed.
 */
export async function showOnceOrWatch<T>(options: ShowOptions<T>): Promise<void> {
  const { output } = options;
  if (!options.watch) {
    const value = await options.fetch();
    if (output.json) output.document(value);
    else output.lines(options.render(value, { now: Date.now() }));
    return;
  }

  const screen = !output.json && process.stdout.isTTY ? new LiveScreen(process.stdout) : null;
  let latest: Sample<T> | undefined;
  let beforeLatest: Sample<T> | undefined;
  const frame = (sample: Sample<T>, previous: Sample<T> | undefined, failure?: { message: string; at: number; since: number }) =>
    options.render(sample.value, { now: Date.now(), previous, watch: { intervalMs: options.intervalMs, failure } });

  const lastOk = await pollEvery<T>({
    intervalMs: options.intervalMs,
    count: options.count,
    poll: options.fetch,
    onResult(value, at) {
      const sample = { value, at: at.getTime() };
      if (output.json) output.jsonLine(value);
      else if (screen) screen.render(frame(sample, latest));
      else output.lines([...frame(sample, latest), ""]);
      beforeLatest = latest;
      latest = sample;
    },
    onError(error, at) {
      const message = error.message;
      if (screen && latest) {
        screen.render(frame(latest, beforeLatest, { message, at: at.getTime(), since: latest.at }));
      } else if (screen) {
        const width = Math.max(20, (process.stdout.columns || 80) - 5);
        screen.render([
          output.out.red(`✗ poll failed at ${clockOf(at.getTime())}, retrying every ${options.intervalMs / 1000}s`),
          ...wrapText(message, width).map((line) => `  ${output.out.red(line)}`),
          ...(error.hint ? wrapText(`hint: ${error.hint}`, width).map((line) => `  ${output.out.dim(line)}`) : []),
        ]);
      } else {
        output.message(`${output.err.red("poll failed")} at ${at.toISOString()}: ${message}${error.hint ? `\nhint: ${error.hint}` : ""}`);
      }
    },
  }).finally(() => screen?.stop());
  if (!lastOk) process.exitCode = ExitCode.failure;
}
