import type { CostLine } from "./cost-model.ts";
import { ASSUMPTIONS, estimateCost, type Activity } from "./cost-model.ts";
import { PRICES_READ_ON, type Plan } from "./prices.ts";

/** `cost` in GET /stats: the month projected at the measured rates, on the configured plan. */
export interface CostReport {
  plan: Plan;
  /** The rates come from this many seconds of the past (up to the last hour), since then. */
  windowSeconds: number;
  since: string;
  /** Projected US dollars in a month: subscription (Paid's $5 minimum) plus every line beyond its allowance. */
  totalUsdPerMonth: number;
  subscriptionUsd: number;
  budgetUsdPerMonth: number | null;
  lines: CostLine[];
  /** Past the plan's allowance or the budget (also notes of /status and /health). */
  warnings: CostWarning[];
  assumptions: string[];
  pricesReadOn: string;
}

export interface CostWarning {
  code: "cost-over-allowance" | "cost-over-budget";
  message: string;
}

export function costReport(activity: Activity, window: { seconds: number; since: number }, plan: Plan, budgetUsdPerMonth: number | null): CostReport {
  const estimate = estimateCost(activity, plan);
  return {
    plan,
    windowSeconds: window.seconds,
    since: new Date(window.since).toISOString(),
    totalUsdPerMonth: cents(estimate.totalUsd),
    subscriptionUsd: estimate.subscriptionUsd,
    budgetUsdPerMonth,
    lines: estimate.lines.map((l) => ({ ...l, perMonth: Math.round(l.perMonth * 1000) / 1000, usd: cents(l.usd), allowanceUsed: l.allowanceUsed === null ? null : Math.round(l.allowanceUsed * 1000) / 1000 })),
    warnings: costWarnings(estimate.lines, estimate.totalUsd, plan, budgetUsdPerMonth, window.seconds),
    assumptions: [...ASSUMPTIONS],
    pricesReadOn: PRICES_READ_ON,
  };
}

/**
 * Warnings wait for this much measurement: right after a start the relay catches up on what it missed,
 * faster than it will run, and a minute of that is no month.
 */
export const WARNING_AFTER_SECONDS = 300;

/** The warnings: rates that will pass the plan's allowance, or a projected month over the budget. */
export function costWarnings(lines: CostLine[], totalUsd: number, plan: Plan, budget: number | null, windowSeconds: number): CostWarning[] {
  const warnings: CostWarning[] = [];
  if (windowSeconds < WARNING_AFTER_SECONDS) return warnings;
  const basis = `at the rates of the last ${minutes(windowSeconds)}`;
  const over = lines.filter((l) => l.overAllowance);
  if (over.length > 0) {
    const what = over.map((l) => `${l.label} (${l.note})`).join("; ");
    warnings.push({
      code: "cost-over-allowance",
      message:
        plan === "free"
          ? `${basis}, the relay will pass Workers Free's allowance and these operations will fail once it is used up each day: ${what}. Move to Workers Paid (set CLOUDFLARE_PLAN=paid) or lower the rates (docs/cost.md).`
          : `${basis}, the relay will pass Workers Paid's included usage, billed beyond the $5 minimum: ${what}. Projected month: $${cents(totalUsd).toFixed(2)} (docs/cost.md: which settings move it).`,
    });
  }
  if (budget !== null && totalUsd > budget) {
    warnings.push({ code: "cost-over-budget", message: `${basis}, a month would cost $${cents(totalUsd).toFixed(2)}, over COST_BUDGET_USD_PER_MONTH ($${budget.toFixed(2)}). See /stats cost for the items and docs/cost.md for what moves them.` });
  }
  return warnings;
}

function cents(usd: number): number {
  return Math.round(usd * 100) / 100;
}

function minutes(seconds: number): string {
  return seconds >= 90 ? `${Math.round(seconds / 60)} min` : `${seconds} s`;
}
