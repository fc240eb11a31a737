import type { RelayConfig } from "../config.ts";
import type { StreamSettings } from "./stream.ts";

/** A stream's settings from the relay's configuration (the live stream's and every replay's alike). */
export function streamSettings(config: RelayConfig): StreamSettings {
  const s = config.settings;
  return {
    endpoints: config.endpoints,
    connectTimeoutMs: s.connectTimeoutMs,
    stallMs: s.stallMs,
    backoff: s.backoff,
    flushMs: s.flushMs,
    sendSpacingMs: s.sendSpacingMs,
    maxBufferedEvents: s.maxBufferedEvents,
    maxBufferedBytes: s.maxBufferedBytes,
    sendFailuresBeforePause: s.sendFailuresBeforePause,
    failoverRewindUs: s.failoverRewindUs,
  };
}
