/**
 * The one derivation of every per-request figure from a
 * {@linkcode RequestRecord}: TTFT, E2E, decode time, output tokens, TPOT,
 * decode rate, prefill rate and cache hits. Every command, report and script
 * reads these, so one record gets one set of figures everywhere.
 *
 * Definitions (times in milliseconds of `performance.now()`):
 * - TTFT = first output token − sent (vLLM's definition: any generated
 *   token, reasoning included); E2E = end − sent; decode = end − first token.
 * - Output tokens, the **missing-usage policy**: `usage.completion_tokens`
 *   when the server reported it; else `max_tokens` when the server said it
 *   stopped at the limit (`finish_reason: "length"`); else the number of
 *   output events the stream carried (a server sends at least one token per
 *   event, so this is a floor). {@linkcode RequestFigures.outputTokensFrom}
 *   says which.
 * - Prompt and cached tokens come from `usage` only; there is no estimate.
 *   A record without `cached_tokens` has no cache figure ("not reported"),
 *   never a 0 % hit.
 * - TPOT = decode / (output tokens − 1) (vLLM's TPOT; tmesh-cli's ITL); the
 *   decode rate = (output tokens − 1) / decode, in tokens per second. Both are
 *   undefined when there is at most one output token or no decode time.
 *
 * @module
 */
import type { RequestRecord } from "../types.ts";

/** Where a record's output token count came from (see the module doc). */
export type OutputTokensSource = "usage" | "max_tokens" | "events";

/** The figures of one request. */
export interface RequestFigures {
  /** The response was complete. */
  ok: boolean;
  /** Time to first output token, ms (streamed responses with output only). */
  ttftMs?: number;
  /** Sent to end of the response (or of the failure), ms. */
  e2eMs: number;
  /** First output token to end, ms (streamed responses with output only). */
  decodeMs?: number;
  /** `usage.prompt_tokens`. */
  promptTokens?: number;
  /** `usage.prompt_tokens_details.cached_tokens`; undefined when not reported. */
  cachedTokens?: number;
  /** Output tokens, by the missing-usage policy (successful responses only). */
  outputTokens?: number;
  /** Where {@linkcode RequestFigures.outputTokens} came from. */
  outputTokensFrom?: OutputTokensSource;
  /** Time per output token after the first, ms: decode / (output tokens − 1). */
  tpotMs?: number;
  /** Decode rate, tokens per second: (output tokens − 1) / decode. */
  decodeTps?: number;
  /** Prompt tokens per second of TTFT. */
  prefillTps?: number;
  /** Cached / prompt tokens, when both were reported and the prompt is not empty. */
  cacheHitRate?: number;
}

/**
 * The output token count of a record by the missing-usage policy: usage,
 * else `max_tokens` on `finish_reason: "length"`, else the output events.
 *
 * @example Usage
 * ```ts
 * import { outputTokens } from "./figures.ts";
 * import { testRecord } from "../../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const record = testRecord({ chunks: 12, maxTokens: 16 });
 * assert.deepEqual(outputTokens({ ...record, completionTokens: 15 }), { tokens: 15, from: "usage" });
 * assert.deepEqual(outputTokens({ ...record, finishReason: "length" }), { tokens: 16, from: "max_tokens" });
 * assert.deepEqual(outputTokens({ ...record, finishReason: "stop" }), { tokens: 12, from: "events" });
 * ```
 */
export function outputTokens(
  record: RequestRecord,
): { tokens: number; from: OutputTokensSource } {
  if (record.completionTokens !== undefined) {
    return { tokens: record.completionTokens, from: "usage" };
  }
  if (record.finishReason === "length") {
    return { tokens: record.maxTokens, from: "max_tokens" };
  }
  return { tokens: record.chunks, from: "events" };
}

/**
 * Derive the figures of one record.
 *
 * @example A streamed response: 11 tokens, first at 500 ms, done at 1 500 ms
 * ```ts
 * import { requestFigures } from "./figures.ts";
 * import { testRecord } from "../../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const f = requestFigures(testRecord({
 *   sentAt: 0, firstTokenAt: 500, endAt: 1500, chunks: 11,
 *   promptTokens: 1000, completionTokens: 11, cachedTokens: 800,
 * }));
 * assert.equal(f.ttftMs, 500);
 * assert.equal(f.tpotMs, 100); // 1000 ms / (11 − 1)
 * assert.equal(f.decodeTps, 10); // (11 − 1) / 1 s
 * assert.equal(f.prefillTps, 2000); // 1000 tokens / 0.5 s
 * assert.equal(f.cacheHitRate, 0.8);
 * ```
 */
export function requestFigures(record: RequestRecord): RequestFigures {
  const figures: RequestFigures = {
    ok: record.ok,
    e2eMs: record.endAt - record.sentAt,
  };
  if (record.promptTokens !== undefined) {
    figures.promptTokens = record.promptTokens;
  }
  if (record.cachedTokens !== undefined) {
    figures.cachedTokens = record.cachedTokens;
    if (record.promptTokens !== undefined && record.promptTokens > 0) {
      figures.cacheHitRate = record.cachedTokens / record.promptTokens;
    }
  }
  if (!record.ok) return figures;
  const output = outputTokens(record);
  figures.outputTokens = output.tokens;
  figures.outputTokensFrom = output.from;
  if (record.firstTokenAt === undefined) return figures;
  const ttftMs = record.firstTokenAt - record.sentAt;
  const decodeMs = record.endAt - record.firstTokenAt;
  figures.ttftMs = ttftMs;
  figures.decodeMs = decodeMs;
  if (ttftMs > 0 && record.promptTokens !== undefined) {
    figures.prefillTps = record.promptTokens / (ttftMs / 1000);
  }
  if (output.tokens > 1 && decodeMs > 0) {
    figures.tpotMs = decodeMs / (output.tokens - 1);
    figures.decodeTps = (output.tokens - 1) / (decodeMs / 1000);
  }
  return figures;
}
