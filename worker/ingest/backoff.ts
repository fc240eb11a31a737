/**
 * Reconnection policy: exponential backoff with jitter and a cap, reset after a healthy connection, and
 * failover to the next endpoint after repeated failures. Pure: time and randomness come from the caller.
 */

export interface BackoffSettings {
  baseMs: number;
  maxMs: number;
  /** A connection that stayed up this long resets the backoff. */
  healthyAfterMs: number;
  /** Consecutive failures on one endpoint before moving to the next. */
  failoverAfter: number;
}

/** "Equal jitter": half the exponential delay is fixed, half random, so attempts spread but still grow. */
export function backoffDelay(failures: number, settings: BackoffSettings, random: number): number {
  if (failures <= 0) return 0;
  const exponential = Math.min(settings.maxMs, settings.baseMs * 2 ** Math.min(failures - 1, 30));
  return Math.round(exponential / 2 + (exponential / 2) * random);
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
