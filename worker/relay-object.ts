import { DurableObject } from "cloudflare:workers";
import type {
  DeliveryReport,
  Env,
  HealthReport,
  RelayStats,
  RelayStatus,
  ReplayProgress,
  ReplayRequest,
} from "./contract.ts";

/**
 * The ingestion Durable Object: holds the Jetstream WebSocket, filters, counts and packs events into
 * queue messages, keeps the cursor, and is the source of statistics, status and health.
 * SKELETON — being written (issue 2).
 */
export class JetstreamRelay extends DurableObject<Env> {
  /** Start (or keep) the connection and the watchdog alarm; returns the status. */
  async ensureRunning(): Promise<RelayStatus> {
    throw new Error("not implemented yet");
  }
  async getStats(): Promise<RelayStats> {
    throw new Error("not implemented yet");
  }
  async getStatus(): Promise<RelayStatus> {
    throw new Error("not implemented yet");
  }
  async getHealth(): Promise<HealthReport> {
    throw new Error("not implemented yet");
  }
  /** Reset statistics (never the cursor). */
  async resetStats(): Promise<{ resetAt: string }> {
    throw new Error("not implemented yet");
  }
  /** Force a reconnect from the saved cursor. */
  async reconnect(): Promise<RelayStatus> {
    throw new Error("not implemented yet");
  }
  /** Mark every detected gap as seen by an operator (it leaves /health's reasons). */
  async acknowledgeGaps(): Promise<{ acknowledged: number }> {
    throw new Error("not implemented yet");
  }
  /** Called by the queue consumer after each batch. */
  async settle(_report: DeliveryReport): Promise<void> {
    throw new Error("not implemented yet");
  }
  /** The text of an oversized event stored as a blob, or null if it is gone. */
  async getBlob(_id: string): Promise<string | null> {
    throw new Error("not implemented yet");
  }
  async startReplay(_request: ReplayRequest): Promise<ReplayProgress> {
    throw new Error("not implemented yet");
  }
  async getReplay(): Promise<ReplayProgress | null> {
    throw new Error("not implemented yet");
  }
  async cancelReplay(): Promise<ReplayProgress | null> {
    throw new Error("not implemented yet");
  }
}
