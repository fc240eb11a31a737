import { describe, expect, it } from "vitest";
import { InputError, parseDuration, parseInstant, parsePaging, parseReplayRequest, parseSelection } from "../../worker/http/request-input.ts";

const NOW_MS = Date.parse("2026-11-29T03:30:00.000Z");

describe("request input", () => {
  it("reads durations", () => {
    expect(parseDuration("90s")).toBe(90);
    expect(parseDuration("15m")).toBe(900);
    expect(parseDuration("1h30m")).toBe(5400);
    expect(parseDuration("1d")).toBe(86400);
    expect(parseDuration("0.5h")).toBe(1800);
    for (const bad of ["", "h", "5", "5w", "-5m", "5 m", "1h 30m"]) expect(parseDuration(bad), bad).toBeNull();
  });

  it("reads instants as ISO times or durations ago, in microseconds", () => {
    expect(parseInstant("2h", "from", NOW_MS)).toBe((NOW_MS - 7_200_000) * 1000);
    expect(parseInstant("2026-11-29T01:00:00Z", "from", NOW_MS)).toBe(Date.parse("2026-11-29T01:00:00Z") * 1000);
    expect(parseInstant("2026-11-29T01:00:00.250+01:00", "from", NOW_MS)).toBe(Date.parse("2026-11-29T00:00:00.250Z") * 1000);
    for (const bad of ["May 5", "1", "2026-13-45T00:00:00Z", "tomorrow"]) expect(() => parseInstant(bad, "from", NOW_MS), bad).toThrow(InputError);
  });

  it("builds a replay request", () => {
    expect(parseReplayRequest({ from: "1h", to: "30m", collections: ["app.bsky.feed.post", "app.bsky.graph.*"] }, NOW_MS)).toEqual({
      fromUs: (NOW_MS - 3_600_000) * 1000,
      toUs: (NOW_MS - 1_800_000) * 1000,
      collections: ["app.bsky.feed.post", "app.bsky.graph.*"],
    });
    expect(parseReplayRequest({ from: "2026-11-29T00:00:00Z" }, NOW_MS)).toEqual({ fromUs: Date.parse("2026-11-29T00:00:00Z") * 1000 });
  });

  it("builds dead-letter selections, dropping duplicate ids", () => {
    expect(parseSelection({ all: true })).toEqual({ all: true });
    expect(parseSelection({ ids: ["a", "b", "a"] })).toEqual({ ids: ["a", "b"] });
    expect(() => parseSelection({ ids: Array.from({ length: 10_001 }, (_, i) => `id-${i}`) })).toThrow(/At most 10000 ids/);
  });

  it("reads paging with defaults", () => {
    expect(parsePaging(new URL("http://x/dlq"))).toEqual({ offset: 0, limit: 50 });
    expect(parsePaging(new URL("http://x/dlq?offset=100&limit=1000"))).toEqual({ offset: 100, limit: 1000 });
    expect(parsePaging(new URL("http://x/dlq?offset=&limit="))).toEqual({ offset: 0, limit: 50 });
  });
});
