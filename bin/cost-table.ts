// Prints docs/cost.md's tables, computed by the cost model (worker/cost/); with --write, puts them into
// the page between its markers. Run: npx tsx bin/cost-table.ts [--write]
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderCostTables, withCostTables } from "../worker/cost/cost-table.ts";

const pagePath = join(dirname(fileURLToPath(import.meta.url)), "..", "docs", "cost.md");
if (process.argv.includes("--write")) {
  const page = await readFile(pagePath, "utf8");
  const updated = withCostTables(page);
  if (updated !== page) await writeFile(pagePath, updated);
  process.stdout.write(updated === page ? "docs/cost.md: the cost tables are up to date\n" : "docs/cost.md: cost tables written\n");
} else {
  process.stdout.write(`${renderCostTables()}\n`);
}
