/**
 * Backoff: exponential delays with jitter and a cap, for the Jetstream reconnects and queue-send retries
 * (milliseconds) and the webhook delivery retries (seconds). The reconnection policy also resets after a
 * healthy connection and fails over to the next endpoint after repeated failures. Pure: time and
 * randomness come from the caller.
 */

export interface BackoffSettings {
  baseMs: number;
  maxMs: number;
  /** A connection that stayed up this long resets the backoff. */
  healthyAfterMs: number;
  /** Consecutive failures on one endpoint before moving to the next. */
  failoverAfter: number;
}

/**
 * "Equal jitter" after `failures` (≥ 1) failed attempts: half the exponential delay (from `base`, capped at
 * `max`) is fixed, half random, so attempts spread but still grow. Unrounded, in the unit of `base`.
 */
function equalJitter(failures: number, base: number, max: number, random: number): number {
  const exponential = Math.min(max, base * 2 ** Math.min(failures - 1, 30));
  return exponential / 2 + (exponential / 2) * random;
}

/** Delay in milliseconds before the next attempt after `failures` failed ones (0 when none failed). */
export function backoffDelay(failures: number, settings: BackoffSettings, random: number): number {
  if (failures <= 0) return 0;
  return Math.round(equalJitter(failures, settings.baseMs, settings.maxMs, random));
}

/**
 * Delay in whole seconds (at least 1) before attempt `attempts + 1`, after `attempts` failed ones (≥ 1):
 * exponential from `baseSeconds`, capped at `maxSeconds`, with equal jitter.
 */
export function backoffSeconds(attempts: number, baseSeconds: number, maxSeconds: number, random: () => number): number {
  return Math.max(1, Math.ceil(equalJitter(Math.max(attempts, 1), baseSeconds, maxSeconds, random())));
}

export interface ReconnectPlan {
  failures: number;
  endpointIndex: number;
  delayMs: number;
  /** True when this attempt moves to another endpoint (the cursor is rewound a little then). */
  switched: boolean;
}

/**
 * What to do after a connection ended. `failures` counts consecutive failures; a connection that lasted
 * `healthyAfterMs` is a success that resets it (the reconnect then happens without delay).
 */
export function planReconnect(
  state: { failures: number; endpointIndex: number },
  outcome: { connectedForMs: number | null },
  endpointCount: number,
  settings: BackoffSettings,
  random: number,
): ReconnectPlan {
  const healthy = outcome.connectedForMs !== null && outcome.connectedForMs >= settings.healthyAfterMs;
  const failures = healthy ? 0 : state.failures + 1;
  let endpointIndex = state.endpointIndex;
  let switched = false;
  if (!healthy && endpointCount > 1 && failures % settings.failoverAfter === 0) {
    endpointIndex = (endpointIndex + 1) % endpointCount;
    switched = true;
  }
  return { failures, endpointIndex, switched, delayMs: healthy ? 0 : backoffDelay(failures, settings, random) };
}
