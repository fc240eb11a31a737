import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { escapeLabelValue, renderMetrics, type MetricsData } from "../../worker/http/metrics.ts";
import { busyStats, connectedStatus, emptyStats, HOSTILE, NOW, unhealthyReport, V2_ENDPOINT, v2Stats, v2Status } from "./http-fixtures.ts";

function data(overrides: Partial<MetricsData> = {}): MetricsData {
  return { stats: busyStats(), status: connectedStatus(), health: unhealthyReport(), deadLetters: { total: 5, evicted: 2 }, version: "9.9.9", ...overrides };
}

function families(text: string) {
  const parsed = parsePrometheusTextFormat(text);
  return new Map(parsed.map((f) => [f.name, f]));
}

function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families(text).get(name);
  const sample = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return sample?.value === undefined ? undefined : Number(sample.value);
}

describe("metrics renderer", () => {
  it("parses as the Prometheus text format, with HELP and TYPE for every family", () => {
    const text = renderMetrics(data());
    const parsed = parsePrometheusTextFormat(text);
    expect(parsed.length).toBeGreaterThan(30);
    for (const family of parsed) {
      expect(family.name).toMatch(/^jetstream_relay_[a-z_]+$/);
      expect(family.help).not.toBe("");
      expect(["COUNTER", "GAUGE"]).toContain(family.type);
      if (family.type === "COUNTER") expect(family.name).toMatch(/_total$/);
      expect(family.name).not.toMatch(/_ms$|_milliseconds|_us$/); // base units
    }
    // Every sample line belongs to a family announced just before it.
    const lines = text.trimEnd().split("\n");
    expect(lines.filter((l) => l.startsWith("# TYPE "))).toHaveLength(parsed.length);
    expect(text.endsWith("\n")).toBe(true);
  });

  it("counts configuration errors and warnings", () => {
    const warning = { variable: "JETSTREAM_RETENTION_HOURS", message: "m", fix: "f" };
    const text = renderMetrics(data({ status: { ...connectedStatus(), configWarnings: [warning, { ...warning, variable: "JETSTREAM_REPLAY_IDLE_SECONDS" }] } }));
    expect(value(text, "jetstream_relay_config_errors")).toBe(0);
    expect(value(text, "jetstream_relay_config_warnings")).toBe(2);
  });

  it("gives events per collection and operation, and the relay's counters", () => {
    const text = renderMetrics(data());
    expect(value(text, "jetstream_relay_commit_events_total", { collection: "app.bsky.feed.post", operation: "create" })).toBe(1100);
    expect(value(text, "jetstream_relay_commit_events_total", { collection: "app.bsky.feed.like", operation: "delete" })).toBe(400);
    expect(value(text, "jetstream_relay_events_received_total")).toBe(92_140);
    expect(value(text, "jetstream_relay_events_received_by_kind_total", { kind: "identity" })).toBe(100);
    expect(value(text, "jetstream_relay_events_forwarded_total")).toBe(4607);
    expect(value(text, "jetstream_relay_events_skipped_total")).toBe(87_500);
    expect(value(text, "jetstream_relay_events_malformed_total")).toBe(33);
    expect(value(text, "jetstream_relay_delivered_events_total")).toBe(4500);
    expect(value(text, "jetstream_relay_retried_events_total")).toBe(42);
    expect(value(text, "jetstream_relay_dead_lettered_events_total")).toBe(5);
    expect(value(text, "jetstream_relay_reconnects_total")).toBe(3);
    expect(value(text, "jetstream_relay_gaps_detected_total")).toBe(1);
    expect(value(text, "jetstream_relay_gaps_unacknowledged")).toBe(1);
    expect(value(text, "jetstream_relay_lag_seconds")).toBe(5.2);
    expect(value(text, "jetstream_relay_connected")).toBe(1);
    expect(value(text, "jetstream_relay_connection_state", { state: "connected" })).toBe(1);
    expect(value(text, "jetstream_relay_connection_state", { state: "backoff" })).toBe(0);
    expect(value(text, "jetstream_relay_unacked_messages")).toBe(4);
    expect(value(text, "jetstream_relay_oldest_unacked_event_timestamp_seconds")).toBe(1_795_923_010);
    expect(value(text, "jetstream_relay_delivery_latency_seconds", { quantile: "0.99" })).toBe(1.85);
    expect(value(text, "jetstream_relay_cursor_timestamp_seconds")).toBe(1_795_923_015);
    expect(value(text, "jetstream_relay_last_event_timestamp_seconds")).toBe(Date.parse("2026-11-29T03:30:15.000Z") / 1000);
    expect(value(text, "jetstream_relay_dead_letters")).toBe(5);
    expect(value(text, "jetstream_relay_dead_letters_evicted_total")).toBe(2);
    expect(value(text, "jetstream_relay_healthy")).toBe(0);
    expect(value(text, "jetstream_relay_unhealthy_reason", { code: "gap" })).toBe(1);
    expect(value(text, "jetstream_relay_info", { version: "9.9.9" })).toBe(1);
    expect(families(text).get("jetstream_relay_events_received_total")?.type).toBe("COUNTER");
    expect(families(text).get("jetstream_relay_lag_seconds")?.type).toBe("GAUGE");
  });

  it("escapes label values so a hostile collection name survives the round trip", () => {
    const stats = busyStats();
    const nasty = 'a"b\\c\nd}';
    stats.eventCounts[nasty] = 2;
    stats.operationCounts[nasty] = { update: 2 };
    const text = renderMetrics(data({ stats }));
    expect(value(text, "jetstream_relay_commit_events_total", { collection: nasty, operation: "update" })).toBe(2);
    expect(value(text, "jetstream_relay_commit_events_total", { collection: HOSTILE, operation: "create" })).toBe(7);
    expect(escapeLabelValue(nasty)).toBe('a\\"b\\\\c\\nd}');
    // No sample line is broken by the newline inside the name.
    for (const line of text.trimEnd().split("\n")) expect(line).toMatch(/^(# (HELP|TYPE) jetstream_relay_|jetstream_relay_[a-z_]+(\{.*\})? -?[0-9.e+]+$)/);
  });

  it("counts commit events without a known operation as operation=unknown", () => {
    const stats = emptyStats();
    stats.eventCounts = { "app.bsky.feed.post": 10 };
    stats.operationCounts = { "app.bsky.feed.post": { create: 6 } };
    const text = renderMetrics(data({ stats }));
    expect(value(text, "jetstream_relay_commit_events_total", { collection: "app.bsky.feed.post", operation: "unknown" })).toBe(4);
  });

  it("leaves out what is not known yet and still parses when everything is zero", () => {
    const text = renderMetrics(data({ stats: emptyStats(), status: null, health: null, deadLetters: null }));
    const names = families(text);
    expect(value(text, "jetstream_relay_events_received_total")).toBe(0);
    expect(names.has("jetstream_relay_commit_events_total")).toBe(false);
    expect(names.has("jetstream_relay_lag_seconds")).toBe(false);
    expect(names.has("jetstream_relay_connected")).toBe(false);
    expect(names.has("jetstream_relay_dead_letters")).toBe(false);
    expect(names.has("jetstream_relay_healthy")).toBe(false);
    expect(names.has("jetstream_relay_wire")).toBe(false);
    expect(names.has("jetstream_relay_consumer_too_slow_total")).toBe(false);
    expect(names.has("jetstream_relay_position_seq")).toBe(false);
    expect(text).not.toMatch(/null|undefined|NaN/);
  });

  it("gives the wire, the position's seq, ConsumerTooSlow and the exact gaps on v2", () => {
    const text = renderMetrics(data({ stats: v2Stats(), status: v2Status() }));
    expect(value(text, "jetstream_relay_wire", { wire: "v2" })).toBe(1);
    expect(value(text, "jetstream_relay_wire", { wire: "legacy" })).toBe(0);
    expect(value(text, "jetstream_relay_position_seq", { endpoint: V2_ENDPOINT })).toBe(123_456_789);
    expect(value(text, "jetstream_relay_consumer_too_slow_total")).toBe(2);
    expect(families(text).get("jetstream_relay_consumer_too_slow_total")?.type).toBe("COUNTER");
    expect(value(text, "jetstream_relay_gaps_unacknowledged")).toBe(2);
    expect(value(text, "jetstream_relay_gaps_exact_unacknowledged")).toBe(1);
    expect(value(text, "jetstream_relay_gaps_missing_seqs")).toBe(2500);
  });

  it("on the legacy wire: no seq, no missing seqs, ConsumerTooSlow zero; an acknowledged exact gap is not counted", () => {
    const legacy = renderMetrics(data());
    expect(value(legacy, "jetstream_relay_wire", { wire: "legacy" })).toBe(1);
    expect(families(legacy).has("jetstream_relay_position_seq")).toBe(false);
    expect(families(legacy).has("jetstream_relay_gaps_missing_seqs")).toBe(false);
    expect(value(legacy, "jetstream_relay_gaps_exact_unacknowledged")).toBe(0);
    expect(value(legacy, "jetstream_relay_consumer_too_slow_total")).toBe(0);
    const stats = v2Stats();
    stats.gaps[0]!.acknowledged = true;
    const acknowledged = renderMetrics(data({ stats, status: v2Status() }));
    expect(value(acknowledged, "jetstream_relay_gaps_exact_unacknowledged")).toBe(0);
    expect(families(acknowledged).has("jetstream_relay_gaps_missing_seqs")).toBe(false);
  });

  it("reports a running replay", () => {
    const stats = emptyStats();
    stats.replay = { id: "r1", state: "running", from: NOW.toISOString(), to: NOW.toISOString(), fromUs: 1, toUs: 2, collections: [], positionUs: null, progress: 0.25, eventsReplayed: 12, startedAt: NOW.toISOString(), finishedAt: null, error: null };
    const text = renderMetrics(data({ stats }));
    expect(value(text, "jetstream_relay_replay_running")).toBe(1);
    expect(value(text, "jetstream_relay_replay_progress_ratio")).toBe(0.25);
    expect(value(text, "jetstream_relay_replay_events_total")).toBe(12);
  });
});
