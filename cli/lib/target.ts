import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ADMIN_TOKEN_FILE, type LocalAdminToken, readLocalAdminToken } from "./admin-token-file.ts";
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
 * (`--token-file` > JETSTREAM_RELAY_TOKEN > the local token file `init` wrote, for the URLs it is bound to).
 * The token goes only over https or to this machine (loopback), and a token the operator supplied goes to
 * a URL the project file names only when this machine's local token file vouches for that URL.
 */
export async function resolveTarget(
  flags: TargetFlags,
  env: NodeJS.ProcessEnv = process.env,
  dir = process.cwd(),
): Promise<Target> {
  // The project file is read only when a flag or the environment does not already say where to go.
  let loaded: Promise<ProjectFile | null> | undefined;
  const project = () => (loaded ??= readProjectFile(dir).catch((error: Error) => {
    if (error instanceof CliError) throw error;
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
  const local = lazy(() => readLocalAdminToken(dir));
  const { token, tokenSource, supplied } = await resolveToken(flags, env, url, local);
  if (token !== null) {
    if (supplied && urlSource === PROJECT_FILE && !(await local().catch(() => null))?.urls.includes(url)) {
      throw new CliError(
        `the admin token from ${tokenSource} would go to ${url}, which only ${PROJECT_FILE} names: not sent`,
        ExitCode.usage,
        `a project file may come from anyone; say which relay the token is for with --url or ${URL_ENV} (or run \`jetstream-relay deploy\` here, which binds ${ADMIN_TOKEN_FILE} to its URL)`,
      );
    }
    const unsafe = transportProblem(url);
    if (unsafe) throw new CliError(`not sending the admin token (from ${tokenSource}) to ${url}: ${unsafe}`, ExitCode.usage, `use the relay's https:// URL (workers.dev serves https); plain http:// is for a relay on this machine (127.0.0.1, localhost, [::1])`);
  }
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

/** Why a bearer token must not be sent to this URL (plain http to another machine), or null. */
export function transportProblem(url: string): string | null {
  const parsed = new URL(url);
  if (parsed.protocol === "https:") return null;
  if (isLoopback(parsed.hostname)) return null;
  return `plain http:// to ${parsed.host} would show it to the network`;
}

export function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  return host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

async function resolveToken(
  flags: TargetFlags,
  env: NodeJS.ProcessEnv,
  url: string,
  local: () => Promise<LocalAdminToken | null>,
): Promise<{ token: string | null; tokenSource: string; supplied: boolean }> {
  if (flags.tokenFile) return { token: await readTokenFile(flags.tokenFile), tokenSource: `--token-file ${flags.tokenFile}`, supplied: true };
  if (env[TOKEN_ENV]?.trim()) return { token: env[TOKEN_ENV]!.trim(), tokenSource: TOKEN_ENV, supplied: true };
  const found = await local();
  if (!found) return { token: null, tokenSource: `none found: no --token-file, no ${TOKEN_ENV}, no ${ADMIN_TOKEN_FILE} here`, supplied: false };
  if (!found.urls.includes(url)) {
    const belongs = found.urls.length ? `belongs to ${found.urls.join(", ")}, not to ${url}` : `is bound to no relay yet`;
    throw new CliError(
      `the admin token in ${found.file} ${belongs}: not sent`,
      ExitCode.usage,
      found.urls.length
        ? `for ${url}, set ${TOKEN_ENV} or pass --token-file; or run the command without --url/${URL_ENV} to talk to ${found.urls[0]}`
        : `run \`jetstream-relay deploy\` (it binds the token to the URL it deploys to; with ${URL_ENV} set, to that URL too), or set ${TOKEN_ENV}`,
    );
  }
  return { token: found.token, tokenSource: `${found.file} (bound to ${url})`, supplied: false };
}

async function readTokenFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new CliError(`cannot read the admin token file ${path} (from --token-file): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, ExitCode.usage, `or set ${TOKEN_ENV}`);
  }
  const token = text.trim();
  if (!token) throw new CliError(`the admin token file ${path} (from --token-file) is empty`, ExitCode.usage);
  if (token.startsWith("{")) {
    // Most likely init's bound token file: its token is for the URLs in it, which --token-file would bypass.
    throw new CliError(
      `${path} (from --token-file) holds JSON, not a bare token`,
      ExitCode.usage,
      `--token-file takes a file holding only the token; ${ADMIN_TOKEN_FILE} needs no flag: run the command in its project folder, for the relay it is bound to`,
    );
  }
  return token;
}

function lazy<T>(make: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= make());
}
