import type { QueueMessageBody } from "../contract.ts";
import type { EnqueueOutcome } from "../queue/enqueue.ts";
import { parseFrame, type ParsedFrame } from "../ingest/event.ts";
import { frameText } from "../ingest/jetstream-socket.ts";
import type { Packer, PackedBatch } from "../queue/packer.ts";
import { eventToQueue, type EventToQueue } from "../queue/queued-event.ts";
import { buildSubscribeRequest } from "../ingest/subscribe-url.ts";
import type { TransportError } from "../ingest/transport-errors.ts";
import { Connection, type ConnectionSettings } from "./connection.ts";
import { Outbox } from "./outbox.ts";
import { cursorFor, startingEndpoint, type Position } from "./position.ts";
import { errorMessage } from "../errors.ts";

export interface StreamSettings extends ConnectionSettings {
  flushMs: number;
  /** Backpressure bounds: past either, reading stops until the queue took what waits. */
  maxBufferedEvents: number;
  maxBufferedBytes: number;
  /** Consecutive failed sends to the queue before reading stops. */
  sendFailuresBeforePause: number;
  /** Rewind of the cursor on an instance other than the position's (its clock differs). */
  failoverRewindUs: number;
}

/** A frame that is a Jetstream event (it has a did and a time). */
export type EventFrame = Exclude<ParsedFrame, { type: "malformed" }>;

/** What the stream is for: what it asks for, what it keeps, how its messages are made. */
export interface StreamPolicy {
  /** Prefix of its log lines. */
  label: string;
  /** False while the stream must not connect (its owner has not read its saved position yet). */
  ready?(): boolean;
  subscription: { collections: readonly string[]; dids: readonly string[] };
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
  /** The first new event of a connection, and the cursor that connection asked for (before any rewind). */
  firstEvent?(requestedUs: number | null, timeUs: number, endpoint: string, nowMs: number): void;
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

/**
 * One ingestion engine, for the live relay and for a replay alike: a Jetstream connection (connection.ts),
 * the frames it brings, judged by the policy, and the outbox that takes forwarded events into the queue
 * (outbox.ts), with backpressure between them. It owns the position: where it stands (the last event
 * handled, on the instance it came from) and what it may save (ahead of nothing that is not in the queue).
 */
export class Stream {
  readonly connection: Connection;
  private readonly outbox: Outbox;
  /** The last event handled: its instance and time. */
  private instance: string | null = null;
  private timeUs: number | null = null;
  /** Texts of the events handled at exactly `timeUs`; `throughTime`: every event at it was handled. */
  private readonly textsAtTime: string[] = [];
  private throughTime = false;
  /** After a resume on the same instance: events up to this time were handled already (null: none to skip). */
  private resentUpTo: { timeUs: number; texts: string[]; through: boolean } | null = null;
  private awaitingFirst = false;
  private requestedUs: number | null = null;
  private ending = false;
  /** The instance of the position as last told by `positionMoved`. */
  private announced: string | null = null;
  private lastNewAt: number | null = null;
  private newSinceOpen = false;

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
        request: (endpoint, retry) => {
          if (retry) this.hooks.reconnecting?.();
          return this.request(endpoint);
        },
        ready: () => policy.ready?.() ?? true,
        opened: (endpoint, cursor) => this.opened(endpoint, cursor),
        frame: (data, now) => this.frame(data, now),
        ended: (error) => this.hooks.ended?.(error) ?? false,
      },
      policy.label,
      { state: initial.state, endpointIndex: startingEndpoint(initial.position, settings.endpoints) },
    );
    this.outbox = new Outbox(policy.newPacker, settings.flushMs, {
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
    if (oldest) return { instance: oldest.instance, timeUs: oldest.cursorBefore! };
    return this.timeUs === null ? null : { instance: this.instance, timeUs: this.timeUs };
  }

  /** Sets where the stream stands before it starts (a saved position; `through`: every event at its time was handled). */
  restore(position: Position | null, through = false): void {
    this.setPosition(position, through);
    this.connection.moveTo(startingEndpoint(position, this.settings.endpoints));
  }

  /** How much waits for the queue. */
  get waiting(): { events: number; bytes: number } {
    return { events: this.outbox.size, bytes: this.outbox.bytes };
  }
  /** When the last new frame arrived (a frame sent again by a resume does not count). */
  get lastNewFrameAt(): number | null {
    return this.lastNewAt;
  }
  /** Whether the current connection brought anything new. */
  get progressed(): boolean {
    return this.newSinceOpen;
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

  private setPosition(position: Position | null, through: boolean): void {
    this.instance = position?.instance ?? null;
    this.timeUs = position?.timeUs ?? null;
    this.textsAtTime.length = 0;
    this.throughTime = through;
    this.announced = position?.instance ?? null;
  }

  private request(endpoint: string): { request: ReturnType<typeof buildSubscribeRequest>; cursor: number | null } {
    const base = this.position();
    const cursor = cursorFor(base, endpoint, this.settings.failoverRewindUs);
    this.requestedUs = base?.timeUs ?? null;
    return { request: buildSubscribeRequest(endpoint, this.policy.subscription, cursor), cursor };
  }

  private opened(endpoint: string, cursor: number | null): void {
    this.awaitingFirst = true;
    this.newSinceOpen = false;
    this.lastNewAt = Date.now();
    if (this.timeUs !== null && this.instance === endpoint) {
      // The server sends again what follows `cursor`: what was handled up to the position is not new.
      this.resentUpTo = { timeUs: this.timeUs, texts: [...this.textsAtTime], through: this.throughTime };
      return;
    }
    // Another instance (or none yet): its events from `cursor` on are all new to this stream.
    this.resentUpTo = null;
    this.instance = endpoint;
    this.timeUs = cursor;
    this.textsAtTime.length = 0;
    this.throughTime = false;
  }

  private frame(data: string | ArrayBuffer, now: number): void {
    const text = frameText(data);
    const frame = text === null ? ({ type: "malformed", reason: "binary frame" } as const) : parseFrame(text);
    if (frame.type === "malformed") {
      this.lastNewAt = now;
      this.hooks.frame?.(frame, false, now);
      return;
    }
    const resent = this.resentUpTo;
    if (resent !== null) {
      if (frame.timeUs < resent.timeUs || (frame.timeUs === resent.timeUs && (resent.through || resent.texts.includes(text!)))) return;
      if (frame.timeUs > resent.timeUs) this.resentUpTo = null;
    }
    this.lastNewAt = now;
    this.newSinceOpen = true;
    if (this.awaitingFirst) {
      this.awaitingFirst = false;
      this.hooks.firstEvent?.(this.requestedUs, frame.timeUs, this.connection.endpoint, now);
    }
    const verdict = this.policy.judge(frame);
    this.hooks.frame?.(frame, verdict === "forward", now);
    if (verdict === "end") {
      this.finish("reached the end of its window");
      return;
    }
    if (verdict === "forward" && !this.forward(text!, frame, now)) return;
    this.advance(frame.timeUs, text!);
    const instance = this.outbox.oldest?.instance ?? this.instance;
    if (instance !== this.announced) {
      this.announced = instance;
      this.hooks.positionMoved?.();
    }
    this.hooks.handled?.(frame);
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
    // Before the very first event there is no position: resuming at this event's own time (inclusive) then loses nothing.
    this.outbox.add({ event: queued.event, bytes: queued.bytes, timeUs: frame.timeUs, cursorBefore: this.timeUs ?? frame.timeUs, instance: this.instance });
    const s = this.settings;
    if (this.outbox.size > s.maxBufferedEvents || this.outbox.bytes > s.maxBufferedBytes) this.pause("buffer full");
    return true;
  }

  private advance(timeUs: number, text: string): void {
    if (timeUs !== this.timeUs) {
      this.timeUs = timeUs;
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
