/**
 * An incremental Server-Sent Events parser that works on bytes, as they come
 * off the network.
 *
 * Lines are split on the raw bytes and only `data:` payloads are decoded, so
 * a UTF-8 character split across network chunks needs no special care, and a
 * chunk that holds whole events is parsed without copying. CRLF, CR and LF
 * line ends, comments, multi-line `data:` and a last event without its blank
 * line are handled as the SSE specification says (the last one leniently:
 * it is dispatched at the end of the stream).
 *
 * @module
 */

/** Shared: decoding whole lines keeps no state between calls. */
const DECODER = new TextDecoder();
const LF = 10;
const CR = 13;
const COLON = 58;
const LBRACE = 123;
const SPACE = 32;
// "data" as bytes
const D = 100, A = 97, T = 116;

/** Called with the data of each event (data lines joined by `\n`). */
export type SseHandler = (data: string) => void;

/**
 * Called with the undecoded data of an event that has one data line:
 * `buf[start..end)`, valid only during the call. `measured` is true when
 * {@linkcode SseParserOptions.objectEnd} was the last call to look at it and
 * found its end.
 */
export type SseBytesHandler = (
  buf: Uint8Array,
  start: number,
  end: number,
  measured: boolean,
) => void;

/** Options of {@linkcode SseParser}. */
export interface SseParserOptions {
  /**
   * With an `onBytes` handler: finds the end of the JSON object starting at
   * `buf[start]` (index past its closing brace, at most `limit`), or -1. An
   * event `data: {…}\n\n` is then delimited by it, in one pass over its
   * bytes instead of two (the line search, then the caller's reading).
   */
  objectEnd?: (buf: Uint8Array, start: number, limit: number) => number;
}

/**
 * Parse an SSE byte stream incrementally.
 *
 * @example Usage
 * ```ts
 * import { SseParser } from "./sse.ts";
 * import assert from "node:assert/strict";
 *
 * const events: string[] = [];
 * const parser = new SseParser((data) => events.push(data));
 * parser.push(new TextEncoder().encode("data: {\"a\":1}\n\ndata: [DO"));
 * parser.push(new TextEncoder().encode("NE]\n\n")); // an event may span pushes
 * parser.end();
 * assert.deepEqual(events, ['{"a":1}', "[DONE]"]);
 * ```
 */
export class SseParser {
  #onEvent: SseHandler;
  #onBytes: SseBytesHandler | undefined;
  #objectEnd: SseParserOptions["objectEnd"];
  /** The one data line of the event being assembled, undecoded (bytes mode). */
  #pend: Uint8Array | null = null;
  #pendStart = 0;
  #pendEnd = 0;
  /** Bytes of a line that began in an earlier chunk. */
  #carry: Uint8Array | null = null;
  /** The previous chunk ended in CR: a leading LF is the rest of a CRLF. */
  #skipLf = false;
  /** Data of the event being assembled; null when it has no data line yet. */
  #data: string | null = null;

  /**
   * Make a parser that calls `onEvent` once per complete event. With
   * `onBytes`, an event of one data line (the usual case) goes to `onBytes`
   * undecoded instead, so the caller can read it without making a string.
   */
  constructor(
    onEvent: SseHandler,
    onBytes?: SseBytesHandler,
    options: SseParserOptions = {},
  ) {
    this.#onEvent = onEvent;
    this.#onBytes = onBytes;
    this.#objectEnd = onBytes && options.objectEnd;
  }

  /** Feed the next chunk of bytes. Events complete in it are dispatched before this returns. */
  push(chunk: Uint8Array): void {
    let pos = 0;
    const len = chunk.length;
    if (this.#skipLf) {
      this.#skipLf = false;
      if (len > 0 && chunk[0] === LF) pos = 1;
    }
    const objectEnd = this.#objectEnd;
    while (pos < len) {
      if (
        objectEnd !== undefined && len - pos > 8 && chunk[pos] === D &&
        chunk[pos + 5] === SPACE && chunk[pos + 6] === LBRACE &&
        chunk[pos + 1] === A && chunk[pos + 2] === T && chunk[pos + 3] === A &&
        chunk[pos + 4] === COLON && this.#carry === null &&
        this.#pend === null && this.#data === null
      ) {
        const close = objectEnd(chunk, pos + 6, len);
        if (
          close > 0 && close + 1 < len && chunk[close] === LF &&
          chunk[close + 1] === LF
        ) {
          this.#onBytes!(chunk, pos + 6, close, true);
          pos = close + 2;
          continue;
        }
      }
      // One pass for either line end (a JS loop beats indexOf on short lines).
      let eol = pos;
      while (eol < len) {
        const b = chunk[eol];
        if (b === LF || b === CR) break;
        eol++;
      }
      if (eol === len) {
        // Incomplete line: keep it for the next chunk.
        this.#keep(chunk.subarray(pos));
        this.#keepPending(chunk);
        return;
      }
      let next: number;
      if (chunk[eol] === CR) {
        if (eol + 1 < len) {
          next = chunk[eol + 1] === LF ? eol + 2 : eol + 1;
        } else {
          next = len;
          this.#skipLf = true;
        }
      } else {
        next = eol + 1;
      }
      if (this.#carry !== null) {
        const line = concat(this.#carry, chunk.subarray(pos, eol));
        this.#carry = null;
        this.#line(line, 0, line.length);
      } else {
        this.#line(chunk, pos, eol);
      }
      pos = next;
      // The usual "\n\n": take the blank line at once.
      if (pos < len && chunk[pos] === LF) {
        this.#dispatch();
        pos++;
      }
    }
    this.#keepPending(chunk);
  }

  /** A data line whose blank line is still to come must outlive the chunk. */
  #keepPending(chunk: Uint8Array): void {
    if (this.#pend !== chunk) return;
    this.#pend = chunk.slice(this.#pendStart, this.#pendEnd);
    this.#pendStart = 0;
    this.#pendEnd = this.#pend.length;
  }

  /** The stream ended: a line or event without its terminator is taken as complete. */
  end(): void {
    if (this.#carry !== null) {
      const line = this.#carry;
      this.#carry = null;
      this.#line(line, 0, line.length);
    }
    this.#dispatch();
    this.#skipLf = false;
  }

  #keep(rest: Uint8Array): void {
    // Copy: the caller may reuse the chunk's buffer.
    this.#carry = this.#carry === null
      ? rest.slice()
      : concat(this.#carry, rest);
  }

  #line(buf: Uint8Array, start: number, end: number): void {
    if (start === end) {
      this.#dispatch();
      return;
    }
    if (buf[start] === COLON) return; // comment
    // Fast path for the only field OpenAI-style servers send.
    if (
      end - start >= 5 && buf[start] === D && buf[start + 1] === A &&
      buf[start + 2] === T && buf[start + 3] === A && buf[start + 4] === COLON
    ) {
      let v = start + 5;
      if (v < end && buf[v] === SPACE) v++;
      if (this.#onBytes !== undefined && this.#data === null) {
        if (this.#pend === null) {
          this.#pend = buf;
          this.#pendStart = v;
          this.#pendEnd = end;
          return;
        }
        // A second data line: the event is joined as text after all.
        this.#data = this.#decodePending();
      }
      const value = DECODER.decode(buf.subarray(v, end));
      this.#data = this.#data === null ? value : this.#data + "\n" + value;
      return;
    }
    // `data` without a colon is a data line with an empty value; other fields
    // (event, id, retry) carry nothing kvbench needs.
    if (
      end - start === 4 && buf[start] === D && buf[start + 1] === A &&
      buf[start + 2] === T && buf[start + 3] === A
    ) {
      if (this.#pend !== null) this.#data = this.#decodePending();
      this.#data = this.#data === null ? "" : this.#data + "\n";
    }
  }

  #decodePending(): string {
    const text = DECODER.decode(
      this.#pend!.subarray(this.#pendStart, this.#pendEnd),
    );
    this.#pend = null;
    return text;
  }

  #dispatch(): void {
    const pend = this.#pend;
    if (pend !== null) {
      this.#pend = null;
      this.#onBytes!(pend, this.#pendStart, this.#pendEnd, false);
      return;
    }
    const data = this.#data;
    if (data === null) return;
    this.#data = null;
    this.#onEvent(data);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
