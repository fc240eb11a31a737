/**
 * Writing worker variables for `wrangler dev --env-file` so that the worker gets every value byte for
 * byte. Wrangler 4.86 reads such a file with dotenv 16.3.1 and then dotenv-expand 12.0.2, whose rules
 * (from their source, bundled in node_modules/wrangler/wrangler-dist/cli.js) are:
 * - dotenv: CR LF and CR become LF in the whole file; a value is '…', `…` or "…" (spanning lines; the
 *   quote itself may appear only as \' \` \", and the backslash then stays), or unquoted up to '#' or the
 *   line's end, trimmed; only in "…" are the two-character texts \n and \r turned into LF and CR.
 * - dotenv-expand: every $NAME and ${…} not preceded by a backslash is replaced (by an earlier variable
 *   of the file, else by nothing), then every \$ becomes $.
 * So each `$` is written as `\$`, and the value goes in the first form that holds it exactly:
 * '…' or `…` (no such quote inside, no CR), "…" (no " inside, no \n or \r text; CR written as \r), or bare
 * (one trimmed line without '#', not wrapped in one kind of quote, no \n or \r text after a leading ").
 * One variable per file: a quoted value ending in a backslash would otherwise let dotenv's pattern run
 * on into the next variable's quotes. (The file is UTF-8: a lone surrogate cannot be written either.)
 */

/** The text after `NAME=` that reads back as exactly `value`, or null when dotenv 16 cannot hold it. */
export function encodeEnvValue(value: string): string | null {
  if (/\p{Cs}/u.test(value)) return null;
  const escaped = value.replace(/\$/g, "\\$");
  if (!value.includes("\r")) {
    for (const quote of ["'", "`"]) if (!value.includes(quote)) return `${quote}${escaped}${quote}`;
  }
  if (!value.includes('"') && !/\\[nr]/.test(value)) return `"${escaped.replace(/\r/g, "\\r")}"`;
  if (holdsBare(value)) return escaped;
  return null;
}

function holdsBare(value: string): boolean {
  if (value === "" || value !== value.trim() || /[#\r\n\u2028\u2029]/.test(value)) return false;
  const first = value[0];
  // dotenv turns \n and \r texts into LF and CR by the value's first character, quoted or not.
  if (first === '"' && /\\[nr]/.test(value)) return false;
  return !(value.length > 1 && `'"\``.includes(first) && value.endsWith(first));
}

/** Why `value` cannot be written (for a message: never the value itself). */
export function unwritableReason(value: string): string {
  if (/\p{Cs}/u.test(value)) return "it is not valid Unicode (a lone surrogate)";
  return "it needs ' and ` (or a carriage return) together with \" or a \\n or \\r text, and cannot stand unquoted (it has a line break, '#', spaces at its ends, or quotes around it)";
}

/** The file text for one variable: `NAME=<encoded>` and a final line break. */
export function envFileText(name: string, value: string): string | null {
  const encoded = encodeEnvValue(value);
  return encoded === null ? null : `${name}=${encoded}\n`;
}

/** One message per variable that cannot be written exactly (names and reasons, never values). */
export function unwritableVariables(vars: Record<string, string>): string[] {
  return Object.entries(vars)
    .filter(([, value]) => encodeEnvValue(value) === null)
    .map(([name, value]) => `${name}: wrangler dev reads variables with dotenv 16, which cannot hold this value exactly: ${unwritableReason(value)}`);
}
