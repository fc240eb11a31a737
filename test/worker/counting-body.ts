/**
 * A body of `total` bytes served as the reader pulls it, `chunk` after `chunk` (16 KB); counts what was
 * pulled and whether the reader cancelled the rest: what a bounded read leaves unread.
 */
export function countingBody(total: number, chunkText = "x".repeat(16 * 1024)) {
  const seen = { pulled: 0, cancelled: false };
  const chunk = new TextEncoder().encode(chunkText);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (seen.pulled >= total) return controller.close();
      seen.pulled += chunk.byteLength;
      controller.enqueue(chunk);
    },
    cancel() {
      seen.cancelled = true;
    },
  });
  return { stream, seen };
}
