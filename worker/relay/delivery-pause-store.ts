// The relay object keeps whether webhook delivery is paused by a 410 Gone answer: set by the consumer's
// report, asked by the consumer once per batch, shown by /status and /health, ended by an operator
// (POST /webhook/resume) or by a new WEBHOOK_URL.
import type { DeliveryPause, DeliveryResume } from "../api-types.ts";
import { sha256Hex } from "../delivery/sha256.ts";

/** The storage key of the pause. */
export const PAUSE_KEY = "deliveryPause";

/** The pause as saved: with a fingerprint of the WEBHOOK_URL that answered 410 (never the URL: it may hold a secret). */
interface SavedPause extends Omit<DeliveryPause, "held"> {
  webhook: string;
}

export interface PauseStorage {
  put(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<boolean>;
}

export class DeliveryPauseStore {
  private current: SavedPause | null = null;
  /** Events held since the pause (in memory: counting them costs no storage write per batch). */
  private held = 0;
  private readonly webhook: string;

  constructor(
    private readonly storage: PauseStorage,
    webhookUrl: unknown,
    private readonly storageFailed: (error: unknown) => void,
  ) {
    this.webhook = sha256Hex(typeof webhookUrl === "string" ? webhookUrl : "", 2);
  }

  /** The saved pause, as read at start (anything else is ignored: delivery then goes on). */
  restore(saved: unknown): void {
    const s = saved as Partial<SavedPause> | null | undefined;
    this.current = s && typeof s.since === "string" && typeof s.reason === "string" && typeof s.webhook === "string" ? { since: s.since, reason: s.reason, webhook: s.webhook } : null;
  }

  /** The pause in force: none once WEBHOOK_URL is another than the one that answered 410 (the pause then ends). */
  async get(): Promise<DeliveryPause | null> {
    if (!this.current) return null;
    if (this.current.webhook !== this.webhook) {
      console.log("jetstream-relay: webhook delivery resumes: WEBHOOK_URL changed since the webhook answered 410 Gone");
      await this.end();
      return null;
    }
    return { since: this.current.since, reason: this.current.reason, held: this.held };
  }

  /** The consumer held events because of the pause. */
  countHeld(events: number): void {
    if (this.current) this.held += events;
  }

  /** The webhook answered 410: pause (the first answer's time is kept while paused). */
  async pause(gone: { at: string; reason: string }): Promise<void> {
    if (this.current?.webhook === this.webhook) return;
    this.current = { since: gone.at, reason: gone.reason, webhook: this.webhook };
    this.held = 0;
    console.error(`jetstream-relay: webhook delivery paused: ${gone.reason} at ${gone.at}; the events wait in the queue (resume: jetstream-relay webhook resume)`);
    try {
      await this.storage.put(PAUSE_KEY, this.current);
    } catch (error) {
      this.storageFailed(error);
    }
  }

  /** Ends the pause; says whether there was one. */
  async resume(): Promise<DeliveryResume> {
    const pause = await this.get();
    if (!pause) return { resumed: false, pause: null };
    await this.end();
    console.log(`jetstream-relay: webhook delivery resumed by an operator (paused since ${pause.since})`);
    return { resumed: true, pause };
  }

  private async end(): Promise<void> {
    this.current = null;
    this.held = 0;
    try {
      await this.storage.delete(PAUSE_KEY);
    } catch (error) {
      this.storageFailed(error);
    }
  }
}
