/** How much of a webhook's error answer is read: enough for a sentence, not a page. */
export const ERROR_BODY_LIMIT_BYTES = 300;

/**
 * The start of a response body as text: reads at most `limitBytes` from the stream and cancels the rest,
 * so that a receiver answering with a huge (or endless) body costs nothing. A read failure gives "".
 */
export async function readBodyHead(response: Response, limitBytes = ERROR_BODY_LIMIT_BYTES): Promise<string> {
  const body = response.body;
  if (!body) return "";
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let read = 0;
  try {
    while (read < limitBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      read += value.byteLength;
    }
    if (read >= limitBytes) await reader.cancel();
  } catch {
    // What was read so far is still worth showing.
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(Math.min(read, limitBytes));
  let offset = 0;
  for (const chunk of chunks) {
    if (offset >= bytes.length) break;
    bytes.set(chunk.subarray(0, bytes.length - offset), offset);
    offset += Math.min(chunk.byteLength, bytes.length - offset);
  }
  // A cut through a multi-byte character ends in a replacement character, never an error.
  return new TextDecoder().decode(bytes).trim();
}
