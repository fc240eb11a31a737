import type { ConfigProblem } from "./api-types.ts";

/** A numeric tuning variable: its default and its accepted range (each documented in the README). */
export interface Tuning {
  variable: string;
  fallback: number;
  min: number;
  max: number;
  integer: boolean;
  /** What it does, in a few words, for the problem message. */
  meaning: string;
}

/**
 * The variable's value, or its default when unset. An invalid value is never taken silently: it is
 * reported as a problem (what is wrong, how to fix it) and the default is returned in its place.
 */
export function parseTuning(value: unknown, tuning: Tuning, problems: ConfigProblem[], consequence = ""): number {
  if (value === undefined || value === null || String(value).trim() === "") return tuning.fallback;
  const text = String(value).trim();
  const number = Number(text);
  const kind = tuning.integer ? "a whole number" : "a number";
  if (!Number.isFinite(number) || (tuning.integer && !Number.isInteger(number)) || number < tuning.min || number > tuning.max) {
    problems.push({
      variable: tuning.variable,
      message: `${tuning.variable} is "${text.slice(0, 40)}", not ${kind} from ${tuning.min} to ${tuning.max} (${tuning.meaning})${consequence}.`,
      fix: `Set ${tuning.variable} to ${kind} from ${tuning.min} to ${tuning.max}, or unset it for the default ${tuning.fallback}.`,
    });
    return tuning.fallback;
  }
  return number;
}
