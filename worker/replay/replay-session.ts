import type { RelayConfig } from "../config.ts";
import type { Env, Gap, QueueMessageBody, ReplayProgress, ReplayRequest } from "../contract.ts";
import { replayOrigin } from "../queue/message.ts";
import { streamSettings } from "../stream/settings.ts";
import { Stream } from "../stream/stream.ts";
import type { Position } from "../stream/position.ts";
import { collectionMatcher, parseWantedCollections } from "../jetstream/identifiers.ts";
import type { EnqueueOutcome } from "../queue/enqueue.ts";
import { Packer, QUEUE_LIMITS } from "../queue/packer.ts";
import { judgeEvent, parseReplaySettings, planReplay, progressOf, replayGap, startedProgress } from "./replay-plan.ts";
import { displayEndpoint } from "../jetstream/request.ts";
import type { TransportError } from "../jetstream/transport-errors.ts";

/** Storage key of the replay's state (written on every change of state and on every alarm). */
export const REPLAY_STORAGE_KEY = "replay";

/** What the relay object lends a replay. */
export interface ReplayHost {
  /** The relay's configuration (null while it is invalid). */
  config(): RelayConfig | null;
  /** The endpoint (index into the configuration's) the live connection uses now: a replay starts there. */
  endpointIndex(): number;
  /** The live cursor (never moved by a replay). */
  liveCursor(): number | null;
  /** Enqueues messages (queue/enqueue.ts). */
  send(bodies: QueueMessageBody[]): Promise<EnqueueOutcome>;
  /** Keeps an event too large for a queue message (see QueuedEvent.blob). */
  putBlob(id: string, text: string): void;
  recordGap(gap: Gap): void;
}

interface SavedReplay {
  progress: ReplayProgress;
  /** Newest time_us enqueued (shown as the replay's position). */
  enqueuedUs: number | null;
  /** Where a restarted object resumes (inclusive), on the instance it came from. */
  position?: Position | null;
}

/**
 * One operator-requested replay at a time: a stream of its own (stream/stream.ts, the engine the live
 * relay uses) from `from` (inclusive) that forwards the wanted commits of [from, to) to the queue,
 * marked with the replay's id, and ends at `to`. It never touches the live connection or position. A
 * dropped connection resumes where the replay was, a restarted object where it last saved.
 */
export class ReplayRunner {
  private progress: ReplayProgress | null = null;
  private stream: Stream | null = null;
  private enqueuedUs: number | null = null;
  private ledgerSeq = 0;
  private gapChecked = false;

  constructor(
    private readonly env: Env,
    private readonly storage: DurableObjectStorage,
    private readonly host: ReplayHost,
  ) {}

  /** The latest replay's progress (a copy), null if there never was one. */
  current(): ReplayProgress | null {
    return this.progress ? { ...this.progress, collections: [...this.progress.collections] } : null;
  }

  /** Starts a replay, or throws an Error whose message starts with "refused: " and says why not. */
  async start(request: ReplayRequest): Promise<ReplayProgress> {
    const config = this.host.config();
    if (!config) throw new Error("refused: the relay's configuration is invalid (see GET /status); it replays nothing until that is fixed.");
    const parsed = parseReplaySettings(this.env);
    if ("error" in parsed) throw new Error(`refused: ${parsed.error}`);
    const outcome = planReplay(request, {
      nowUs: Date.now() * 1000,
      liveCursorUs: this.host.liveCursor(),
      relayCollections: config.collections,
      relayPatterns: config.patterns,
      retentionUs: parsed.settings.retentionUs,
      running: this.progress?.state === "running" ? this.progress : null,
    });
    if ("refusal" in outcome) throw new Error(`refused: ${outcome.refusal}`);
    this.stream?.stop("replaced by a new replay");
    this.progress = startedProgress(`replay-${crypto.randomUUID().slice(0, 8)}`, outcome.plan, new Date());
    this.enqueuedUs = null;
    this.gapChecked = false;
    // The window's times are the live instance's: the replay starts there, at `from` itself.
    const instance = config.endpoints[this.host.endpointIndex()] ?? config.endpoints[0];
    this.stream = this.newStream(config, { instance, timeUs: outcome.plan.fromUs });
    await this.save();
    this.stream.start();
    return this.current()!;
  }

  async cancel(): Promise<ReplayProgress | null> {
    if (this.progress?.state === "running") {
      this.stream?.stop("replay cancelled");
      this.end("cancelled", null);
      await this.save();
    }
    return this.current();
  }

  /** Reloads a replay saved before a restart; a running one resumes on the next tick. */
  async restore(): Promise<void> {
    const saved = await this.storage.get<SavedReplay>(REPLAY_STORAGE_KEY);
    if (!saved || typeof saved !== "object" || !saved.progress) return;
    this.progress = saved.progress;
    this.enqueuedUs = saved.enqueuedUs ?? null;
    this.progress.positionUs = this.enqueuedUs;
    const position = saved.position ?? (this.enqueuedUs === null ? null : { instance: null, timeUs: this.enqueuedUs });
    this.gapChecked = position !== null;
    const config = this.host.config();
    if (this.progress.state === "running" && config) this.stream = this.newStream(config, position ?? { instance: config.endpoints[0], timeUs: this.progress.fromUs });
  }

  /** Called with every alarm: saves the state and brings the connection back to where it should be. */
  async tick(): Promise<void> {
    const progress = this.progress;
    const stream = this.stream;
    if (!progress || progress.state !== "running" || !stream) return;
    const now = Date.now();
    const settings = parseReplaySettings(this.env);
    const idleMs = "settings" in settings ? settings.settings.idleMs : 30_000;
    const state = stream.connection.current;
    if (state === "stopped") {
      stream.start();
    } else if (state === "connected" && now - (stream.lastNewFrameAt ?? 0) > idleMs) {
      // Silence: either the server has nothing more for the window, or the connection is stuck. Only a
      // fresh connection from the position that brings nothing at all proves the former.
      if (!stream.progressed && now * 1000 >= progress.toUs) stream.finish("replay reached the end of its window");
      else stream.reconnect(`nothing new for ${idleMs / 1000} s, reconnecting from the replay's position`);
    } else {
      stream.watchdog(now);
    }
    await this.save();
  }

  // ------------------------------------------------------------------------------------------------

  private newStream(config: RelayConfig, position: Position): Stream {
    const progress = this.progress!;
    const parsed = parseWantedCollections(progress.collections);
    const wants = "patterns" in parsed ? collectionMatcher(parsed.patterns) : () => false;
    const dids = config.dids.length > 0 ? new Set(config.dids) : null;
    const s = config.settings;
    const label = `jetstream-relay: replay ${progress.id}`;
    return new Stream(
      streamSettings(config),
      {
        label,
        subscription: { collections: progress.collections, dids: config.dids, kinds: ["commit"] },
        judge: (frame) => {
          const wanted = frame.type === "commit" && wants(frame.collection) && (dids === null || dids.has(frame.did));
          const verdict = judgeEvent({ timeUs: frame.timeUs, isWantedCommit: wanted }, progress, null);
          return verdict === "before" ? "skip" : verdict;
        },
        newPacker: () => new Packer(QUEUE_LIMITS, replayOrigin(progress.id)),
        nextLedgerId: () => `${progress.id}-${++this.ledgerSeq}`,
        send: (bodies) => this.host.send(bodies),
        putBlob: (id, text) => this.host.putBlob(id, text),
      },
      {
        firstEvent: (_requestedUs, timeUs, endpoint, now) => {
          if (this.gapChecked) return;
          this.gapChecked = true;
          const gap = replayGap(progress.fromUs, timeUs, s.gapThresholdUs, displayEndpoint(endpoint), new Date(now));
          if (gap) {
            progress.gap = gap;
            this.host.recordGap(gap);
            console.warn(`${label}: gap, events from ${gap.from} to ${gap.to} are no longer kept by the server`);
          }
        },
        gap: (gap) => {
          // On v2 the server names exactly what is gone (OutdatedCursor when `from` is past its floor).
          this.gapChecked = true;
          progress.gap ??= gap;
          this.host.recordGap(gap);
          console.warn(`${label}: gap, events from ${gap.from} to ${gap.to} are no longer kept by the server (${gap.reason ?? "exact"})`);
        },
        handled: (frame) => {
          if (progress.error?.endsWith("(retrying)")) progress.error = null;
          progress.positionUs = frame.timeUs;
          progress.progress = Math.min(progressOf(progress.fromUs, progress.toUs, frame.timeUs), 0.999);
          // The last microsecond of the window: nothing later can belong to it.
          if (frame.timeUs >= progress.toUs - 1) this.stream?.finish("replay reached the end of its window");
        },
        sent: (batch) => {
          progress.eventsReplayed += batch.eventCount;
          const newest = Math.max(...batch.messages.map((m) => m.newestTimeUs));
          this.enqueuedUs = Math.max(this.enqueuedUs ?? newest, newest);
        },
        trouble: (message) => void (progress.error = `replay: ${message} (retrying)`),
        ended: (error) => this.ended(error),
        finished: () => {
          this.end("done", null);
          void this.save();
        },
      },
      { state: "stopped", position },
    );
  }

  /** The connection ended: true gives the replay up (a refusal that trying again would not change). */
  private ended(error: TransportError): boolean {
    const progress = this.progress!;
    if (error.kind === "refused" && error.status !== undefined && error.status >= 400 && error.status < 500 && error.status !== 429) {
      this.stream?.stop("replay failed");
      this.end("failed", `replay: ${error.message}`);
      void this.save();
      return true;
    }
    progress.error = `replay: ${error.message} (retrying)`;
    return false;
  }

  private end(state: "done" | "failed" | "cancelled", error: string | null): void {
    const progress = this.progress!;
    progress.state = state;
    progress.error = error;
    progress.finishedAt = new Date().toISOString();
    if (state === "done") progress.progress = 1;
    this.stream = null;
    console.log(`jetstream-relay: replay ${progress.id} ${state}: ${progress.eventsReplayed} events${error ? ` (${error})` : ""}`);
  }

  private async save(): Promise<void> {
    if (!this.progress) return;
    const position = this.stream?.position() ?? null;
    try {
      await this.storage.put(REPLAY_STORAGE_KEY, {
        progress: { ...this.progress, positionUs: this.enqueuedUs },
        enqueuedUs: this.enqueuedUs,
        position,
      } satisfies SavedReplay);
    } catch (error) {
      console.error(`jetstream-relay: could not save the replay's state: ${String(error)}`);
    }
  }
}
