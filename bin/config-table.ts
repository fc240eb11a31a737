// Prints the README's configuration table from the registry (worker/config/registry.ts); with --write,
// puts it into README.md between its markers. Run: npx tsx bin/config-table.ts [--write]
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderConfigTable, withConfigTable } from "../worker/config/config-table.ts";

const readmePath = join(dirname(fileURLToPath(import.meta.url)), "..", "README.md");
if (process.argv.includes("--write")) {
  const readme = await readFile(readmePath, "utf8");
  const updated = withConfigTable(readme);
  if (updated !== readme) await writeFile(readmePath, updated);
  process.stdout.write(updated === readme ? "README.md: the configuration table is up to date\n" : "README.md: configuration table written\n");
} else {
  process.stdout.write(`${renderConfigTable()}\n`);
}
