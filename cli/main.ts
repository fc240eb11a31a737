import { Command } from "commander";
import { CliError, ExitCode } from "./lib/exit-codes.ts";
import { VERSION } from "./lib/version.ts";

// Each command lives in its own file and registers itself; heavy dependencies (wrangler, prompts,
// undici) are imported inside the actions so that quick commands start fast.
const commandModules = [
  () => import("./commands/init.ts"),
  () => import("./commands/deploy.ts"),
  () => import("./commands/dev.ts"),
  () => import("./commands/stats.ts"),
  () => import("./commands/status.ts"),
  () => import("./commands/health.ts"),
  () => import("./commands/reset.ts"),
  () => import("./commands/reconnect.ts"),
  () => import("./commands/dlq.ts"),
  () => import("./commands/logs.ts"),
  () => import("./commands/replay.ts"),
];

export async function main(argv: string[]): Promise<void> {
  const program = new Command("jetstream-relay")
    .description("Relay the Bluesky Jetstream firehose to your webhook, on Cloudflare.")
    .version(VERSION, "-v, --version")
    .showHelpAfterError();
  for (const load of commandModules) (await load()).register(program);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CliError) {
      process.stderr.write(`error: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ""}`);
      process.exitCode = error.exitCode;
      return;
    }
    throw error;
  }
}

export { ExitCode };
