/**
 * The members of a JSON object's top level as the text they were written with: to rebuild an event in
 * another shape without re-serialising its values (a record's text must reach the webhook byte for byte).
 * Pure. Reads text already known to be JSON (the consumer parses every event before sending it); its
 * answer for anything else is null or meaningless.
 */

/** Each top-level member's value, as written, by key (the last one of a repeated key, as JSON.parse does); null when the text is not an object. */
export function objectMembers(text: string): Map<string, string> | null {
  const members = new Map<string, string>();
  let at = skipSpace(text, 0);
  if (text[at] !== "{") return null;
  at = skipSpace(text, at + 1);
  if (text[at] === "}") return members;
  for (;;) {
    if (text[at] !== '"') return null;
    const keyEnd = stringEnd(text, at);
    const key = JSON.parse(text.slice(at, keyEnd)) as string;
    at = skipSpace(text, keyEnd);
    if (text[at] !== ":") return null;
    const start = skipSpace(text, at + 1);
    const end = valueEnd(text, start);
    if (end <= start) return null;
    members.set(key, text.slice(start, end));
    at = skipSpace(text, end);
    if (text[at] === "}") return members;
    if (text[at] !== ",") return null;
    at = skipSpace(text, at + 1);
  }
}

/** Whether a member's text is a JSON string (and not a number, an object…). */
export function isJsonString(value: string | undefined): value is string {
  return value !== undefined && value.startsWith('"');
}

function skipSpace(text: string, at: number): number {
  while (at < text.length && (text[at] === " " || text[at] === "\n" || text[at] === "\r" || text[at] === "\t")) at++;
  return at;
}

/** The index just after the string that opens at `at`. */
function stringEnd(text: string, at: number): number {
  for (let from = at + 1; ; ) {
    const quote = text.indexOf('"', from);
    if (quote === -1) return text.length;
    // Escaped when an odd number of backslashes comes before it.
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** The index just after the value that starts at `at`. */
function valueEnd(text: string, at: number): number {
  const first = text.charCodeAt(at);
  if (first === 0x22) return stringEnd(text, at);
  if (first === 0x7b || first === 0x5b) {
    let depth = 0;
    for (let i = at; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x22) i = stringEnd(text, i) - 1;
      else if (c === 0x7b || c === 0x5b) depth++;
      else if ((c === 0x7d || c === 0x5d) && --depth === 0) return i + 1;
    }
    return text.length;
  }
  // A number, true, false or null: up to the next delimiter.
  let i = at;
  while (i < text.length && !",}] \n\r\t".includes(text[i])) i++;
  return i;
}
