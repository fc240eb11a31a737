import { DurableObject } from "cloudflare:workers";
import type { DeadLetterPage, DeadLetterSelection, Env } from "./contract.ts";

/** A dead letter as the consumer hands it over. */
export interface DeadLetterInput {
  /** webhook-id of the event */
  id: string;
  /** the event text as received */
  raw: string;
  error: string;
  attempts: number;
  /** epoch ms */
  failedAt: number;
}

/**
 * Keeps dead-lettered events durably (SQLite), lists, replays and purges them.
 * SKELETON — being written (issue 3).
 */
export class DeadLetterStore extends DurableObject<Env> {
  async add(_entries: DeadLetterInput[]): Promise<void> {
    throw new Error("not implemented yet");
  }
  async list(_options: { offset?: number; limit?: number }): Promise<DeadLetterPage> {
    throw new Error("not implemented yet");
  }
  /** Enqueue the selected events for delivery again; they leave the store once delivered. */
  async replay(_selection: DeadLetterSelection): Promise<{ replayed: number }> {
    throw new Error("not implemented yet");
  }
  async purge(_selection: DeadLetterSelection): Promise<{ purged: number }> {
    throw new Error("not implemented yet");
  }
  /** Remove events that were delivered after a replay. */
  async remove(_ids: string[]): Promise<void> {
    throw new Error("not implemented yet");
  }
  async count(): Promise<{ total: number; evicted: number }> {
    throw new Error("not implemented yet");
  }
}
