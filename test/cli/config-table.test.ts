// The configuration table (docs/configuration.md) is the registry's rendering (worker/config/registry.ts), and the
// registry holds each variable once, with a default it accepts itself.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { renderConfigTable, TABLE_END, TABLE_START, tableInReadme, withConfigTable } from "../../worker/config/config-table.ts";
import { COST_ESTIMATE, DELIVERY_TUNING, DELIVERY_WEBHOOK, HTTP_ACCESS, INGEST_FILTER, INGEST_TUNING, REPLAY_TUNING, VARIABLES } from "../../worker/config/registry.ts";

const readme = readFileSync(join(import.meta.dirname, "../../docs/configuration.md"), "utf8");

test("docs/configuration.md's configuration table is the registry's (regenerate it with `npx tsx bin/config-table.ts --write`)", () => {
  const table = tableInReadme(readme);
  expect(table, `docs/configuration.md lacks the markers ${TABLE_START} … ${TABLE_END}`).not.toBeNull();
  expect(table, "docs/configuration.md's configuration table differs from worker/config/registry.ts: run `npx tsx bin/config-table.ts --write`").toBe(renderConfigTable());
  expect(withConfigTable(readme)).toBe(readme);
});

test("a changed registry entry makes the page's table differ", () => {
  const changed = VARIABLES.map((v) => (v.variable === "WEBHOOK_CONCURRENCY" ? { ...v, doc: `${v.doc}, changed` } : v));
  expect(renderConfigTable(changed)).not.toBe(tableInReadme(readme));
  expect(tableInReadme(`${TABLE_START}\n${renderConfigTable(changed)}\n${TABLE_END}`)).not.toBe(renderConfigTable());
});

test("the table has one row per variable, each with its default, accepted values and meaning", () => {
  const rows = renderConfigTable().split("\n").slice(2);
  expect(rows).toHaveLength(VARIABLES.length);
  for (const [i, v] of VARIABLES.entries()) {
    expect(rows[i].startsWith(`| \`${v.variable}\` | ${v.required} |`)).toBe(true);
    for (const text of [v.shownDefault, v.accepts, v.doc]) expect(text.trim(), v.variable).not.toBe("");
  }
});

test("the registry lists each variable of every part once", () => {
  const groups = [INGEST_FILTER, INGEST_TUNING, DELIVERY_WEBHOOK, DELIVERY_TUNING, REPLAY_TUNING, HTTP_ACCESS, COST_ESTIMATE].flatMap((g) => Object.values(g));
  const names = VARIABLES.map((v) => v.variable);
  expect(new Set(names).size).toBe(names.length);
  expect([...VARIABLES].sort((a, b) => a.variable.localeCompare(b.variable))).toEqual([...groups].sort((a, b) => a.variable.localeCompare(b.variable)));
});

test("unset, a required variable is a problem and every other one takes a default it accepts itself", () => {
  for (const v of VARIABLES) {
    const reading = v.parse(undefined);
    expect("value" in reading, v.variable).toBe(v.required !== "yes");
    if (!("value" in reading)) expect(reading.fix, v.variable).toContain(v.variable);
  }
  for (const t of [...Object.values(INGEST_TUNING), ...Object.values(DELIVERY_TUNING), ...Object.values(REPLAY_TUNING)]) {
    expect(t.fallback >= t.min && t.fallback <= t.max, t.variable).toBe(true);
    for (const n of [t.min, t.max, t.fallback]) expect(t.parse(String(n)), t.variable).toEqual({ value: n });
    expect(t.shownDefault).toBe(`\`${t.fallback}\``);
    const bad = t.parse(String(t.max + 1));
    expect(bad, t.variable).toEqual({ wrong: expect.stringContaining(t.variable), fix: expect.stringContaining(`default ${t.fallback}`) });
  }
});
