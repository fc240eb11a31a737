/**
 * time_us of every event in a text (one event, or a JSON array of them), without parsing the JSON: a
 * legacy event's `time_us`, or a v2 payload's `time` (its last key, after its `seq`; six fractional
 * digits, so exact to the microsecond).
 */
export function timesOf(text: string): number[] {
  const times: number[] = [];
  let at = text.indexOf('"time_us":');
  while (at !== -1) {
    const time = digitsAt(text, at + 10);
    if (time !== null) times.push(time);
    at = text.indexOf('"time_us":', at + 10);
  }
  if (times.length > 0) return times;
  for (const match of text.matchAll(V2_TIME)) times.push(wireTimeUs(match[1], match[2]));
  return times;
}

/** time_us of one event text or frame (the first occurrence), or null. */
export function timeOf(text: string): number | null {
  const at = text.indexOf('"time_us":');
  if (at !== -1) return digitsAt(text, at + 10);
  const v2 = V2_TIME_LAST.exec(text);
  return v2 ? wireTimeUs(v2[1], v2[2]) : null;
}

const V2_TIME = /"seq":\d+,"time":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})Z"/g;
const V2_TIME_LAST = /"seq":\d+,"time":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})Z"\}\}?$/;

function wireTimeUs(second: string, micros: string): number {
  return Date.parse(`${second}Z`) * 1000 + Number(micros);
}

function digitsAt(text: string, start: number): number | null {
  let end = start;
  while (end < text.length && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57) end++;
  return end > start ? Number(text.slice(start, end)) : null;
}
