import { resolve } from "node:path";
import type { Command } from "commander";
import { CliError, ExitCode } from "../lib/exit-codes.ts";
import type { HealthObservation } from "../lib/health-wait.ts";
import { PROJECT_FILE, readProjectFile, writeProjectFile } from "../lib/project-file.ts";
import { stdoutIsTerminal } from "../lib/terminal.ts";

interface DeployFlags {
  wait: boolean;
  waitTimeout: string;
  json?: boolean;
  dir?: string;
}

export function register(program: Command): void {
  program
    .command("deploy")
    .description("Deploy the relay (wrangler deploy), save its URL, and wait until its /health answers")
    .option("--no-wait", "do not wait for /health")
    .option("--wait-timeout <seconds>", "how long to wait for /health", "120")
    .option("--json", "print the result as one JSON document on stdout")
    .option("--dir <dir>", "project folder (default: the current folder)")
    .addHelpText(
      "after",
      `
Uses ${PROJECT_FILE} and the worker configuration that \`jetstream-relay init\` wrote, and the Cloudflare
credentials wrangler uses (CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID, or \`wrangler login\`).
It waits for /health at the workers.dev URL, or at JETSTREAM_RELAY_URL when set (a relay on its own route).
It binds the admin token that init kept (.jetstream-relay/admin-token.json) to these URLs: the operate
commands send it to them and nowhere else.
Exit codes: 0 deployed and healthy (or --no-wait), 1 failed, 3 deployed but unhealthy, 4 credentials refused.`,
    )
    .action(async (flags: DeployFlags) => {
      await runDeploy(flags);
    });
}

async function runDeploy(flags: DeployFlags): Promise<void> {
  const dir = resolve(flags.dir ?? process.cwd());
  const timeoutSeconds = Number(flags.waitTimeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new CliError(`--wait-timeout must be a positive number of seconds, not ${flags.waitTimeout}`, ExitCode.usage);
  const project = await readProjectFile(dir);
  if (!project) throw new CliError(`no ${PROJECT_FILE} in ${dir}`, ExitCode.usage, "run `jetstream-relay init` first (or pass --dir)");

  const terminal = stdoutIsTerminal() && !flags.json;
  const say = (text: string) => process.stderr.write(`${text}\n`);
  const spin = terminal ? await (await import("../lib/prompts.ts")).spinner() : null;

  spin?.start(`Deploying ${project.name} (wrangler deploy)`);
  if (!spin) say(`deploying ${project.name} with ${project.wranglerConfig}…`);
  const { deployWorker } = await import("../lib/wrangler.ts");
  let deployed: Awaited<ReturnType<typeof deployWorker>>;
  try {
    deployed = await deployWorker(project.wranglerConfig, dir);
  } catch (error) {
    spin?.error("Deploy failed");
    throw error;
  }
  // A relay served on a route of its own (a custom domain) is named by JETSTREAM_RELAY_URL.
  const routeUrl = process.env.JETSTREAM_RELAY_URL?.replace(/\/+$/, "");
  const url = routeUrl || deployed.url;
  if (!url) {
    spin?.error("Deployed, but without a workers.dev URL");
    throw new CliError("wrangler deployed the worker but reported no workers.dev URL", ExitCode.failure, `enable workers.dev in ${project.wranglerConfig} ("workers_dev": true), or set JETSTREAM_RELAY_URL to the relay's route`);
  }
  if (deployed.url) await writeProjectFile({ ...project, url: deployed.url }, dir);
  // The local admin token goes to this relay's URLs only: the ones it was just deployed to.
  const { bindLocalAdminToken } = await import("../lib/admin-token-file.ts");
  const { normalizeUrl } = await import("../lib/target.ts");
  const relayUrls = [deployed.url, routeUrl].filter((u): u is string => Boolean(u)).map((u) => normalizeUrl(u, u === routeUrl ? "JETSTREAM_RELAY_URL" : "wrangler deploy"));
  // The deploy itself succeeded: a token file that cannot be bound is reported, not fatal.
  const bound = await bindLocalAdminToken(dir, relayUrls).catch((error: unknown) => {
    const hint = error instanceof CliError && error.hint ? ` (${error.hint})` : "";
    say(`warning: the admin token was not bound to ${relayUrls.join(", ")}: ${(error as Error).message}${hint}`);
    return null;
  });
  spin?.stop(`Deployed ${deployed.url ?? project.name}`);
  if (!spin) say(deployed.url ? `deployed ${deployed.url} (saved to ${PROJECT_FILE})` : `deployed ${project.name}`);
  if (bound) say(`the admin token in ${bound.file} is for ${bound.urls.join(", ")} (the CLI sends it nowhere else)`);

  let health: HealthObservation | null = null;
  if (flags.wait) {
    const { waitForHealth } = await import("../lib/health-wait.ts");
    const describe = (o: HealthObservation) =>
      o.state === "healthy" ? "healthy" : o.state === "unreachable" ? `not reachable yet (${o.error})` : `answering ${o.status}${o.report ? `: ${o.report.reasons.map((r) => r.message).join("; ")}` : ""}`;
    spin?.start(`Waiting for ${url}/health`);
    if (!spin) say(`waiting up to ${timeoutSeconds}s for ${url}/health…`);
    health = await waitForHealth(url, { timeoutMs: timeoutSeconds * 1000, onObservation: (o) => spin?.message(`Waiting for /health: ${describe(o)}`) });
    if (health.state === "healthy") {
      spin?.stop("Healthy");
      if (!spin) say("healthy");
    } else {
      spin?.error(`Not healthy after ${timeoutSeconds}s: ${describe(health)}`);
    }
  }

  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ name: project.name, url, versionId: deployed.versionId, targets: deployed.targets, health: health ? { state: health.state, ...("report" in health ? { report: health.report } : {}), ...("error" in health ? { error: health.error } : {}) } : null }, null, 2)}\n`);
  }
  if (health && health.state !== "healthy") {
    if (health.state === "unreachable") {
      throw new CliError(`the relay at ${url} did not answer /health within ${timeoutSeconds}s (${health.error})`, ExitCode.failure, "a new workers.dev subdomain can take a few minutes to resolve: try `jetstream-relay health` shortly");
    }
    const reasons = health.report?.reasons.map((r) => `${r.code}: ${r.message}`).join("; ") ?? `HTTP ${health.status}`;
    throw new CliError(`deployed, but the relay is not healthy: ${reasons}`, ExitCode.unhealthy, "see `jetstream-relay status` and `jetstream-relay logs`");
  }
}
