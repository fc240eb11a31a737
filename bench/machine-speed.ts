/**
 * How fast this shared machine is right now: the milliseconds a fixed CPU-bound loop takes (the median
 * of three; lower is faster). Taken before each flood, it shows when a slow run was a slow machine: the
 * same flood has cost workerd anywhere from 5.4 to 10 s of CPU within an hour here.
 */
import { median } from "./stats.ts";

const ITERATIONS = 30_000_000;
let sink = 0;

export function calibrationMs(): number {
  const times: number[] = [];
  for (let round = 0; round < 3; round++) {
    const started = performance.now();
    let x = 0x9e3779b9 | 0;
    for (let i = 0; i < ITERATIONS; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
    }
    sink ^= x;
    times.push(performance.now() - started);
  }
  return Math.round(median(times) * 10) / 10;
}

/** Keeps the loop's result observable (so that it is not optimised away). */
export const calibrationSink = () => sink;
