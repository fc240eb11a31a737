import type { Gap } from "../api-types.ts";
import { isoFromUs } from "../time-us.ts";


/**
 * A resume whose first event is much later than the cursor asked for means the server no longer had the
 * events in between (its retention is 24–36 h; it clamps an older cursor silently): record it.
 */
export function detectGap(requestedCursorUs: number | null, firstEventUs: number, thresholdUs: number, endpoint: string, now: Date): Gap | null {
  if (requestedCursorUs === null || firstEventUs - requestedCursorUs <= thresholdUs) return null;
  return {
    fromUs: requestedCursorUs,
    from: isoFromUs(requestedCursorUs),
    toUs: firstEventUs,
    to: isoFromUs(firstEventUs),
    detectedAt: now.toISOString(),
    endpoint,
    acknowledged: false,
  };
}
