import { CliError, ExitCode } from "./exit-codes.ts";
import { canPrompt } from "./terminal.ts";

/**
 * Before doing something that cannot be undone: with --yes go ahead; at a terminal (stdin and stdout
 * terminals, not CI) ask; otherwise refuse with exit 2, since nobody can answer. Call it before any
 * network request so that a script without --yes fails at once and the same way every time.
 */
export function requireConfirmationPossible(yes: boolean | undefined, action: string, example: string): "yes" | "ask" {
  if (yes) return "yes";
  if (canPrompt()) return "ask";
  throw new CliError(
    `${action} needs confirmation, and there is no terminal to ask on (stdin or stdout is not a terminal, or CI is set)`,
    ExitCode.usage,
    `pass --yes to confirm: ${example}`,
  );
}

/** Asks a yes/no question (default no). Ctrl-C ends the command with exit 130. */
export async function ask(message: string): Promise<boolean> {
  // The prompts library is loaded only when a question is actually asked.
  const { confirm, isCancel } = await import("@clack/prompts");
  const answer = await confirm({ message, initialValue: false });
  if (isCancel(answer)) throw new CliError("interrupted", ExitCode.interrupted);
  return answer;
}
