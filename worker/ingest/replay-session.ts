import type { RelayConfig } from "../config.ts";
import type { Env, Gap, QueueMessageBody, ReplayProgress, ReplayRequest } from "../contract.ts";
import { backoffDelay } from "./backoff.ts";
import { parseFrame } from "./event.ts";
import { collectionMatcher, parseWantedCollections } from "./identifiers.ts";
import { closeQuietly, frameText, subscribe } from "./jetstream-socket.ts";
import type { EnqueueOutcome } from "../queue/enqueue.ts";
import { replayOrigin } from "../queue/message.ts";
import { leadingMessages, Packer, QUEUE_LIMITS } from "../queue/packer.ts";
import { eventToQueue, type EventToQueue } from "../queue/queued-event.ts";
import { judgeEvent, parseReplaySettings, planReplay, progressOf, replayGap, startedProgress } from "./replay-plan.ts";
import { buildSubscribeRequest, displayEndpoint } from "./subscribe-url.ts";
import type { TransportError } from "./transport-errors.ts";

/** Storage key of the replay's state (written on every change of state and on every alarm). */
export const REPLAY_STORAGE_KEY = "replay";

/** What the relay object lends a replay. */
export interface ReplayHost {
  /** The relay's configuration (null while it is invalid). */
  config(): RelayConfig | null;
  /** The Jetstream endpoint the live connection uses now. */
  endpoint(): string;
  /** The live cursor (never moved by a replay). */
  liveCursor(): number | null;
  /** Enqueues messages (ingest/enqueue.ts). */
  send(bodies: QueueMessageBody[]): Promise<EnqueueOutcome>;
  /** Keeps an event too large for a queue message (see QueuedEvent.blob). */
  putBlob(id: string, text: string): void;
  recordGap(gap: Gap): void;
}

interface SavedReplay {
  progress: ReplayProgress;
  /** Newest time_us durably enqueued: where a restarted object resumes (inclusive). */
  enqueuedUs: number | null;
}

type Phase = "idle" | "connecting" | "connected" | "backoff" | "paused" | "finishing";

const SEND_RETRY = { baseMs: 250, maxMs: 30_000, healthyAfterMs: 0, failoverAfter: 1 };

/**
 * One operator-requested replay at a time: a second Jetstream connection from `from` (inclusive) that
 * forwards the wanted commits of [from, to) to the queue, packed like live events and marked with the
 * replay's id, and stops at `to`. It never touches the live connection or cursor. It keeps its own
 * position, so a dropped connection resumes where it was, and a restarted object where the queue
 * last accepted its events.
 */
export class ReplayRunner {
  private progress: ReplayProgress | null = null;
  private phase: Phase = "idle";
  private wants: (collection: string) => boolean = () => false;
  private dids: Set<string> | null = null;
  private enqueuedUs: number | null = null;
  /** Newest time_us handled (forwarded or skipped); events at or before it are not taken again. */
  private receivedUs: number | null = null;
  /** Takes events only while a replay runs: `start` and `restore` give it the replay's origin. */
  private packer = new Packer(QUEUE_LIMITS);
  private ledgerSeq = 0;
  private socket: WebSocket | null = null;
  private generation = 0;
  private failures = 0;
  private sendFailures = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private sending = false;
  /** When the current connection opened or last brought an event past the replay's position. */
  private lastActivityAt = 0;
  /** Whether the current connection brought any event past the position. */
  private progressed = false;
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
    this.reset();
    this.progress = startedProgress(`replay-${crypto.randomUUID().slice(0, 8)}`, outcome.plan, new Date());
    this.packer = new Packer(QUEUE_LIMITS, replayOrigin(this.progress.id));
    this.enqueuedUs = null;
    this.receivedUs = null;
    this.gapChecked = false;
    this.prepareFilters(config);
    await this.save();
    void this.connect();
    return this.current()!;
  }

  async cancel(): Promise<ReplayProgress | null> {
    if (this.progress?.state === "running") {
      this.reset();
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
    this.packer = new Packer(QUEUE_LIMITS, replayOrigin(this.progress.id));
    this.enqueuedUs = saved.enqueuedUs ?? null;
    this.receivedUs = this.enqueuedUs;
    this.progress.positionUs = this.enqueuedUs;
    this.gapChecked = this.enqueuedUs !== null;
    const config = this.host.config();
    if (this.progress.state === "running" && config) this.prepareFilters(config);
  }

  /** Called with every alarm: saves the state and brings the connection back to where it should be. */
  async tick(): Promise<void> {
    const progress = this.progress;
    const config = this.host.config();
    if (!progress || progress.state !== "running" || !config) return;
    const now = Date.now();
    const settings = parseReplaySettings(this.env);
    const idleMs = "settings" in settings ? settings.settings.idleMs : 30_000;
    const silentMs = now - this.lastActivityAt;
    if (this.phase === "idle" || (this.phase === "backoff" && this.timer === null)) void this.connect();
    else if (this.phase === "connected" && silentMs > idleMs) {
      // Silence: either the server has nothing more for the window, or the connection is stuck. Only a
      // fresh connection from the position that brings nothing at all proves the former.
      if (!this.progressed && now * 1000 >= progress.toUs) this.finish();
      else this.connectionEnded(this.generation, { kind: "stalled", message: `nothing new for ${idleMs / 1000} s, reconnecting from the replay's position` });
    } else if (this.phase === "connecting" && silentMs > config.settings.connectTimeoutMs * 2) {
      this.connectionEnded(this.generation, { kind: "timeout", message: "replay: connection attempt did not finish" });
    }
    if (this.packer.size > 0 && !this.sending && this.flushTimer === null) void this.flush();
    await this.save();
  }

  // ------------------------------------------------------------------------------------------------

  private prepareFilters(config: RelayConfig): void {
    const parsed = parseWantedCollections(this.progress!.collections);
    this.wants = "patterns" in parsed ? collectionMatcher(parsed.patterns) : () => false;
    this.dids = config.dids.length > 0 ? new Set(config.dids) : null;
  }

  private async save(): Promise<void> {
    if (!this.progress) return;
    try {
      await this.storage.put(REPLAY_STORAGE_KEY, { progress: { ...this.progress, positionUs: this.enqueuedUs }, enqueuedUs: this.enqueuedUs } satisfies SavedReplay);
    } catch (error) {
      console.error(`jetstream-relay: could not save the replay's state: ${String(error)}`);
    }
  }

  private async connect(): Promise<void> {
    const config = this.host.config();
    const progress = this.progress;
    if (!config || !progress || progress.state !== "running" || this.phase === "connecting" || this.phase === "connected") return;
    if (this.phase === "finishing") return;
    this.clearTimer();
    const generation = ++this.generation;
    this.phase = "connecting";
    this.lastActivityAt = Date.now();
    const endpoint = this.host.endpoint();
    const cursor = this.receivedUs ?? progress.fromUs;
    const request = buildSubscribeRequest(endpoint, { collections: progress.collections, dids: config.dids }, cursor);
    const socket = await subscribe(request, config.settings.connectTimeoutMs, () => generation === this.generation, {
      onFrame: (data) => this.onFrame(data, generation),
      onEnd: (error) => this.connectionEnded(generation, error),
    });
    if (!socket) return;
    this.socket = socket;
    this.phase = "connected";
    this.lastActivityAt = Date.now();
    this.progressed = false;
  }

  private connectionEnded(generation: number, error: TransportError): void {
    if (generation !== this.generation || (this.phase !== "connecting" && this.phase !== "connected")) return;
    const progress = this.progress!;
    this.dropSocket(error.message);
    if (error.kind === "refused" && error.status !== undefined && error.status >= 400 && error.status < 500 && error.status !== 429) {
      // The server rejected the request itself: trying again would not change its answer.
      this.packer = new Packer(QUEUE_LIMITS);
      this.end("failed", `replay: ${error.message}`);
      void this.save();
      return;
    }
    progress.error = `replay: ${error.message} (retrying)`;
    this.failures++;
    const config = this.host.config()!;
    const delay = backoffDelay(this.failures, config.settings.backoff, Math.random());
    console.warn(`jetstream-relay: replay ${progress.id}: ${error.message}; next attempt in ${delay} ms`);
    this.phase = "backoff";
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, delay);
  }

  private onFrame(data: string | ArrayBuffer, generation: number): void {
    const progress = this.progress;
    if (generation !== this.generation || !progress || this.phase !== "connected") return;
    const now = Date.now();
    const text = frameText(data);
    if (text === null) return;
    const frame = parseFrame(text);
    if (frame.type === "malformed") return;
    this.failures = 0;
    if (progress.error?.endsWith("(retrying)")) progress.error = null;

    if (!this.gapChecked) {
      this.gapChecked = true;
      const config = this.host.config()!;
      const gap = replayGap(progress.fromUs, frame.timeUs, config.settings.gapThresholdUs, displayEndpoint(this.host.endpoint()), new Date(now));
      if (gap) {
        progress.gap = gap;
        this.host.recordGap(gap);
        console.warn(`jetstream-relay: replay ${progress.id}: gap, events from ${gap.from} to ${gap.to} are no longer kept by the server`);
      }
    }

    const wanted = frame.type === "commit" && this.wants(frame.collection) && (this.dids === null || this.dids.has(frame.did));
    const verdict = judgeEvent({ timeUs: frame.timeUs, isWantedCommit: wanted }, progress, this.receivedUs);
    if (verdict === "end") {
      this.finish();
      return;
    }
    if (verdict === "before") return;
    this.lastActivityAt = now;
    this.progressed = true;
    if (verdict === "forward" && !this.pack(text, frame.did, frame.timeUs, now)) return;
    this.receivedUs = frame.timeUs;
    progress.positionUs = frame.timeUs;
    progress.progress = Math.min(progressOf(progress.fromUs, progress.toUs, frame.timeUs), 0.999);
    // The last microsecond of the window: nothing later can belong to it.
    if (frame.timeUs >= progress.toUs - 1) this.finish();
  }

  /** Adds one event to the packer; false when it could not be kept (the socket is replaced then). */
  private pack(text: string, did: string, timeUs: number, now: number): boolean {
    const config = this.host.config()!;
    let queued: EventToQueue;
    try {
      queued = eventToQueue(text, did, timeUs, now, (id, blobText) => this.host.putBlob(id, blobText));
    } catch (error) {
      this.connectionEnded(this.generation, { kind: "protocol", message: `storage failed: ${String(error)}` });
      return false;
    }
    this.packer.add({ event: queued.event, bytes: queued.bytes, timeUs, cursorBefore: this.receivedUs });
    const s = config.settings;
    if (this.packer.size > s.maxBufferedEvents || this.packer.bytes > s.maxBufferedBytes) {
      // Backpressure: stop reading until the queue took what waits; the replay resumes after it.
      this.dropSocket("replay paused: buffer full");
      this.phase = "paused";
    }
    this.scheduleFlush();
    return true;
  }

  /** The end of the window was reached: send what waits, then done. */
  private finish(): void {
    this.dropSocket("replay reached the end of its window");
    this.phase = "finishing";
    if (this.packer.size === 0 && !this.sending) this.complete();
    else void this.flush();
  }

  private complete(): void {
    this.end("done", null);
    void this.save();
  }

  private end(state: "done" | "failed" | "cancelled", error: string | null): void {
    const progress = this.progress!;
    progress.state = state;
    progress.error = error;
    progress.finishedAt = new Date().toISOString();
    if (state === "done") progress.progress = 1;
    this.phase = "idle";
    console.log(`jetstream-relay: replay ${progress.id} ${state}: ${progress.eventsReplayed} events${error ? ` (${error})` : ""}`);
  }

  private scheduleFlush(): void {
    if (this.sending) return;
    if (this.packer.hasFullBatch) {
      void this.flush();
    } else if (this.flushTimer === null) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        void this.flush();
      }, this.host.config()?.settings.flushMs ?? 200);
    }
  }

  private async flush(): Promise<void> {
    const progress = this.progress;
    if (this.sending || !progress || progress.state !== "running") return;
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const packer = this.packer;
    this.sending = true;
    let retryInMs: number | null = null;
    try {
      while (packer.size > 0 && packer === this.packer) {
        const batch = packer.peekBatch(() => `${progress.id}-${++this.ledgerSeq}`, { cautious: this.sendFailures > 0 })!;
        const outcome = await this.host.send(batch.messages.map((m) => m.body));
        if (packer !== this.packer || progress !== this.progress || progress.state !== "running") return;
        if (outcome.accepted > 0) {
          const accepted = leadingMessages(batch, outcome.accepted);
          this.sendFailures = 0;
          packer.commit(accepted);
          progress.eventsReplayed += accepted.eventCount;
          const newest = Math.max(...accepted.messages.map((m) => m.newestTimeUs));
          this.enqueuedUs = Math.max(this.enqueuedUs ?? newest, newest);
        }
        if (outcome.accepted < batch.messages.length) {
          this.sendFailures++;
          const error = outcome.error;
          progress.error = `replay: queue send failed (${this.sendFailures}× in a row): ${error instanceof Error ? error.message : String(error)} (retrying)`;
          retryInMs = backoffDelay(this.sendFailures, SEND_RETRY, Math.random());
          break;
        }
        if (!packer.hasFullBatch && this.phase !== "finishing" && this.phase !== "paused") break;
      }
    } finally {
      this.sending = false;
    }
    if (progress !== this.progress || progress.state !== "running") return;
    if (retryInMs !== null) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        void this.flush();
      }, retryInMs);
    } else if (this.packer.size > 0) {
      this.scheduleFlush();
    } else if (this.phase === "finishing") {
      this.complete();
    } else if (this.phase === "paused") {
      this.phase = "backoff";
      void this.connect();
    }
  }

  private dropSocket(reason: string): void {
    this.generation++;
    if (this.socket) closeQuietly(this.socket, reason);
    this.socket = null;
    this.clearTimer();
    if (this.phase === "connecting" || this.phase === "connected") this.phase = "idle";
  }

  /** Forgets the connection, timers and anything not yet enqueued (a new replay or a cancel). */
  private reset(): void {
    this.dropSocket("replay cancelled");
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.packer = new Packer(QUEUE_LIMITS);
    this.phase = "idle";
    this.failures = 0;
    this.sendFailures = 0;
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

