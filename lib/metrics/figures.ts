/**
 * The one derivation of every per-request figure from a
 * {@linkcode RequestRecord}: TTFT, time to first answer token, E2E, client
 * lag, output tokens, TPOT, decode rate, prefill rate, inter-token
 * latencies and cache hits. Every command, report and script reads these, so
 * one record gets one set of figures everywhere.
 *
 * Definitions (times in milliseconds of `performance.now()`):
 * - TTFT = first generated token − sent, reasoning included (vLLM's
 *   definition); time to first answer token = first `content` token − sent;
 *   E2E = end − sent; decode = end − first token; client lag = sent −
 *   scheduled (what the client added to the workload's timing).
 * - Output tokens, the **missing-usage policy**: `usage.completion_tokens`
 *   when the server reported it (reasoning included); else `max_tokens` when
 *   the server said it stopped at the limit (`finish_reason: "length"`); else
 *   the number of output events the stream carried (a server sends at least
 *   one token per event, so this is a floor).
 *   {@linkcode RequestFigures.outputTokensFrom} says which.
 * - Prompt and cached tokens come from `usage` only; there is no estimate.
 *   A record without `cached_tokens` has no cache figure ("not reported"),
 *   never a 0 % hit.
 * - The decode window must be measurable: all events of one network read
 *   share one timestamp, so the output after the first token must have
 *   arrived over a span of time: in at least two reads after the first read
 *   with a positive gap between them (the first read's own events beyond the
 *   first token count as output that took no time), or, for a two-token
 *   response, as one event alone in a read after a positive gap. A burst (a
 *   server or proxy that buffered, reads 0.0 ms apart after a stall) leaves
 *   TPOT and the decode rate undefined
 *   ({@linkcode RequestFigures.decodeUnmeasured}), never thousands of tokens
 *   per second.
 * - TPOT = decode / (output tokens − 1) (vLLM's TPOT; tmesh-cli's ITL); the
 *   decode rate = (output tokens − 1) / decode, in tokens per second; both
 *   also need more than one output token and a decode time above 0.
 * - Inter-token latencies ({@linkcode interTokenLatencies}): one sample per
 *   output event after the first read; a read of k events after a gap of g
 *   gives k samples of g / k (the gap spread over the events it carried).
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
  /** A warm-up request: reports leave it out. */
  warmup: boolean;
  /** Time to first generated token, ms (streamed responses with output only). */
  ttftMs?: number;
  /** Time to the first answer (`content`) token, ms, when one came. */
  firstAnswerMs?: number;
  /** Sent to end of the response (or of the failure), ms. */
  e2eMs: number;
  /** Sent − scheduled: how late the client sent it, ms. */
  lagMs: number;
  /** First generated token to end, ms (streamed responses with output only). */
  decodeMs?: number;
  /** `usage.prompt_tokens`. */
  promptTokens?: number;
  /** `usage.prompt_tokens_details.cached_tokens`; undefined when not reported. */
  cachedTokens?: number;
  /** Output tokens, by the missing-usage policy (successful responses only). */
  outputTokens?: number;
  /** Where {@linkcode RequestFigures.outputTokens} came from. */
  outputTokensFrom?: OutputTokensSource;
  /** Output events that carried reasoning. */
  reasoningEvents: number;
  /** Output events that carried answer text. */
  answerEvents: number;
  /** True when the decode window could not be measured (see the module doc). */
  decodeUnmeasured: boolean;
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
 * import { testRecord } from "../testing/records.ts";
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
 * Whether the decode window of a record can be measured: the output after
 * the first token must have arrived over a span of time. That is, either at
 * least two reads after the first read carried output, with a positive gap
 * between them (reads 0.0 ms apart are one burst); or the whole output after
 * the first token is one event that came alone in the second read after a
 * positive gap (a two-token response). The first read's own events beyond
 * the first token count as output that came with no time at all, so a first
 * read of several events followed by one more read is a burst. Records
 * without per-read timing (not streamed, or written by other tools) are
 * taken as measurable.
 */
function decodeMeasurable(record: RequestRecord): boolean {
  const gaps = record.readGaps;
  if (gaps === undefined) return true;
  const events = record.readEvents;
  // gaps[0] is read 1 − read 0; gaps[i] is read i+1 − read i.
  for (let i = 1; i < gaps.length; i++) if (gaps[i] > 0) return true;
  return gaps.length === 1 && gaps[0] > 0 && (events?.[0] ?? 1) === 1 &&
    (events?.[1] ?? 1) === 1;
}

/**
 * Derive the figures of one record.
 *
 * @example A streamed response: 11 tokens, first at 500 ms, done at 1 500 ms
 * ```ts
 * import { requestFigures } from "./figures.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const f = requestFigures(testRecord({
 *   scheduledAt: 0, sentAt: 2, firstTokenAt: 502, endAt: 1502, chunks: 11,
 *   promptTokens: 1000, completionTokens: 11, cachedTokens: 800,
 * }));
 * assert.equal(f.ttftMs, 500);
 * assert.equal(f.lagMs, 2); // sent 2 ms after it was due
 * assert.equal(f.tpotMs, 100); // 1000 ms / (11 − 1)
 * assert.equal(f.decodeTps, 10); // (11 − 1) / 1 s
 * assert.equal(f.prefillTps, 2000); // 1000 tokens / 0.5 s
 * assert.equal(f.cacheHitRate, 0.8);
 * ```
 *
 * @example Everything after the first token in one read: no decode rate
 * ```ts
 * import { requestFigures } from "./figures.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * // 4 tokens: the first alone, the other 3 in one read 0.3 ms later.
 * const f = requestFigures(testRecord({
 *   firstTokenAt: 100, endAt: 100.4, chunks: 4, completionTokens: 4,
 *   readGaps: [3], readEvents: [1, 3],
 * }));
 * assert.equal(f.decodeUnmeasured, true);
 * assert.equal(f.decodeTps, undefined); // not 3 / 0.4 ms = 7 500 tok/s
 * ```
 */
export function requestFigures(record: RequestRecord): RequestFigures {
  const reasoningEvents = record.reasoningChunks ?? 0;
  const figures: RequestFigures = {
    ok: record.ok,
    warmup: record.warmup === true,
    e2eMs: record.endAt - record.sentAt,
    lagMs: record.sentAt - record.scheduledAt,
    reasoningEvents,
    answerEvents: record.chunks - reasoningEvents,
    decodeUnmeasured: false,
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
  if (record.firstAnswerAt !== undefined) {
    figures.firstAnswerMs = record.firstAnswerAt - record.sentAt;
  }
  if (ttftMs > 0 && record.promptTokens !== undefined) {
    figures.prefillTps = record.promptTokens / (ttftMs / 1000);
  }
  if (output.tokens > 1 && !decodeMeasurable(record)) {
    figures.decodeUnmeasured = true;
  } else if (output.tokens > 1 && decodeMs > 0) {
    figures.tpotMs = decodeMs / (output.tokens - 1);
    figures.decodeTps = (output.tokens - 1) / (decodeMs / 1000);
  }
  return figures;
}

/**
 * The inter-token latencies of a record, in ms: for every read after the
 * first that carried output, its gap spread evenly over its events. Empty
 * for a record without per-read timing or with one output read.
 *
 * @example Reads of 1, 1 and 2 events, 20 ms and 30 ms apart
 * ```ts
 * import { interTokenLatencies } from "./figures.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const itl = interTokenLatencies(testRecord({
 *   chunks: 4, readGaps: [200, 300], readEvents: [1, 1, 2],
 * }));
 * assert.deepEqual(itl, [20, 15, 15]);
 * ```
 */
export function interTokenLatencies(record: RequestRecord): number[] {
  const gaps = record.readGaps;
  if (gaps === undefined || gaps.length === 0) return [];
  const events = record.readEvents;
  const out: number[] = [];
  for (let i = 0; i < gaps.length; i++) {
    const k = events?.[i + 1] ?? 1;
    const each = gaps[i] / 10 / k;
    for (let j = 0; j < k; j++) out.push(each);
  }
  return out;
}

/**
 * Times of a record's output reads, ms of `performance.now()` (the first is
 * `firstTokenAt`), with the events each carried: the per-token timeline a
 * report plots.
 *
 * @example Usage
 * ```ts
 * import { outputReads } from "./figures.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   outputReads(testRecord({ firstTokenAt: 100, chunks: 3, readGaps: [200, 300] })),
 *   [{ at: 100, events: 1 }, { at: 120, events: 1 }, { at: 150, events: 1 }],
 * );
 * ```
 */
export function outputReads(
  record: RequestRecord,
): { at: number; events: number }[] {
  if (record.firstTokenAt === undefined) return [];
  const gaps = record.readGaps ?? [];
  const events = record.readEvents;
  const out = [{ at: record.firstTokenAt, events: events?.[0] ?? 1 }];
  let offset = 0;
  for (let i = 0; i < gaps.length; i++) {
    offset += gaps[i];
    out.push({
      at: record.firstTokenAt + offset / 10,
      events: events?.[i + 1] ?? 1,
    });
  }
  return out;
}
