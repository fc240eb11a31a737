import type { ConfigProblem, Gap, ReplayProgress, ReplayRequest, WorkerVars } from "../api-types.ts";
import { readSettings, type ReplaySettings } from "../config/settings.ts";
import { isoFromUs } from "../time-us.ts";
import { collectionMatcher, parseWantedCollections, type CollectionPattern } from "../jetstream/identifiers.ts";

/**
 * Time travel, the pure part: which replay requests are accepted (and why not), the window a request
 * means, the replay's settings, and its progress. The I/O shell is replay-session.ts.
 */

export { REPLAY_TUNING } from "../config/registry.ts";
export type { ReplaySettings } from "../config/settings.ts";

/** The replay's settings (config/registry.ts), or the sentence that says which variable is wrong (the replay is then refused). */
export function parseReplaySettings(env: WorkerVars): { settings: ReplaySettings } | { error: string } {
  const { replay, byPart } = readSettings(env);
  return replay ? { settings: replay } : { error: byPart.replay[0].message };
}

/**
 * What is wrong with the replay's variables: they do not stop live relaying, only replays (which are
 * refused until they are fixed), so they are reported as warnings (GET /status `configWarnings`).
 */
export function replaySettingProblems(env: WorkerVars): ConfigProblem[] {
  return [...readSettings(env).warnings];
}

/** An accepted request: the window [fromUs, toUs) and the collections to replay. */
export interface ReplayPlan {
  fromUs: number;
  toUs: number;
  collections: string[];
  patterns: CollectionPattern[];
}

export interface PlanContext {
  nowUs: number;
  /** The live cursor at the time of the request (null before the first event). */
  liveCursorUs: number | null;
  /** The relay's own collections (JETSTREAM_COLLECTIONS). */
  relayCollections: readonly string[];
  relayPatterns: readonly CollectionPattern[];
  retentionUs: number;
  /** The replay in progress, if any. */
  running: ReplayProgress | null;
}

/**
 * Accepts a request or says, in a sentence, why not. Nothing is clamped: a window reaching back beyond
 * the server's retention is refused rather than replayed partly.
 */
export function planReplay(request: ReplayRequest, context: PlanContext): { plan: ReplayPlan } | { refusal: string } {
  const { nowUs } = context;
  if (context.running) {
    return { refusal: `a replay is already running (${context.running.id}, ${context.running.from} → ${context.running.to}, ${Math.round(context.running.progress * 100)}%); wait for it or cancel it first (POST /replay/cancel).` };
  }
  const { fromUs } = request;
  if (!Number.isSafeInteger(fromUs) || fromUs <= 0) return { refusal: `"from" must be a time (unix microseconds), got ${String(fromUs)}.` };
  if (fromUs > nowUs) return { refusal: `"from" (${isoFromUs(fromUs)}) is in the future.` };
  const oldestUs = nowUs - context.retentionUs;
  if (fromUs < oldestUs) {
    const hours = Math.round((context.retentionUs / 3600e6) * 1000) / 1000;
    return {
      refusal: `"from" (${isoFromUs(fromUs)}) is older than the Jetstream server keeps events (${hours} h, JETSTREAM_RETENTION_HOURS): the oldest time that can be replayed is ${isoFromUs(oldestUs)}. Nothing was replayed.`,
    };
  }
  // Default end: the live position, inclusive of the event at the cursor itself (the window is [from, to)).
  const toUs = request.toUs ?? (context.liveCursorUs !== null ? context.liveCursorUs + 1 : nowUs);
  if (!Number.isSafeInteger(toUs)) return { refusal: `"to" must be a time (unix microseconds), got ${String(toUs)}.` };
  // Later than now would re-deliver live events as they happen: that is what live delivery does already.
  if (toUs > nowUs) return { refusal: `"to" (${isoFromUs(toUs)}) is in the future; a replay covers the past only (live delivery carries on by itself).` };
  if (toUs <= fromUs) {
    return {
      refusal:
        request.toUs === undefined
          ? `nothing to replay: "from" (${isoFromUs(fromUs)}) is not before the live position (${isoFromUs(toUs)}).`
          : `"to" (${isoFromUs(toUs)}) must be later than "from" (${isoFromUs(fromUs)}).`,
    };
  }

  const collections = request.collections ?? [...context.relayCollections];
  const parsed = parseWantedCollections(collections);
  if ("error" in parsed) return { refusal: `"collections": ${parsed.error} (use NSIDs like app.bsky.feed.post or prefixes like app.bsky.graph.*).` };
  if (parsed.patterns.length === 0) return { refusal: `"collections" is empty.` };
  const relayWants = collectionMatcher(context.relayPatterns);
  const outside = parsed.patterns.filter((p) => !covered(p, context.relayPatterns, relayWants)).map((p) => ("exact" in p ? p.exact : `${p.prefix}*`));
  if (outside.length > 0) {
    return { refusal: `"collections": ${outside.join(", ")} ${outside.length === 1 ? "is" : "are"} not among the relay's collections (${context.relayCollections.join(", ")}); a replay re-delivers only what the relay forwards.` };
  }
  return { plan: { fromUs, toUs, collections: [...new Set(collections)], patterns: parsed.patterns } };
}

/** Whether the relay's own collections include every collection a pattern names. */
function covered(pattern: CollectionPattern, relay: readonly CollectionPattern[], relayWants: (collection: string) => boolean): boolean {
  if ("exact" in pattern) return relayWants(pattern.exact);
  return relay.some((r) => "prefix" in r && pattern.prefix.startsWith(r.prefix));
}

/** The progress record of a newly started replay. */
export function startedProgress(id: string, plan: ReplayPlan, now: Date): ReplayProgress {
  return {
    id,
    state: "running",
    from: isoFromUs(plan.fromUs),
    to: isoFromUs(plan.toUs),
    fromUs: plan.fromUs,
    toUs: plan.toUs,
    collections: plan.collections,
    positionUs: null,
    progress: 0,
    eventsReplayed: 0,
    startedAt: now.toISOString(),
    finishedAt: null,
    error: null,
  };
}

/** Share of the window behind the position, 0..1. */
export function progressOf(fromUs: number, toUs: number, positionUs: number | null): number {
  if (positionUs === null || toUs <= fromUs) return 0;
  const share = (positionUs - fromUs + 1) / (toUs - fromUs);
  return Math.min(1, Math.max(0, Math.round(share * 1000) / 1000));
}

/** What to do with one event of the replay connection. */
export type EventVerdict = "before" | "forward" | "skip" | "end";

/**
 * `resumeAfterUs`: events at or before it were handled already (a reconnect resumes at it, inclusive).
 * Commits of the wanted collections inside the window are forwarded; the first event at or past the end
 * of the window ends the replay.
 */
export function judgeEvent(e: { timeUs: number; isWantedCommit: boolean }, window: { fromUs: number; toUs: number }, resumeAfterUs: number | null): EventVerdict {
  if (e.timeUs >= window.toUs) return "end";
  if (resumeAfterUs !== null && e.timeUs <= resumeAfterUs) return "before";
  if (e.timeUs < window.fromUs) return "before";
  return e.isWantedCommit ? "forward" : "skip";
}

/** The replay's first event came much later than asked: the server no longer had the events in between. */
export function replayGap(fromUs: number, firstEventUs: number, thresholdUs: number, endpoint: string, now: Date): Gap | null {
  if (firstEventUs - fromUs <= thresholdUs) return null;
  return { fromUs, from: isoFromUs(fromUs), toUs: firstEventUs, to: isoFromUs(firstEventUs), detectedAt: now.toISOString(), endpoint, acknowledged: false };
}
