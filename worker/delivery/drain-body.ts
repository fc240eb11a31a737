/** Past this many bytes, a response body is cancelled instead of read (the connection is then not reused). */
export const DRAIN_LIMIT_BYTES = 64 * 1024;

/**
 * Reads and discards a response body. A body read to its end lets the runtime reuse the connection for
 * the next webhook request; a cancelled one closes it, and a new connection per request cost more CPU
 * than the request itself. A body larger than the limit is cancelled rather than read.
 */
export async function drainBody(response: Response, limitBytes = DRAIN_LIMIT_BYTES): Promise<void> {
  const body = response.body;
  if (!body) return;
  const reader = body.getReader();
  let read = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
      if (read > limitBytes) {
        await reader.cancel();
        return;
      }
    }
  } finally {
    reader.releaseLock();
  }
}
