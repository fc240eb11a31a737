import { lstat, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CliError, ExitCode } from "./exit-codes.ts";
import { ensureLocalSecretsDir, LOCAL_SECRETS_DIR } from "./local-secrets.ts";

/**
 * The admin token `init` set on the relay, kept for the operate commands in the project's local secrets
 * folder with the URLs of the relay it belongs to (`deploy` adds them): the CLI sends it to those URLs
 * only. Mode 0600, in a folder that git-ignores itself; a file others could read or write is refused.
 */
export const ADMIN_TOKEN_FILE = `${LOCAL_SECRETS_DIR}/admin-token.json`;
/** Where `init` kept the bare token before it was bound to a URL (read once more, to carry it over). */
export const LEGACY_ADMIN_TOKEN_FILE = `${LOCAL_SECRETS_DIR}/admin-token`;

export interface LocalAdminToken {
  token: string;
  /** Base URLs (normalized, no trailing slash) of the relay the token belongs to; empty until `deploy`. */
  urls: string[];
  /** The file it was read from, relative to the project folder. */
  file: string;
}

/** The project's local admin token, or null when there is none. Throws a CliError when the file is unsafe or broken. */
export async function readLocalAdminToken(projectDir: string): Promise<LocalAdminToken | null> {
  const text = await readPrivateFile(projectDir, ADMIN_TOKEN_FILE);
  if (text !== null) {
    const parsed = parseTokenFile(text);
    if (!parsed) {
      // The text is never repeated: it holds a secret.
      throw new CliError(`${ADMIN_TOKEN_FILE} is not an admin token file of jetstream-relay`, ExitCode.usage, `run \`jetstream-relay init\` in ${projectDir} to write it again, or delete it and set JETSTREAM_RELAY_TOKEN`);
    }
    return { ...parsed, file: ADMIN_TOKEN_FILE };
  }
  const legacy = await readPrivateFile(projectDir, LEGACY_ADMIN_TOKEN_FILE);
  const token = legacy?.trim();
  return token ? { token, urls: [], file: LEGACY_ADMIN_TOKEN_FILE } : null;
}

export async function saveLocalAdminToken(projectDir: string, token: string, urls: string[]): Promise<void> {
  await ensureLocalSecretsDir(projectDir);
  const path = join(projectDir, ADMIN_TOKEN_FILE);
  // Written anew (not over an existing file, whose mode the option would not change).
  await rm(path, { force: true });
  await writeFile(path, `${JSON.stringify({ token, urls: [...new Set(urls)] }, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  await rm(join(projectDir, LEGACY_ADMIN_TOKEN_FILE), { force: true });
}

/** Binds the local admin token (if any) to more URLs of its relay: `deploy` calls it with the URLs it deployed to. */
export async function bindLocalAdminToken(projectDir: string, urls: string[]): Promise<LocalAdminToken | null> {
  const local = await readLocalAdminToken(projectDir);
  if (!local) return null;
  const all = [...new Set([...local.urls, ...urls])];
  await saveLocalAdminToken(projectDir, local.token, all);
  return { token: local.token, urls: all, file: ADMIN_TOKEN_FILE };
}

function parseTokenFile(text: string): { token: string; urls: string[] } | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const { token, urls } = (value ?? {}) as { token?: unknown; urls?: unknown };
  if (typeof token !== "string" || !token.trim()) return null;
  if (!Array.isArray(urls) || !urls.every((url): url is string => typeof url === "string")) return null;
  return { token: token.trim(), urls };
}

/** The file's text, or null when it does not exist; refuses a link, a non-file, or a file others may read or write. */
async function readPrivateFile(projectDir: string, file: string): Promise<string | null> {
  const path = join(projectDir, file);
  let stat: Awaited<ReturnType<typeof lstat>>;
  try {
    stat = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new CliError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, ExitCode.usage);
  }
  if (!stat.isFile()) {
    throw new CliError(`${path} is not a plain file (${stat.isSymbolicLink() ? "a symbolic link" : "not a file"}): the admin token is not read from it`, ExitCode.usage, `delete it and run \`jetstream-relay init\` again, or set JETSTREAM_RELAY_TOKEN`);
  }
  const mode = (stat.mode & 0o777).toString(8);
  if ((stat.mode & 0o077) !== 0 || (process.getuid && stat.uid !== process.getuid())) {
    throw new CliError(
      `${path} is not private (mode ${mode}${process.getuid && stat.uid !== process.getuid() ? `, owned by user ${stat.uid}` : ""}): the admin token is not read from it`,
      ExitCode.usage,
      `a token file must be yours with mode 600: \`chmod 600 ${path}\` if you wrote it, else delete it and run \`jetstream-relay init\` again`,
    );
  }
  return readFile(path, "utf8");
}
