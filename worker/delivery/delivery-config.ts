import type { ConfigProblem, WorkerVars } from "../api-types.ts";
import { DELIVERY_TUNING } from "../config/registry.ts";
import { readSettings, type DeliveryConfig } from "../config/settings.ts";

/** Delivery's settings, from the configuration registry (config/registry.ts, read by config/settings.ts). */

export type { DeliveryConfig };
export { DELIVERY_TUNING as TUNING } from "../config/registry.ts";

/**
 * Delivery's settings, or null while any delivery variable is bad (each one is in `problems`, with its
 * fix): nothing is delivered with a value other than the one configured.
 */
export function parseDeliveryConfig(env: WorkerVars): { config: DeliveryConfig | null; problems: ConfigProblem[] } {
  const { delivery, byPart } = readSettings(env);
  return { config: delivery, problems: [...byPart.delivery] };
}

/**
 * The dead-letter store's bound. While DEAD_LETTER_MAX_EVENTS is bad the store evicts nothing (nothing is
 * lost); the problem is reported meanwhile by the relay (configErrors, /health) and delivery is paused.
 */
export function deadLetterMaxEvents(env: WorkerVars): number {
  const reading = DELIVERY_TUNING.deadLetterMaxEvents.parse(env[DELIVERY_TUNING.deadLetterMaxEvents.variable]);
  return "value" in reading ? reading.value : Number.POSITIVE_INFINITY;
}

/** The dead-letter store's bound in bytes (DEAD_LETTER_MAX_BYTES); while it is bad nothing is evicted by bytes. */
export function deadLetterMaxBytes(env: WorkerVars): number {
  const reading = DELIVERY_TUNING.deadLetterMaxBytes.parse(env[DELIVERY_TUNING.deadLetterMaxBytes.variable]);
  return "value" in reading ? reading.value : Number.POSITIVE_INFINITY;
}
