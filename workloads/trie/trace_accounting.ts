/**
 * The accounting of one trie trace: its server cache counters
 * ({@linkcode ServerMetrics}) and its timing and decode rate from request
 * records ({@linkcode TraceAccumulator}).
 *
 * Times: request records carry `performance.now()` milliseconds; everything
 * reported here is in seconds, like trie.
 *
 * @module
 */
import { requestFigures } from "../../lib/metrics/figures.ts";
import type { RequestRecord } from "../../lib/types.ts";

/**
 * The server-reported cache counters of one trace. Eligible tokens of
 * request i are what it re-sends of the previous request: its prompt plus
 * the output the next prompt carries (0 for request 0). That output is the
 * completion, except in chat mode with a reasoning model, whose next turn
 * re-sends only the answer (templates such as Qwen3's drop earlier
 * thinking): there the reasoning tokens, one per streamed reasoning event
 * (as vLLM and SGLang stream them), are not carried. Requests without usage
 * are skipped and the carry comes from the last request that had usage.
 */
export class ServerMetrics {
  /** Σ `usage.prompt_tokens`. */
  promptTokens = 0;
  /** Σ `usage.prompt_tokens_details.cached_tokens` (missing counts 0). */
  cachedTokens = 0;
  /** Σ eligible prompt tokens. */
  eligiblePromptTokens = 0;
  /** Some request of the trace reported `cached_tokens` (the cache rates mean something). */
  cachedReported = false;
  #carry = 0;

  /**
   * Add one request's usage.
   *
   * @param usage The counts; `cachedTokens` may be missing.
   *
   * @example Usage
   * ```ts
   * import { ServerMetrics } from "./trace_accounting.ts";
   * import assert from "node:assert/strict";
   *
   * const m = new ServerMetrics();
   * m.recordUsage({ promptTokens: 100, completionTokens: 10 });
   * m.recordUsage({ promptTokens: 130, completionTokens: 10, cachedTokens: 96 });
   * assert.equal(m.promptTokens, 230);
   * assert.equal(m.cachedTokens, 96);
   * assert.equal(m.eligiblePromptTokens, 110); // request 1: 100 + 10 of request 0
   * assert.equal(m.eligibleCacheHitRate, 96 / 110);
   * // A reasoning answer: 40 tokens, 30 of them thinking the next turn drops.
   * m.recordUsage({ promptTokens: 200, completionTokens: 40, carriedTokens: 10 });
   * m.recordUsage({ promptTokens: 260, completionTokens: 5, cachedTokens: 210 });
   * assert.equal(m.eligiblePromptTokens, 110 + 140 + 210); // 200 + 10 carried
   * ```
   */
  recordUsage(
    usage: {
      promptTokens: number;
      completionTokens: number;
      cachedTokens?: number;
      /** Output tokens the next prompt re-sends (default: all of `completionTokens`). */
      carriedTokens?: number;
    },
  ): void {
    this.promptTokens += usage.promptTokens;
    this.cachedTokens += usage.cachedTokens ?? 0;
    if (usage.cachedTokens !== undefined) this.cachedReported = true;
    this.eligiblePromptTokens += this.#carry;
    this.#carry = usage.promptTokens +
      (usage.carriedTokens ?? usage.completionTokens);
  }

  /**
   * Cached over prompt tokens, as a fraction (0 when no prompt tokens).
   *
   * @example Usage
   * ```ts
   * import { ServerMetrics } from "./trace_accounting.ts";
   * import assert from "node:assert/strict";
   *
   * const m = new ServerMetrics();
   * assert.equal(m.cacheHitRate, 0);
   * m.recordUsage({ promptTokens: 100, completionTokens: 10 });
   * m.recordUsage({ promptTokens: 300, completionTokens: 10, cachedTokens: 100 });
   * assert.equal(m.cacheHitRate, 0.25); // 100 / (100 + 300)
   * ```
   */
  get cacheHitRate(): number {
    return this.promptTokens > 0 ? this.cachedTokens / this.promptTokens : 0;
  }

  /**
   * Cached over eligible tokens, as a fraction, not clamped (it can exceed
   * 1); 0 when nothing was eligible.
   *
   * @example Usage
   * ```ts
   * import { ServerMetrics } from "./trace_accounting.ts";
   * import assert from "node:assert/strict";
   *
   * const m = new ServerMetrics();
   * assert.equal(m.eligibleCacheHitRate, 0);
   * m.recordUsage({ promptTokens: 100, completionTokens: 10 });
   * m.recordUsage({ promptTokens: 300, completionTokens: 10, cachedTokens: 165 });
   * assert.equal(m.eligibleCacheHitRate, 1.5); // 165 / (100 + 10), above 1
   * ```
   */
  get eligibleCacheHitRate(): number {
    return this.eligiblePromptTokens > 0
      ? this.cachedTokens / this.eligiblePromptTokens
      : 0;
  }
}

/**
 * The per-trace accumulator: fed each request record of one trace in order,
 * it gives the trace's TTFT, TTFAT, latency, mean decode rate and server
 * cache counters.
 *
 * Per request, TTFT and the decode rate are those of `requestFigures`: the
 * decode rate is `(out − 1) / (end − first token)` when `out > 1` and the
 * decode time is > 0, else 0 (trie counts zeros in the mean), where `out`
 * follows the missing-usage policy (`usage.completion_tokens`, else
 * `max_tokens` when the server stopped at the limit). A request without
 * `firstTokenAt` counts as rate 0, and leaves TTFT (request 0) or TTFAT (final
 * request) unknown.
 */
export class TraceAccumulator {
  /** When the trace started (ms, `performance.now()`), before prompt synthesis. */
  readonly startedAt: number;
  /** The trace's server cache counters. */
  readonly server: ServerMetrics = new ServerMetrics();
  #requests = 0;
  #tpsSum = 0;
  #tpsN = 0;
  #ttft: number | undefined;
  #lastFirstTokenOffset: number | undefined;
  #lastEndAt: number | undefined;

  /**
   * Start a trace.
   *
   * @param startedAt The trace start (ms, `performance.now()`).
   *
   * @example Usage
   * ```ts
   * import { TraceAccumulator } from "./trace_accounting.ts";
   * import assert from "node:assert/strict";
   *
   * const trace = new TraceAccumulator(1000);
   * assert.equal(trace.startedAt, 1000);
   * assert.equal(trace.requests, 0);
   * assert.equal(trace.latencyS, undefined);
   * ```
   */
  constructor(startedAt: number) {
    this.startedAt = startedAt;
  }

  /**
   * Add the next (successful) request of the trace.
   *
   * @param record The request's record.
   *
   * @example Usage
   * ```ts
   * import { TraceAccumulator } from "./trace_accounting.ts";
   * import { testRecord } from "../../lib/testing/records.ts";
   * import assert from "node:assert/strict";
   *
   * const trace = new TraceAccumulator(0);
   * trace.add(testRecord({
   *   firstTokenAt: 100, endAt: 600, promptTokens: 100, completionTokens: 11,
   * }));
   * trace.add(testRecord({
   *   sentAt: 1000, firstTokenAt: 1200, endAt: 1700,
   *   promptTokens: 150, completionTokens: 6, cachedTokens: 96,
   * }));
   * assert.equal(trace.requests, 2);
   * assert.equal(trace.decodeTps, 15); // mean of 10 / 0.5 s and 5 / 0.5 s
   * assert.equal(trace.server.eligiblePromptTokens, 111); // 100 + 11 of request 0
   * assert.equal(trace.server.cachedTokens, 96);
   * ```
   */
  add(record: RequestRecord): void {
    const f = requestFigures(record);
    const ttft = f.ttftMs === undefined ? undefined : f.ttftMs / 1000;
    if (this.#requests === 0) this.#ttft = ttft;
    this.#lastFirstTokenOffset = record.firstTokenAt === undefined
      ? undefined
      : (record.firstTokenAt - this.startedAt) / 1000;
    this.#lastEndAt = record.endAt;
    if (f.decodeTps !== undefined) {
      this.#tpsSum += f.decodeTps;
      this.#tpsN++;
    }
    this.#requests++;
    if (f.promptTokens !== undefined && f.outputTokensFrom === "usage") {
      // The next turn re-sends the answer, not the reasoning (chat mode).
      this.server.recordUsage({
        promptTokens: f.promptTokens,
        completionTokens: f.outputTokens!,
        cachedTokens: f.cachedTokens,
        carriedTokens: f.outputTokens! - f.reasoningEvents,
      });
    }
  }

  /**
   * Requests added so far.
   *
   * @example Usage
   * ```ts
   * import { TraceAccumulator } from "./trace_accounting.ts";
   * import { testRecord } from "../../lib/testing/records.ts";
   * import assert from "node:assert/strict";
   *
   * const trace = new TraceAccumulator(0);
   * assert.equal(trace.requests, 0);
   * trace.add(testRecord());
   * trace.add(testRecord());
   * assert.equal(trace.requests, 2);
   * ```
   */
  get requests(): number {
    return this.#requests;
  }

  /**
   * TTFT of request 0 (s), request-relative.
   *
   * @example Usage
   * ```ts
   * import { TraceAccumulator } from "./trace_accounting.ts";
   * import { testRecord } from "../../lib/testing/records.ts";
   * import assert from "node:assert/strict";
   *
   * const trace = new TraceAccumulator(1000);
   * trace.add(testRecord({ sentAt: 1000, firstTokenAt: 1250, endAt: 1500 }));
   * trace.add(testRecord({ sentAt: 2000, firstTokenAt: 2100, endAt: 2400 }));
   * assert.equal(trace.ttftS, 0.25); // request 0's: 1250 − 1000 ms
   * assert.equal(new TraceAccumulator(0).ttftS, undefined);
   * ```
   */
  get ttftS(): number | undefined {
    return this.#ttft;
  }

  /**
   * First token of the last added (final) request minus the trace start (s).
   *
   * @example Usage
   * ```ts
   * import { TraceAccumulator } from "./trace_accounting.ts";
   * import { testRecord } from "../../lib/testing/records.ts";
   * import assert from "node:assert/strict";
   *
   * const trace = new TraceAccumulator(1000);
   * trace.add(testRecord({ sentAt: 1000, firstTokenAt: 1250, endAt: 1500 }));
   * trace.add(testRecord({ sentAt: 2000, firstTokenAt: 2100, endAt: 2400 }));
   * assert.equal(trace.ttfatS, 1.1); // the final request's: 2100 − 1000 ms
   * assert.equal(new TraceAccumulator(0).ttfatS, undefined);
   * ```
   */
  get ttfatS(): number | undefined {
    return this.#lastFirstTokenOffset;
  }

  /**
   * End of the last added (final) request minus the trace start (s).
   *
   * @example Usage
   * ```ts
   * import { TraceAccumulator } from "./trace_accounting.ts";
   * import { testRecord } from "../../lib/testing/records.ts";
   * import assert from "node:assert/strict";
   *
   * const trace = new TraceAccumulator(1000);
   * trace.add(testRecord({ sentAt: 1000, firstTokenAt: 1250, endAt: 1500 }));
   * trace.add(testRecord({ sentAt: 2000, firstTokenAt: 2100, endAt: 2400 }));
   * assert.equal(trace.latencyS, 1.4); // the final request's end: 2400 − 1000 ms
   * assert.equal(new TraceAccumulator(0).latencyS, undefined);
   * ```
   */
  get latencyS(): number | undefined {
    return this.#lastEndAt === undefined
      ? undefined
      : (this.#lastEndAt - this.startedAt) / 1000;
  }

  /**
   * Mean per-request decode rate (tok/s) over the requests that have one
   * (see `requestFigures`): a request without a first token, of one output
   * token, or whose decode window was a burst has no rate and is left out,
   * never averaged as 0; undefined when no request of the trace has one.
   *
   * @example Usage
   * ```ts
   * import { TraceAccumulator } from "./trace_accounting.ts";
   * import { testRecord } from "../../lib/testing/records.ts";
   * import assert from "node:assert/strict";
   *
   * const trace = new TraceAccumulator(0);
   * assert.equal(trace.decodeTps, undefined);
   * trace.add(testRecord({ firstTokenAt: 0, endAt: 500, completionTokens: 11 }));
   * trace.add(testRecord({ completionTokens: 11 })); // no first token: no rate
   * assert.equal(trace.decodeTps, 20); // (11 − 1) / 0.5 s, the only rate
   * const burst = new TraceAccumulator(0);
   * burst.add(testRecord({
   *   firstTokenAt: 0, endAt: 0.5, chunks: 11, completionTokens: 11,
   *   readGaps: [5], readEvents: [1, 10],
   * }));
   * assert.equal(burst.decodeTps, undefined); // not 20 000 tok/s, not 0
   * ```
   */
  get decodeTps(): number | undefined {
    return this.#tpsN > 0 ? this.#tpsSum / this.#tpsN : undefined;
  }
}
