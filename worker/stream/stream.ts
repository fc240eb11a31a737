import type { Gap, JetstreamWire, QueueMessageBody } from "../contract.ts";
import { errorMessage } from "../errors.ts";
import { parseFrame, type EventFrame, type EventKind, type ParsedFrame } from "../jetstream/legacy-frame.ts";
import { parseV2Frame } from "../jetstream/v2-frame.ts";
import { frameText } from "../jetstream/socket.ts";
import { buildRequest, displayEndpoint, wireOf, type SubscribeRequest } from "../jetstream/request.ts";
import type { TransportError } from "../jetstream/transport-errors.ts";
import type { EnqueueOutcome } from "../queue/enqueue.ts";
import type { Packer, PackedBatch } from "../queue/packer.ts";
import { eventToQueue, type EventToQueue } from "../queue/queued-event.ts";
import { isoFromUs } from "../time-us.ts";
import { Connection, type ConnectionSettings } from "./connection.ts";
import { Outbox } from "./outbox.ts";
import { cursorFor, startingEndpoint, type Position } from "./position.ts";
import { cursorTooOld, outdatedCursor } from "../jetstream/server-signals.ts";

export type { EventFrame } from "../jetstream/legacy-frame.ts";

export interface StreamSettings extends ConnectionSettings {
  /** When partly filled messages leave (outbox.ts): a linger, or 0 for group commit with this spacing. */
  flushMs: number;
  sendSpacingMs: number;
  /** Backpressure bounds: past either, reading stops until the queue took what waits. */
  maxBufferedEvents: number;
  maxBufferedBytes: number;
  /** Consecutive failed sends to the queue before reading stops. */
  sendFailuresBeforePause: number;
  /** Rewind of the cursor on an instance other than the position's (its clock differs). */
  failoverRewindUs: number;
}

/** What the stream is for: what it asks for, what it keeps, how its messages are made. */
export interface StreamPolicy {
  /** Prefix of its log lines. */
  label: string;
  /** False while the stream must not connect (its owner has not read its saved position yet). */
  ready?(): boolean;
  subscription: { collections: readonly string[]; dids: readonly string[]; kinds?: readonly EventKind[] };
  /** An event not seen before: forward it, skip it (it still moves the position), or end the stream. */
  judge(frame: EventFrame): "forward" | "skip" | "end";
  newPacker(): Packer;
  nextLedgerId(): string;
  send(bodies: QueueMessageBody[]): Promise<EnqueueOutcome>;
  /** Keeps an event too large for a queue message (throws when storage fails). */
  putBlob(id: string, text: string): void;
}

/** What the stream tells its owner; every hook is optional. */
export interface StreamHooks {
  /** Every frame but those a resume sends again: parsed, and whether it was forwarded. */
  frame?(frame: ParsedFrame, forwarded: boolean, nowMs: number): void;
  /** An event was handled (forwarded or skipped): the position is at it now. */
  handled?(frame: EventFrame): void;
  /** The first new event of a legacy connection, and the cursor it asked for (before any rewind): for the gap heuristic. */
  firstEvent?(requestedUs: number | null, timeUs: number, endpoint: string, nowMs: number): void;
  /** The server said exactly what it no longer has (v2: CursorTooOld, OutdatedCursor). */
  gap?(gap: Gap): void;
  /** The server closed the socket because the relay read too slowly (v2 ConsumerTooSlow). */
  consumerTooSlow?(message: string): void;
  /** A connection attempt after the first. */
  reconnecting?(): void;
  /** The position exists for the first time, or is on another instance now: worth saving at once. */
  positionMoved?(): void;
  oversized?(): void;
  called?(calls: number): void;
  sent?(batch: PackedBatch): void;
  /** Something went wrong that the stream recovers from by itself (send failure, storage failure). */
  trouble?(message: string): void;
  paused?(why: string, waiting: number): void;
  /** The connection ended; true gives up for good. */
  ended?(error: TransportError): boolean;
  /** `finish()` was called and everything read is in the queue. */
  finished?(): void;
}

/** Texts remembered at the position, for telling a resent event from a new one of the same time. */
const MAX_TEXTS_AT_POSITION = 100;

/** What a resume on the same instance sends again: events up to here were handled already. */
interface Resent {
  timeUs: number;
  texts: string[];
  through: boolean;
  /** v2: every seq up to this one was handled (seqs are exact, no texts needed). */
  seq: number | null;
}

/** A gap the server announced, completed by the first event after it. */
interface PendingGap {
  fromUs: number;
  fromSeq: number | null;
  toSeq: number | null;
  reason: string;
}

/**
 * One ingestion engine, for the live relay and for a replay alike: a Jetstream connection (connection.ts),
 * the frames it brings on either wire, judged by the policy, and the outbox that takes forwarded events
 * into the queue (outbox.ts), with backpressure between them. It owns the position: where it stands
 * (the last event handled, on the instance it came from, with its seq on v2) and what it may save
 * (ahead of nothing that is not in the queue).
 */
export class Stream {
  readonly connection: Connection;
  private readonly outbox: Outbox;
  /** The last event handled: its instance, time and (v2) seq. */
  private instance: string | null = null;
  private timeUs: number | null = null;
  private seq: number | null = null;
  /** Whether the event at `seq` was handled (false for a restored position: a resume asks for it again). */
  private seqHandled = false;
  /** No event handled yet: the position is the time the first connection opened (Position.estimated). */
  private estimated = false;
  /** Texts of the events handled at exactly `timeUs`; `throughTime`: every event at it was handled. */
  private readonly textsAtTime: string[] = [];
  private throughTime = false;
  private resent: Resent | null = null;
  private awaitingFirst = false;
  private requestedUs: number | null = null;
  private requestedSeq: number | null = null;
  /** v2: the floor seq the server named (CursorTooOld), to resume from on that instance. */
  private floor: { instance: string; seq: number } | null = null;
  private pendingGap: PendingGap | null = null;
  private ending = false;
  private lastNewAt: number | null = null;
  private newSinceOpen = false;
  /** The instance of the position as last told by `positionMoved`. */
  private announced: string | null = null;
  /** v2: DIDs left out of the URL (too many for it), filtered by the relay alone. */
  private didsLeftOut = 0;
  /** The wire of the open connection (read for every frame: not parsed from its URL each time). */
  private openWire: JetstreamWire | null = null;

  constructor(
    private readonly settings: StreamSettings,
    private readonly policy: StreamPolicy,
    private readonly hooks: StreamHooks,
    initial: { state: "backoff" | "stopped"; position: Position | null; through?: boolean },
  ) {
    this.setPosition(initial.position, initial.through ?? false);
    this.connection = new Connection(
      settings,
      {
        ready: () => policy.ready?.() ?? true,
        request: (endpoint, retry) => {
          if (retry) this.hooks.reconnecting?.();
          return this.request(endpoint);
        },
        opened: (endpoint, cursor) => this.opened(endpoint, cursor),
        frame: (data, now) => this.frame(data, now),
        ended: (error) => this.ended(error),
      },
      policy.label,
      { state: initial.state, endpointIndex: startingEndpoint(initial.position, settings.endpoints) },
    );
    this.outbox = new Outbox(policy.newPacker, { lingerMs: settings.flushMs, spacingMs: settings.sendSpacingMs }, {
      send: (bodies) => policy.send(bodies),
      nextLedgerId: () => policy.nextLedgerId(),
      called: (calls) => this.hooks.called?.(calls),
      sent: (batch) => this.hooks.sent?.(batch),
      sendFailed: (error, failures) => this.sendFailed(error, failures),
      drained: () => this.drained(),
      urgent: () => this.ending || this.connection.current === "paused",
    });
  }

  /** Where a resume must start: before the oldest event not yet in the queue, else at the last one handled. */
  position(): Position | null {
    const oldest = this.outbox.oldest;
    if (oldest) return { instance: oldest.instance, timeUs: oldest.cursorBefore!, seq: oldest.seqBefore };
    if (this.timeUs === null) return null;
    return this.estimated ? { instance: this.instance, timeUs: this.timeUs, seq: null, estimated: true } : { instance: this.instance, timeUs: this.timeUs, seq: this.seq };
  }

  /** Sets where the stream stands before it starts (a saved position; `through`: every event at its time was handled). */
  restore(position: Position | null, through = false): void {
    this.setPosition(position, through);
    this.connection.moveTo(startingEndpoint(position, this.settings.endpoints));
  }

  /** The wire of the endpoint in use. */
  get wire(): JetstreamWire {
    return this.openWire ?? wireOf(this.connection.endpoint);
  }
  /** When the last new frame arrived (a frame sent again by a resume does not count). */
  get lastNewFrameAt(): number | null {
    return this.lastNewAt;
  }
  /** Whether the current connection brought anything new. */
  get progressed(): boolean {
    return this.newSinceOpen;
  }
  /** v2: DIDs that did not fit the URL, so the server sends every DID's events and the relay filters. */
  get unfilteredDids(): number {
    return this.didsLeftOut;
  }

  start(): void {
    void this.connection.open();
  }

  /** The alarm's call: the connection back where it should be, and nothing left waiting unsent. */
  watchdog(now: number): void {
    if (this.connection.current === "paused") {
      if (this.outbox.size === 0) void this.connection.open();
    } else {
      this.connection.watchdog(now);
    }
    this.outbox.kick();
  }

  reconnect(reason: string): void {
    this.connection.reconnect(reason);
  }

  /** Reading stops; what was read still goes into the queue, then `finished` is called. */
  finish(reason: string): void {
    this.ending = true;
    this.connection.stop(reason);
    if (this.outbox.size === 0) this.hooks.finished?.();
    else this.outbox.kick();
  }

  /** Stops reading and forgets what waits (a cancelled replay). */
  stop(reason: string): void {
    this.connection.stop(reason);
    this.outbox.clear();
  }

  // ------------------------------------------------------------------------------------------------
  // Connection

  private setPosition(position: Position | null, through: boolean): void {
    this.instance = position?.instance ?? null;
    this.timeUs = position?.timeUs ?? null;
    this.seq = position?.seq ?? null;
    this.seqHandled = through;
    this.estimated = position?.estimated === true;
    this.textsAtTime.length = 0;
    this.throughTime = through;
    this.announced = position?.instance ?? null;
  }

  private request(endpoint: string): { request: SubscribeRequest; cursor: number | null } {
    const base = this.position();
    let cursor = cursorFor(base, endpoint, this.settings.failoverRewindUs);
    const floor = this.floor;
    if (floor !== null && floor.instance === endpoint && wireOf(endpoint) === "v2" && (cursor === null || cursor < floor.seq || cursor >= 1e15)) cursor = floor.seq;
    // A gap is measured from an event handled, not from the time a quiet stream was opened at.
    this.requestedUs = base !== null && !base.estimated ? base.timeUs : null;
    this.requestedSeq = cursor !== null && cursor < 1e15 ? cursor : null;
    const request = buildRequest(endpoint, this.policy.subscription, cursor);
    this.didsLeftOut = request.didsLeftOut ?? 0;
    return { request, cursor };
  }

  private opened(endpoint: string, cursor: number | null): void {
    this.openWire = wireOf(endpoint);
    this.awaitingFirst = true;
    this.newSinceOpen = false;
    this.lastNewAt = Date.now();
    if (this.timeUs !== null && this.instance === endpoint) {
      // The server sends again what follows `cursor`: what was handled up to the position is not new.
      const seq = this.seq === null ? null : this.seqHandled ? this.seq : this.seq - 1;
      this.resent = { timeUs: this.timeUs, texts: [...this.textsAtTime], through: this.throughTime, seq };
      return;
    }
    // Another instance (or none yet): its events from `cursor` on are all new to this stream.
    this.resent = null;
    this.instance = endpoint;
    this.timeUs = cursor !== null && cursor >= 1e15 ? cursor : this.timeUs;
    this.seq = null;
    this.textsAtTime.length = 0;
    this.throughTime = false;
    if (this.timeUs === null) {
      // A fresh stream reading live: from now on (less the rewind, for the server's clock) is what it must
      // not lose, even should it restart before its first event. Saved at once.
      this.timeUs = Date.now() * 1000 - this.settings.failoverRewindUs;
      this.estimated = true;
      this.announced = endpoint;
      this.hooks.positionMoved?.();
    }
  }

  private ended(error: TransportError): "retry" | "resume" | "stop" {
    const endpoint = this.connection.endpoint;
    const tooOld = error.kind === "refused" && error.status === 400 ? cursorTooOld(error.xrpc) : null;
    if (tooOld && wireOf(endpoint) === "v2" && (this.floor?.seq ?? 0) < tooOld.floorSeq) {
      // The server no longer has the seqs asked for, and says from where it has them: an exact gap.
      this.floor = { instance: endpoint, seq: tooOld.floorSeq };
      this.pendingGap = { fromUs: this.requestedUs ?? 0, fromSeq: tooOld.requestedSeq ?? this.requestedSeq, toSeq: tooOld.floorSeq, reason: `CursorTooOld: ${tooOld.message}` };
      console.warn(`${this.policy.label}: ${displayEndpoint(endpoint)} no longer has seq ${tooOld.requestedSeq ?? this.requestedSeq}: resuming from its floor, seq ${tooOld.floorSeq}`);
      return "resume";
    }
    return this.hooks.ended?.(error) ? "stop" : "retry";
  }

  // ------------------------------------------------------------------------------------------------
  // Frames

  private frame(data: string | ArrayBuffer, now: number): void {
    const text = frameText(data);
    if (text === null) return this.malformed({ type: "malformed", reason: "binary frame" }, now);
    if (this.openWire === "legacy") {
      const frame = parseFrame(text);
      if (frame.type === "malformed") return this.malformed(frame, now);
      this.event(frame, text, now);
      return;
    }
    const v2 = parseV2Frame(text);
    switch (v2.type) {
      case "event":
        this.event(v2.event, v2.payload, now);
        return;
      case "info":
        this.info(v2.name, v2.message);
        return;
      case "error":
        this.serverError(v2.error, v2.message);
        return;
      case "malformed":
        this.malformed(v2, now);
    }
  }

  private malformed(frame: ParsedFrame, now: number): void {
    this.lastNewAt = now;
    this.hooks.frame?.(frame, false, now);
  }

  /** One event; `text` is what travels on (the legacy event, or the v2 payload). */
  private event(frame: EventFrame, text: string, now: number): void {
    const resent = this.resent;
    if (resent !== null) {
      if (frame.seq !== undefined) {
        // v2: seqs are exact; display times are not compared (an operator may have rewritten them).
        if (resent.seq !== null && frame.seq <= resent.seq) return;
        this.resent = null;
      } else {
        if (frame.timeUs < resent.timeUs || (frame.timeUs === resent.timeUs && (resent.through || resent.texts.includes(text)))) return;
        if (frame.timeUs > resent.timeUs) this.resent = null;
      }
    }
    this.lastNewAt = now;
    this.newSinceOpen = true;
    if (this.awaitingFirst) {
      this.awaitingFirst = false;
      this.firstEvent(frame, now);
    }
    const verdict = this.policy.judge(frame);
    this.hooks.frame?.(frame, verdict === "forward", now);
    if (verdict === "end") {
      this.finish("reached the end of its window");
      return;
    }
    if (verdict === "forward" && !this.forward(text, frame, now)) return;
    const first = this.estimated || this.timeUs === null;
    this.advance(frame, text);
    const instance = this.outbox.oldest?.instance ?? this.instance;
    // Saved at once when the position moves to another instance, and when the first event replaces an
    // estimate: a restart before the next alarm must resume at that event (by seq on v2), not at the
    // estimate, which an event stamped earlier than it would fall behind.
    if (instance !== this.announced || first) {
      this.announced = instance;
      this.hooks.positionMoved?.();
    }
    this.hooks.handled?.(frame);
  }

  private firstEvent(frame: EventFrame, now: number): void {
    const endpoint = this.connection.endpoint;
    const pending = this.pendingGap;
    if (pending !== null) {
      this.pendingGap = null;
      this.hooks.gap?.({
        fromUs: pending.fromUs,
        from: isoFromUs(pending.fromUs),
        toUs: frame.timeUs,
        to: isoFromUs(frame.timeUs),
        detectedAt: new Date(now).toISOString(),
        endpoint: displayEndpoint(endpoint),
        acknowledged: false,
        exact: true,
        fromSeq: pending.fromSeq,
        toSeq: pending.toSeq ?? frame.seq ?? null,
        reason: pending.reason,
      });
    }
    // The threshold heuristic is for the legacy wire only: v2 says exactly what is gone.
    if (this.openWire === "legacy") this.hooks.firstEvent?.(this.requestedUs, frame.timeUs, endpoint, now);
    if (this.floor !== null && frame.seq !== undefined && frame.seq >= this.floor.seq) this.floor = null;
  }

  /** v2 advisories: OutdatedCursor names the seq the server resumed from, below what was asked. */
  private info(name: string, message: string): void {
    const outdated = name === "OutdatedCursor" ? outdatedCursor(message) : null;
    if (outdated) {
      this.pendingGap = { fromUs: this.requestedUs ?? 0, fromSeq: this.requestedSeq, toSeq: outdated.startSeq, reason: `OutdatedCursor: ${message}` };
      console.warn(`${this.policy.label}: ${displayEndpoint(this.connection.endpoint)} no longer has what was asked: ${message}`);
    } else {
      console.log(`${this.policy.label}: server info ${name}: ${message}`);
    }
  }

  /** v2 terminal error frames: the server closes the socket after one. */
  private serverError(error: string, message: string): void {
    const said = `server said ${error}${message ? `: ${message}` : ""}`;
    if (error === "ConsumerTooSlow") {
      this.hooks.consumerTooSlow?.(said);
      console.warn(`${this.policy.label}: ${said}; reconnecting from the position`);
      this.connection.resume(said);
      return;
    }
    this.connection.fail({ kind: "protocol", message: said });
  }

  /** Into the outbox; false when the event could not be kept (the socket is replaced then). */
  private forward(text: string, frame: EventFrame, now: number): boolean {
    let queued: EventToQueue;
    try {
      queued = eventToQueue(text, frame.did, frame.timeUs, now, (id, blobText) => this.policy.putBlob(id, blobText));
    } catch (error) {
      // Without its blob the event cannot be queued: the position stays before it and it is read again.
      const message = `storage failed: ${errorMessage(error)}`;
      this.hooks.trouble?.(message);
      this.connection.fail({ kind: "protocol", message });
      return false;
    }
    if (queued.oversized) this.hooks.oversized?.();
    // Before the first event the position is none or an estimate: resuming at this event's own time
    // (inclusive) loses nothing, and the estimate may be later than an event stamped by a lagging clock.
    const before = this.timeUs === null ? frame.timeUs : this.estimated ? Math.min(this.timeUs, frame.timeUs) : this.timeUs;
    this.outbox.add({
      event: queued.event,
      bytes: queued.bytes,
      timeUs: frame.timeUs,
      cursorBefore: before,
      seqBefore: this.seq ?? frame.seq ?? null,
      instance: this.instance,
      seq: frame.seq ?? null,
    });
    const s = this.settings;
    if (this.outbox.size > s.maxBufferedEvents || this.outbox.bytes > s.maxBufferedBytes) this.pause("buffer full");
    return true;
  }

  private advance(frame: EventFrame, text: string): void {
    // The first event handled replaces a position that was only the time the stream opened at.
    const first = this.estimated || this.timeUs === null;
    this.estimated = false;
    if (frame.seq !== undefined) {
      // v2: the seq is the position; `time` is for display and may have been rewritten: never backwards.
      this.seq = frame.seq;
      this.seqHandled = true;
      if (first || frame.timeUs > this.timeUs!) this.timeUs = frame.timeUs;
      return;
    }
    if (frame.timeUs !== this.timeUs) {
      this.timeUs = frame.timeUs;
      this.textsAtTime.length = 0;
      this.throughTime = false;
    }
    if (this.textsAtTime.length < MAX_TEXTS_AT_POSITION) this.textsAtTime.push(text);
  }

  /** Backpressure: stop reading; reading resumes from the position once everything waiting is enqueued. */
  private pause(why: string): void {
    if (this.connection.pause(why)) this.hooks.paused?.(why, this.outbox.size);
  }

  private sendFailed(error: unknown, failures: number): void {
    const message = `queue send failed (${failures}× in a row): ${errorMessage(error)}`;
    console.warn(`${this.policy.label}: ${message}`);
    this.connection.note(message);
    this.hooks.trouble?.(message);
    if (failures >= this.settings.sendFailuresBeforePause && !this.ending) this.pause("the queue refuses messages");
  }

  private drained(): void {
    if (this.ending) this.hooks.finished?.();
    else if (this.connection.current === "paused") void this.connection.open();
  }
}
