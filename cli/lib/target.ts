import { readFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { CliError, ExitCode } from "./exit-codes.ts";
import { PROJECT_FILE, type ProjectFile, readProjectFile } from "./project-file.ts";

/** Environment variables the operate commands read. */
export const URL_ENV = "JETSTREAM_RELAY_URL";
export const TOKEN_ENV = "JETSTREAM_RELAY_TOKEN";

/** Which relay to talk to, and with which admin token (if any was found). */
export interface Target {
  /** Base URL without a trailing slash. */
  url: string;
  urlSource: string;
  token: string | null;
  /** Where the token came from (never the token itself), or why none was found. */
  tokenSource: string;
}

export interface TargetFlags {
  url?: string;
  /** Path of a file holding the admin token (the token itself is never a flag value). */
  tokenFile?: string;
}

/**
 * Resolve the relay's URL (`--url` > JETSTREAM_RELAY_URL > the project file's `url`) and the admin token
 * (`--token-file` > JETSTREAM_RELAY_TOKEN > the project file's pointer to an environment variable or file).
 */
export async function resolveTarget(
  flags: TargetFlags,
  env: NodeJS.ProcessEnv = process.env,
  dir = process.cwd(),
): Promise<Target> {
  // The project file is read only when a flag or the environment does not already say everything.
  let loaded: Promise<ProjectFile | null> | undefined;
  const project = () => (loaded ??= readProjectFile(dir).catch((error: Error) => {
    throw new CliError(`cannot read ${PROJECT_FILE}: ${error.message}`, ExitCode.failure, `fix or remove ${join(dir, PROJECT_FILE)}, or pass --url and set ${TOKEN_ENV}`);
  }));

  let raw: string | undefined;
  let urlSource: string;
  if (flags.url) {
    [raw, urlSource] = [flags.url, "--url"];
  } else if (env[URL_ENV]) {
    [raw, urlSource] = [env[URL_ENV], URL_ENV];
  } else if ((await project())?.url) {
    [raw, urlSource] = [(await project())!.url, PROJECT_FILE];
  } else {
    throw new CliError(
      "no relay URL: pass --url, set JETSTREAM_RELAY_URL, or run this in a project folder that `jetstream-relay deploy` wrote jetstream-relay.json into",
      ExitCode.usage,
      (await project()) ? `${PROJECT_FILE} has no "url" yet: run \`jetstream-relay deploy\`, or pass --url` : "e.g. jetstream-relay status --url https://jetstream-relay.example.workers.dev",
    );
  }
  const url = normalizeUrl(raw!, urlSource);
  const { token, tokenSource } = await resolveToken(flags, env, dir, project);
  return { url, urlSource, token, tokenSource };
}

export function normalizeUrl(raw: string, source: string): string {
  let parsed: URL;
  try {
    parsed = new URL(raw.trim());
  } catch {
    throw new CliError(`the relay URL from ${source} is not a URL: ${JSON.stringify(raw)}`, ExitCode.usage, "use the form https://NAME.SUBDOMAIN.workers.dev");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new CliError(`the relay URL from ${source} must start with http:// or https://, not ${parsed.protocol}`, ExitCode.usage);
  }
  if (parsed.username || parsed.password) {
    throw new CliError(`the relay URL from ${source} must not contain credentials`, ExitCode.usage, "put the admin token in JETSTREAM_RELAY_TOKEN");
  }
  parsed.search = "";
  parsed.hash = "";
  return parsed.toString().replace(/\/+$/, "");
}

async function resolveToken(
  flags: TargetFlags,
  env: NodeJS.ProcessEnv,
  dir: string,
  project: () => Promise<ProjectFile | null>,
): Promise<{ token: string | null; tokenSource: string }> {
  if (flags.tokenFile) return { token: await readTokenFile(flags.tokenFile, "--token-file"), tokenSource: `--token-file ${flags.tokenFile}` };
  if (env[TOKEN_ENV]) return { token: env[TOKEN_ENV]!.trim(), tokenSource: TOKEN_ENV };
  let pointer: ProjectFile["adminToken"];
  try {
    pointer = (await project())?.adminToken;
  } catch (error) {
    // Read commands need no token: a broken project file only matters to them for the URL.
    return { token: null, tokenSource: `${PROJECT_FILE} could not be read (${(error as Error).message})` };
  }
  if (pointer && "env" in pointer) {
    const value = env[pointer.env];
    if (value) return { token: value.trim(), tokenSource: `${pointer.env} (named in ${PROJECT_FILE})` };
    return { token: null, tokenSource: `${pointer.env} is not set (${PROJECT_FILE} names it)` };
  }
  if (pointer && "file" in pointer) {
    const path = isAbsolute(pointer.file) ? pointer.file : join(dir, pointer.file);
    return { token: await readTokenFile(path, PROJECT_FILE), tokenSource: `${pointer.file} (named in ${PROJECT_FILE})` };
  }
  return { token: null, tokenSource: `neither ${TOKEN_ENV} nor an adminToken pointer in ${PROJECT_FILE}` };
}

async function readTokenFile(path: string, source: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new CliError(`cannot read the admin token file ${path} (from ${source}): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, ExitCode.usage, `or set ${TOKEN_ENV}`);
  }
  const token = text.trim();
  if (!token) throw new CliError(`the admin token file ${path} (from ${source}) is empty`, ExitCode.usage);
  return token;
}
