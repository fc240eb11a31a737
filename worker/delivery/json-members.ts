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
  for (let i = at + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) i++; // a backslash: the next character is escaped
    else if (c === 0x22) return i + 1;
  }
  return text.length;
}

/** The index just after the value that starts at `at`. */
function valueEnd(text: string, at: number): number {
  const first = text[at];
  if (first === '"') return stringEnd(text, at);
  if (first === "{" || first === "[") {
    let depth = 0;
    for (let i = at; i < text.length; i++) {
      const c = text[i];
      if (c === '"') i = stringEnd(text, i) - 1;
      else if (c === "{" || c === "[") depth++;
      else if ((c === "}" || c === "]") && --depth === 0) return i + 1;
    }
    return text.length;
  }
  // A number, true, false or null: up to the next delimiter.
  let i = at;
  while (i < text.length && !",}] \n\r\t".includes(text[i])) i++;
  return i;
}
