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

const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;
// "data" as bytes
const D = 100, A = 97, T = 116;

/** Called with the data of each event (data lines joined by `\n`). */
export type SseHandler = (data: string) => void;

/**
 * Parse an SSE byte stream incrementally.
 *
 * @example Usage
 * ```ts
 * import { SseParser } from "./sse.ts";
 * const events: string[] = [];
 * const parser = new SseParser((data) => events.push(data));
 * parser.push(new TextEncoder().encode("data: {\"a\":1}\n\ndata: [DO"));
 * parser.push(new TextEncoder().encode("NE]\n\n"));
 * parser.end();
 * // events: ['{"a":1}', "[DONE]"]
 * ```
 */
export class SseParser {
  #onEvent: SseHandler;
  #decoder = new TextDecoder();
  /** Bytes of a line that began in an earlier chunk. */
  #carry: Uint8Array | null = null;
  /** The previous chunk ended in CR: a leading LF is the rest of a CRLF. */
  #skipLf = false;
  /** Data of the event being assembled; null when it has no data line yet. */
  #data: string | null = null;

  /** Make a parser that calls `onEvent` once per complete event. */
  constructor(onEvent: SseHandler) {
    this.#onEvent = onEvent;
  }

  /** Feed the next chunk of bytes. Events complete in it are dispatched before this returns. */
  push(chunk: Uint8Array): void {
    let pos = 0;
    const len = chunk.length;
    if (this.#skipLf) {
      this.#skipLf = false;
      if (len > 0 && chunk[0] === LF) pos = 1;
    }
    // Position of the next CR at or after `pos`; -1 when the chunk has none (the usual case).
    let cr = chunk.indexOf(CR, pos);
    while (pos < len) {
      const lf = chunk.indexOf(LF, pos);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        end = cr;
        if (cr + 1 < len) {
          next = chunk[cr + 1] === LF ? cr + 2 : cr + 1;
        } else {
          next = len;
          this.#skipLf = true;
        }
        cr = chunk.indexOf(CR, next);
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        // Incomplete line: keep it for the next chunk.
        this.#keep(chunk.subarray(pos));
        return;
      }
      if (this.#carry !== null) {
        const line = concat(this.#carry, chunk.subarray(pos, end));
        this.#carry = null;
        this.#line(line, 0, line.length);
      } else {
        this.#line(chunk, pos, end);
      }
      pos = next;
    }
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
      const value = this.#decoder.decode(buf.subarray(v, end));
      this.#data = this.#data === null ? value : this.#data + "\n" + value;
      return;
    }
    // `data` without a colon is a data line with an empty value; other fields
    // (event, id, retry) carry nothing kvbench needs.
    if (
      end - start === 4 && buf[start] === D && buf[start + 1] === A &&
      buf[start + 2] === T && buf[start + 3] === A
    ) {
      this.#data = this.#data === null ? "" : this.#data + "\n";
    }
  }

  #dispatch(): void {
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
