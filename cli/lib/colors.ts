import { createColors } from "picocolors";

export type Colors = ReturnType<typeof createColors>;

/**
 * Whether to colour what goes to a stream: `--no-color` and `NO_COLOR` (any non-empty value) turn it
 * off, `FORCE_COLOR` turns it on ("0" or "false" off), otherwise only a terminal that is not "dumb" gets colour.
 */
export function colorEnabled(
  stream: { isTTY?: boolean },
  flag: boolean | undefined,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (flag === false) return false;
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "") {
    return !["0", "false"].includes(env.FORCE_COLOR.toLowerCase());
  }
  return Boolean(stream.isTTY) && env.TERM !== "dumb";
}

export function colorsFor(stream: { isTTY?: boolean }, flag: boolean | undefined): Colors {
  return createColors(colorEnabled(stream, flag));
}

/** Length of a string as shown on a terminal: ANSI escape sequences take no room. */
export function visibleLength(text: string): number {
  return stripAnsi(text).length;
}

export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
}
