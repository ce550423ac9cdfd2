/**
 * Server-sent events out of a `ReadableStream` response body: `data:` events,
 * the `[DONE]` terminator, and an abrupt cut (the connection drops).
 *
 * @module
 */

/** Headers of an SSE response. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
};

const encoder = new TextEncoder();

/**
 * Format one SSE event carrying `data` (a JSON text or `[DONE]`).
 *
 * @example Usage
 * ```ts
 * import { sseEvent } from "./sse_writer.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(sseEvent('{"a":1}'), 'data: {"a":1}\n\n');
 * ```
 */
export function sseEvent(data: string): string {
  return `data: ${data}\n\n`;
}

/**
 * A writer for one SSE response body. Writes after the stream ended (done,
 * cut, or cancelled by the client) are ignored.
 *
 * @example Usage
 * ```ts
 * import { SSE_HEADERS, sseEvent, SseWriter } from "./sse_writer.ts";
 * import assert from "node:assert/strict";
 *
 * const writer = new SseWriter();
 * writer.write(sseEvent('{"choices":[]}'));
 * writer.done();
 * const response = new Response(writer.body, { headers: SSE_HEADERS });
 * assert.equal(await response.text(), 'data: {"choices":[]}\n\ndata: [DONE]\n\n');
 * ```
 */
export class SseWriter {
  /** The response body. */
  readonly body: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #open = true;

  /** Make a writer; `onCancel` runs when the client goes away first. */
  constructor(options: { onCancel?: () => void } = {}) {
    this.body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      cancel: () => {
        if (!this.#open) return;
        this.#open = false;
        options.onCancel?.();
      },
    });
  }

  /** False once the stream is done, cut, or cancelled. */
  get open(): boolean {
    return this.#open;
  }

  /** Write text as is (one or more formatted events, or a deliberately malformed line). */
  write(text: string): void {
    if (this.#open) this.#controller.enqueue(encoder.encode(text));
  }

  /** Write `data: [DONE]` and end the stream. */
  done(): void {
    if (!this.#open) return;
    this.write(sseEvent("[DONE]"));
    this.#open = false;
    this.#controller.close();
  }

  /** End the stream abruptly: the server drops the connection mid-body. */
  cut(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#controller.error(new Error("Stream cut by the simulator"));
  }
}
