// The pure parts of the operate commands: colour decision, URL normalisation, table layout, frame fitting,
// rates between polls, formatting.
import { describe, expect, it } from "vitest";
import { colorEnabled, stripAnsi, visibleLength } from "../../cli/lib/colors.ts";
import { formatCount, formatDuration, formatGapSeqs, formatPosition, formatRate } from "../../cli/lib/terminal-format.ts";
import { fitFrame } from "../../cli/lib/live-screen.ts";
import { HEALTH_REASON_CODES, healthHint } from "../../cli/lib/health-hints.ts";
import { ratesBetween } from "../../cli/lib/stats-view.ts";
import { renderTable, truncateVisible, wrapText } from "../../cli/lib/table.ts";
import { normalizeUrl } from "../../cli/lib/target.ts";
import { sampleExactGap, sampleStats, sampleV2Position } from "./support/fake-relay.ts";

describe("colorEnabled", () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };
  it.each([
    [tty, undefined, {}, true],
    [pipe, undefined, {}, false],
    [tty, false, {}, false],
    [tty, undefined, { NO_COLOR: "1" }, false],
    [tty, undefined, { NO_COLOR: "" }, true],
    [pipe, undefined, { FORCE_COLOR: "1" }, true],
    [tty, undefined, { FORCE_COLOR: "0" }, false],
    [pipe, false, { FORCE_COLOR: "1" }, false],
    [tty, undefined, { NO_COLOR: "1", FORCE_COLOR: "1" }, false],
    [tty, undefined, { TERM: "dumb" }, false],
  ] as const)("%j flag=%s env=%j → %s", (stream, flag, env, expected) => {
    expect(colorEnabled(stream, flag, env as NodeJS.ProcessEnv)).toBe(expected);
  });
});

describe("normalizeUrl", () => {
  it("drops trailing slashes, query and fragment", () => {
    expect(normalizeUrl("https://relay.example.workers.dev/", "--url")).toBe("https://relay.example.workers.dev");
    expect(normalizeUrl(" http://127.0.0.1:8787/?x=1#y ", "--url")).toBe("http://127.0.0.1:8787");
  });
  it("refuses other schemes and credentials in the URL", () => {
    expect(() => normalizeUrl("ws://x", "--url")).toThrow(/http:\/\/ or https:\/\//);
    expect(() => normalizeUrl("https://user:pw@x", "--url")).toThrow(/credentials/);
    expect(() => normalizeUrl("not a url", "--url")).toThrow(/not a URL/);
  });
});

describe("tables and frames", () => {
  it("renderTable pads by visible width, ANSI codes take no room", () => {
    const lines = renderTable([{ header: "name" }, { header: "n", align: "right" }], [["\x1b[31mred\x1b[39m", "1"], ["longer-name", "1,000"]]);
    expect(lines.map(stripAnsi)).toEqual(["name             n", "red              1", "longer-name  1,000"]);
  });
  it("truncateVisible keeps escape sequences whole and marks the cut", () => {
    const cut = truncateVisible("\x1b[1mabcdefghij\x1b[22m", 5);
    expect(visibleLength(cut)).toBe(5);
    expect(cut.startsWith("\x1b[1mabcd…")).toBe(true);
    expect(truncateVisible("abcdefghij", 4)).toBe("abc…");
    expect(truncateVisible("abc", 4)).toBe("abc");
  });
  it("wrapText breaks at spaces and splits words longer than the width", () => {
    expect(wrapText("the relay failed: GET /stats answered 503", 16)).toEqual(["the relay", "failed: GET", "/stats answered", "503"]);
    expect(wrapText("abcdefghij", 4)).toEqual(["abcd", "efgh", "ij"]);
  });
  it("fitFrame keeps one line less than the height and says how much was left out", () => {
    const lines = Array.from({ length: 10 }, (_, i) => `line ${i}`);
    expect(fitFrame(lines, 80, 6)).toEqual(["line 0", "line 1", "line 2", "line 3", "… 6 more lines (enlarge the window)"]);
    expect(fitFrame(["x".repeat(100)], 20, 24)[0]).toHaveLength(19);
  });
});

describe("ratesBetween", () => {
  it("computes rates per second between two polls, per collection too", () => {
    const a = sampleStats({ totalReceived: 1000, forwarded: 500, eventCounts: { p: 100 } });
    const b = sampleStats({ totalReceived: 1200, forwarded: 600, eventCounts: { p: 150, q: 10 } });
    const rates = ratesBetween({ value: a, at: 0 }, { value: b, at: 2000 })!;
    expect(rates.received).toBe(100);
    expect(rates.forwarded).toBe(50);
    expect(rates.perCollection).toEqual({ p: 25, q: 5 });
  });
  it("has none for the first poll, or across a reset of the statistics", () => {
    const a = sampleStats({ totalReceived: 1000 });
    expect(ratesBetween(undefined, { value: a, at: 0 })).toBeNull();
    const reset = sampleStats({ totalReceived: 10, statsResetAt: new Date().toISOString() });
    expect(ratesBetween({ value: a, at: 0 }, { value: reset, at: 1000 })).toBeNull();
  });
});

describe("format", () => {
  it("counts, rates and durations", () => {
    expect(formatCount(1234567)).toBe("1,234,567");
    expect(formatCount(null)).toBe("—");
    expect(formatCount(0)).toBe("0");
    expect(formatCount(-1234.6)).toBe("-1,235");
    expect(formatCount(999)).toBe("999");
    expect(formatRate(1234.4)).toBe("1,234/s");
    expect(formatRate(12.34)).toBe("12.3/s");
    expect(formatRate(0.5)).toBe("0.50/s");
    expect(formatDuration(0.25)).toBe("250ms");
    expect(formatDuration(75)).toBe("1m15s");
    expect(formatDuration(7260)).toBe("2h01m");
    expect(formatDuration(90000)).toBe("1d01h");
  });
});

describe("position and gap formatting", () => {
  const now = Date.parse("2026-11-29T03:30:20.000Z");
  const at = now - 4000;
  it("a position on v2 leads with its seq; on the legacy wire with its time; unknown parts are left out", () => {
    expect(formatPosition(sampleV2Position(12_345, at), now)).toBe("seq 12,345 on jetstream.us-east.bsky.network (v2) · 2026-11-29 03:30:16Z (4.0s ago)");
    const legacy = { endpoint: "ws://127.0.0.1:6008/subscribe", wire: "legacy" as const, seq: null, timeUs: at * 1000, time: new Date(at).toISOString() };
    expect(formatPosition(legacy, now)).toBe("2026-11-29 03:30:16Z (4.0s ago) on 127.0.0.1:6008 (legacy)");
    expect(formatPosition({ ...legacy, endpoint: null, wire: null }, now)).toBe("2026-11-29 03:30:16Z (4.0s ago)");
    expect(formatPosition(null, now)).toBe("—");
  });
  it("the seqs of an exact gap; none on an inferred one; an unknown start as ?", () => {
    expect(formatGapSeqs(sampleExactGap())).toBe("100,000 → 102,500");
    expect(formatGapSeqs(sampleExactGap({ fromSeq: null }))).toBe("? → 102,500");
    expect(formatGapSeqs(sampleExactGap({ exact: undefined, fromSeq: undefined, toSeq: undefined }))).toBe("—");
  });
});

describe("healthHint", () => {
  it("names a jetstream-relay command and the reason's runbook entry for every reason code", () => {
    for (const code of HEALTH_REASON_CODES) {
      const hint = healthHint(code);
      expect(hint.todo, code).toMatch(/jetstream-relay [a-z]/);
      expect(hint.todo, code).not.toContain("\n");
      expect(hint.runbook).toBe(`docs/runbook.md#reason-${code}`);
    }
  });

  it("an unknown code still points to the runbook's reasons", () => {
    expect(healthHint("something-new")).toEqual({ todo: "see jetstream-relay status", runbook: "docs/runbook.md#reasons" });
  });
});
