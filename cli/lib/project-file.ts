import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CliError, ExitCode } from "./exit-codes.ts";

/** The project file that `init` and `deploy` write in the project folder. It never holds a secret. */
export const PROJECT_FILE = "jetstream-relay.json";

/**
 * What the project file holds: names and places, never a secret and never where one is (an environment
 * variable or a file): a project folder may come from anyone (a cloned repository), and the CLI must not
 * read a secret where such a file says and send it to the URL it names.
 */
export interface ProjectFile {
  /** Worker name. */
  name: string;
  /** The deployed relay's URL (written by `deploy`). */
  url?: string;
  /** The wrangler configuration the project deploys (relative to the project folder). */
  wranglerConfig: string;
}

/** Entries that would name a secret or its source (earlier versions had `adminToken`: {"env"} or {"file"}). */
const SECRET_ENTRY = /token|secret|passw|credential|auth|key/i;

export function secretEntries(value: Record<string, unknown>): string[] {
  return Object.keys(value).filter((key) => SECRET_ENTRY.test(key));
}

/**
 * The project file of `dir`, or null when there is none. Refuses (a CliError naming the entries and the
 * fix) a file that names a secret or a source of secrets, unless `dropSecretEntries` (for `init`, which
 * rewrites the file without them).
 */
export async function readProjectFile(dir = process.cwd(), options: { dropSecretEntries?: boolean } = {}): Promise<ProjectFile | null> {
  let text: string;
  try {
    text = await readFile(join(dir, PROJECT_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  const value = JSON.parse(text) as unknown;
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("it is not a JSON object");
  const entries = secretEntries(value as Record<string, unknown>);
  if (entries.length > 0 && !options.dropSecretEntries) {
    throw new CliError(
      `${PROJECT_FILE} names a secret or where to find one (${entries.map((key) => JSON.stringify(key)).join(", ")}): refused, nothing was read or sent`,
      ExitCode.usage,
      `a project file may come from anyone, so the CLI takes no secret from where it points; delete ${entries.map((key) => JSON.stringify(key)).join(", ")} from ${join(dir, PROJECT_FILE)} ` +
        "(or run `jetstream-relay init` again, which rewrites it). The admin token comes from --token-file, JETSTREAM_RELAY_TOKEN, or .jetstream-relay/admin-token.json (written by init, bound to the relay's URL by deploy)",
    );
  }
  const project = { ...(value as Record<string, unknown>) };
  for (const key of entries) delete project[key];
  return project as unknown as ProjectFile;
}

export async function writeProjectFile(project: ProjectFile, dir = process.cwd()): Promise<void> {
  const clean = { ...project } as Record<string, unknown>;
  for (const key of secretEntries(clean)) delete clean[key];
  await writeFile(join(dir, PROJECT_FILE), `${JSON.stringify(clean, null, 2)}\n`);
}
