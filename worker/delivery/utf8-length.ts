/** Characters outside ASCII: only texts with these take more bytes than characters. */
const NON_ASCII = /[^\x00-\x7f]/;

/** Bytes of a text in UTF-8, counted without encoding it (batch mode counts every event it sends). */
export function utf8Length(text: string): number {
  if (!NON_ASCII.test(text)) return text.length;
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair: two characters, four bytes.
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}
