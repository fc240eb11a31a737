/**
 * What one worker variable is: its name, the part of the worker that reads it, how docs/configuration.md shows it,
 * and its parser. Pure; the registry (registry.ts) lists every variable, settings.ts reads them.
 */

/** The parts of the worker. A bad variable stops only its own part (see settings.ts). */
export type Part = "ingest" | "delivery" | "replay" | "http" | "cost";

/** A parser's answer: the value, or what is wrong and how to fix it. */
export type Reading<T> = { value: T } | { wrong: string; fix: string };

export interface Variable<T = unknown> {
  /** The name, as set with `wrangler secret put`, in `vars` or in `.dev.vars`. */
  variable: string;
  part: Part;
  required: "yes" | "no" | "for control";
  /** The default as docs/configuration.md shows it ("—" for none). */
  shownDefault: string;
  /** The accepted values as docs/configuration.md shows them. */
  accepts: string;
  /** What it does: the meaning column of docs/configuration.md. */
  doc: string;
  /** What stops while it is bad, when not what stops for its part (the end of its problem's message). */
  stops?: string;
  /** The value of whatever is set (a string, a number from `vars`, or nothing). */
  parse(raw: unknown): Reading<T>;
}

/** The value type of a variable. */
export type ValueOf<V> = V extends Variable<infer T> ? T : never;

/** Unset: absent, or blank text. */
export function isUnset(raw: unknown): boolean {
  return raw === undefined || raw === null || String(raw).trim() === "";
}

/** A numeric tuning variable: a safe default and an accepted range. */
export interface NumberVariable extends Variable<number> {
  fallback: number;
  min: number;
  max: number;
  integer: boolean;
  /** What it does, in a few words, for the problem message. */
  meaning: string;
}

export function numberVariable(spec: { variable: string; part: Part; fallback: number; min: number; max: number; integer: boolean; meaning: string; doc: string }): NumberVariable {
  const kind = spec.integer ? "a whole number" : "a number";
  return {
    ...spec,
    required: "no",
    shownDefault: `\`${spec.fallback}\``,
    accepts: `${spec.integer ? "whole number " : ""}${shown(spec.min)}–${shown(spec.max)}`,
    parse(raw) {
      if (isUnset(raw)) return { value: spec.fallback };
      const text = String(raw).trim();
      const number = Number(text);
      if (Number.isFinite(number) && (!spec.integer || Number.isInteger(number)) && number >= spec.min && number <= spec.max) return { value: number };
      return {
        wrong: `${spec.variable} is "${text.slice(0, 40)}", not ${kind} from ${spec.min} to ${spec.max} (${spec.meaning})`,
        fix: `Set ${spec.variable} to ${kind} from ${spec.min} to ${spec.max}, or unset it for the default ${spec.fallback}.`,
      };
    },
  };
}

/** 100000 → "100,000" (readable in the configuration table). */
function shown(n: number): string {
  if (Math.abs(n) < 10_000) return String(n);
  return String(n).replace(/\B(?=(\d{3})+$)/g, ",");
}
