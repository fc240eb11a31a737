import { type Colors, colorsFor } from "./colors.ts";
import { stdoutIsTerminal } from "./terminal.ts";

export interface OutputFlags {
  /** true: --json, false: --no-json, undefined: decided by the command. */
  json?: boolean;
  /** false with --no-color. */
  color?: boolean;
}

/**
 * Where everything goes: data (JSON documents, NDJSON lines, tables) to stdout, messages (progress,
 * warnings, errors) to stderr, each stream coloured only when it should be.
 */
export class Output {
  /** Colours for stdout and for stderr (each follows its own stream). */
  readonly out: Colors;
  readonly err: Colors;
  readonly json: boolean;

  /**
   * `jsonWhenPiped`: data commands print JSON when stdout is not a terminal unless --no-json is given;
   * the others print text unless --json is given.
   */
  constructor(flags: OutputFlags, options: { jsonWhenPiped?: boolean } = {}) {
    this.out = colorsFor(process.stdout, flags.color);
    this.err = colorsFor(process.stderr, flags.color);
    this.json = flags.json ?? (options.jsonWhenPiped === true && !stdoutIsTerminal());
  }

  /** One JSON document, pretty-printed. */
  document(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** One NDJSON line. */
  jsonLine(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value)}\n`);
  }

  lines(lines: string[]): void {
    process.stdout.write(lines.length ? `${lines.join("\n")}\n` : "");
  }

  message(text: string): void {
    process.stderr.write(`${text}\n`);
  }

  warn(text: string): void {
    process.stderr.write(`${this.err.yellow("warning:")} ${text}\n`);
  }
}
