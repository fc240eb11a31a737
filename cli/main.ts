import type { Command } from "commander";
import { colorsFor } from "./lib/colors.ts";
import { CliError, ExitCode } from "./lib/exit-codes.ts";
import { EXIT_CODES_HELP, TARGET_HELP } from "./lib/help.ts";
import { VERSION } from "../worker/version.ts";

type CommandModule = { register(program: Command): void };

// Each command lives in its own file (cli/commands/NAME.ts) and registers itself; heavy dependencies
// (wrangler, prompts) are imported inside the actions. Only the module of the command being run is loaded
// (all of them for help). The import specifier is a template so that a command whose file does not exist
// yet is left out instead of breaking the others (esbuild bundles every file that matches).
const COMMANDS = ["init", "deploy", "dev", "stats", "status", "health", "reset", "reconnect", "webhook", "dlq", "gaps", "logs", "replay", "rewind", "playback"];
const importCommand = (name: string): Promise<CommandModule> => import(`./commands/${name}.ts`);

const PROGRAM_HELP = `
Examples:
  npx jetstream-relay init                      # set up a project (asks; or --yes with flags)
  jetstream-relay deploy                        # deploy it to Cloudflare
  jetstream-relay stats --watch                 # live statistics
  jetstream-relay health                        # exit 0 healthy, 3 unhealthy
  jetstream-relay <command> --help              # every command's options and examples

Non-interactive usage (CI, scripts):
  Nothing prompts unless stdin and stdout are terminals and CI is unset; every prompt has a flag (--yes).
  Read commands print JSON with --json (stats, status, dlq list and gaps do so by default when piped).
  Data goes to stdout, messages and errors to stderr.
${TARGET_HELP}
${EXIT_CODES_HELP}
`;

export async function main(argv: string[]): Promise<void> {
  const args = argv.slice(2);
  // Output piped into `head` and the like: stop quietly when the reader goes away.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
  if (args.length === 1 && ["-v", "--version"].includes(args[0])) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  const { Command, CommanderError } = await import("commander");
  const program = new Command("jetstream-relay")
    .description("Relay the Bluesky Jetstream firehose to your webhook, on Cloudflare.")
    .version(VERSION, "-v, --version")
    .exitOverride()
    .showHelpAfterError("(add --help for usage)")
    .addHelpText("after", PROGRAM_HELP);

  const first = args.find((arg) => !arg.startsWith("-"));
  const names = first && COMMANDS.includes(first) ? [first] : COMMANDS;
  for (const name of names) (await loadCommand(name))?.register(program);

  try {
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = exitCodeFor(error, args.includes("--no-color"), CommanderError);
  }
}

/** A command module that does not exist (yet) is left out rather than breaking every other command. */
async function loadCommand(name: string): Promise<CommandModule | null> {
  try {
    return await importCommand(name);
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    const missing = err.code === "ERR_MODULE_NOT_FOUND" || /^(Module not found in bundle|Unknown variable dynamic import|Cannot find module)/.test(err.message);
    if (missing && err.message.includes(`commands/${name}.ts`)) return null;
    throw error;
  }
}

function exitCodeFor(error: unknown, noColor: boolean, CommanderError: typeof import("commander").CommanderError): number {
  const c = colorsFor(process.stderr, noColor ? false : undefined);
  if (error instanceof CommanderError) {
    // commander printed its message already; help and version are not errors.
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return ExitCode.ok;
    return ExitCode.usage;
  }
  if (error instanceof CliError) {
    if (error.exitCode === ExitCode.interrupted) return error.exitCode;
    process.stderr.write(`${c.red("error:")} ${error.message}\n${error.hint ? `${c.dim("hint:")} ${error.hint}\n` : ""}`);
    return error.exitCode;
  }
  const err = error as Error;
  process.stderr.write(`${c.red("error:")} ${err?.message ?? String(error)}\n`);
  if (process.env.JETSTREAM_RELAY_DEBUG) process.stderr.write(`${err?.stack ?? ""}\n`);
  else process.stderr.write(`${c.dim("hint:")} this is a bug of jetstream-relay; JETSTREAM_RELAY_DEBUG=1 shows where it happened\n`);
  return ExitCode.failure;
}

export { ExitCode };
