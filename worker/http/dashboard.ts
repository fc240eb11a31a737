import type { Gap, HealthReport, RelayStats, RelayStatus, StreamPosition } from "../contract.ts";
import { renderMinuteChart } from "./chart.ts";
import { formatAgo, formatCount, formatDuration, formatPercent, formatRate, formatTime } from "./dashboard-format.ts";
import { isoFromUs } from "../time-us.ts";
import { html, SafeHtml } from "./html.ts";

export const DASHBOARD_REFRESH_SECONDS = 30;

export interface DeadLetterCount {
  total: number;
  evicted: number;
}

/** Everything the dashboard shows; parts that could not be fetched are null and said so on the page. */
export interface DashboardData {
  stats: RelayStats;
  status: RelayStatus | null;
  health: HealthReport | null;
  deadLetters: DeadLetterCount | null;
  version: string;
  now: Date;
  /** Sentences about parts that could not be fetched. */
  problems: string[];
}

function time(iso: string | null | undefined, now: Date): SafeHtml {
  const text = formatTime(iso);
  if (text === null) return html`<span class="muted">never</span>`;
  return html`<time datetime="${iso}">${text}</time> <span class="muted">(${formatAgo(iso, now)})</span>`;
}

function card(id: string, label: string, value: string | SafeHtml, note: string | SafeHtml = ""): SafeHtml {
  return html`<div class="card" id="${id}"><div class="label">${label}</div><div class="value">${value}</div><div class="note">${note}</div></div>`;
}

function row(label: string, value: string | SafeHtml, id = ""): SafeHtml {
  return html`<tr${id ? html` id="${id}"` : ""}><th scope="row">${label}</th><td>${value}</td></tr>`;
}

const STATE_TONE: Record<string, string> = { connected: "good", connecting: "warn", backoff: "warn", paused: "warn", "config-error": "bad" };

function header(data: DashboardData): SafeHtml {
  const { status, health } = data;
  const state = status?.state ?? "unknown";
  const healthPill = health
    ? html`<span id="health-pill" class="pill ${health.healthy ? "good" : "bad"}">${health.healthy ? "healthy" : "unhealthy"}</span>`
    : html`<span id="health-pill" class="pill bad">health unknown</span>`;
  return html`<header>
<h1>jetstream-relay</h1>
<div class="pills"><span id="state-pill" class="pill ${STATE_TONE[state] ?? "bad"}">${state}</span> ${healthPill}</div>
<p class="endpoint">Endpoint: <code id="endpoint">${status?.endpoint ?? "none"}</code>${status?.wire ? html` <span id="wire-pill" class="pill wire">${wireName(status.wire)}</span>` : ""}</p>
</header>`;
}

function wireName(wire: string): string {
  return wire === "v2" ? "v2 wire" : `${wire} wire`;
}

/** Where the relay stands: the seq on v2 (the exact resume point on that instance), else the time only. */
function positionText(p: StreamPosition | null | undefined, now: Date): SafeHtml {
  if (!p) return html`<span class="muted">none yet</span>`;
  const where = p.endpoint ? html` on <code>${p.endpoint}</code>` : "";
  const wire = p.wire ? html` <span class="muted">(${p.wire})</span>` : "";
  const at = time(p.time, now);
  if (p.seq === null) return html`${at}${where}${wire} <span class="muted">· no seq on this wire</span>`;
  return html`seq ${formatCount(p.seq)}${where}${wire} · ${at}`;
}

function problemsBlock(data: DashboardData): SafeHtml {
  const configErrors = data.status?.configErrors ?? [];
  const configWarnings = data.status?.configWarnings ?? [];
  // Configuration problems are listed one by one below (with their fix); their summary reason would repeat them.
  const reasons = (data.health && !data.health.healthy ? data.health.reasons : []).filter((r) => r.code !== "config-error" || configErrors.length === 0);
  if (reasons.length === 0 && configErrors.length === 0 && configWarnings.length === 0 && data.problems.length === 0) return html``;
  return html`<section class="alert" id="problems"><h2>Needs attention</h2><ul>
${reasons.map((r) => html`<li><code>${r.code}</code> ${r.message}</li>`)}
${configErrors.map((p) => html`<li><code>${p.variable}</code> ${p.message} <span class="muted">${p.fix}</span></li>`)}
${configWarnings.map((p) => html`<li><code>${p.variable}</code> (warning) ${p.message} <span class="muted">${p.fix}</span></li>`)}
${data.problems.map((p) => html`<li>${p}</li>`)}
</ul></section>`;
}

function overview(data: DashboardData): SafeHtml {
  const { stats, now } = data;
  const collections = Object.keys(stats.eventCounts).length;
  return html`<section class="cards" aria-label="Overview">
${card("commit-events", "Commit events processed", formatCount(stats.totalEvents), formatRate(stats.rates?.forwardedPerSecond))}
${card("total-received", "Total received", formatCount(stats.totalReceived), formatRate(stats.rates?.receivedPerSecond))}
${card("efficiency", "Processing efficiency", formatPercent(stats.totalEvents, stats.totalReceived), "commit events / received")}
${card("unique-collections", "Unique collections", formatCount(collections), "")}
${card("last-event", "Last event", formatAgo(stats.lastEventTime, now) ?? "never", formatTime(stats.lastEventTime) ?? "")}
${card("lag", "Lag behind real time", formatDuration(stats.lagSeconds), stats.cursor === null ? "no cursor yet" : html`cursor ${formatTime(isoFromUs(stats.cursor))}`)}
</section>`;
}

function connection(data: DashboardData): SafeHtml {
  const { status, stats, now } = data;
  if (!status) return html`<section><h2>Connection</h2><p class="muted">Status unavailable.</p></section>`;
  return html`<section><h2>Connection</h2><table class="kv">
${row("State", status.state, "conn-state")}
${row("Endpoint", html`<code>${status.endpoint ?? "none"}</code>`)}
${row("Wire", status.wire ?? html`<span class="muted">unknown</span>`, "conn-wire")}
${row("Position", positionText(status.position ?? stats.position, now), "position")}
${row("Connected since", time(status.connectedSince, now))}
${row("Last frame", time(status.lastFrameAt, now))}
${status.config ? row("Collections", html`<code>${status.config.collections.join(", ")}</code>`, "filter") : ""}
${row("Reconnects", formatCount(status.reconnects ?? stats.reconnects), "reconnects")}
${row("Too slow (ConsumerTooSlow)", status.consumerTooSlow > 0 ? html`<span class="bad-text">${formatCount(status.consumerTooSlow)}</span> <span class="muted">the server closed because the relay read too slowly; it resumed from its position</span>` : "0", "consumer-too-slow")}
${row("Last error", status.lastError ? html`${status.lastError} <span class="muted">${formatTime(status.lastErrorAt) ?? ""}</span>` : html`<span class="muted">none</span>`)}
${status.nextAttemptAt ? row("Next attempt", time(status.nextAttemptAt, now)) : ""}
${row("Skipped / malformed", html`${formatCount(stats.skipped)} / ${formatCount(stats.malformed)}`)}
</table></section>`;
}

function delivery(data: DashboardData): SafeHtml {
  const { stats, now, deadLetters } = data;
  const d = stats.delivery;
  const latency = d.latencyMs.p50 === null ? "—" : `${formatCount(d.latencyMs.p50)} ms p50 · ${formatCount(d.latencyMs.p99)} ms p99`;
  return html`<section><h2>Delivery</h2><table class="kv">
${row("Delivered", formatCount(d.delivered), "delivered")}
${row("Retries", formatCount(d.retried), "retried")}
${row("Failed (not retryable)", formatCount(d.failed))}
${row("Dead-lettered", formatCount(d.deadLettered), "dead-lettered")}
${row("Dead letters stored", deadLetters ? html`${formatCount(deadLetters.total)}${deadLetters.evicted > 0 ? html` <span class="bad-text">(${formatCount(deadLetters.evicted)} evicted)</span>` : ""}` : "—", "dead-letters-stored")}
${row("Unacknowledged messages", formatCount(d.unackedMessages))}
${row("Latency", latency)}
${row("Delivery lag", formatDuration(d.lagSeconds))}
${row("Last success", time(d.lastSuccessAt, now))}
${row("Last error", d.lastError ? html`<span class="bad-text">${d.lastError}</span> <span class="muted">${formatTime(d.lastErrorAt) ?? ""}</span>` : html`<span class="muted">none</span>`, "delivery-error")}
</table></section>`;
}

function gaps(data: DashboardData): SafeHtml {
  const { stats } = data;
  const open = stats.gaps.filter((g) => !g.acknowledged).length;
  return html`<section id="gaps"><h2>Gaps <span class="count">${formatCount(stats.gapsDetected)} detected${open > 0 ? html`, <span class="bad-text">${formatCount(open)} unacknowledged</span>` : ""}</span></h2>
${stats.gaps.length === 0 ? html`<p class="muted">No gaps: every event since the saved cursor was received.</p>` : html`<div class="scroll"><table class="list">
<thead><tr><th>Missed from</th><th>to</th><th>Seqs</th><th>Known</th><th>Detected</th><th>Endpoint</th><th></th></tr></thead><tbody>
${stats.gaps.map((g, i) => html`<tr class="gap${g.exact ? " exact" : ""}"><td>${formatTime(g.from) ?? g.from}</td><td>${formatTime(g.to) ?? g.to}</td><td class="num" id="gap-${i}-seqs">${gapSeqs(g)}</td><td id="gap-${i}-known">${gapKnown(g)}</td><td>${formatTime(g.detectedAt) ?? g.detectedAt}</td><td><code>${g.endpoint}</code></td><td>${g.acknowledged ? "acknowledged" : html`<span class="bad-text">open</span>`}</td></tr>`)}
</tbody></table></div>`}
</section>`;
}

/** The seqs the server no longer had (v2): from the one asked for to the one it resumed at. */
function gapSeqs(g: Gap): SafeHtml {
  if (typeof g.toSeq !== "number") return html`<span class="muted">—</span>`;
  return html`${typeof g.fromSeq === "number" ? formatCount(g.fromSeq) : "?"} → ${formatCount(g.toSeq)}`;
}

/** Exact (the v2 server said what it no longer has, in its words) or inferred from the legacy wire's threshold. */
function gapKnown(g: Gap): SafeHtml {
  if (!g.exact) return html`<span class="muted">inferred</span>`;
  return html`exact${g.reason ? html` <span class="muted">${g.reason}</span>` : ""}`;
}

/** A collection name that may wrap after its dots (each part escaped). */
function breakable(name: string): SafeHtml {
  return html`${name.split(".").map((part, i) => (i === 0 ? part : html`.<wbr>${part}`))}`;
}

function collectionsTable(data: DashboardData): SafeHtml {
  const { stats } = data;
  const entries = Object.entries(stats.eventCounts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const top = entries[0]?.[1] ?? 0;
  if (entries.length === 0) return html`<section><h2>Events per collection</h2><p class="muted" id="no-collections">No commit events yet.</p></section>`;
  return html`<section><h2>Events per collection</h2><div class="scroll"><table class="list" id="collections">
<thead><tr><th>Collection</th><th class="num">Events</th><th class="num op">create</th><th class="num op">update</th><th class="num op">delete</th><th class="share">Share</th></tr></thead><tbody>
${entries.map(([name, count]) => {
  const ops = stats.operationCounts?.[name] ?? {};
  const width = top > 0 ? Math.max(1, Math.round((count / top) * 100)) : 0;
  return html`<tr><td class="name">${breakable(name)}</td><td class="num">${formatCount(count)}</td><td class="num op">${formatCount(ops.create ?? 0)}</td><td class="num op">${formatCount(ops.update ?? 0)}</td><td class="num op">${formatCount(ops.delete ?? 0)}</td><td class="share"><span class="bar" style="width:${width}%"></span><span class="pct">${formatPercent(count, stats.totalEvents)}</span></td></tr>`;
})}
</tbody></table></div></section>`;
}

/** The month projected at the last hour's rates: total, the items beyond the allowance, the warnings. */
function cost(data: DashboardData): SafeHtml {
  const c = data.stats.cost;
  if (!c) return html``;
  const billed = c.lines.filter((l) => l.usd > 0 || l.overAllowance);
  const plan = c.plan === "paid" ? `Workers Paid ($${c.subscriptionUsd.toFixed(2)} minimum)` : "Workers Free";
  return html`<section id="cost"><h2>Cost <span class="count">projected month: <span id="cost-total" class="${c.warnings.length ? "bad-text" : ""}">$${c.totalUsdPerMonth.toFixed(2)}</span> · ${plan}${c.budgetUsdPerMonth === null ? "" : ` · budget $${c.budgetUsdPerMonth.toFixed(2)}`}</span></h2>
${c.warnings.length ? html`<ul id="cost-warnings">${c.warnings.map((w) => html`<li class="bad-text">${w.message}</li>`)}</ul>` : ""}
<table class="kv">
${billed.length === 0 ? row("Beyond the allowance", html`<span class="muted">nothing: every item within the plan's allowance</span>`) : billed.map((l) => row(l.label, html`$${l.usd.toFixed(2)} <span class="muted">${l.note}</span>`))}
${row("Measured over", `${formatDuration(c.windowSeconds)} (rates since ${formatTime(c.since) ?? c.since})`)}
</table>
<p class="muted">Prices read ${c.pricesReadOn}; assumptions in <a href="/stats">/stats</a> <code>cost.assumptions</code>.</p>
</section>`;
}

function replay(data: DashboardData): SafeHtml {
  const r = data.stats.replay;
  if (!r) return html``;
  return html`<section id="replay"><h2>Replay</h2><table class="kv">
${row("State", r.state)}
${row("Window", html`${formatTime(r.from) ?? r.from} → ${formatTime(r.to) ?? r.to}`)}
${row("Progress", `${Math.round(r.progress * 100)}% · ${formatCount(r.eventsReplayed)} events`)}
${r.error ? row("Error", html`<span class="bad-text">${r.error}</span>`) : ""}
</table></section>`;
}

/** The dashboard page: pure, every value escaped by the `html` tag. */
export function renderDashboard(data: DashboardData): string {
  const { stats, now } = data;
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${DASHBOARD_REFRESH_SECONDS}">
<meta name="color-scheme" content="light dark">
<title>jetstream-relay dashboard</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${header(data)}
${problemsBlock(data)}
${overview(data)}
<section><h2>Events per minute, last hour</h2>${renderMinuteChart(stats.perMinute ?? [], now)}</section>
<div class="columns">${connection(data)}${delivery(data)}</div>
${gaps(data)}
${cost(data)}
${replay(data)}
${collectionsTable(data)}
<footer>jetstream-relay ${data.version} · updated <time datetime="${now.toISOString()}">${formatTime(now.toISOString())}</time> · refreshes every ${DASHBOARD_REFRESH_SECONDS} s · statistics since ${formatTime(stats.statsResetAt ?? stats.startedAt) ?? "start"} · <a href="/stats">JSON</a> · <a href="/metrics">metrics</a> · <a href="/health">health</a></footer>
</main>
</body>
</html>
`;
  return page.value;
}

/** A page for when the statistics themselves could not be fetched (still refreshing). */
export function renderDashboardError(message: string, version: string): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${DASHBOARD_REFRESH_SECONDS}"><meta name="color-scheme" content="light dark">
<title>jetstream-relay dashboard — unavailable</title><style>${STYLE}</style></head>
<body><main><header><h1>jetstream-relay</h1><div class="pills"><span class="pill bad">unavailable</span></div></header>
<section class="alert"><h2>Statistics unavailable</h2><p id="error">${message}</p><p class="muted">This page retries every ${DASHBOARD_REFRESH_SECONDS} s.</p></section>
<footer>jetstream-relay ${version}</footer></main></body></html>
`.value;
}

// Static CSS (no values interpolated). Light by default, dark under prefers-color-scheme.
const STYLE = new SafeHtml(`
:root{--bg:#f6f7f9;--fg:#1b1f24;--muted:#5f6b7a;--card:#fff;--line:#dde2e8;--accent:#1668dc;--accent-soft:#b9d3f7;--good:#17803d;--warn:#a15c00;--bad:#c4232b;--good-bg:#e3f5e9;--warn-bg:#fdf0dc;--bad-bg:#fde6e7}
@media (prefers-color-scheme:dark){:root{--bg:#111418;--fg:#e6e9ee;--muted:#97a3b3;--card:#1a1f26;--line:#2c343f;--accent:#5aa2ff;--accent-soft:#2d4466;--good:#5fd38a;--warn:#f0b35a;--bad:#ff7b82;--good-bg:#16321f;--warn-bg:#3a2a12;--bad-bg:#3d1a1d}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1100px;margin:0 auto;padding:16px}
header{display:flex;flex-wrap:wrap;align-items:center;gap:8px 16px;margin-bottom:12px}
h1{font-size:1.35rem;margin:0}
h2{font-size:1rem;margin:0 0 8px}
.count{font-weight:normal;color:var(--muted)}
.endpoint{flex-basis:100%;margin:0;color:var(--muted);overflow-wrap:anywhere}
code{font:0.9em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.pill{display:inline-block;padding:2px 10px;border-radius:999px;font-size:.85rem;font-weight:600}
.pill.good{background:var(--good-bg);color:var(--good)}.pill.warn{background:var(--warn-bg);color:var(--warn)}.pill.bad{background:var(--bad-bg);color:var(--bad)}.pill.wire{background:var(--line);color:var(--fg);font-weight:500}
.bad-text{color:var(--bad)}
.muted{color:var(--muted)}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px;margin:0 0 12px}
section.cards{background:none;border:0;padding:0;display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px}
.card .label{font-size:.8rem;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}
.card .value{font-size:1.6rem;font-weight:650;font-variant-numeric:tabular-nums;margin:2px 0}
.card .note{font-size:.8rem;color:var(--muted);min-height:1em}
.alert{border-color:var(--bad);background:var(--bad-bg)}
.alert ul{margin:0;padding-left:18px}
.columns{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px}
.columns section{margin:0 0 12px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:5px 6px;border-bottom:1px solid var(--line);vertical-align:top}
tr:last-child th,tr:last-child td{border-bottom:0}
.kv th{font-weight:normal;color:var(--muted);width:45%}
.kv td{font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.list thead th{font-size:.8rem;color:var(--muted);font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.name{overflow-wrap:break-word;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
.share{width:22%;min-width:90px}
.share .bar{display:inline-block;height:8px;background:var(--accent);border-radius:4px;vertical-align:middle;max-width:calc(100% - 48px)}
.share .pct{font-size:.8rem;color:var(--muted);margin-left:6px}
.scroll{overflow-x:auto}
.chart{margin:0}
.chart svg{display:block;width:100%;height:140px}
.chart .received{fill:var(--accent-soft)}.chart .forwarded{fill:var(--accent)}
.chart .grid{stroke:var(--line);stroke-dasharray:4 4}.chart .axis{stroke:var(--muted)}
.chart-scale{font-size:.75rem;color:var(--muted)}
figcaption{display:flex;justify-content:space-between;gap:8px;font-size:.75rem;color:var(--muted);margin-top:4px}
.key{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 8px;vertical-align:-1px}
.key.received{background:var(--accent-soft)}.key.forwarded{background:var(--accent)}
footer{color:var(--muted);font-size:.8rem;text-align:center;padding:8px 0 24px}
footer a{color:var(--accent)}
@media (max-width:520px){main{padding:10px}.card .value{font-size:1.3rem}section.cards{grid-template-columns:repeat(2,minmax(0,1fr));gap:8px}.kv th{width:50%}.op{display:none}.share{width:30%;min-width:70px}}
`);
