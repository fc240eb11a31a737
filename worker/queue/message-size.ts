/**
 * Size of a queue message as the queue counts it. Messages are sent with `contentType: "v8"` (the V8
 * serialization, Cloudflare's default): no JSON escaping on the way in and no JSON parsing on the way
 * out, which measured ~20% more throughput locally than `"json"`. Its size is not known before sending,
 * so it is computed here from V8's ValueSerializer format (test/node/queue-message-size.test.ts compares
 * it with `v8.serialize`). Every builder of queue messages counts with these functions.
 *
 * One assumption: a string whose characters are all Latin-1 is kept by V8 with one byte per character.
 * That holds for texts decoded from a socket or read from storage, which is where the relay's come from;
 * a string sliced from a two-byte one would take twice its size. The queue limits (limits.ts) are
 * set so that even twice these sizes fit.
 */

/** Characters outside Latin-1: V8 then keeps (and serializes) the string with two bytes per character. */
const TWO_BYTE = /[^\x00-\xff]/;

function varintBytes(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

/** Tag, length and characters; a two-byte string may be preceded by one padding byte. */
export function stringBytes(text: string): number {
  const bytes = TWO_BYTE.test(text) ? 2 * text.length + 1 : text.length;
  return 1 + varintBytes(bytes) + bytes;
}

/**
 * A tag and a double, at most. (A small integer may take only 2–6 bytes, but V8 writes it as a double
 * when the object holds that property as a double, which depends on other objects of the same shape.)
 */
const NUMBER_BYTES = 9;

function valueBytes(value: unknown): number {
  switch (typeof value) {
    case "string":
      return stringBytes(value);
    case "number":
      return NUMBER_BYTES;
    case "boolean":
    case "undefined":
      return 1;
    case "object": {
      if (value === null) return 1;
      if (Array.isArray(value)) {
        // Dense (an array without holes): tag, length, elements, end tag, property count, length.
        let bytes = 3 + 2 * varintBytes(value.length);
        for (const item of value) bytes += valueBytes(item);
        return bytes;
      }
      // Begin tag, the properties, end tag and property count.
      let bytes = 2;
      let count = 0;
      for (const key in value) {
        bytes += stringBytes(key) + valueBytes((value as Record<string, unknown>)[key]);
        count++;
      }
      return bytes + varintBytes(count);
    }
    default:
      throw new TypeError(`a queue message cannot hold a ${typeof value}`);
  }
}

/** Serialized size of a value sent as a queue message (with the format's header), a few bytes over at most. */
export function serializedBytes(value: unknown): number {
  return 2 + valueBytes(value) + 4;
}

/**
 * Size of a message body whose `events` array is still empty, with room for the events' count (written
 * twice, it takes 2 bytes more past 127 events).
 */
export function envelopeBytes(body: { events: unknown[] }): number {
  return serializedBytes(body) + 2;
}

/** What one more element adds to an array inside a message. */
export function elementBytes(value: unknown): number {
  return valueBytes(value);
}

/** Keys of a compact event as the relay object builds it, in this order (see `compactEventBytes`). */
const COMPACT_EVENT_FIXED = 2 + 1 + ["raw", "receivedAt"].reduce((n, key) => n + stringBytes(key), 0) + NUMBER_BYTES;

/**
 * `elementBytes` of a CompactEvent `{ raw, receivedAt }`, without walking the object: this runs for
 * every event the relay forwards.
 */
export function compactEventBytes(raw: string): number {
  return COMPACT_EVENT_FIXED + stringBytes(raw);
}
