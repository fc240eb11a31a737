import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** The project file that `init` and `deploy` write in the project folder. It never holds a secret. */
export const PROJECT_FILE = "jetstream-relay.json";

export interface ProjectFile {
  /** Worker name. */
  name: string;
  /** The deployed relay's URL (written by `deploy`). */
  url?: string;
  /** The wrangler configuration the project deploys (relative to the project folder). */
  wranglerConfig: string;
  /**
   * Where the admin token is to be found — a pointer, never the token: the name of an environment
   * variable, or the path of a file (mode 0600, git-ignored) that holds it.
   */
  adminToken?: { env: string } | { file: string };
}

export async function readProjectFile(dir = process.cwd()): Promise<ProjectFile | null> {
  try {
    return JSON.parse(await readFile(join(dir, PROJECT_FILE), "utf8")) as ProjectFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

export async function writeProjectFile(project: ProjectFile, dir = process.cwd()): Promise<void> {
  await writeFile(join(dir, PROJECT_FILE), `${JSON.stringify(project, null, 2)}\n`);
}
