import type { ConnectionState, Gap, HealthReport, JetstreamWire, RelayStats, RelayStatus } from "../contract.ts";
import type { DeadLetterCount } from "./dashboard.ts";

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
const PREFIX = "jetstream_relay_";
const STATES: ConnectionState[] = ["config-error", "connecting", "connected", "backoff", "paused"];
const WIRES: JetstreamWire[] = ["v2", "legacy"];

export interface MetricsData {
  stats: RelayStats;
  status: RelayStatus | null;
  health: HealthReport | null;
  deadLetters: DeadLetterCount | null;
  version: string;
}

type Labels = Record<string, string>;
interface Sample {
  labels?: Labels;
  value: number | null | undefined;
}

/** Label values escape backslash, double quote and newline; HELP text escapes backslash and newline. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function formatLabels(labels: Labels | undefined): string {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return "";
  return `{${entries.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(",")}}`;
}

/** Collects metric families; samples without a value (null: not known yet) are left out. */
class Exposition {
  private readonly lines: string[] = [];

  add(name: string, type: "counter" | "gauge", help: string, samples: Sample[] | number | null | undefined): void {
    const list = Array.isArray(samples) ? samples : [{ value: samples }];
    const known = list.filter((s): s is Sample & { value: number } => typeof s.value === "number");
    if (known.length === 0) return;
    const full = PREFIX + name;
    this.lines.push(`# HELP ${full} ${escapeHelp(help)}`, `# TYPE ${full} ${type}`);
    for (const sample of known) this.lines.push(`${full}${formatLabels(sample.labels)} ${formatValue(sample.value)}`);
  }

  text(): string {
    return this.lines.join("\n") + "\n";
  }
}

const seconds = (iso: string | null | undefined): number | null => {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms / 1000;
};
const microsToSeconds = (us: number | null | undefined): number | null => (typeof us === "number" ? us / 1e6 : null);
const msToSeconds = (ms: number | null | undefined): number | null => (typeof ms === "number" ? ms / 1000 : null);

/** Forwarded commit events per collection and operation; counts without a known operation are "unknown". */
function commitSamples(stats: RelayStats): Sample[] {
  const samples: Sample[] = [];
  const names = new Set([...Object.keys(stats.eventCounts ?? {}), ...Object.keys(stats.operationCounts ?? {})]);
  for (const collection of [...names].sort()) {
    const ops = stats.operationCounts?.[collection] ?? {};
    let counted = 0;
    for (const [operation, count] of Object.entries(ops).sort()) {
      samples.push({ labels: { collection, operation }, value: count });
      counted += count;
    }
    const rest = (stats.eventCounts?.[collection] ?? 0) - counted;
    if (rest > 0) samples.push({ labels: { collection, operation: "unknown" }, value: rest });
  }
  return samples;
}

/** Seqs the server said it no longer had, over the open exact gaps that name both ends; null when none does. */
function missingSeqs(gaps: Gap[]): number | null {
  const known = gaps.filter((g) => g.exact && !g.acknowledged && typeof g.fromSeq === "number" && typeof g.toSeq === "number");
  return known.length === 0 ? null : known.reduce((sum, g) => sum + Math.max(0, g.toSeq! - g.fromSeq!), 0);
}

/** The Prometheus text exposition (format 0.0.4) of the relay's statistics: pure. */
export function renderMetrics(data: MetricsData): string {
  const { stats, status, health, deadLetters } = data;
  const d = stats.delivery;
  const q = stats.queue;
  const m = new Exposition();

  m.add("info", "gauge", "Build information of the relay; always 1.", [{ labels: { version: data.version }, value: 1 }]);
  m.add("start_time_seconds", "gauge", "Unix time at which the relay object started.", seconds(stats.startedAt));
  m.add("stats_reset_timestamp_seconds", "gauge", "Unix time of the last statistics reset (POST /reset); counters restart from zero then.", seconds(stats.statsResetAt));

  m.add("events_received_total", "counter", "Events received from Jetstream, including skipped and malformed ones.", stats.totalReceived);
  m.add("events_received_by_kind_total", "counter", "Events received from Jetstream by kind.", Object.entries(stats.kindCounts ?? {}).sort().map(([kind, value]) => ({ labels: { kind }, value })));
  m.add("events_forwarded_total", "counter", "Events forwarded to the queue.", stats.forwarded);
  m.add("events_skipped_total", "counter", "Events received but not forwarded (other kinds, other collections).", stats.skipped);
  m.add("events_malformed_total", "counter", "Frames that were not valid Jetstream events.", stats.malformed);
  m.add("commit_events_total", "counter", "Forwarded commit events by collection and operation.", commitSamples(stats));

  const state = status?.state ?? null;
  m.add("connected", "gauge", "1 when the Jetstream WebSocket is open.", status ? (status.connected ? 1 : 0) : null);
  m.add("connection_state", "gauge", "1 for the current connection state, 0 for the others.", state === null ? [] : STATES.map((s) => ({ labels: { state: s }, value: s === state ? 1 : 0 })));
  m.add("wire", "gauge", "1 for the Jetstream wire of the endpoint in use (v2 or legacy, chosen by its path), 0 for the other.", status?.wire ? WIRES.map((w) => ({ labels: { wire: w }, value: w === status.wire ? 1 : 0 })) : []);
  m.add("reconnects_total", "counter", "Reconnections to Jetstream.", stats.reconnects);
  m.add("consumer_too_slow_total", "counter", "ConsumerTooSlow error frames (v2): the server closed because the relay read too slowly; the relay resumed from its position.", status?.consumerTooSlow);
  m.add("lag_seconds", "gauge", "Seconds between now and the time of the newest event received.", stats.lagSeconds);
  m.add("cursor_timestamp_seconds", "gauge", "Unix time of the saved cursor.", microsToSeconds(stats.cursor));
  const position = stats.position ?? status?.position ?? null;
  m.add("position_seq", "gauge", "Seq of the relay's position on its v2 instance (seqs are per instance: compare only within one endpoint).", position && typeof position.seq === "number" ? [{ labels: { endpoint: position.endpoint ?? "" }, value: position.seq }] : []);
  m.add("last_event_timestamp_seconds", "gauge", "Unix time at which the newest event was received.", seconds(stats.lastEventTime));
  m.add("gaps_detected_total", "counter", "Gaps detected on resume (cursor older than the server's retention).", stats.gapsDetected);
  m.add("gaps_unacknowledged", "gauge", "Detected gaps not yet acknowledged by an operator (POST /gaps/ack).", (stats.gaps ?? []).filter((g) => !g.acknowledged).length);
  m.add("gaps_exact_unacknowledged", "gauge", "Unacknowledged gaps the v2 server named exactly (CursorTooOld, OutdatedCursor), whatever their size.", (stats.gaps ?? []).filter((g) => g.exact && !g.acknowledged).length);
  m.add("gaps_missing_seqs", "gauge", "Seqs the v2 server no longer had, over unacknowledged exact gaps (every event of the instance, filtered or not).", missingSeqs(stats.gaps ?? []));

  m.add("delivered_events_total", "counter", "Events the webhook acknowledged (2xx).", d.delivered);
  m.add("retried_events_total", "counter", "Delivery attempts that failed and were scheduled again.", d.retried);
  m.add("failed_events_total", "counter", "Events refused permanently by the webhook (non-retryable 4xx).", d.failed);
  m.add("dead_lettered_events_total", "counter", "Events moved to the dead-letter store.", d.deadLettered);
  m.add("webhook_requests_total", "counter", "HTTP requests made to the webhook.", d.webhookRequests);
  m.add("unacked_messages", "gauge", "Queue messages enqueued but not yet settled by the consumer.", d.unackedMessages);
  m.add("oldest_unacked_event_timestamp_seconds", "gauge", "Unix time (event time_us) of the oldest event not yet acknowledged by the webhook.", microsToSeconds(d.oldestUnackedUs));
  m.add("delivery_lag_seconds", "gauge", "Seconds between now and the newest event the webhook acknowledged.", d.lagSeconds);
  m.add("delivery_latency_seconds", "gauge", "Receipt-to-acknowledgement latency over recent deliveries, by quantile.", [
    { labels: { quantile: "0.5" }, value: msToSeconds(d.latencyMs?.p50) },
    { labels: { quantile: "0.99" }, value: msToSeconds(d.latencyMs?.p99) },
  ]);
  m.add("last_delivery_success_timestamp_seconds", "gauge", "Unix time of the last successful webhook delivery.", seconds(d.lastSuccessAt));
  m.add("last_delivery_error_timestamp_seconds", "gauge", "Unix time of the last failed webhook delivery.", seconds(d.lastErrorAt));

  m.add("queue_events_enqueued_total", "counter", "Events put on the queue.", q.eventsEnqueued);
  m.add("queue_messages_sent_total", "counter", "Queue messages sent.", q.messagesSent);
  m.add("queue_send_calls_total", "counter", "Calls made to the queue (send or sendBatch).", q.sendCalls);
  m.add("queue_sent_bytes_total", "counter", "Bytes sent to the queue.", q.bytesSent);
  m.add("queue_billed_units_total", "counter", "64 KB units of the messages sent to the queue (Cloudflare bills a write, a read and a delete per unit).", q.billedUnits);
  m.add("oversized_events_total", "counter", "Events too large for a queue message, delivered from storage.", q.oversizedEvents);
  m.add("backpressure_pauses_total", "counter", "Times reading paused because the queue could not keep up.", q.backpressurePauses);

  m.add("cost_projected_usd_per_month", "gauge", "The month's cost projected at the last hour's rates on the configured plan (GET /stats cost; docs/cost.md).", stats.cost?.totalUsdPerMonth);
  m.add("cost_warnings", "gauge", "1 for each cost warning: rates past the plan's allowance, or a projected month over COST_BUDGET_USD_PER_MONTH.", (stats.cost?.warnings ?? []).map((w) => ({ labels: { code: w.code }, value: 1 })));

  m.add("dead_letters", "gauge", "Dead letters stored (inspect with GET /dlq).", deadLetters?.total);
  m.add("dead_letters_evicted_total", "counter", "Dead letters dropped because the store was full.", deadLetters?.evicted);
  m.add("storage_ok", "gauge", "1 when the relay object's storage works.", stats.storage ? (stats.storage.ok ? 1 : 0) : null);
  m.add("config_errors", "gauge", "Configuration problems (see GET /status).", status ? status.configErrors.length : null);
  m.add("config_warnings", "gauge", "Settings that turn a feature off until fixed, e.g. replays (see GET /status).", status ? (status.configWarnings?.length ?? 0) : null);
  m.add("healthy", "gauge", "1 when GET /health answers 200.", health ? (health.healthy ? 1 : 0) : null);
  m.add("unhealthy_reason", "gauge", "1 for each reason GET /health gives for being unhealthy.", [...new Set((health?.reasons ?? []).map((r) => r.code))].map((code) => ({ labels: { code }, value: 1 })));

  const replay = stats.replay;
  if (replay) {
    m.add("replay_running", "gauge", "1 while an operator-requested replay runs.", replay.state === "running" ? 1 : 0);
    m.add("replay_progress_ratio", "gauge", "Progress of the latest replay, 0 to 1.", replay.progress);
    m.add("replay_events_total", "counter", "Events replayed by the latest replay.", replay.eventsReplayed);
  }
  return m.text();
}
