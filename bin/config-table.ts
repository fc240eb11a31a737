// Prints the configuration table from the registry (worker/config/registry.ts); with --write, puts it
// into docs/configuration.md between its markers. Run: npx tsx bin/config-table.ts [--write]
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderConfigTable, withConfigTable } from "../worker/config/config-table.ts";

const pagePath = join(dirname(fileURLToPath(import.meta.url)), "..", "docs", "configuration.md");
if (process.argv.includes("--write")) {
  const page = await readFile(pagePath, "utf8");
  const updated = withConfigTable(page);
  if (updated !== page) await writeFile(pagePath, updated);
  process.stdout.write(updated === page ? "docs/configuration.md: the configuration table is up to date\n" : "docs/configuration.md: configuration table written\n");
} else {
  process.stdout.write(`${renderConfigTable()}\n`);
}
