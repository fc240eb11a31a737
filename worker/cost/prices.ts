/**
 * Cloudflare's published prices and free allowances for what a relay uses, as read on the date below from
 * the pages named per line. The one table the cost model (cost-model.ts) and docs/cost.md take them from:
 * when Cloudflare changes a price, change it here, run `npx tsx bin/cost-table.ts --write`, and the tests
 * show what moved.
 */

export type Plan = "paid" | "free";

/** When the prices were read. */
export const PRICES_READ_ON = "2026-12-07";

export const PAGES = {
  durableObjects: "https://developers.cloudflare.com/durable-objects/platform/pricing/",
  queues: "https://developers.cloudflare.com/queues/platform/pricing/",
  workers: "https://developers.cloudflare.com/workers/platform/pricing/",
  workersLimits: "https://developers.cloudflare.com/workers/platform/limits/",
} as const;

/** What Cloudflare bills (or limits) that a relay uses. */
export type BilledItem =
  | "do-requests"
  | "do-duration"
  | "sqlite-rows-written"
  | "sqlite-rows-read"
  | "sqlite-storage"
  | "queue-operations"
  | "workers-requests"
  | "workers-cpu"
  | "subrequests";

export interface Price {
  item: BilledItem;
  label: string;
  /** The unit the allowance and price count. */
  unit: string;
  /** Workers Paid: included per month, and US dollars per `per` units beyond it (0: not billed). */
  paidIncludedPerMonth: number;
  paidUsd: number;
  per: number;
  /** Workers Free: included per day (null: no daily allowance; see `freeNote`). Past it, operations fail. */
  freeIncludedPerDay: number | null;
  freeNote: string;
  page: string;
  /** How the figure was read when not verbatim from the page itself. */
  readFrom?: string;
}

const MILLION = 1_000_000;

/** Workers Paid's monthly minimum, which includes the paid allowances below. */
export const PAID_SUBSCRIPTION_USD = 5;

export const PRICES: readonly Price[] = [
  {
    item: "do-requests",
    label: "Durable Object requests",
    unit: "requests",
    paidIncludedPerMonth: 1 * MILLION,
    paidUsd: 0.15,
    per: MILLION,
    freeIncludedPerDay: 100_000,
    freeNote: "",
    page: PAGES.durableObjects,
  },
  {
    item: "do-duration",
    label: "Durable Object duration",
    unit: "GB-s",
    paidIncludedPerMonth: 400_000,
    paidUsd: 12.5,
    per: MILLION,
    freeIncludedPerDay: 13_000,
    freeNote: "",
    page: PAGES.durableObjects,
  },
  {
    item: "sqlite-rows-written",
    label: "SQLite rows written",
    unit: "rows",
    paidIncludedPerMonth: 50 * MILLION,
    paidUsd: 1,
    per: MILLION,
    freeIncludedPerDay: 100_000,
    freeNote: "",
    page: PAGES.durableObjects,
    readFrom: "its SQLite storage section; the excerpt read showed the compute section, these figures match D1's",
  },
  {
    item: "sqlite-rows-read",
    label: "SQLite rows read",
    unit: "rows",
    paidIncludedPerMonth: 25_000 * MILLION,
    paidUsd: 0.001,
    per: MILLION,
    freeIncludedPerDay: 5 * MILLION,
    freeNote: "",
    page: PAGES.durableObjects,
    readFrom: "its SQLite storage section, as rows written",
  },
  {
    item: "sqlite-storage",
    label: "SQLite stored data",
    unit: "GB-month",
    paidIncludedPerMonth: 5,
    paidUsd: 0.2,
    per: 1,
    freeIncludedPerDay: null,
    freeNote: "5 GB in total",
    page: PAGES.durableObjects,
    readFrom: "its SQLite storage section, as rows written",
  },
  {
    item: "queue-operations",
    label: "Queues operations",
    unit: "operations (64 KB written, read or deleted)",
    paidIncludedPerMonth: 1 * MILLION,
    paidUsd: 0.4,
    per: MILLION,
    freeIncludedPerDay: 10_000,
    freeNote: "",
    page: PAGES.queues,
    readFrom: "paid figures verbatim; the Free plan's 10,000 a day from a summary citing the page",
  },
  {
    item: "workers-requests",
    label: "Workers requests",
    unit: "requests",
    paidIncludedPerMonth: 10 * MILLION,
    paidUsd: 0.3,
    per: MILLION,
    freeIncludedPerDay: 100_000,
    freeNote: "",
    page: PAGES.workers,
  },
  {
    item: "workers-cpu",
    label: "Workers CPU time",
    unit: "CPU ms",
    paidIncludedPerMonth: 30 * MILLION,
    paidUsd: 0.02,
    per: MILLION,
    freeIncludedPerDay: null,
    freeNote: "not billed; at most 10 ms per invocation",
    page: PAGES.workers,
  },
  {
    item: "subrequests",
    label: "Subrequests (webhook POSTs, queue sends, RPC)",
    unit: "subrequests",
    paidIncludedPerMonth: Infinity,
    paidUsd: 0,
    per: MILLION,
    freeIncludedPerDay: null,
    freeNote: "not billed; at most 50 per invocation (Paid: 10,000)",
    page: PAGES.workersLimits,
  },
];

/** Workers Free: CPU time one invocation may take; subrequests one invocation may make. */
export const FREE_CPU_MS_PER_INVOCATION = 10;
export const FREE_SUBREQUESTS_PER_INVOCATION = 50;
export const PAID_SUBREQUESTS_PER_INVOCATION = 10_000;

/** Incoming WebSocket messages are billed as Durable Object requests at this ratio (20 messages, 1 request). */
export const WEBSOCKET_MESSAGES_PER_REQUEST = 20;
/** Duration is billed for the 128 MB a Durable Object is given, whatever it uses. */
export const DO_MEMORY_GB = 128 / 1024;
/** A Queues "KB" is 1,000 bytes; a message carries ~100 bytes of metadata. */
export const QUEUE_UNIT_BYTES = 64_000;
export const QUEUE_MESSAGE_METADATA_BYTES = 100;

export function priceOf(item: BilledItem): Price {
  const price = PRICES.find((p) => p.item === item);
  if (!price) throw new Error(`no price for ${item}`);
  return price;
}
