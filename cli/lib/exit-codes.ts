/** Exit codes of the jetstream-relay command (documented in --help and docs/operating.md). */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** reachable, but the relay reports itself unhealthy */
  unhealthy: 3,
  /** the relay refused the admin token (401/403, or 429 after repeated wrong tokens) */
  authRefused: 4,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error that carries the exit code and a hint on how to fix it; main prints it and exits. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.failure,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "CliError";
  }
}
