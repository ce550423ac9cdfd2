/**
 * Counting characters as Python's `len` does: Unicode code points, a
 * surrogate pair counting one.
 *
 * @module
 */

const HIGH_SURROGATE = /[\uD800-\uDBFF]/;

/** Unicode code points of a string, as Python's `len` counts them. */
export function codePoints(text: string): number {
  // Most prompts have no surrogate: the regex says so natively (at once for
  // a one-byte string) instead of a loop over 64k characters per request.
  if (!HIGH_SURROGATE.test(text)) return text.length;
  let pairs = 0;
  for (let i = 0; i + 1 < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        pairs++;
        i++;
      }
    }
  }
  return text.length - pairs;
}
