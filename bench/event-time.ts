/** time_us of every event in a text (one event, or a JSON array of them), without parsing the JSON. */
export function timesOf(text: string): number[] {
  const times: number[] = [];
  let at = text.indexOf('"time_us":');
  while (at !== -1) {
    const time = digitsAt(text, at + 10);
    if (time !== null) times.push(time);
    at = text.indexOf('"time_us":', at + 10);
  }
  return times;
}

/** time_us of one event text (the first occurrence), or null. */
export function timeOf(text: string): number | null {
  const at = text.indexOf('"time_us":');
  return at === -1 ? null : digitsAt(text, at + 10);
}

function digitsAt(text: string, start: number): number | null {
  let end = start;
  while (end < text.length && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57) end++;
  return end > start ? Number(text.slice(start, end)) : null;
}
