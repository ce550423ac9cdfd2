/**
 * Reading an OpenAI stream chunk straight from its bytes, without
 * `JSON.parse`: the hot path of every streamed token.
 *
 * One pass over the event checks the JSON grammar (objects, arrays, strings
 * and their escapes, `true`/`false`/`null`; numbers by their characters) and
 * reads what a request record needs from `choices[0]`: its text (`text`, or
 * `delta.content` for chat), a chat delta's reasoning (`reasoning_content`,
 * as vLLM, SGLang and llama.cpp send it, or `reasoning`, as newer vLLM
 * does), their code points, and `finish_reason`, the last value winning as
 * with `JSON.parse`. An event that carries `usage`
 * or `error`, that has an escaped key, a line break, or anything the scan
 * does not accept, is left to the caller's `JSON.parse` path, which also
 * reports malformed events.
 *
 * @module
 */

/** Shared: decoding whole strings keeps no state between calls. */
const DECODER = new TextDecoder();

const QUOTE = 34, BACKSLASH = 92, COLON = 58, COMMA = 44;
const LBRACE = 123, RBRACE = 125, LBRACKET = 91, RBRACKET = 93;

// Grammar states.
const S_VALUE = 0, S_VALUE_OR_END = 1, S_KEY = 2, S_KEY_OR_END = 3;
const S_COLON = 4, S_AFTER = 5;

// What the value after the current key is.
const F_NONE = 0, F_CHOICES = 1, F_TEXT = 2, F_FINISH = 3, F_DELTA = 4;
const F_BAIL = 5, F_REASON = 6;

/** Bytes allowed in a number (checked loosely: JSON.parse has the last word on odd ones). */
const NUMBER_BYTE = new Uint8Array(128);
for (const c of "0123456789+-.eE") NUMBER_BYTE[c.charCodeAt(0)] = 1;

/** Valid characters after a backslash, other than `u`. */
const ESCAPE_BYTE = new Uint8Array(128);
for (const c of '"\\/bfnrt') ESCAPE_BYTE[c.charCodeAt(0)] = 1;

function keyIs(
  buf: Uint8Array,
  start: number,
  end: number,
  key: string,
): boolean {
  if (end - start !== key.length) return false;
  for (let i = 0; i < key.length; i++) {
    if (buf[start + i] !== key.charCodeAt(i)) return false;
  }
  return true;
}

function hex(b: number): number {
  if (b >= 48 && b <= 57) return b - 48;
  if (b >= 97 && b <= 102) return b - 87;
  if (b >= 65 && b <= 70) return b - 55;
  return -1;
}

function literalIs(
  buf: Uint8Array,
  at: number,
  end: number,
  word: string,
): boolean {
  if (at + word.length > end) return false;
  for (let i = 0; i < word.length; i++) {
    if (buf[at + i] !== word.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * A reusable scanner (one per response, no allocation per chunk). After a
 * successful {@linkcode ChunkScan.scan}, the fields describe the chunk.
 *
 * @example Usage
 * ```ts
 * import { ChunkScan } from "./chunk_scan.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode('{"choices":[{"index":0,"text":" h\\u00e9","finish_reason":null}]}');
 * const scan = new ChunkScan(false);
 * assert.equal(scan.scan(bytes, 0, bytes.length), true);
 * assert.equal(scan.textChars, 3); // code points, escapes decoded
 * assert.equal(scan.text(bytes), " hé");
 * assert.equal(scan.finishStart, -1); // finish_reason is null
 * ```
 */
export class ChunkScan {
  /** Start of the first choice's text, inside its quotes; -1 when it is null or absent. */
  textStart = -1;
  /** End of the first choice's text (the closing quote). */
  textEnd = -1;
  /** Code points of the text, as Python's `len`. */
  textChars = 0;
  /** The text has backslash escapes (decoded with `JSON.parse`). */
  textEscaped = false;
  /** Start of a chat delta's reasoning text, inside its quotes; -1 when it is null or absent. */
  reasonStart = -1;
  /** End of the reasoning text (the closing quote). */
  reasonEnd = -1;
  /** Code points of the reasoning text. */
  reasonChars = 0;
  /** Start of `finish_reason` inside its quotes; -1 when it is null or absent. */
  finishStart = -1;
  /** End of `finish_reason`. */
  finishEnd = -1;
  /** `finish_reason` has backslash escapes. */
  finishEscaped = false;
  readonly #chat: boolean;
  // The last string scanned: its closing quote, code points and escapes.
  #strEnd = 0;
  #strChars = 0;
  #strEscaped = false;

  /** A scanner for chat chunks (`delta.content`) or completions chunks (`text`). */
  constructor(chat: boolean) {
    this.#chat = chat;
  }

  /**
   * Scan `buf[start..end)`. True when it is one JSON object, without `usage`
   * or `error`, whose fields were read; false when the caller must parse it
   * as JSON.
   */
  scan(buf: Uint8Array, start: number, end: number): boolean {
    let i = start;
    while (i < end && (buf[i] === 32 || buf[i] === 9)) i++;
    const close = this.scanObject(buf, i, end);
    if (close < 0) return false;
    for (i = close; i < end; i++) {
      if (buf[i] !== 32 && buf[i] !== 9) return false;
    }
    return true;
  }

  /**
   * Scan the JSON object starting at `buf[start]`, reading no further than
   * `limit` and never past a line break. Returns the index just past its
   * closing brace, or -1 when the caller must parse it as JSON (as
   * {@linkcode scan}).
   */
  scanObject(buf: Uint8Array, start: number, limit: number): number {
    this.textStart =
      this.textEnd =
      this.reasonStart =
      this.reasonEnd =
      this.finishStart =
      this.finishEnd =
        -1;
    this.textChars = this.reasonChars = 0;
    this.textEscaped = this.finishEscaped = false;
    if (start >= limit || buf[start] !== LBRACE) return -1;
    const chat = this.#chat;
    let state = S_VALUE;
    let field = F_NONE;
    let depth = 0;
    let objects = 0; // bit d-1 set: the container at depth d is an object
    let choicesDepth = 0; // depth of the `choices` array while open
    let choiceIndex = 0;
    let inFirst = false; // inside choices[0] (depth 3)
    let inDelta = false; // inside choices[0].delta (depth 4)
    for (let i = start; i < limit; i++) {
      const c = buf[i];
      if (c === 32 || c === 9) continue;
      switch (state) {
        case S_KEY:
        case S_KEY_OR_END: {
          if (c === QUOTE) {
            if (!this.#string(buf, i + 1, limit) || this.#strEscaped) return -1;
            const s = i + 1, e = this.#strEnd;
            field = F_NONE;
            if (depth === 1) {
              if (keyIs(buf, s, e, "choices")) field = F_CHOICES;
              else if (keyIs(buf, s, e, "usage") || keyIs(buf, s, e, "error")) {
                field = F_BAIL;
              }
            } else if (depth === 3 && inFirst) {
              if (keyIs(buf, s, e, "finish_reason")) field = F_FINISH;
              else if (
                chat ? keyIs(buf, s, e, "delta") : keyIs(buf, s, e, "text")
              ) {
                field = chat ? F_DELTA : F_TEXT;
              }
            } else if (depth === 4 && inDelta) {
              if (keyIs(buf, s, e, "content")) field = F_TEXT;
              else if (
                keyIs(buf, s, e, "reasoning_content") ||
                keyIs(buf, s, e, "reasoning")
              ) field = F_REASON;
            }
            i = e;
            state = S_COLON;
            continue;
          }
          if (c !== RBRACE || state !== S_KEY_OR_END) return -1;
          break; // an empty object closes below
        }
        case S_COLON:
          if (c !== COLON) return -1;
          state = S_VALUE;
          continue;
        case S_VALUE:
        case S_VALUE_OR_END: {
          if (c === RBRACKET && state === S_VALUE_OR_END) break; // closes below
          const f = field;
          field = F_NONE;
          if (c === LBRACE || c === LBRACKET) {
            if (
              f === F_BAIL || f === F_TEXT || f === F_FINISH || f === F_REASON
            ) return -1;
            if (++depth > 30) return -1;
            if (c === LBRACE) {
              objects |= 1 << (depth - 1);
              if (depth === 3 && choicesDepth === 2 && choiceIndex === 0) {
                inFirst = true;
              } else if (f === F_DELTA) inDelta = true;
              state = S_KEY_OR_END;
            } else {
              objects &= ~(1 << (depth - 1));
              if (f === F_CHOICES) {
                choicesDepth = depth;
                choiceIndex = 0;
              }
              state = S_VALUE_OR_END;
            }
            continue;
          }
          if (c === QUOTE) {
            if (!this.#string(buf, i + 1, limit) || f === F_BAIL) return -1;
            if (f === F_TEXT) {
              this.textStart = i + 1;
              this.textEnd = this.#strEnd;
              this.textChars = this.#strChars;
              this.textEscaped = this.#strEscaped;
            } else if (f === F_REASON) {
              this.reasonStart = i + 1;
              this.reasonEnd = this.#strEnd;
              this.reasonChars = this.#strChars;
            } else if (f === F_FINISH) {
              this.finishStart = i + 1;
              this.finishEnd = this.#strEnd;
              this.finishEscaped = this.#strEscaped;
            }
            i = this.#strEnd;
          } else if (c === 110 /* n */ && literalIs(buf, i, limit, "null")) {
            if (f === F_TEXT) this.textStart = this.textEnd = -1;
            else if (f === F_REASON) {
              this.reasonStart = this.reasonEnd = -1;
              this.reasonChars = 0;
            } else if (f === F_FINISH) this.finishStart = this.finishEnd = -1;
            i += 3;
          } else {
            // true, false or a number: not what a field of interest holds.
            if (f !== F_NONE && f !== F_CHOICES && f !== F_DELTA) return -1;
            if (literalIs(buf, i, limit, "true")) i += 3;
            else if (literalIs(buf, i, limit, "false")) i += 4;
            else if (c < 128 && NUMBER_BYTE[c] === 1) {
              while (
                i + 1 < limit && buf[i + 1] < 128 &&
                NUMBER_BYTE[buf[i + 1]] === 1
              ) i++;
            } else return -1;
          }
          state = S_AFTER;
          continue;
        }
        case S_AFTER: {
          if (c === COMMA) {
            if ((objects >> (depth - 1)) & 1) state = S_KEY;
            else {
              if (depth === choicesDepth) choiceIndex++;
              state = S_VALUE;
            }
            continue;
          }
          const isObject = (objects >> (depth - 1)) & 1;
          if (c !== (isObject ? RBRACE : RBRACKET)) return -1;
          break; // closes below
        }
      }
      // A container closes: `c` is its bracket.
      if (depth === 3 && inFirst) inFirst = false;
      else if (depth === 4 && inDelta) inDelta = false;
      else if (depth === choicesDepth) choicesDepth = 0;
      depth--;
      if (depth === 0) return i + 1;
      state = S_AFTER;
    }
    return -1;
  }

  /**
   * Scan a string whose contents start at `s`: sets its closing quote, code
   * points and escapes; false when it is not valid JSON (a control character,
   * a bad escape) or not closed before `limit`.
   */
  #string(buf: Uint8Array, s: number, limit: number): boolean {
    let chars = 0, escaped = false, highBefore = false;
    for (let j = s; j < limit;) {
      const b = buf[j];
      if (b === QUOTE) {
        this.#strEnd = j;
        this.#strChars = chars;
        this.#strEscaped = escaped;
        return true;
      }
      if (b < 0x20) return false;
      if (b === BACKSLASH) {
        escaped = true;
        const e = buf[j + 1];
        if (e === 117 /* u */) {
          if (j + 5 >= limit) return false;
          const h0 = hex(buf[j + 2]), h1 = hex(buf[j + 3]);
          if (h0 < 0 || h1 < 0 || hex(buf[j + 4]) < 0 || hex(buf[j + 5]) < 0) {
            return false;
          }
          const isLow = h0 === 13 && h1 >= 12,
            isHigh = h0 === 13 && h1 >= 8 && h1 < 12;
          // A low surrogate right after a high one completes its pair.
          if (!(isLow && highBefore)) chars++;
          highBefore = isHigh;
          j += 6;
          continue;
        }
        if (e === undefined || e >= 128 || ESCAPE_BYTE[e] !== 1) return false;
        chars++;
        highBefore = false;
        j += 2;
        continue;
      }
      if ((b & 0xc0) !== 0x80) chars++;
      highBefore = false;
      j++;
    }
    return false;
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
    const raw = buf.subarray(
      this.finishStart - (this.finishEscaped ? 1 : 0),
      this.finishEnd + (this.finishEscaped ? 1 : 0),
    );
    return this.finishEscaped
      ? JSON.parse(DECODER.decode(raw))
      : DECODER.decode(raw);
  }
}
