/**
 * For each /health reason code: one line of what to do, and the runbook entry that says more
 * (docs/runbook.md, anchor `reason-CODE`). Pure; `jetstream-relay health` prints it under each reason.
 */

export const RUNBOOK = "docs/runbook.md";

const WHAT_TO_DO: Record<string, string> = {
  "config-error": "fix the variables named above (jetstream-relay status shows each fix), then jetstream-relay deploy",
  disconnected: "see why with jetstream-relay status; try again now with jetstream-relay reconnect",
  stale: "check jetstream-relay status and stats; jetstream-relay reconnect (a quiet filter: raise HEALTH_STALE_SECONDS)",
  "webhook-gone": "the receiver asked to stop (410 Gone); once it wants events again: jetstream-relay webhook resume (a new WEBHOOK_URL, deployed, resumes by itself)",
  "delivery-failing": "fix the webhook (jetstream-relay stats shows the last delivery error), then jetstream-relay dlq replay --all",
  storage: "storage retries by itself on every alarm; if it persists, jetstream-relay deploy restarts the relay",
  gap: "look at the gap (jetstream-relay gaps), then acknowledge it: jetstream-relay gaps ack",
  "relay-unavailable": "the relay object did not answer: after a deploy, jetstream-relay health --wait 60; else read jetstream-relay logs",
  "dead-letter-store-failing": "failed events cannot be kept and go round the queue again: read jetstream-relay logs; jetstream-relay deploy restarts it",
  "dead-letters-not-stored": "the dead-letter store refused entries (they wait in the queue): jetstream-relay dlq list shows whether it answers; read jetstream-relay logs",
  "consumer-too-slow": "the relay does not keep up: check jetstream-relay stats, then narrow the filter or split it over relays",
};

/** The reason codes the runbook and the hints cover (those of worker/relay/health.ts and worker/http/handlers.ts). */
export const HEALTH_REASON_CODES = Object.keys(WHAT_TO_DO);

export interface HealthHint {
  /** What to do, in one line. */
  todo: string;
  /** Where the runbook says more, e.g. "docs/runbook.md#reason-gap". */
  runbook: string;
}

export function healthHint(code: string): HealthHint {
  const todo = WHAT_TO_DO[code];
  if (todo === undefined) return { todo: "see jetstream-relay status", runbook: `${RUNBOOK}#reasons` };
  return { todo, runbook: `${RUNBOOK}#reason-${code}` };
}
