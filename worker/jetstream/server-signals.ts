/**
 * What a v2 server says when it no longer has what was asked for, read from its words (the server's
 * internal/subscribe/cursor.go and handler.go). Pure.
 */

/**
 * A pre-upgrade 400 whose XRPC body is `{"error":"CursorTooOld","message":"subscribe: cursor too old:
 * cursor N below lookback floor F; re-backfill from your last seq"}`: the seq asked for and the floor.
 */
export function cursorTooOld(xrpc: { error: string; message: string } | undefined): { requestedSeq: number | null; floorSeq: number; message: string } | null {
  if (xrpc?.error !== "CursorTooOld") return null;
  const message = xrpc.message;
  const floor = /floor (\d+)/.exec(message);
  if (!floor) return null;
  const requested = /cursor (\d+)/.exec(message);
  return { requestedSeq: requested ? Number(requested[1]) : null, floorSeq: Number(floor[1]), message };
}

/** The `#info OutdatedCursor` message `requested timestamp cursor below retention floor; starting at seq N`. */
export function outdatedCursor(message: string): { startSeq: number | null } | null {
  const start = /starting at seq (\d+)/.exec(message);
  return { startSeq: start ? Number(start[1]) : null };
}
