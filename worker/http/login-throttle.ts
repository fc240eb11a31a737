/**
 * Slows guessing of the admin token: a client (by CF-Connecting-IP) that sent a wrong token
 * LOGIN_FAILURES_ALLOWED times within LOGIN_WINDOW_MS is refused (429) until that window has passed,
 * even with the right token (so that a guess made meanwhile tells nothing). Kept in memory, per worker
 * isolate: Cloudflare runs several isolates (one or more per location), so a client spread over them
 * meets several counters. It slows guessing; the token's length (at least 32 characters) is what makes
 * guessing hopeless. Pure: the time is passed in.
 */

export const LOGIN_FAILURES_ALLOWED = 10;
export const LOGIN_WINDOW_MS = 5 * 60_000;
/** Clients remembered at most; past it the oldest are forgotten first. */
const MAX_CLIENTS = 10_000;

interface Failures {
  count: number;
  /** When the first failure of the window happened (epoch ms). */
  since: number;
}

export class LoginThrottle {
  private readonly clients = new Map<string, Failures>();

  constructor(
    private readonly allowed = LOGIN_FAILURES_ALLOWED,
    private readonly windowMs = LOGIN_WINDOW_MS,
    private readonly maxClients = MAX_CLIENTS,
  ) {}

  /** Seconds the client must wait before trying again; 0 when it may try now. */
  retryAfterSeconds(client: string, nowMs: number): number {
    const failures = this.current(client, nowMs);
    if (!failures || failures.count < this.allowed) return 0;
    return Math.max(1, Math.ceil((failures.since + this.windowMs - nowMs) / 1000));
  }

  failed(client: string, nowMs: number): void {
    const failures = this.current(client, nowMs);
    if (failures) {
      failures.count += 1;
      return;
    }
    this.forgetExpired(nowMs);
    while (this.clients.size >= this.maxClients) this.clients.delete(this.clients.keys().next().value!);
    this.clients.set(client, { count: 1, since: nowMs });
  }

  succeeded(client: string): void {
    this.clients.delete(client);
  }

  get size(): number {
    return this.clients.size;
  }

  private current(client: string, nowMs: number): Failures | null {
    const failures = this.clients.get(client);
    if (!failures) return null;
    if (nowMs - failures.since < this.windowMs) return failures;
    this.clients.delete(client);
    return null;
  }

  private forgetExpired(nowMs: number): void {
    if (this.clients.size < this.maxClients) return;
    for (const [client, failures] of this.clients) if (nowMs - failures.since >= this.windowMs) this.clients.delete(client);
  }
}

/** The client a request comes from: Cloudflare's CF-Connecting-IP; without it, one shared client. */
export function clientOf(request: Request): string {
  return request.headers.get("cf-connecting-ip")?.trim() || "unknown";
}
