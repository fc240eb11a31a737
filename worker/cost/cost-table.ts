import { BENCH_MEASURED_ON, type DeliveryMode } from "./bench-figures.ts";
import { estimateCost, fmt, SECONDS_PER_MONTH, type CostEstimate } from "./cost-model.ts";
import { PAID_SUBSCRIPTION_USD, PRICES, PRICES_READ_ON } from "./prices.ts";
import { DEFAULTS, profileActivity, type RelayProfile } from "./relay-profile.ts";

/**
 * docs/cost.md's generated part: the prices, a month of three typical relays in each mode on each plan,
 * and what each setting moves, all computed by the cost model. `npx tsx bin/cost-table.ts --write` puts it
 * between the markers below; a test fails when the page differs from the model.
 */

export const COST_START = "<!-- cost-table: generated from worker/cost/ by `npx tsx bin/cost-table.ts --write`; edit the model, not these tables -->";
export const COST_END = "<!-- /cost-table -->";
export const SUMMARY_START = "<!-- cost-summary: generated like the tables below -->";
export const SUMMARY_END = "<!-- /cost-summary -->";

export const RELAYS: { name: string; collections: string; eventsPerSecond: number }[] = [
  { name: "posts only", collections: "`app.bsky.feed.post`", eventsPerSecond: 30 },
  { name: "likes and follows", collections: "`app.bsky.feed.like,app.bsky.graph.follow`", eventsPerSecond: 500 },
  { name: "the whole network", collections: "every collection", eventsPerSecond: 5000 },
];

const MODES: { mode: DeliveryMode; name: string }[] = [
  { mode: "batch", name: "batch mode (`WEBHOOK_BATCH_SIZE=100`)" },
  { mode: "per-event", name: "per-event (one POST per event, packed queue messages)" },
  { mode: "baseline", name: "one message per event (the original design)" },
];

const usd = (n: number) => `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const cell = (text: string) => text.replaceAll("|", "\\|");

function estimate(profile: RelayProfile, plan: "paid" | "free"): CostEstimate {
  return estimateCost(profileActivity(profile), plan);
}

function freeVerdict(e: CostEstimate): string {
  if (e.overAllowance.length === 0) return "fits";
  const labels = e.lines.filter((l) => l.overAllowance).map((l) => (l.allowanceUsed === null ? l.label : `${l.label} ${fmt(l.allowanceUsed * 100)}%`));
  return `**does not fit**: ${labels.join(", ")}`;
}

function pricesTable(): string {
  const rows = PRICES.map((p) => {
    const paid = p.paidUsd === 0 ? "not billed" : `${fmt(p.paidIncludedPerMonth)} included, then $${p.paidUsd} per ${p.per === 1 ? "" : `${fmt(p.per)} `}${p.unit.split(" (")[0]}`;
    const free = p.freeIncludedPerDay === null ? p.freeNote : `${fmt(p.freeIncludedPerDay)} a day`;
    return `| ${p.label} | ${cell(paid)} | ${cell(free)} | [page](${p.page})${p.readFrom ? `; ${cell(p.readFrom)}` : ""} |`;
  });
  return [
    `Read on ${PRICES_READ_ON} (Workers Paid: $${PAID_SUBSCRIPTION_USD} a month minimum, which includes its allowances):`,
    "",
    "| item | Workers Paid (a month) | Workers Free | source |",
    "|---|---|---|---|",
    ...rows,
  ].join("\n");
}

function relaysTable(): string {
  const rows: string[] = [];
  for (const relay of RELAYS) {
    for (const { mode, name } of MODES) {
      const profile = { eventsPerSecond: relay.eventsPerSecond, mode };
      const paid = estimate(profile, "paid");
      const free = estimate(profile, "free");
      const q = paid.lines.find((l) => l.item === "queue-operations")!;
      const r = paid.lines.find((l) => l.item === "do-requests")!;
      rows.push(`| ${relay.name} (~${fmt(relay.eventsPerSecond)}/s) | ${name} | **${usd(paid.totalUsd)}** | ${fmt(q.perMonth / 1e6)} M | ${fmt(r.perMonth / 1e6)} M | ${freeVerdict(free)} |`);
    }
  }
  return ["| relay | mode | Workers Paid, a month | queue operations | Durable Object requests | Workers Free |", "|---|---|---:|---:|---:|---|", ...rows].join("\n");
}

function breakdown(): string {
  const header = `| item (Workers Paid, batch mode) | ${RELAYS.map((r) => r.name).join(" | ")} |`;
  const estimates = RELAYS.map((r) => estimate({ eventsPerSecond: r.eventsPerSecond, mode: "batch" }, "paid"));
  const rows = PRICES.filter((p) => p.paidUsd > 0).map((p) => {
    const cells = estimates.map((e) => {
      const l = e.lines.find((x) => x.item === p.item)!;
      return `${usd(l.usd)} (${fmt(l.perMonth)}${l.allowanceUsed === null ? "" : `, ${fmt(l.allowanceUsed * 100)}% of the allowance`})`;
    });
    return `| ${p.label} | ${cells.join(" | ")} |`;
  });
  return [header, `|---|${RELAYS.map(() => "---:").join("|")}|`, `| subscription | ${estimates.map(() => usd(PAID_SUBSCRIPTION_USD)).join(" | ")} |`, ...rows, `| **total** | ${estimates.map((e) => `**${usd(e.totalUsd)}**`).join(" | ")} |`].join("\n");
}

/** One setting changed from the defaults, on two relays in batch mode. */
const LEVERS: { setting: string; change: Partial<RelayProfile>; why: string }[] = [
  { setting: "`JETSTREAM_SEND_SPACING_MS=100`", change: { sendSpacingMs: 100 }, why: "events wait ~100 ms less at low rates; up to twice the queue messages" },
  { setting: "`JETSTREAM_SEND_SPACING_MS=1000`", change: { sendSpacingMs: 1000 }, why: "fuller queue messages at low rates; events wait up to 1 s longer" },
  { setting: "`JETSTREAM_SEND_SPACING_MS=5000`", change: { sendSpacingMs: 5000 }, why: "up to 5 s longer" },
  { setting: "`JETSTREAM_ALARM_SECONDS=30`", change: { alarmSeconds: 30 }, why: "fewer alarms and state writes; a silent socket is found later" },
  { setting: "`max_batch_size: 100` (consumer, `wrangler.jsonc`)", change: { consumerBatchSize: 100 }, why: "fewer consumer invocations when messages come faster than 10 a second" },
  { setting: "`WEBHOOK_BATCH_SIZE=1`", change: { mode: "per-event" }, why: "one POST per event: more CPU" },
  { setting: "`JETSTREAM_MAX_EVENTS_PER_MESSAGE=1` and `WEBHOOK_BATCH_SIZE=1`", change: { mode: "baseline" }, why: "the original design: one queue message per event" },
];

/** What the frames cost if Cloudflare does not bill a socket the object opened itself (the assumption's other reading). */
function framesNotBilled(): string {
  const cells = RELAYS.map((r) => {
    const a = profileActivity({ eventsPerSecond: r.eventsPerSecond, mode: "batch" });
    const total = estimateCost({ ...a, websocketMessagesIn: 0 }, "paid").totalUsd;
    const delta = total - estimateCost(a, "paid").totalUsd;
    return `${usd(total)} (−${usd(Math.abs(delta))})`;
  });
  return `| frames on the relay's own socket not billed (the other reading of what the pages leave open) | ${cells.join(" | ")} | not a setting: the assumption |`;
}

/** On Workers Free the queue alone rules out continuous traffic: even one message per longest flush is too many. */
export function freePlanQueueNote(): string {
  const longestFlushMs = 10_000;
  const a = profileActivity({ eventsPerSecond: 1, mode: "batch", sendSpacingMs: longestFlushMs });
  const perDay = (a.queueUnitsWritten + a.queueUnitsRead + a.queueUnitsDeleted) * 86_400;
  const free = PRICES.find((p) => p.item === "queue-operations")!.freeIncludedPerDay!;
  return `On Workers Free no relay with continuous traffic fits: at the longest spacing (\`JETSTREAM_SEND_SPACING_MS=${longestFlushMs}\`) a relay sends a queue message every ${longestFlushMs / 1000} s, ${fmt(perDay)} queue operations a day against ${fmt(free)}; past the allowance its sends fail and the relay pauses reading (backpressure) until they succeed again, after 00:00 UTC. Free suits trying the relay out for a few hours.`;
}

function leversTable(): string {
  const relays = RELAYS;
  const base = relays.map((r) => estimate({ eventsPerSecond: r.eventsPerSecond, mode: "batch" }, "paid").totalUsd);
  const rows = LEVERS.map((lever) => {
    const cells = relays.map((r, i) => {
      const total = estimate({ eventsPerSecond: r.eventsPerSecond, mode: "batch", ...lever.change }, "paid").totalUsd;
      const delta = total - base[i];
      return `${usd(total)} (${delta >= 0 ? "+" : "−"}${usd(Math.abs(delta))})`;
    });
    return `| ${lever.setting} | ${cells.join(" | ")} | ${lever.why} |`;
  });
  return [
    `| setting (from the defaults, batch mode, Workers Paid) | ${relays.map((r) => r.name).join(" | ")} | trade-off |`,
    `|---|${relays.map(() => "---:").join("|")}|---|`,
    `| defaults (\`JETSTREAM_SEND_SPACING_MS=${DEFAULTS.sendSpacingMs}\`, \`JETSTREAM_ALARM_SECONDS=${DEFAULTS.alarmSeconds}\`, \`max_batch_size: ${DEFAULTS.consumerBatchSize}\`) | ${base.map(usd).join(" | ")} | |`,
    ...rows,
    framesNotBilled(),
  ].join("\n");
}

function profileNote(): string {
  const details = RELAYS.map((r) => {
    const d = profileActivity({ eventsPerSecond: r.eventsPerSecond, mode: "batch" }).detail;
    return `${r.name}: ${fmt(d.messagesPerSecond)} queue messages/s of ~${fmt(d.eventsPerMessage)} events (${fmt(d.messageBytes / 1000)} KB, ${d.unitsPerMessage} unit${d.unitsPerMessage > 1 ? "s" : ""}), ${fmt(d.invocationsPerSecond)} consumer invocations/s, ${fmt(d.requestsPerSecond)} webhook requests/s`;
  });
  return [`In batch mode with the defaults the model gives (a month is ${fmt(SECONDS_PER_MONTH)} s; bench figures of ${BENCH_MEASURED_ON}):`, "", ...details.map((d) => `- ${d}`)].join("\n");
}

export function renderCostTables(): string {
  return [
    "### Cloudflare's prices",
    "",
    pricesTable(),
    "",
    "### A month of three typical relays",
    "",
    relaysTable(),
    "",
    profileNote(),
    "",
    freePlanQueueNote(),
    "",
    "### Where the money goes",
    "",
    breakdown(),
    "",
    "### Which settings move the bill",
    "",
    leversTable(),
  ].join("\n");
}

/** The page's opening answer, in round dollars. */
export function renderCostSummary(): string {
  const total = (eventsPerSecond: number, mode: DeliveryMode, change: Partial<RelayProfile> = {}) => estimate({ eventsPerSecond, mode, ...change }, "paid").totalUsd;
  // Two significant figures above $100: what a month's estimate can claim.
  const round = (n: number) => {
    const step = n >= 100 ? 10 ** (Math.floor(Math.log10(n)) - 1) : 1;
    return `$${(Math.round(n / step) * step).toLocaleString("en-US")}`;
  };
  const [posts, likes, all] = RELAYS.map((r) => r.eventsPerSecond);
  return [
    `**In short:** on Workers Paid, a relay for posts costs about ${round(total(posts, "batch"))} a month with the defaults and about`,
    `${round(total(posts, "batch", { sendSpacingMs: 5000 }))} with \`JETSTREAM_SEND_SPACING_MS=5000\`; likes and follows about ${round(total(likes, "batch"))}; the whole network about`,
    `${round(total(all, "batch"))}. One queue message per event, as the original design did, costs ${round(total(posts, "baseline"))}, ${round(total(likes, "baseline"))} and`,
    `${round(total(all, "baseline"))}. Workers Free cannot carry continuous traffic (below).`,
  ].join("\n");
}

/** The generated part now in the page, or null when the markers are missing. */
export function costTablesInPage(page: string): string | null {
  return between(page, COST_START, COST_END);
}

export function costSummaryInPage(page: string): string | null {
  return between(page, SUMMARY_START, SUMMARY_END);
}

/** The page with the model's summary and tables between their markers. */
export function withCostTables(page: string): string {
  return replaceBetween(replaceBetween(page, SUMMARY_START, SUMMARY_END, renderCostSummary()), COST_START, COST_END, renderCostTables());
}

function between(page: string, startMarker: string, endMarker: string): string | null {
  const start = page.indexOf(startMarker);
  const end = page.indexOf(endMarker);
  if (start < 0 || end < start) return null;
  return page.slice(start + startMarker.length, end).trim();
}

function replaceBetween(page: string, startMarker: string, endMarker: string, text: string): string {
  const start = page.indexOf(startMarker);
  const end = page.indexOf(endMarker);
  if (start < 0 || end < start) throw new Error(`the page has no markers ${startMarker} … ${endMarker}`);
  return `${page.slice(0, start + startMarker.length)}\n${text}\n${page.slice(end)}`;
}
