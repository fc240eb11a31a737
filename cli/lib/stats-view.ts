import type { RelayStats } from "../../worker/api-types.ts";
import type { Colors } from "./colors.ts";
import { formatCount, formatCursor, formatDuration, formatMs, formatPercent, formatPosition, formatRate, formatTime } from "./terminal-format.ts";
import { renderPairs, renderTable } from "./table.ts";
import { failureLines, type WatchState } from "./watch-view.ts";

/** GET /stats: the relay's statistics plus the dead-letter store's count (null when it could not answer). */
export type StatsAnswer = RelayStats & { deadLetters?: { total: number; evicted: number } | null };

/** A poll's result and when it arrived (local clock), to compute rates between polls. */
export interface StatsSample {
  value: StatsAnswer;
  at: number;
}

export interface PollRates {
  seconds: number;
  received: number;
  forwarded: number;
  delivered: number;
  perCollection: Record<string, number>;
}

/** Rates between two polls; null when there is no earlier poll or the statistics were reset in between. */
export function ratesBetween(previous: StatsSample | undefined, current: StatsSample): PollRates | null {
  if (!previous) return null;
  const seconds = (current.at - previous.at) / 1000;
  const a = previous.value;
  const b = current.value;
  if (seconds <= 0 || b.totalReceived < a.totalReceived || b.statsResetAt !== a.statsResetAt) return null;
  const perCollection: Record<string, number> = {};
  for (const [collection, count] of Object.entries(b.eventCounts ?? {})) {
    perCollection[collection] = Math.max(0, count - (a.eventCounts?.[collection] ?? 0)) / seconds;
  }
  return {
    seconds,
    received: (b.totalReceived - a.totalReceived) / seconds,
    forwarded: Math.max(0, (b.forwarded ?? 0) - (a.forwarded ?? 0)) / seconds,
    delivered: Math.max(0, (b.delivery?.delivered ?? 0) - (a.delivery?.delivered ?? 0)) / seconds,
    perCollection,
  };
}

export interface StatsViewContext {
  url: string;
  colors: Colors;
  now: number;
  rates: PollRates | null;
  /** Under --watch: the poll interval, and the failure of the latest poll if it failed. */
  watch?: WatchState;
}

/** The human-readable statistics: totals and rates, lag, delivery health, queue, gaps, per collection. */
export function renderStats(stats: StatsAnswer, context: StatsViewContext): string[] {
  const c = context.colors;
  const rates = context.rates;
  const lines: string[] = [];
  const title = `${c.bold("jetstream-relay stats")} ${c.dim("·")} ${context.url}`;
  const when = context.watch
    ? c.dim(`every ${formatDuration(context.watch.intervalMs / 1000)} · updated ${clock(context.now)} · Ctrl-C to stop`)
    : c.dim(`at ${clock(context.now)}`);
  lines.push(`${title}  ${when}`);
  if (context.watch?.failure) lines.push(...failureLines(context.watch.failure, c));
  lines.push("");

  const rateHeader = rates ? `/s (last ${formatDuration(rates.seconds)})` : "/s (between polls)";
  const rateCell = (value: number | undefined) => (rates ? formatRate(value) : c.dim("—"));
  lines.push(
    ...renderTable(
      [{ header: "events" }, { header: "total", align: "right" }, { header: rateHeader, align: "right" }, { header: "/s (relay)", align: "right" }],
      [
        ["received", formatCount(stats.totalReceived), rateCell(rates?.received), formatRate(stats.rates?.receivedPerSecond)],
        ["forwarded", formatCount(stats.forwarded ?? stats.totalEvents), rateCell(rates?.forwarded), formatRate(stats.rates?.forwardedPerSecond)],
        ["skipped", formatCount(stats.skipped), "", ""],
        ["malformed", stats.malformed ? c.yellow(formatCount(stats.malformed)) : formatCount(stats.malformed), "", ""],
        ["delivered", formatCount(stats.delivery?.delivered), rateCell(rates?.delivered), ""],
      ],
      { header: c.dim },
    ),
  );
  lines.push("");

  const d = stats.delivery;
  const deadLetters = stats.deadLetters;
  const gapsOpen = (stats.gaps ?? []).filter((gap) => !gap.acknowledged);
  const pairs: [string, string][] = [
    ["lag", `${lagText(stats.lagSeconds, c)} behind real time${stats.lastEventTime ? ` · last event ${formatTime(stats.lastEventTime, context.now)}` : ""}`],
    ["position", formatPosition(stats.position, context.now)],
    ["cursor", formatCursor(stats.cursor, context.now)],
    ["kinds", Object.entries(stats.kindCounts ?? {}).map(([kind, count]) => `${kind} ${formatCount(count)}`).join(" · ") || "—"],
    ["reconnects", formatCount(stats.reconnects)],
    ["gaps", stats.gapsDetected ? `${formatCount(stats.gapsDetected)} detected${exactText(stats.gaps ?? [])}${gapsOpen.length ? c.yellow(` · ${gapsOpen.length} not acknowledged (jetstream-relay gaps)`) : ""}` : "none"],
  ];
  if (stats.consumerTooSlow) pairs.push(["too slow", c.yellow(`${formatCount(stats.consumerTooSlow)}× ConsumerTooSlow (the v2 server closed the connection; the relay reconnected)`)]);
  if (stats.storage && !stats.storage.ok) pairs.push(["storage", c.red(`failing: ${stats.storage.lastError ?? "unknown error"}`)]);
  lines.push(...renderPairs(pairs, { label: c.dim }));
  lines.push("");

  if (d) {
    const failing = d.lastErrorAt && (!d.lastSuccessAt || Date.parse(d.lastErrorAt) > Date.parse(d.lastSuccessAt));
    const health = failing ? c.red("failing") : d.lastSuccessAt ? c.green("ok") : c.dim("nothing delivered yet");
    lines.push(`${c.bold("delivery")}  ${health}`);
    const deliveryPairs: [string, string][] = [
      [
        "counts",
        `delivered ${formatCount(d.delivered)} · retried ${warnIf(d.retried, c)} · failed ${errIf(d.failed, c)} · dead-lettered ${errIf(d.deadLettered, c)} · webhook requests ${formatCount(d.webhookRequests)}`,
      ],
      ["dead letters", deadLetters ? `${errIf(deadLetters.total, c)} kept${deadLetters.evicted ? c.red(` · ${formatCount(deadLetters.evicted)} evicted (store full)`) : ""}${deadLetters.total ? c.dim(" (jetstream-relay dlq list)") : ""}` : c.yellow("unknown (the dead-letter store did not answer)")],
      ["in flight", `${formatCount(d.unackedMessages)} queue messages${d.oldestUnackedUs ? ` · oldest event ${formatCursor(d.oldestUnackedUs, context.now)}` : ""}`],
      ["latency", `p50 ${formatMs(d.latencyMs?.p50)} · p99 ${formatMs(d.latencyMs?.p99)} · webhook lag ${lagText(d.lagSeconds, c)}`],
      ["last success", formatTime(d.lastSuccessAt, context.now)],
    ];
    if (d.lastError) deliveryPairs.push(["last error", `${c.red(d.lastError)} ${c.dim(formatTime(d.lastErrorAt, context.now))}`]);
    lines.push(...renderPairs(deliveryPairs, { indent: "  ", label: c.dim }));
    lines.push("");
  }

  const q = stats.queue;
  if (q) {
    lines.push(
      `${c.bold("queue")}  ${c.dim(`enqueued ${formatCount(q.eventsEnqueued)} events in ${formatCount(q.messagesSent)} messages (${formatCount(q.sendCalls)} calls) · oversized ${formatCount(q.oversizedEvents)} · backpressure pauses ${formatCount(q.backpressurePauses)}`)}`,
    );
    lines.push("");
  }

  lines.push(...costLines(stats.cost, c));

  if (stats.replay) {
    const r = stats.replay;
    lines.push(`${c.bold("replay")}  ${r.state} · ${Math.round(r.progress * 100)}% · ${formatCount(r.eventsReplayed)} events · ${r.from} → ${r.to}${r.error ? c.red(` · ${r.error}`) : ""}`);
    lines.push("");
  }

  const collections = Object.entries(stats.eventCounts ?? {}).sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]));
  const total = stats.totalEvents ?? 0;
  if (collections.length === 0) {
    lines.push(c.dim("no events forwarded yet"));
  } else {
    const rows = collections.map(([collection, count]) => {
      const ops = stats.operationCounts?.[collection] ?? {};
      return [
        collection,
        formatCount(count),
        formatPercent(count, total),
        rates ? formatRate(rates.perCollection[collection] ?? 0) : c.dim("—"),
        formatCount(ops.create ?? 0),
        formatCount(ops.update ?? 0),
        formatCount(ops.delete ?? 0),
      ];
    });
    lines.push(
      ...renderTable(
        [
          { header: `collections (${collections.length})` },
          { header: "events", align: "right" },
          { header: "share", align: "right" },
          { header: "/s", align: "right" },
          { header: "create", align: "right" },
          { header: "update", align: "right" },
          { header: "delete", align: "right" },
        ],
        rows,
        { header: c.dim },
      ),
    );
  }
  lines.push("");
  lines.push(c.dim(`running since ${formatTime(stats.startedAt, context.now)}${stats.statsResetAt ? ` · statistics reset ${formatTime(stats.statsResetAt, context.now)}` : ""}`));
  return lines;
}

/** The projected month in one line (the biggest items first), and its warnings. */
export function costLines(cost: RelayStats["cost"], c: Colors): string[] {
  if (!cost) return [];
  const items = cost.lines
    .filter((l) => l.usd > 0)
    .sort((a, b) => b.usd - a.usd)
    .map((l) => `${l.label} $${l.usd.toFixed(2)}`);
  const base = cost.plan === "paid" ? `$${cost.subscriptionUsd.toFixed(2)} minimum` : "Free plan";
  const over = cost.lines.filter((l) => l.overAllowance).length;
  const most = cost.lines.reduce<(typeof cost.lines)[number] | null>((top, l) => (l.allowanceUsed !== null && (top === null || l.allowanceUsed > (top.allowanceUsed ?? 0)) ? l : top), null);
  const share = most ? `; most used: ${most.label} ${formatCount(Math.round((most.allowanceUsed ?? 0) * 100))}%` : "";
  const allowance = `${over === 0 ? "within the plan's allowance" : `${over} item(s) past the plan's allowance`}${share}`;
  const budget = cost.budgetUsdPerMonth === null ? "" : ` · budget $${cost.budgetUsdPerMonth.toFixed(2)}`;
  const total = `$${cost.totalUsdPerMonth.toFixed(2)}/month`;
  const lines = [
    `${c.bold("cost")}  ${cost.warnings.length ? c.yellow(total) : total} ${c.dim(`(${[base, ...items].join(" + ")} · ${allowance}${budget} · at the last ${formatDuration(cost.windowSeconds)}'s rates)`)}`,
  ];
  for (const warning of cost.warnings) lines.push(`  ${c.yellow("!")} ${warning.message}`);
  lines.push("");
  return lines;
}

/** " (1 exact)": gaps the v2 server named exactly, among those listed. */
function exactText(gaps: { exact?: boolean }[]): string {
  const exact = gaps.filter((gap) => gap.exact).length;
  return exact ? ` (${formatCount(exact)} exact)` : "";
}

function lagText(seconds: number | null | undefined, c: Colors): string {
  const text = formatDuration(seconds);
  if (typeof seconds !== "number") return text;
  return seconds > 300 ? c.red(text) : seconds > 30 ? c.yellow(text) : text;
}

function warnIf(count: number | undefined, c: Colors): string {
  return count ? c.yellow(formatCount(count)) : formatCount(count ?? 0);
}

function errIf(count: number | undefined, c: Colors): string {
  return count ? c.red(formatCount(count)) : formatCount(count ?? 0);
}

export function clock(at: number): string {
  return new Date(at).toISOString().slice(11, 19) + "Z";
}
