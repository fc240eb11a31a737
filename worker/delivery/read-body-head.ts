import { readAtMost } from "../read-at-most.ts";

/** How much of a webhook's error answer is read: enough for a sentence, not a page. */
export const ERROR_BODY_LIMIT_BYTES = 300;

/**
 * The start of a response body as text: reads at most `limitBytes` from the stream and cancels the rest,
 * so that a receiver answering with a huge (or endless) body costs nothing. A failed read gives what came before it.
 */
export async function readBodyHead(response: Response, limitBytes = ERROR_BODY_LIMIT_BYTES): Promise<string> {
  // A read that failed midway still shows what it read.
  const { bytes } = await readAtMost(response.body, limitBytes);
  // A cut through a multi-byte character ends in a replacement character, never an error.
  return new TextDecoder().decode(bytes).trim();
}
