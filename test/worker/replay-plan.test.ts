/**
 * Time travel, the pure part: which requests are accepted, the window a request means, the replay's
 * variables, the verdict on each event and the progress. (The whole path is in replay-rewind.test.ts.)
 */
import { describe, expect, it } from "vitest";
import type { Env, ReplayProgress } from "../../worker/contract.ts";
import { parseWantedCollections } from "../../worker/jetstream/identifiers.ts";
import { judgeEvent, parseReplaySettings, planReplay, replaySettingProblems, progressOf, replayGap, type PlanContext } from "../../worker/replay/replay-plan.ts";

const NOW_US = Date.parse("2026-03-10T16:00:00Z") * 1000;
const HOUR_US = 3600e6;
const relayCollections = ["app.bsky.feed.post", "app.bsky.graph.*"];
const relayPatterns = (parseWantedCollections(relayCollections) as { patterns: PlanContext["relayPatterns"] }).patterns;
const context = (overrides: Partial<PlanContext> = {}): PlanContext => ({
  nowUs: NOW_US,
  liveCursorUs: NOW_US - 2_000_000,
  relayCollections,
  relayPatterns: [...relayPatterns],
  retentionUs: 24 * HOUR_US,
  running: null,
  ...overrides,
});
const refusal = (outcome: ReturnType<typeof planReplay>) => ("refusal" in outcome ? outcome.refusal : null);

describe("planReplay", () => {
  it("defaults: up to the live cursor (that event included), the relay's collections", () => {
    const outcome = planReplay({ fromUs: NOW_US - HOUR_US }, context());
    expect(outcome).toEqual({ plan: { fromUs: NOW_US - HOUR_US, toUs: NOW_US - 2_000_000 + 1, collections: relayCollections, patterns: relayPatterns } });
    // Before the first live event, up to now.
    expect(planReplay({ fromUs: NOW_US - HOUR_US }, context({ liveCursorUs: null }))).toMatchObject({ plan: { toUs: NOW_US } });
  });

  it("refuses a start older than the retention, saying the oldest time that can be replayed", () => {
    expect(refusal(planReplay({ fromUs: NOW_US - 25 * HOUR_US }, context()))).toBe(
      '"from" (2026-03-09T15:00:00.000Z) is older than the Jetstream server keeps events (24 h, JETSTREAM_RETENTION_HOURS): the oldest time that can be replayed is 2026-03-09T16:00:00.000Z. Nothing was replayed.',
    );
    expect(refusal(planReplay({ fromUs: NOW_US - 2 * HOUR_US }, context({ retentionUs: 1.5 * HOUR_US })))).toMatch(/\(1\.5 h, JETSTREAM_RETENTION_HOURS\)/);
    expect(refusal(planReplay({ fromUs: NOW_US - 23 * HOUR_US }, context()))).toBeNull();
  });

  it("refuses empty, inverted and future windows", () => {
    expect(refusal(planReplay({ fromUs: NOW_US + 1 }, context()))).toMatch(/"from" .* is in the future/);
    expect(refusal(planReplay({ fromUs: NOW_US - HOUR_US, toUs: NOW_US + 1 }, context()))).toMatch(/"to" .* is in the future/);
    expect(refusal(planReplay({ fromUs: NOW_US - HOUR_US, toUs: NOW_US - 2 * HOUR_US }, context()))).toMatch(/"to" .* must be later than "from"/);
    expect(refusal(planReplay({ fromUs: NOW_US - 1_000_000 }, context()))).toMatch(/nothing to replay: "from" .* is not before the live position/);
  });

  it("takes only collections the relay forwards (exact names, narrower prefixes)", () => {
    expect(planReplay({ fromUs: NOW_US - HOUR_US, collections: ["app.bsky.graph.follow", "app.bsky.graph.*", "app.bsky.feed.post"] }, context())).toHaveProperty("plan");
    expect(refusal(planReplay({ fromUs: NOW_US - HOUR_US, collections: ["app.bsky.feed.like", "app.bsky.*"] }, context()))).toBe(
      '"collections": app.bsky.feed.like, app.bsky.* are not among the relay\'s collections (app.bsky.feed.post, app.bsky.graph.*); a replay re-delivers only what the relay forwards.',
    );
    expect(refusal(planReplay({ fromUs: NOW_US - HOUR_US, collections: ["*"] }, context()))).toMatch(/"collections": invalid collection: \*/);
  });

  it("one at a time", () => {
    const running = { id: "replay-1", from: "2026-03-10T15:00:00.000Z", to: "2026-03-10T15:30:00.000Z", progress: 0.42 } as ReplayProgress;
    expect(refusal(planReplay({ fromUs: NOW_US - HOUR_US }, context({ running })))).toBe(
      "a replay is already running (replay-1, 2026-03-10T15:00:00.000Z → 2026-03-10T15:30:00.000Z, 42%); wait for it or cancel it first (POST /replay/cancel).",
    );
  });
});

describe("replay settings", () => {
  it("defaults, values, and a clear refusal for an invalid one", () => {
    expect(parseReplaySettings({} as Env)).toEqual({ settings: { retentionUs: 24 * HOUR_US, idleMs: 10_000 } });
    expect(parseReplaySettings({ JETSTREAM_RETENTION_HOURS: "36", JETSTREAM_REPLAY_IDLE_SECONDS: "2.5" } as unknown as Env)).toEqual({ settings: { retentionUs: 36 * HOUR_US, idleMs: 2500 } });
    expect(parseReplaySettings({ JETSTREAM_RETENTION_HOURS: "a day" } as unknown as Env)).toEqual({
      error: 'JETSTREAM_RETENTION_HOURS is "a day", not a number from 0.001 to 720 (how far back the Jetstream server keeps events; older replay requests are refused); replays are refused until it is fixed.',
    });
  });

  it("reports every invalid replay variable as a problem with its fix (the relay's configWarnings)", () => {
    expect(replaySettingProblems({} as Env)).toEqual([]);
    const problems = replaySettingProblems({ JETSTREAM_RETENTION_HOURS: "0", JETSTREAM_REPLAY_IDLE_SECONDS: "forever" } as unknown as Env);
    expect(problems.map((p) => p.variable)).toEqual(["JETSTREAM_RETENTION_HOURS", "JETSTREAM_REPLAY_IDLE_SECONDS"]);
    expect(problems[1].fix).toBe("Set JETSTREAM_REPLAY_IDLE_SECONDS to a number from 0.1 to 3600, or unset it for the default 10.");
  });
});

describe("events and progress", () => {
  const window = { fromUs: 1000, toUs: 2000 };
  it("judges each event against the window and the position already handled", () => {
    expect(judgeEvent({ timeUs: 999, isWantedCommit: true }, window, null)).toBe("before");
    expect(judgeEvent({ timeUs: 1000, isWantedCommit: true }, window, null)).toBe("forward");
    expect(judgeEvent({ timeUs: 1500, isWantedCommit: false }, window, null)).toBe("skip");
    expect(judgeEvent({ timeUs: 1500, isWantedCommit: true }, window, 1500)).toBe("before"); // resumed at it, inclusive
    expect(judgeEvent({ timeUs: 1999, isWantedCommit: true }, window, 1500)).toBe("forward");
    expect(judgeEvent({ timeUs: 2000, isWantedCommit: true }, window, 1500)).toBe("end");
  });
  it("progress is the share of the window behind the position", () => {
    expect(progressOf(1000, 2000, null)).toBe(0);
    expect(progressOf(1000, 2000, 1499)).toBe(0.5);
    expect(progressOf(1000, 2000, 1999)).toBe(1);
    expect(progressOf(1000, 2000, 5000)).toBe(1);
  });
  it("a first event much later than the start is a gap", () => {
    const now = new Date("2026-03-10T16:00:00Z");
    expect(replayGap(NOW_US - 100e6, NOW_US - 95e6, 10e6, "ws://x/subscribe", now)).toBeNull();
    expect(replayGap(NOW_US - 100e6, NOW_US - 50e6, 10e6, "ws://x/subscribe", now)).toEqual({
      fromUs: NOW_US - 100e6,
      from: "2026-03-10T15:58:20.000Z",
      toUs: NOW_US - 50e6,
      to: "2026-03-10T15:59:10.000Z",
      detectedAt: "2026-03-10T16:00:00.000Z",
      endpoint: "ws://x/subscribe",
      acknowledged: false,
    });
  });
});
