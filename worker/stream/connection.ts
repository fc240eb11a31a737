import { planReconnect, type BackoffSettings } from "../backoff.ts";
import { nextState, type ConnectionEvent, type LinkState } from "./connection-state.ts";
import { closeQuietly, subscribe } from "../jetstream/socket.ts";
import { displayEndpoint, type SubscribeRequest } from "../jetstream/request.ts";
import { stalled, type TransportError } from "../jetstream/transport-errors.ts";

export interface ConnectionSettings {
  endpoints: readonly string[];
  connectTimeoutMs: number;
  /** A socket without any frame for this long is replaced. */
  stallMs: number;
  backoff: BackoffSettings;
}

/** What the stream using a connection decides and hears. */
export interface ConnectionHandlers {
  /** False while no attempt may start. */
  ready(): boolean;
  /** The subscription to open on `endpoint`, and the cursor it asks for; `retry` after the first attempt. */
  request(endpoint: string, retry: boolean): { request: SubscribeRequest; cursor: number | null };
  opened(endpoint: string, cursor: number | null): void;
  frame(data: string | ArrayBuffer, nowMs: number): void;
  /**
   * The attempt or the socket ended: `retry` after the backoff (failing over after repeated failures),
   * `resume` at once on the same endpoint (the server said where to go on, e.g. CursorTooOld), `stop`.
   */
  ended(error: TransportError): "retry" | "resume" | "stop";
}

/**
 * One Jetstream connection over time: the socket, its generation (events of an older socket are
 * ignored), the state machine (connection-state.ts) with the times that go with it, backoff with
 * jitter and failover across the endpoints. It knows nothing of events or positions: the stream decides
 * what to ask for (`request`) and what a frame means.
 */
export class Connection {
  private state: LinkState;
  private socket: WebSocket | null = null;
  private generation = 0;
  private endpointIndex: number;
  private failures = 0;
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private connectingSince: number | null = null;
  private connectedAt: number | null = null;
  private disconnectedSince: number | null = Date.now();
  private lastFrameAt: number | null = null;
  private nextAttemptAt: number | null = null;
  private lastError: { message: string; at: string } | null = null;

  constructor(
    private readonly settings: ConnectionSettings,
    private readonly handlers: ConnectionHandlers,
    private readonly label: string,
    initial: { state: "backoff" | "stopped"; endpointIndex?: number },
  ) {
    this.state = initial.state;
    this.endpointIndex = initial.endpointIndex ?? 0;
  }

  get current(): LinkState {
    return this.state;
  }
  get endpoint(): string {
    return this.settings.endpoints[this.endpointIndex];
  }
  get endpointNumber(): number {
    return this.endpointIndex;
  }
  get error(): { message: string; at: string } | null {
    return this.lastError;
  }
  /** Times, epoch ms (null when they do not apply now). */
  get times(): { connectedAt: number | null; disconnectedSince: number | null; lastFrameAt: number | null; nextAttemptAt: number | null } {
    return {
      connectedAt: this.connectedAt,
      disconnectedSince: this.state === "connected" ? null : this.disconnectedSince,
      lastFrameAt: this.lastFrameAt,
      nextAttemptAt: this.state === "backoff" ? this.nextAttemptAt : null,
    };
  }

  /** Opens a connection unless one is open or opening (or the stream is paused by the caller's choice). */
  async open(): Promise<void> {
    if (!this.handlers.ready() || !this.transition("start")) return;
    this.clearTimer();
    const generation = ++this.generation;
    this.connectingSince = Date.now();
    const endpoint = this.endpoint;
    const { request, cursor } = this.handlers.request(endpoint, this.attempts++ > 0);
    const socket = await subscribe(request, this.settings.connectTimeoutMs, () => generation === this.generation, {
      onFrame: (data) => {
        if (generation !== this.generation) return;
        const now = Date.now();
        this.lastFrameAt = now;
        this.handlers.frame(data, now);
      },
      onEnd: (error) => this.ended(generation, error),
    });
    if (!socket) return;
    this.socket = socket;
    this.transition("opened");
    this.connectingSince = null;
    this.connectedAt = Date.now();
    this.handlers.opened(endpoint, cursor);
  }

  /**
   * The server ended the socket and said to come back (v2 ConsumerTooSlow): a new connection at once,
   * from wherever the stream stands, without counting a failure.
   */
  resume(message: string): void {
    if (this.state !== "connected") return;
    this.drop(message);
    this.setError(message);
    this.transition("failed");
    void this.open();
  }

  /** A new connection at once, whatever the state (an operator's reconnect). */
  reconnect(reason: string): void {
    if (this.state === "stopped") return;
    this.drop(reason);
    this.failures = 0;
    void this.open();
  }

  /** Which endpoint the next attempt goes to (before the first). */
  moveTo(endpointIndex: number): void {
    this.endpointIndex = endpointIndex;
  }

  /** Something the operator should see in `lastError` (the connection itself is fine). */
  note(message: string): void {
    this.setError(message);
  }

  /** The current socket failed for a reason the stream found (storage, protocol): as if it had ended. */
  fail(error: TransportError): void {
    this.ended(this.generation, error);
  }

  /** Backpressure: stop reading until `open()` is called again. */
  pause(why: string): boolean {
    if (this.state === "paused" || this.state === "stopped") return false;
    this.clearTimer();
    this.drop(`paused: ${why}`);
    this.setError(`paused: ${why}`);
    this.transition("pause");
    return true;
  }

  /** Stops for good (until `open()`). */
  stop(reason: string): void {
    this.clearTimer();
    this.drop(reason);
    this.transition("stop");
  }

  /**
   * Brings the connection back to where it should be (the alarm calls it): a silent socket is replaced,
   * an attempt that hangs is given up, a backoff that is due is ended. A paused connection is the
   * stream's to resume.
   */
  watchdog(now: number): void {
    const s = this.settings;
    if (this.state === "connected" && now - Math.max(this.lastFrameAt ?? 0, this.connectedAt ?? 0) > s.stallMs) {
      this.ended(this.generation, stalled(s.stallMs / 1000));
    } else if (this.state === "connecting" && this.connectingSince !== null && now - this.connectingSince > s.connectTimeoutMs * 2) {
      this.ended(this.generation, { kind: "timeout", message: "connection attempt did not finish" });
    } else if (this.state === "backoff" && (this.nextAttemptAt === null || now >= this.nextAttemptAt)) {
      void this.open();
    }
  }

  /** The socket or the attempt ended (close, error, refusal, stall): plan the next attempt. */
  private ended(generation: number, error: TransportError): void {
    if (generation !== this.generation || (this.state !== "connecting" && this.state !== "connected")) return;
    // Measured before drop(), which forgets when the connection was made.
    const connectedForMs = this.connectedAt === null ? null : Date.now() - this.connectedAt;
    this.drop(error.message);
    this.setError(error.message);
    const next = this.handlers.ended(error);
    if (next === "stop") {
      this.transition("stop");
      return;
    }
    if (next === "resume") {
      this.transition("failed");
      void this.open();
      return;
    }
    const plan = planReconnect({ failures: this.failures, endpointIndex: this.endpointIndex }, { connectedForMs }, this.settings.endpoints.length, this.settings.backoff, Math.random());
    this.failures = plan.failures;
    this.endpointIndex = plan.endpointIndex;
    console.warn(`${this.label}: ${error.message}; next attempt in ${plan.delayMs} ms on ${displayEndpoint(this.endpoint)}`);
    this.transition("failed");
    this.nextAttemptAt = Date.now() + plan.delayMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.open();
    }, plan.delayMs);
  }

  /** Forgets the socket; a newer generation makes whatever the old one still reports ignored. */
  private drop(reason: string): void {
    this.generation++;
    if (this.socket) closeQuietly(this.socket, reason);
    this.socket = null;
    this.connectedAt = null;
    this.connectingSince = null;
  }

  private transition(event: ConnectionEvent): boolean {
    const next = nextState(this.state, event);
    if (next === null) return false;
    if (this.state === "connected" && next !== "connected") this.disconnectedSince = Date.now();
    if (next === "connected") this.disconnectedSince = null;
    this.state = next;
    return true;
  }

  private setError(message: string): void {
    this.lastError = { message, at: new Date().toISOString() };
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
