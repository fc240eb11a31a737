// SHA-256 (FIPS 180-4), synchronous. The consumer hashes every event for its webhook-id; through
// crypto.subtle each hash was a promise, a buffer and a trip into the runtime, which cost more than the
// hashing itself. The output is identical (test/worker/delivery-units.test.ts compares both).

function primes(count: number): number[] {
  const found: number[] = [];
  for (let n = 2; found.length < count; n++) if (found.every((p) => n % p !== 0)) found.push(n);
  return found;
}

/** The first 32 bits of the fractional part of a number, as the standard defines its constants. */
const fraction32 = (x: number) => Math.floor((x - Math.floor(x)) * 2 ** 32) | 0;

/** Round constants: cube roots of the first 64 primes. */
const K = Int32Array.from(primes(64), (p) => fraction32(Math.cbrt(p)));
/** Initial hash value: square roots of the first 8 primes. */
const H0 = Int32Array.from(primes(8), (p) => fraction32(Math.sqrt(p)));

const encoder = new TextEncoder();
const words = new Int32Array(64);
const state = new Int32Array(8);
let buffer = new Uint8Array(1024);

function compress(block: Uint8Array, offset: number): void {
  for (let i = 0; i < 16; i++) {
    const j = offset + i * 4;
    words[i] = (block[j] << 24) | (block[j + 1] << 16) | (block[j + 2] << 8) | block[j + 3];
  }
  for (let i = 16; i < 64; i++) {
    const w15 = words[i - 15];
    const w2 = words[i - 2];
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    words[i] = (words[i - 16] + s0 + words[i - 7] + s1) | 0;
  }
  let a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + words[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
  state[4] += e;
  state[5] += f;
  state[6] += g;
  state[7] += h;
}

/** Writes the UTF-8 encoding of `text` into `buffer` and returns its length in bytes. */
function encode(text: string): number {
  // ASCII (webhook-id identities nearly always are) is copied here: a call into the runtime's encoder costs more.
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return encoder.encodeInto(text, buffer).written;
    buffer[i] = c;
  }
  return text.length;
}

/** SHA-256 of the UTF-8 encoding of `text`: the eight 32-bit words of the digest (overwritten by the next call). */
export function sha256Words(text: string): Int32Array {
  // UTF-8 takes at most 3 bytes per UTF-16 unit; 72 more for the padding and the length.
  if (text.length >= 2 ** 26) throw new RangeError("text too long to hash here");
  if (buffer.length < text.length * 3 + 72) buffer = new Uint8Array(text.length * 3 + 72);
  const length = encode(text);
  const padded = Math.ceil((length + 9) / 64) * 64;
  buffer[length] = 0x80;
  buffer.fill(0, length + 1, padded);
  // The length in bits, big-endian, in the last 8 bytes (texts here are far below 2^29 bytes).
  const bits = length * 8;
  buffer[padded - 4] = bits >>> 24;
  buffer[padded - 3] = bits >>> 16;
  buffer[padded - 2] = bits >>> 8;
  buffer[padded - 1] = bits;
  state.set(H0);
  for (let offset = 0; offset < padded; offset += 64) compress(buffer, offset);
  return state;
}

/** Two hex digits per byte value: `Number.prototype.toString(16)` of a word above 2^31 takes the runtime's slow path for doubles. */
const HEX_BYTE = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/** The first `words` 32-bit words of the digest (4 = 128 bits), as lowercase hex. */
export function sha256Hex(text: string, wordCount = 8): string {
  const digest = sha256Words(text);
  let hex = "";
  for (let i = 0; i < wordCount; i++) {
    const w = digest[i];
    hex += HEX_BYTE[(w >>> 24) & 0xff] + HEX_BYTE[(w >>> 16) & 0xff] + HEX_BYTE[(w >>> 8) & 0xff] + HEX_BYTE[w & 0xff];
  }
  return hex;
}
