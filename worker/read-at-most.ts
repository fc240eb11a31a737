/** What was read of a body: its first bytes, whether it had more, and the error that ended the reading early. */
export interface ReadStart {
  bytes: Uint8Array;
  overflowed: boolean;
  error?: unknown;
}

/**
 * The first `limit` bytes of a body, reading no further than the chunk that passes the limit; the rest is
 * cancelled, so that a huge (or endless) body costs nothing. `overflowed`: the body was longer than `limit`.
 * A failed read ends it: what was read comes back with the `error`.
 */
export async function readAtMost(body: ReadableStream<Uint8Array> | null, limit: number): Promise<ReadStart> {
  if (!body) return { bytes: new Uint8Array(0), overflowed: false };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let read = 0;
  let overflowed = false;
  let error: unknown;
  let failed = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      read += value.byteLength;
      if (read > limit) {
        overflowed = true;
        await reader.cancel().catch(() => {});
        break;
      }
    }
  } catch (e) {
    failed = true;
    error = e;
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(Math.min(read, limit));
  let offset = 0;
  for (const chunk of chunks) {
    if (offset >= bytes.length) break;
    const part = chunk.subarray(0, bytes.length - offset);
    bytes.set(part, offset);
    offset += part.byteLength;
  }
  return failed ? { bytes, overflowed, error } : { bytes, overflowed };
}
