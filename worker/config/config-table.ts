import { VARIABLES } from "./registry.ts";
import type { Variable } from "./variable.ts";

/**
 * The configuration table, rendered from the registry, and its place in docs/configuration.md (between
 * the markers below). `npx tsx bin/config-table.ts --write` puts it there; a test fails when they differ.
 */

export const TABLE_START = "<!-- config-table: generated from worker/config/registry.ts by `npx tsx bin/config-table.ts --write`; edit the registry, not this table -->";
export const TABLE_END = "<!-- /config-table -->";

export function renderConfigTable(variables: readonly Variable[] = VARIABLES): string {
  const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");
  const rows = variables.map((v) => `| \`${v.variable}\` | ${v.required} | ${cell(v.shownDefault)} | ${cell(v.accepts)} | ${cell(v.doc)} |`);
  return ["| variable | required | default | accepted values | meaning |", "|---|---|---|---|---|", ...rows].join("\n");
}

/** The table now in the page (between the markers), or null when the markers are missing. */
export function tableInReadme(readme: string): string | null {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) return null;
  return readme.slice(start + TABLE_START.length, end).trim();
}

/** The page with the registry's table between the markers. */
export function withConfigTable(readme: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`the page has no configuration table markers (${TABLE_START} … ${TABLE_END})`);
  return `${readme.slice(0, start + TABLE_START.length)}\n${renderConfigTable()}\n${readme.slice(end)}`;
}
