import { parseWireTime } from "../worker/jetstream/v2-frame.ts";

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
  at = text.indexOf(V2_TIME_KEY);
  while (at !== -1) {
    const time = v2TimeAt(text, at);
    if (time !== null) times.push(time);
    at = text.indexOf(V2_TIME_KEY, at + V2_TIME_KEY.length);
  }
  return times;
}

/** A v2 payload's `time` follows its `seq`: `…"seq":123,"time":"2024-09-09T19:46:02.329308Z"`. */
const V2_TIME_KEY = ',"time":"';

function v2TimeAt(text: string, at: number): number | null {
  // Only the payload's own time, right after its seq (a record may have a "time" of its own).
  let digits = at - 1;
  while (digits >= 0 && text.charCodeAt(digits) >= 48 && text.charCodeAt(digits) <= 57) digits--;
  if (digits === at - 1 || !text.startsWith('"seq":', digits - 5)) return null;
  const start = at + V2_TIME_KEY.length;
  return parseWireTime(text.slice(start, start + 27));
}

function digitsAt(text: string, start: number): number | null {
  let end = start;
  while (end < text.length && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57) end++;
  return end > start ? Number(text.slice(start, end)) : null;
}
