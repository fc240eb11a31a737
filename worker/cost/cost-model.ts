import {
  DO_MEMORY_GB,
  FREE_CPU_MS_PER_INVOCATION,
  FREE_SUBREQUESTS_PER_INVOCATION,
  PAID_SUBSCRIPTION_USD,
  PRICES,
  QUEUE_MESSAGE_METADATA_BYTES,
  QUEUE_UNIT_BYTES,
  WEBSOCKET_MESSAGES_PER_REQUEST,
  type BilledItem,
  type Plan,
} from "./prices.ts";

/**
 * The cost model: what a relay makes Cloudflare count, per second, turned into a month's bill on a plan.
 * Pure. The live estimate (cost-meter.ts) and docs/cost.md (cost-table.ts) both come from here.
 */

/** Cloudflare's month in its own examples: 30 days. */
export const DAYS_PER_MONTH = 30;
export const SECONDS_PER_MONTH = DAYS_PER_MONTH * 86_400;

/** What the relay does, per second on average (except `storedGb`, a level). */
export interface Activity {
  /** Frames the relay object receives from Jetstream on the socket it opened. */
  websocketMessagesIn: number;
  /** The relay object's alarm (heartbeat, persisting state). */
  alarms: number;
  /** Calls into a Durable Object: the consumer's reports, the cron's wake-up, blob reads, dead-letter adds. */
  objectCalls: number;
  /** Durable Objects held in memory all the time (the relay object: its socket keeps it from hibernating). */
  alwaysOnObjects: number;
  /** 64 KB units written to, read from and deleted from the queues (retries read again; dead letters are written again). */
  queueUnitsWritten: number;
  queueUnitsRead: number;
  queueUnitsDeleted: number;
  /** Queue consumer invocations (each counted as a Workers request: an assumption) and their CPU. */
  consumerInvocations: number;
  consumerCpuMs: number;
  /** Other Workers requests: the cron trigger, HTTP calls to the API. */
  workerRequests: number;
  /** Webhook requests, queue sends and RPCs made by the consumer. */
  subrequests: number;
  rowsWritten: number;
  rowsRead: number;
  storedGb: number;
}

export interface CostLine {
  item: BilledItem;
  label: string;
  unit: string;
  /** Quantity in a month at this activity. */
  perMonth: number;
  /** Included in the plan per month (Free: its daily allowance × 30); null: no allowance of this kind. */
  includedPerMonth: number | null;
  /** Share of the allowance used (1 = all of it); null without an allowance. */
  allowanceUsed: number | null;
  /** US dollars in a month beyond the allowance (Free: always 0). */
  usd: number;
  /** On Free, past the allowance or limit operations of this kind fail; on Paid they are billed. */
  overAllowance: boolean;
  note: string;
}

export interface CostEstimate {
  plan: Plan;
  lines: CostLine[];
  /** Workers Paid's monthly minimum (it includes the allowances). */
  subscriptionUsd: number;
  /** Subscription plus every line's usd. */
  totalUsd: number;
  /** The lines past the plan's allowance. */
  overAllowance: BilledItem[];
}

/** The assumptions every estimate rests on (shown with it). */
export const ASSUMPTIONS: readonly string[] = [
  `The relay object holds its Jetstream socket, so it never hibernates: duration is billed around the clock for ${DO_MEMORY_GB * 1024} MB.`,
  `Frames arriving on the socket the relay object opened itself are billed like incoming WebSocket messages, ${WEBSOCKET_MESSAGES_PER_REQUEST} to one request (Cloudflare's pages state the ratio for incoming WebSocket messages and leave a socket the object opened itself open; assumed billed, the dearer reading).`,
  "Each queue consumer invocation counts as one Workers request, and the consumer's CPU time as Workers CPU time.",
  `A queue message is ${QUEUE_UNIT_BYTES.toLocaleString("en-US")}-byte units (a Queues KB is 1,000 bytes) of its body plus ~${QUEUE_MESSAGE_METADATA_BYTES} bytes of metadata; each unit is written, read and deleted once, read once more per retry, and written, read and deleted on the dead-letter queue when it gets there.`,
  "Each key the relay object puts is one SQLite row written, and setting the alarm one more.",
  "A month is 30 days at the measured rates; a Free plan's daily allowance is compared with a 30th of the month.",
];

/** 64 KB units Queues bills for a message of this many bytes (body as serialized). */
export function queueUnits(bytes: number): number {
  return Math.max(1, Math.ceil((bytes + QUEUE_MESSAGE_METADATA_BYTES) / QUEUE_UNIT_BYTES));
}

/** The month's quantity of each billed item at this activity. */
export function monthlyQuantities(a: Activity): Record<BilledItem, number> {
  const m = (perSecond: number) => perSecond * SECONDS_PER_MONTH;
  return {
    "do-requests": m(a.websocketMessagesIn / WEBSOCKET_MESSAGES_PER_REQUEST + a.alarms + a.objectCalls),
    "do-duration": a.alwaysOnObjects * DO_MEMORY_GB * SECONDS_PER_MONTH,
    "sqlite-rows-written": m(a.rowsWritten),
    "sqlite-rows-read": m(a.rowsRead),
    "sqlite-storage": a.storedGb,
    "queue-operations": m(a.queueUnitsWritten + a.queueUnitsRead + a.queueUnitsDeleted),
    "workers-requests": m(a.consumerInvocations + a.workerRequests),
    "workers-cpu": m(a.consumerCpuMs),
    subrequests: m(a.subrequests),
  };
}

/** The month's bill at this activity on a plan. */
export function estimateCost(a: Activity, plan: Plan): CostEstimate {
  const quantities = monthlyQuantities(a);
  const cpuPerInvocation = a.consumerInvocations > 0 ? a.consumerCpuMs / a.consumerInvocations : 0;
  const subrequestsPerInvocation = a.consumerInvocations > 0 ? a.subrequests / a.consumerInvocations : 0;
  const lines = PRICES.map((price): CostLine => {
    const perMonth = quantities[price.item];
    const base = { item: price.item, label: price.label, unit: price.unit, perMonth };
    if (plan === "paid") {
      const included = Number.isFinite(price.paidIncludedPerMonth) ? price.paidIncludedPerMonth : null;
      const billable = included === null ? 0 : Math.max(0, perMonth - included);
      const usd = (billable / price.per) * price.paidUsd;
      return { ...base, includedPerMonth: included, allowanceUsed: included ? perMonth / included : null, usd, overAllowance: billable > 0, note: billable > 0 ? `${fmt(billable)} ${price.unit} beyond the ${fmt(included ?? 0)} included` : "" };
    }
    if (price.freeIncludedPerDay !== null) {
      const included = price.freeIncludedPerDay * DAYS_PER_MONTH;
      const over = perMonth > included;
      return { ...base, includedPerMonth: included, allowanceUsed: perMonth / included, usd: 0, overAllowance: over, note: over ? `over the ${fmt(price.freeIncludedPerDay)} a day the Free plan allows: past it these fail each day` : "" };
    }
    if (price.item === "sqlite-storage") {
      const over = perMonth > 5;
      return { ...base, includedPerMonth: 5, allowanceUsed: perMonth / 5, usd: 0, overAllowance: over, note: over ? "over the Free plan's 5 GB" : "" };
    }
    if (price.item === "workers-cpu") {
      const over = cpuPerInvocation > FREE_CPU_MS_PER_INVOCATION;
      return { ...base, includedPerMonth: null, allowanceUsed: null, usd: 0, overAllowance: over, note: over ? `~${round(cpuPerInvocation, 1)} ms per consumer invocation, over the Free plan's ${FREE_CPU_MS_PER_INVOCATION} ms` : "" };
    }
    const over = subrequestsPerInvocation > FREE_SUBREQUESTS_PER_INVOCATION;
    return { ...base, includedPerMonth: null, allowanceUsed: null, usd: 0, overAllowance: over, note: over ? `~${round(subrequestsPerInvocation, 1)} per consumer invocation, over the Free plan's ${FREE_SUBREQUESTS_PER_INVOCATION}` : "" };
  });
  const subscriptionUsd = plan === "paid" ? PAID_SUBSCRIPTION_USD : 0;
  const totalUsd = subscriptionUsd + lines.reduce((sum, line) => sum + line.usd, 0);
  return { plan, lines, subscriptionUsd, totalUsd, overAllowance: lines.filter((l) => l.overAllowance).map((l) => l.item) };
}

/** 1234567 → "1,234,567" (whole numbers; smaller ones keep two decimals). */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return "unlimited";
  return n >= 100 ? Math.round(n).toLocaleString("en-US") : String(round(n, 2));
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
