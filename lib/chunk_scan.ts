/**
 * Reading an OpenAI stream chunk straight from its bytes, without
 * `JSON.parse`: the hot path of every streamed token.
 *
 * One pass over the event finds the text of the first choice (`text`, or
 * `delta.content` for chat), counts its code points, finds `finish_reason`,
 * and checks that the JSON is complete (balanced, strings closed). A chunk
 * that carries `usage` or `error`, or that does not look like a complete
 * object, is left to the caller's `JSON.parse` path, which also reports
 * malformed events.
 *
 * @module
 */

/** Shared: decoding whole strings keeps no state between calls. */
const DECODER = new TextDecoder();
const QUOTE = 34, BACKSLASH = 92, COLON = 58, LBRACE = 123, RBRACE = 125;
const LBRACKET = 91, RBRACKET = 93, U = 117;

/** What the value after the current key means to the scan. */
type Key = 0 | 1 | 2 | 3;
const OTHER = 0, TEXT_VALUE = 1, FINISH_VALUE = 2, BAIL = 3;

const TEXT = bytesOf("text");
const CONTENT = bytesOf("content");
const FINISH = bytesOf("finish_reason");
const USAGE = bytesOf("usage");
const ERROR = bytesOf("error");

function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function isSpace(b: number): boolean {
  return b === 32 || b === 10 || b === 13 || b === 9;
}

function equals(
  buf: Uint8Array,
  start: number,
  end: number,
  key: Uint8Array,
): boolean {
  if (end - start !== key.length) return false;
  for (let i = 0; i < key.length; i++) {
    if (buf[start + i] !== key[i]) return false;
  }
  return true;
}

/** Index of the quote that closes a string starting at `s`, or `end`. */
function closingQuote(buf: Uint8Array, s: number, end: number): number {
  let j = s;
  while (j < end) {
    const b = buf[j];
    if (b === QUOTE) return j;
    j += b === BACKSLASH ? 2 : 1;
  }
  return end;
}

function hex(b: number): number {
  if (b >= 48 && b <= 57) return b - 48;
  if (b >= 97 && b <= 102) return b - 87;
  if (b >= 65 && b <= 70) return b - 55;
  return -1;
}

/**
 * A reusable scanner (one per response, no allocation per chunk). After a
 * successful {@linkcode ChunkScan.scan}, the fields describe the chunk.
 *
 * @example Usage
 * ```ts
 * import { ChunkScan } from "./chunk_scan.ts";
 * const bytes = new TextEncoder().encode('{"choices":[{"index":0,"text":" h\\u00e9","finish_reason":null}]}');
 * const scan = new ChunkScan(false);
 * scan.scan(bytes, 0, bytes.length); // true
 * scan.textChars; // 3
 * scan.text(bytes); // " hé"
 * ```
 */
export class ChunkScan {
  /** Start of the first choice's text, inside its quotes; -1 when it is null or absent. */
  textStart = -1;
  /** End of the first choice's text (the closing quote). */
  textEnd = -1;
  /** Code points of the text, as Python's `len`. */
  textChars = 0;
  /** The text has backslash escapes (decode it with `JSON.parse`). */
  textEscaped = false;
  /** Start of `finish_reason` inside its quotes; -1 when it is null or absent. */
  finishStart = -1;
  /** End of `finish_reason`. */
  finishEnd = -1;
  readonly #textKey: Uint8Array;

  /** A scanner for chat chunks (`delta.content`) or completions chunks (`text`). */
  constructor(chat: boolean) {
    this.#textKey = chat ? CONTENT : TEXT;
  }

  /**
   * Scan `buf[start..end)`. True when it is a complete JSON object without
   * `usage` or `error` and the fields were read; false when the caller must
   * parse it as JSON.
   */
  scan(buf: Uint8Array, start: number, end: number): boolean {
    const close = this.scanObject(buf, start, end);
    if (close < 0) return false;
    for (let i = close; i < end; i++) if (!isSpace(buf[i])) return false;
    return true;
  }

  /**
   * Scan the JSON object starting at `buf[start]` (no leading space), reading
   * no further than `limit`. Returns the index just past its closing brace,
   * or -1 when the caller must parse it as JSON (as {@linkcode scan}).
   */
  scanObject(buf: Uint8Array, start: number, limit: number): number {
    const end = limit;
    this.textStart =
      this.textEnd =
      this.finishStart =
      this.finishEnd =
        -1;
    this.textChars = 0;
    this.textEscaped = false;
    let i = start;
    while (i < end && isSpace(buf[i])) i++;
    if (i >= end || buf[i] !== LBRACE) return -1;
    let depth = 0;
    let key: Key = OTHER;
    let textSeen = false;
    for (; i < end; i++) {
      const c = buf[i];
      if (c === QUOTE) {
        const s = i + 1;
        let j: number, chars = 0, escaped = false;
        if (key === TEXT_VALUE) {
          // The text: count its code points on the way.
          for (j = s; j < end;) {
            const b = buf[j];
            if (b === QUOTE) break;
            if (b === BACKSLASH) {
              escaped = true;
              if (j + 1 >= end) return -1;
              if (buf[j + 1] === U) {
                if (j + 5 >= end) return -1;
                // A low surrogate completes the pair its high surrogate counted.
                if (hex(buf[j + 2]) !== 13 || hex(buf[j + 3]) < 12) chars++;
                j += 6;
              } else {
                chars++;
                j += 2;
              }
              continue;
            }
            if ((b & 0xc0) !== 0x80) chars++;
            j++;
          }
        } else {
          j = closingQuote(buf, s, end);
        }
        if (j >= end) return -1;
        let k = j + 1;
        while (k < end && isSpace(buf[k])) k++;
        if (k < end && buf[k] === COLON) {
          key = this.#keyOf(buf, s, j, textSeen);
          if (key === TEXT_VALUE) textSeen = true;
          i = k;
          continue;
        }
        if (key === BAIL) return -1;
        if (key === TEXT_VALUE) {
          this.textStart = s;
          this.textEnd = j;
          this.textChars = chars;
          this.textEscaped = escaped;
        } else if (key === FINISH_VALUE) {
          this.finishStart = s;
          this.finishEnd = j;
        }
        key = OTHER;
        i = j;
        continue;
      }
      if (c === LBRACE || c === LBRACKET) {
        if (key === BAIL) return -1;
        key = OTHER;
        depth++;
      } else if (c === RBRACE || c === RBRACKET) {
        depth--;
        if (depth === 0) return i + 1;
      } else if (c === 44 /* , */) {
        key = OTHER;
      } else if (key === BAIL && !isSpace(c)) {
        // `"usage":null` is what most chunks say: nothing to read.
        if (c !== 110 /* n */) return -1;
        key = OTHER;
      }
    }
    return -1;
  }

  /** The text found by the last scan, decoded. */
  text(buf: Uint8Array): string {
    if (this.textStart < 0) return "";
    if (!this.textEscaped) {
      return DECODER.decode(buf.subarray(this.textStart, this.textEnd));
    }
    return JSON.parse(
      DECODER.decode(buf.subarray(this.textStart - 1, this.textEnd + 1)),
    );
  }

  /** The `finish_reason` found by the last scan, or undefined. */
  finishReason(buf: Uint8Array): string | undefined {
    if (this.finishStart < 0) return undefined;
    return DECODER.decode(buf.subarray(this.finishStart, this.finishEnd));
  }

  #keyOf(buf: Uint8Array, start: number, end: number, textSeen: boolean): Key {
    if (!textSeen && equals(buf, start, end, this.#textKey)) return TEXT_VALUE;
    if (equals(buf, start, end, FINISH)) return FINISH_VALUE;
    if (equals(buf, start, end, USAGE) || equals(buf, start, end, ERROR)) {
      return BAIL;
    }
    return OTHER;
  }
}
