/** The position's pure rules (worker/stream/position.ts) and the bounded per-collection counters. */
import { describe, expect, it } from "vitest";
import { cursorFor, resumePosition, savedForm, startingEndpoint } from "../../worker/stream/position.ts";
import { countFrame, emptyCounters, foldCollections, MAX_COLLECTIONS_COUNTED, restoreCounters } from "../../worker/relay/relay-stats.ts";

const A = "wss://a.example/subscribe";
const B = "wss://b.example/subscribe";

describe("position", () => {
  it.each([
    [null, A, null],
    [{ instance: A, timeUs: 100_000_000 }, A, 100_000_000],
    [{ instance: A, timeUs: 100_000_000 }, B, 90_000_000],
    [{ instance: null, timeUs: 100_000_000 }, A, 90_000_000],
  ] as const)("cursor for %o on %s → %s (rewound 10 s on another instance)", (position, endpoint, expected) => {
    expect(cursorFor(position, endpoint, 10_000_000)).toBe(expected);
  });

  it("resumes from the saved position, rewound to the oldest unacknowledged event within the maximum rewind", () => {
    expect(resumePosition({ position: { instance: B, timeUs: 500 }, cursor: 500, oldestUnacked: 300 }, 1000)).toEqual({ instance: B, timeUs: 300, seq: null });
    expect(resumePosition({ position: { instance: B, timeUs: 5000 }, cursor: 5000, oldestUnacked: 300 }, 1000)).toEqual({ instance: B, timeUs: 4000, seq: null });
    // Saved by an older version: a bare cursor, its instance unknown (every endpoint rewinds then).
    expect(resumePosition({ position: undefined, cursor: 700, oldestUnacked: null }, 1000)).toEqual({ instance: null, timeUs: 700, seq: null });
    expect(resumePosition({ position: undefined, cursor: undefined, oldestUnacked: undefined }, 1000)).toBeNull();
    expect(resumePosition({ position: { instance: 3, timeUs: "x" }, cursor: 9, oldestUnacked: null }, 1000)).toEqual({ instance: null, timeUs: 9, seq: null });
  });

  it("starts on the endpoint the position came from while it is configured", () => {
    expect(startingEndpoint({ instance: B, timeUs: 1 }, [A, B])).toBe(1);
    expect(startingEndpoint({ instance: "wss://gone.example/subscribe", timeUs: 1 }, [A, B])).toBe(0);
    expect(startingEndpoint(null, [A, B])).toBe(0);
  });

  it("saves the bare cursor beside the position, for older versions", () => {
    expect(savedForm({ instance: A, timeUs: 42 })).toEqual({ position: { instance: A, timeUs: 42 }, cursor: 42 });
    expect(savedForm(null)).toEqual({ position: null, cursor: null });
  });
});

describe("per-collection counters", () => {
  const commit = (collection: string, operation = "create") => ({ type: "commit" as const, did: "did:plc:x", timeUs: 1, collection, operation });

  it("stay bounded however many collections arrive, and still add up", () => {
    const c = emptyCounters();
    for (let i = 0; i < 20_000; i++) countFrame(c, commit(`app.test.c${i}`), true, "t");
    for (let i = 0; i < 50; i++) countFrame(c, commit("app.test.hot", "delete"), true, "t");
    expect(Object.keys(c.eventCounts).length).toBeLessThanOrEqual(MAX_COLLECTIONS_COUNTED);
    expect(Object.keys(c.operationCounts).length).toBeLessThanOrEqual(MAX_COLLECTIONS_COUNTED);
    expect(Object.values(c.eventCounts).reduce((a, b) => a + b, 0)).toBe(c.totalEvents);
    expect(c.eventCounts["app.test.hot"]).toBe(50);
    expect(c.eventCounts.other).toBeGreaterThan(0);
    const ops = Object.values(c.operationCounts).reduce((n, o) => n + Object.values(o).reduce((a, b) => a + b, 0), 0);
    expect(ops).toBe(c.totalEvents);
  });

  it("keep the most counted by name when folded", () => {
    const c = { eventCounts: {} as Record<string, number>, operationCounts: {} as Record<string, Record<string, number>> };
    for (let i = 0; i < 600; i++) {
      c.eventCounts[`app.test.c${i}`] = i;
      c.operationCounts[`app.test.c${i}`] = { create: i };
    }
    foldCollections(c);
    expect(c.eventCounts["app.test.c599"]).toBe(599);
    expect(c.eventCounts["app.test.c0"]).toBeUndefined();
    expect(c.eventCounts.other).toBe((99 * 100) / 2);
    expect(c.operationCounts.other).toEqual({ create: (99 * 100) / 2 });
  });

  it("are folded when restored from an older version's unbounded save", () => {
    const saved = emptyCounters();
    for (let i = 0; i < 5000; i++) saved.eventCounts[`app.test.c${i}`] = 1;
    expect(Object.keys(restoreCounters(JSON.parse(JSON.stringify(saved))).eventCounts).length).toBeLessThanOrEqual(MAX_COLLECTIONS_COUNTED);
  });

  it("lose, when restored from an older version's save, an endpoint's credentials and the webhook's answer", () => {
    const saved = emptyCounters();
    saved.gaps.push({ fromUs: 1, from: "", toUs: 2, to: "", detectedAt: "", endpoint: "wss://user:pw@jetstream.example/subscribe", acknowledged: false });
    saved.delivery.lastError = "webhook answered HTTP 500: <html>token=abc</html>";
    const restored = restoreCounters(JSON.parse(JSON.stringify(saved)));
    expect(restored.gaps[0].endpoint).toBe("wss://jetstream.example/subscribe");
    expect(restored.delivery.lastError).toBe("webhook answered HTTP 500");
  });
});
