import { visibleLength } from "./colors.ts";

export type Align = "left" | "right";

export interface Column {
  header: string;
  align?: Align;
}

/** Lines of a plain text table: a header row, then one row per entry, columns padded to fit. */
export function renderTable(columns: Column[], rows: string[][], options: { indent?: string; gap?: string; header?: (text: string) => string } = {}): string[] {
  const indent = options.indent ?? "";
  const gap = options.gap ?? "  ";
  const widths = columns.map((column, i) => Math.max(visibleLength(column.header), ...rows.map((row) => visibleLength(row[i] ?? ""))));
  const line = (cells: string[], style?: (text: string) => string) =>
    indent +
    cells
      .map((cell, i) => {
        const pad = " ".repeat(Math.max(0, widths[i] - visibleLength(cell)));
        const text = style ? style(cell) : cell;
        return columns[i].align === "right" ? pad + text : i === cells.length - 1 ? text : text + pad;
      })
      .join(gap)
      .trimEnd();
  return [line(columns.map((c) => c.header), options.header), ...rows.map((row) => line(row))];
}

/** "label   value" lines with the labels padded to one width. */
export function renderPairs(pairs: [string, string][], options: { indent?: string; label?: (text: string) => string } = {}): string[] {
  const indent = options.indent ?? "";
  const width = Math.max(0, ...pairs.map(([label]) => visibleLength(label)));
  return pairs.map(([label, value]) => {
    const padded = label + " ".repeat(width - visibleLength(label));
    return `${indent}${options.label ? options.label(padded) : padded}  ${value}`.trimEnd();
  });
}

/** Cut a line to `width` visible characters, keeping ANSI sequences intact and resetting style after a cut. */
export function truncateVisible(text: string, width: number): string {
  if (visibleLength(text) <= width) return text;
  let out = "";
  let seen = 0;
  // eslint-disable-next-line no-control-regex
  const token = /\x1b\[[0-9;?]*[A-Za-z]|[\s\S]/g;
  for (const match of text.matchAll(token)) {
    const part = match[0];
    if (part.length > 1) {
      out += part;
      continue;
    }
    if (seen >= width - 1) break;
    out += part;
    seen++;
  }
  return text.includes("\x1b[") ? `${out}…\x1b[0m` : `${out}…`;
}

/** Break plain text into lines of at most `width` characters, at spaces where possible. */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    let rest = word;
    while (rest.length > width) {
      if (line) lines.push(line);
      lines.push(rest.slice(0, width));
      rest = rest.slice(width);
      line = "";
    }
    if (!line) line = rest;
    else if (line.length + 1 + rest.length <= width) line += ` ${rest}`;
    else {
      lines.push(line);
      line = rest;
    }
  }
  if (line) lines.push(line);
  return lines;
}
