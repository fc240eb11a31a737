import { readFile, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import type { Command } from "commander";
import { CliError, ExitCode } from "../lib/exit-codes.ts";
import { ADMIN_TOKEN_FILE, readLocalAdminToken, saveLocalAdminToken } from "../lib/admin-token-file.ts";
import {
  generateAdminToken,
  generateWebhookSecret,
  LOCAL_SECRETS_DIR,
  readLocalSecret,
  saveLocalSecret,
  WEBHOOK_SECRET_FILE,
} from "../lib/local-secrets.ts";
import { parseJsonc } from "../lib/jsonc.ts";
import { packageRoot } from "../lib/package-paths.ts";
import { PROJECT_FILE, type ProjectFile, readProjectFile, writeProjectFile } from "../lib/project-file.ts";
import { settingProblem } from "../lib/setting-checks.ts";
import { BLUESKY_LEGACY_ENDPOINTS, choiceOf, describeEndpoints, ENDPOINT_CHOICES, jetstreamUrlFor } from "../lib/jetstream-endpoints.ts";
import { DEFAULT_ENDPOINTS } from "../../worker/config/registry.ts";
import { canPrompt } from "../lib/terminal.ts";
import { chooseConfigFile, GENERATED_MARKER, queueNames, renderWorkerConfig, workerNameProblem } from "../lib/worker-config.ts";
import { errorMessage } from "../../worker/errors.ts";

interface InitFlags {
  yes?: boolean;
  name?: string;
  webhookUrl?: string;
  collections?: string;
  dids?: string;
  jetstreamUrl?: string;
  kinds?: string;
  accountId?: string;
  signingSecret: boolean;
  adminToken: boolean;
  generateBearerToken?: boolean;
  dir?: string;
}

/** Everything init decided; secrets only in memory, on their way to `wrangler secret put`. */
interface Plan {
  name: string;
  webhookUrl: string;
  collections: string;
  dids?: string;
  jetstreamUrl?: string;
  kinds?: string;
  bearerToken?: { value: string; from: string };
  signingSecret?: LocalSecret;
  adminToken?: LocalSecret;
}

/**
 * A secret init may generate: from the environment, kept from an earlier init (in the local secrets
 * folder), or generated now (then saved there and shown once, on a terminal).
 */
interface LocalSecret {
  value: string;
  source: "environment" | "kept" | "generated";
}

const DEFAULT_COLLECTIONS = "app.bsky.feed.post";

export function register(program: Command): void {
  program
    .command("init")
    .description("Set up a relay in this folder: queues, worker configuration, secrets (asks on a terminal; --yes with flags otherwise)")
    .option("-y, --yes", "do not ask: take flags, the environment and defaults")
    .option("--name <name>", "worker name (queue names derive from it: NAME-events, NAME-dlq)")
    .option("--webhook-url <url>", "where events are POSTed (or WEBHOOK_URL)")
    .option("--collections <list>", `comma-separated NSIDs or prefixes (default ${DEFAULT_COLLECTIONS})`)
    .option("--dids <list>", "comma-separated DIDs to restrict to")
    .option("--jetstream-url <urls>", "Jetstream endpoint(s), comma-separated; the path picks the wire (default: Bluesky's v2 hosts)")
    .option("--kinds <list>", "event kinds to forward: any of commit,identity,account,sync (default commit)")
    .option("--account-id <id>", "Cloudflare account, when your credentials reach several (or CLOUDFLARE_ACCOUNT_ID)")
    .option("--no-signing-secret", "do not sign webhook requests (default: WEBHOOK_SECRET, or a generated secret)")
    .option("--no-admin-token", "set no admin token (the control commands then refuse; default: ADMIN_TOKEN, or a generated token)")
    .option("--generate-bearer-token", "generate a WEBHOOK_BEARER_TOKEN (default: WEBHOOK_BEARER_TOKEN from the environment, or none)")
    .option("--dir <dir>", "project folder (default: the current folder)")
    .addHelpText(
      "after",
      `
Secrets are never flag values. They come from the environment variables of the worker's names
(WEBHOOK_BEARER_TOKEN, WEBHOOK_SECRET, ADMIN_TOKEN), from hidden prompts, or are generated, and reach
Cloudflare through \`wrangler secret put\` on its stdin. A generated admin token and signing secret are
kept in ${LOCAL_SECRETS_DIR}/ (mode 0600, git-ignored), which ${PROJECT_FILE} points to.

Jetstream: by default Bluesky's v2 hosts (JETSTREAM_URL is then left unset, the relay's default):
${DEFAULT_ENDPOINTS.map((url) => `  ${url}`).join("\n")}
The numbered legacy hosts speak the legacy wire only; name them to use them:
  --jetstream-url ${BLUESKY_LEGACY_ENDPOINTS.join(",")}
Each URL's path picks its wire: /xrpc/network.bsky.jetstream.subscribeEvents (v2) or /subscribe (legacy).
On a terminal init asks which; --jetstream-url (or --yes, for the default) skips the question.

Files written: ${PROJECT_FILE} (no secrets), wrangler.jsonc (or wrangler.NAME.jsonc when a wrangler.jsonc
that init did not write exists), ${LOCAL_SECRETS_DIR}/.

Examples:
  npx jetstream-relay init
  jetstream-relay init --yes --name my-relay --webhook-url https://example.com/hook --collections app.bsky.feed.post`,
    )
    .action(async (flags: InitFlags) => {
      await runInit(flags);
    });
}

async function runInit(flags: InitFlags): Promise<void> {
  const dir = resolve(flags.dir ?? process.cwd());
  const interactive = !flags.yes && canPrompt();
  // An earlier version's pointer to the admin token ("adminToken") is dropped: the file is rewritten below.
  const existing = await readProjectFile(dir, { dropSecretEntries: true });
  const prompts = interactive ? await import("../lib/prompts.ts") : null;
  const say = (text: string) => process.stderr.write(`${text}\n`);

  if (prompts) await prompts.intro("jetstream-relay init");
  const earlier = await earlierSettings(dir, existing);
  const plan = prompts ? await askPlan(flags, dir, earlier, prompts) : await planFromFlags(flags, dir, earlier);

  // Credentials first: nothing is written or created when Cloudflare would refuse us. (Looking the queues
  // up at the same time changes nothing and saves a wrangler start.)
  const wrangler = await import("../lib/wrangler.ts");
  const queues = queueNames(plan.name);
  const step = await progress(interactive);
  step.start("Checking Cloudflare credentials (wrangler whoami)");
  const lookUpQueues = () =>
    [queues.events, queues.deadLetters].map((q) => wrangler.queueExists(q, dir).then((exists) => ({ exists }), (error: unknown) => ({ error })));
  let lookups = flags.accountId ? null : lookUpQueues();
  const identity = await wrangler.whoami(dir).catch((error: unknown) => step.fail(error));
  const accountId = await chooseAccount(flags, identity.accounts, prompts, step);
  step.done(`Cloudflare: ${identity.email ?? identity.authType ?? "authenticated"}${accountId ? ` (account ${accountId})` : ""}`);
  if (accountId) {
    // Every later wrangler run works in the chosen account (the lookups made before were made without it).
    process.env.CLOUDFLARE_ACCOUNT_ID = accountId;
    lookups = lookUpQueues();
  }
  const queueLookups = lookups ?? lookUpQueues();

  // Local files.
  const configFile = existing?.wranglerConfig && existing.name === plan.name ? existing.wranglerConfig : await chooseConfigFile(dir, plan.name);
  const configPath = join(dir, configFile);
  const settings = { name: plan.name, collections: plan.collections, dids: plan.dids, jetstreamUrl: plan.jetstreamUrl, kinds: plan.kinds, accountId };
  await writeFile(configPath, await renderWorkerConfig(settings, configPath));
  if (plan.adminToken) {
    // Bound to the URLs of the same relay only (a new name is a new worker, whose URL deploy will tell).
    const earlierUrls = existing?.name === plan.name ? ((await readLocalAdminToken(dir))?.urls ?? []) : [];
    await saveLocalAdminToken(dir, plan.adminToken.value, earlierUrls);
  }
  if (plan.signingSecret?.source === "generated") await saveLocalSecret(dir, WEBHOOK_SECRET_FILE, plan.signingSecret.value);
  await writeProjectFile(
    {
      ...(existing ?? {}),
      name: plan.name,
      wranglerConfig: configFile,
      ...(existing?.name !== plan.name ? { url: undefined } : {}),
    },
    dir,
  );
  say(`wrote ${PROJECT_FILE} and ${configFile}`);
  say(`jetstream: ${describeEndpoints(plan.jetstreamUrl)}`);
  if (/[\\/]_npx[\\/]/.test(packageRoot())) {
    say(`note: ${configFile} points at the worker inside npx's cache, which npm may clear; for a lasting setup run \`npm install jetstream-relay\` here and \`npx jetstream-relay init\` again`);
  }

  // Cloudflare: the queues (existing ones reused) and the secrets, whose values travel on wrangler's stdin.
  // The first secret creates the worker as a draft when it does not exist yet; the others follow at once.
  const secrets: [string, string][] = [["WEBHOOK_URL", plan.webhookUrl]];
  if (plan.bearerToken) secrets.push(["WEBHOOK_BEARER_TOKEN", plan.bearerToken.value]);
  if (plan.signingSecret) secrets.push(["WEBHOOK_SECRET", plan.signingSecret.value]);
  if (plan.adminToken) secrets.push(["ADMIN_TOKEN", plan.adminToken.value]);
  step.start(`Queues ${queues.events} and ${queues.deadLetters}, secrets ${secrets.map(([name]) => name).join(", ")}`);
  const [first, ...rest] = secrets;
  const createQueues = Promise.all(
    [queues.events, queues.deadLetters].map(async (q, i) => {
      const lookup = await queueLookups[i];
      if ("error" in lookup) throw lookup.error;
      return lookup.exists ? false : wrangler.createQueue(q, dir);
    }),
  );
  const [created] = await Promise.all([createQueues, wrangler.putSecret(configFile, first[0], first[1], dir)]).catch((error: unknown) => step.fail(error));
  await Promise.all(rest.map(([name, value]) => wrangler.putSecret(configFile, name, value, dir))).catch((error: unknown) => step.fail(error));
  step.done(
    `${[queues.events, queues.deadLetters].map((q, i) => `${created[i] ? "created" : "reused"} queue ${q}`).join(", ")}\n` +
      `set secrets ${secrets.map(([name]) => name).join(", ")} (values sent on wrangler's stdin)`,
  );

  // Generated secrets are shown once, and only to a person at a terminal; otherwise say where they are.
  const generated = [plan.signingSecret, plan.adminToken].some((s) => s?.source === "generated");
  if (generated) {
    const lines: string[] = [];
    if (plan.signingSecret?.source === "generated") lines.push(`WEBHOOK_SECRET  ${interactive ? plan.signingSecret.value : "(generated)"}  → ${WEBHOOK_SECRET_FILE}`);
    if (plan.adminToken?.source === "generated") lines.push(`ADMIN_TOKEN     ${interactive ? plan.adminToken.value : "(generated)"}  → ${ADMIN_TOKEN_FILE}`);
    lines.push(`Kept in ${LOCAL_SECRETS_DIR}/ (mode 0600, git-ignored); verify signatures with WEBHOOK_SECRET.`);
    if (prompts) await prompts.note(lines.join("\n"), "Generated secrets (shown once)");
    else say(lines.join("\n"));
  }
  const next = ["jetstream-relay deploy        # deploy the worker and wait for /health", "jetstream-relay status        # connection state", "jetstream-relay stats --watch # live statistics"];
  if (prompts) await prompts.outro(`Next:\n${next.map((l) => `  ${l}`).join("\n")}`);
  else say(`\nNext:\n${next.map((l) => `  ${l}`).join("\n")}`);
}

/** Flags, the environment and defaults (no terminal, or --yes). */
async function planFromFlags(flags: InitFlags, dir: string, earlier: Earlier): Promise<Plan> {
  const env = process.env;
  const name = flags.name ?? earlier.name ?? defaultName(dir);
  const same = name === earlier.name;
  const webhookUrl = flags.webhookUrl ?? env.WEBHOOK_URL;
  if (!webhookUrl) {
    throw new CliError("a webhook URL is needed", ExitCode.usage, "pass --webhook-url URL (or set WEBHOOK_URL); on a terminal, run without --yes to be asked");
  }
  const plan: Plan = {
    name,
    webhookUrl,
    collections: flags.collections ?? (same ? earlier.vars.JETSTREAM_COLLECTIONS : undefined) ?? DEFAULT_COLLECTIONS,
    dids: flags.dids ?? (same ? earlier.vars.JETSTREAM_DIDS : undefined),
    jetstreamUrl: flags.jetstreamUrl ?? (same ? earlier.vars.JETSTREAM_URL : undefined),
    kinds: flags.kinds ?? (same ? earlier.vars.JETSTREAM_KINDS : undefined),
    ...(await secretsFromEnvironment(flags, dir)),
  };
  validatePlan(plan);
  return plan;
}

async function secretsFromEnvironment(flags: InitFlags, dir: string): Promise<Pick<Plan, "bearerToken" | "signingSecret" | "adminToken">> {
  const env = process.env;
  const plan: Pick<Plan, "bearerToken" | "signingSecret" | "adminToken"> = {};
  if (env.WEBHOOK_BEARER_TOKEN) plan.bearerToken = { value: env.WEBHOOK_BEARER_TOKEN, from: "WEBHOOK_BEARER_TOKEN" };
  else if (flags.generateBearerToken) plan.bearerToken = { value: generateAdminToken(), from: "generated" };
  if (flags.signingSecret) plan.signingSecret = await secretFrom("WEBHOOK_SECRET", () => readLocalSecret(dir, WEBHOOK_SECRET_FILE), generateWebhookSecret);
  if (flags.adminToken) plan.adminToken = await secretFrom("ADMIN_TOKEN", keptAdminToken(dir), generateAdminToken);
  return plan;
}

/** The environment's value, else the one an earlier init kept (a re-run keeps it), else a new one. */
async function secretFrom(variable: string, readKept: () => Promise<string | null>, generate: () => string): Promise<LocalSecret> {
  const fromEnv = process.env[variable];
  if (fromEnv) return { value: fromEnv, source: "environment" };
  const kept = await readKept();
  if (kept) return { value: kept, source: "kept" };
  return { value: generate(), source: "generated" };
}

const keptAdminToken = (dir: string) => async () => (await readLocalAdminToken(dir))?.token ?? null;

function validatePlan(plan: Plan): void {
  const problems: string[] = [];
  const nameProblem = workerNameProblem(plan.name);
  if (nameProblem) problems.push(`--name ${JSON.stringify(plan.name)}: ${nameProblem}`);
  const checks: [string, string, string | undefined][] = [
    ["--webhook-url", "WEBHOOK_URL", plan.webhookUrl],
    ["--collections", "JETSTREAM_COLLECTIONS", plan.collections],
    ["--dids", "JETSTREAM_DIDS", plan.dids],
    ["--jetstream-url", "JETSTREAM_URL", plan.jetstreamUrl],
    ["--kinds", "JETSTREAM_KINDS", plan.kinds],
    ["WEBHOOK_BEARER_TOKEN", "WEBHOOK_BEARER_TOKEN", plan.bearerToken?.value],
    ["WEBHOOK_SECRET", "WEBHOOK_SECRET", plan.signingSecret?.value],
    // A generated one is 43 characters; one from the environment or kept by an earlier init may be short.
    ["ADMIN_TOKEN", "ADMIN_TOKEN", plan.adminToken?.value],
  ];
  for (const [source, variable, value] of checks) {
    if (value === undefined) continue;
    const problem = settingProblem(variable, value);
    // Never repeat a secret's value in a message: the worker's messages name the variable only.
    if (problem) problems.push(`${source}: ${problem}`);
  }
  if (problems.length > 0) throw new CliError(`invalid settings:\n  ${problems.join("\n  ")}`, ExitCode.usage);
}

type Prompts = typeof import("../lib/prompts.ts");

/** The questions on a terminal; flags given on the command line are taken as answers. */
async function askPlan(flags: InitFlags, dir: string, earlier: Earlier, p: Prompts): Promise<Plan> {
  const check = (variable: string) => (value: string) => settingProblem(variable, value);
  const name = flags.name ?? (await p.askText("Worker name", { initial: earlier.name ?? defaultName(dir), check: workerNameProblem }));
  const webhookUrl = flags.webhookUrl ?? (await p.askText("Webhook URL (where events are POSTed)", { initial: process.env.WEBHOOK_URL, placeholder: "https://example.com/jetstream", check: check("WEBHOOK_URL") }));
  const collections = flags.collections ?? (await p.askText("Collections (comma-separated NSIDs or prefixes like app.bsky.graph.*)", { initial: earlier.vars.JETSTREAM_COLLECTIONS ?? DEFAULT_COLLECTIONS, check: check("JETSTREAM_COLLECTIONS") }));
  const dids = flags.dids ?? ((await p.askText("Only these DIDs (comma-separated; empty for everyone)", { initial: earlier.vars.JETSTREAM_DIDS, optional: true, check: check("JETSTREAM_DIDS") })) || undefined);

  const env = process.env;
  const jetstreamUrl = flags.jetstreamUrl ?? (await askEndpoints(p, earlier.vars.JETSTREAM_URL, check("JETSTREAM_URL")));
  const plan: Plan = { name, webhookUrl, collections, dids, jetstreamUrl, kinds: flags.kinds ?? earlier.vars.JETSTREAM_KINDS };
  if (env.WEBHOOK_BEARER_TOKEN) plan.bearerToken = { value: env.WEBHOOK_BEARER_TOKEN, from: "WEBHOOK_BEARER_TOKEN" };
  else if (flags.generateBearerToken) plan.bearerToken = { value: generateAdminToken(), from: "generated" };
  else {
    const token = await p.askSecret("Bearer token your webhook expects (hidden; empty for none)", { optional: true, check: check("WEBHOOK_BEARER_TOKEN") });
    if (token) plan.bearerToken = { value: token, from: "prompt" };
  }
  if (flags.signingSecret && (env.WEBHOOK_SECRET || (await p.askConfirm("Sign webhook requests (Standard Webhooks)? A secret is generated and shown once.", true)))) {
    plan.signingSecret = await secretFrom("WEBHOOK_SECRET", () => readLocalSecret(dir, WEBHOOK_SECRET_FILE), generateWebhookSecret);
  }
  if (flags.adminToken && (env.ADMIN_TOKEN || (await p.askConfirm("Generate an admin token for the control commands (reset, reconnect, dlq)?", true)))) {
    plan.adminToken = await secretFrom("ADMIN_TOKEN", keptAdminToken(dir), generateAdminToken);
  }
  validatePlan(plan);
  return plan;
}

/** Which Jetstream: Bluesky's v2 hosts first (unset: the relay's default), the legacy hosts, or endpoints typed in. */
async function askEndpoints(p: Prompts, earlier: string | undefined, check: (value: string) => string | null): Promise<string | undefined> {
  const choice = await p.askSelect("Jetstream endpoints", ENDPOINT_CHOICES, choiceOf(earlier));
  if (choice !== "custom") return jetstreamUrlFor(choice);
  return p.askText("Jetstream endpoint URLs (comma-separated; …/xrpc/network.bsky.jetstream.subscribeEvents is v2, …/subscribe legacy)", {
    initial: choiceOf(earlier) === "custom" ? earlier : undefined,
    placeholder: "wss://jetstream.example.com/xrpc/network.bsky.jetstream.subscribeEvents",
    check,
  });
}

async function chooseAccount(
  flags: InitFlags,
  accounts: { id: string; name: string }[],
  prompts: Prompts | null,
  step: Progress,
): Promise<string | undefined> {
  if (flags.accountId) return flags.accountId;
  if (process.env.CLOUDFLARE_ACCOUNT_ID || accounts.length <= 1) return undefined;
  if (!prompts) {
    step.fail(
      new CliError(
        `your Cloudflare credentials reach ${accounts.length} accounts; say which one`,
        ExitCode.usage,
        `pass --account-id ID or set CLOUDFLARE_ACCOUNT_ID (${accounts.map((a) => `${a.id} = ${a.name}`).join(", ")})`,
      ),
    );
  }
  return prompts!.askSelect(
    "Cloudflare account",
    accounts.map((a) => ({ value: a.id, label: a.name, hint: a.id })),
  );
}

interface Earlier {
  name?: string;
  /** The variables of the worker configuration an earlier init wrote (defaults for a re-run). */
  vars: Record<string, string>;
}

async function earlierSettings(dir: string, existing: ProjectFile | null): Promise<Earlier> {
  if (!existing) return { vars: {} };
  try {
    const text = await readFile(join(dir, existing.wranglerConfig), "utf8");
    if (!text.startsWith(GENERATED_MARKER)) return { name: existing.name, vars: {} };
    const config = parseJsonc(text) as { vars?: Record<string, string> };
    return { name: existing.name, vars: config.vars ?? {} };
  } catch {
    return { name: existing.name, vars: {} };
  }
}

function defaultName(dir: string): string {
  const fromDir = basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 56);
  return fromDir && !workerNameProblem(fromDir) && fromDir !== "jetstream-relay" ? `${fromDir}` : "jetstream-relay";
}

interface Progress {
  start(message: string): void;
  done(message: string): void;
  fail(error: unknown): never;
}

/** A spinner on a terminal; plain lines on stderr otherwise. */
async function progress(interactive: boolean): Promise<Progress> {
  if (interactive) {
    const s = await (await import("../lib/prompts.ts")).spinner();
    return {
      start: (m) => s.start(m),
      done: (m) => s.stop(m),
      fail: (error) => {
        s.error(errorMessage(error));
        throw error;
      },
    };
  }
  return {
    start: () => {},
    done: (m) => process.stderr.write(`${m}\n`),
    fail: (error) => {
      throw error;
    },
  };
}
