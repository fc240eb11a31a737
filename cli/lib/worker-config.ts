import { access, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, relative, sep } from "node:path";
import { parseJsonc } from "./jsonc.ts";
import { packageWorkerEntry, packageWranglerConfig } from "./package-paths.ts";

/** What `init` decided about the user's worker that is not secret (it goes into wrangler.jsonc's vars). */
export interface WorkerSettings {
  name: string;
  collections: string;
  dids?: string;
  jetstreamUrl?: string;
  kinds?: string;
  /** Written when the credentials reach several accounts and one was chosen. */
  accountId?: string;
}

/** The first line of a configuration `init` wrote; such a file may be rewritten by a later `init`. */
export const GENERATED_MARKER = "// Written by `jetstream-relay init`";

/** Queue names derived from the worker name, so that several relays can share an account. */
export function queueNames(name: string): { events: string; deadLetters: string } {
  return { events: `${name}-events`, deadLetters: `${name}-dlq` };
}

/**
 * A Cloudflare worker name that also leaves room for the queue suffixes: lowercase letters, digits and
 * dashes, starting and ending with a letter or digit, at most 56 characters (queue names stop at 63).
 */
export function workerNameProblem(name: string): string | null {
  if (!/^[a-z0-9](?:[a-z0-9-]{0,54}[a-z0-9])?$/.test(name)) {
    return "use 1–56 lowercase letters, digits and dashes, starting and ending with a letter or digit";
  }
  return null;
}

/**
 * Where to write the user's worker configuration in `dir`: wrangler.jsonc unless a wrangler.jsonc that
 * `init` did not write is there (in a clone of this repository it is the relay's own), then
 * wrangler.<name>.jsonc.
 */
export async function chooseConfigFile(dir: string, name: string): Promise<string> {
  const plain = join(dir, "wrangler.jsonc");
  try {
    const text = await readFile(plain, "utf8");
    if (!text.startsWith(GENERATED_MARKER)) return `wrangler.${name}.jsonc`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  return "wrangler.jsonc";
}

const posix = (path: string) => path.split(sep).join("/");

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The wrangler.jsonc text of the user's worker, made from the package's own configuration (bindings,
 * Durable Object migrations, queue consumer settings, compatibility date) with the user's name, queue
 * names and variables; `main` points at the worker source shipped in the package.
 */
export async function renderWorkerConfig(settings: WorkerSettings, configPath: string): Promise<string> {
  const template = parseJsonc(await readFile(packageWranglerConfig(), "utf8")) as Record<string, unknown>;
  const configDir = dirname(configPath);
  const queues = queueNames(settings.name);
  const templateQueues = (template.queues ?? {}) as { producers?: Record<string, unknown>[]; consumers?: Record<string, unknown>[] };
  // The queue the worker produces to carries the events; the other one is the dead-letter queue.
  const templateEvents = templateQueues.producers?.[0]?.queue;
  const renameQueue = (queue: unknown) => (queue === templateEvents ? queues.events : queues.deadLetters);

  const vars: Record<string, string> = { ...((template.vars ?? {}) as Record<string, string>), JETSTREAM_COLLECTIONS: settings.collections };
  if (settings.dids) vars.JETSTREAM_DIDS = settings.dids;
  if (settings.jetstreamUrl) vars.JETSTREAM_URL = settings.jetstreamUrl;
  if (settings.kinds) vars.JETSTREAM_KINDS = settings.kinds;

  const schema = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "config-schema.json");
  const config: Record<string, unknown> = {
    ...((await exists(schema)) ? { $schema: posix(relative(configDir, schema)) } : {}),
    name: settings.name,
    main: posix(relative(configDir, packageWorkerEntry())),
    compatibility_date: template.compatibility_date,
    ...(template.compatibility_flags ? { compatibility_flags: template.compatibility_flags } : {}),
    ...(settings.accountId ? { account_id: settings.accountId } : {}),
    workers_dev: true,
    durable_objects: template.durable_objects,
    migrations: template.migrations,
    queues: {
      producers: (templateQueues.producers ?? []).map((p) => ({ ...p, queue: renameQueue(p.queue) })),
      consumers: (templateQueues.consumers ?? []).map((c) => ({
        ...c,
        queue: renameQueue(c.queue),
        ...(c.dead_letter_queue ? { dead_letter_queue: renameQueue(c.dead_letter_queue) } : {}),
      })),
    },
    ...(template.triggers ? { triggers: template.triggers } : {}),
    ...(template.observability ? { observability: template.observability } : {}),
    vars,
  };
  return [
    `${GENERATED_MARKER} for the worker "${settings.name}". No secrets here: they were set with`,
    "// `wrangler secret put`. Re-running `jetstream-relay init` rewrites this file.",
    JSON.stringify(config, null, 2),
    "",
  ].join("\n");
}
