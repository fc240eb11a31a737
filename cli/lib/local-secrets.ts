import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * The project's local secrets folder: it holds the admin token bound to its relay's URLs (so that the
 * operate commands find it without a flag: admin-token-file.ts) and a signing secret `init` generated,
 * each in its own file with mode 0600. The folder (mode 0700) ignores itself in git through its own .gitignore.
 */
export const LOCAL_SECRETS_DIR = ".jetstream-relay";
export const WEBHOOK_SECRET_FILE = `${LOCAL_SECRETS_DIR}/webhook-secret`;

export async function ensureLocalSecretsDir(projectDir: string): Promise<void> {
  const dir = join(projectDir, LOCAL_SECRETS_DIR);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(join(dir, ".gitignore"), "# Secrets of jetstream-relay: never commit them.\n*\n");
}

export async function saveLocalSecret(projectDir: string, file: string, value: string): Promise<void> {
  await ensureLocalSecretsDir(projectDir);
  const path = join(projectDir, file);
  await writeFile(path, `${value}\n`, { mode: 0o600 });
  await chmod(path, 0o600); // the mode option does not apply to a file that already existed
}

export async function readLocalSecret(projectDir: string, file: string): Promise<string | null> {
  try {
    return (await readFile(join(projectDir, file), "utf8")).trim() || null;
  } catch {
    return null;
  }
}

/** A fresh admin token: 256 random bits, URL-safe. */
export const generateAdminToken = (): string => randomBytes(32).toString("base64url");

/** A fresh Standard Webhooks signing secret: `whsec_` and 256 random bits in base64. */
export const generateWebhookSecret = (): string => `whsec_${randomBytes(32).toString("base64")}`;
