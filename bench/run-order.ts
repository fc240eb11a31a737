/** The order of the benchmark's configurations within one run, and which ones are compared wire against wire. */

export interface Ordered {
  name: string;
  wire?: "legacy" | "v2";
}

/**
 * The order of run `run` (from 1): each legacy configuration next to its v2 twin (compared run by run),
 * the twin first every other run, so that neither wire always follows the other's load on the machine.
 */
export function runOrder<T extends Ordered>(configurations: readonly T[], run: number): T[] {
  const order = [...configurations];
  if (run % 2 === 1) return order;
  for (let i = 0; i + 1 < order.length; i++) {
    if (order[i].wire !== "v2" && order[i + 1].wire === "v2") {
      [order[i], order[i + 1]] = [order[i + 1], order[i]];
      i++;
    }
  }
  return order;
}

/** A v2 configuration's legacy twin (the one listed just before it), or the configuration itself. */
export function twinOf<T extends Ordered>(config: T, configurations: readonly T[]): T {
  const at = configurations.indexOf(config);
  return config.wire === "v2" && at > 0 && configurations[at - 1].wire !== "v2" ? configurations[at - 1] : config;
}
