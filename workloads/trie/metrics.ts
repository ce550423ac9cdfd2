/**
 * The accounting of trie (trace replay): per-trace timing, decode rate and
 * server cache metrics from request records, the cumulative workload
 * accounting points built from the trace lengths, and the window rates
 * (overall, last 30 s, steady state) derived from them.
 *
 * Times: request records carry `performance.now()` milliseconds; everything
 * reported here is in seconds, like trie.
 *
 * @module
 */

import {
  LatencyDistributions,
  type Slos,
} from "../../lib/metrics/distributions.ts";
import { requestFigures } from "../../lib/metrics/figures.ts";
import type { RequestRecord } from "../../lib/types.ts";
import { cumulativePromptTokens, type TraceRow } from "./trace_file.ts";

/**
 * Cumulative accounting token counts at one moment of the run (trace
 * lengths, not server usage).
 */
export interface CompletionPoint {
  /** Seconds since the benchmark started. */
  t: number;
  /** Cumulative completion tokens. */
  completionTokens: number;
  /** Cumulative new (uncached) prompt tokens. */
  newPromptTokens: number;
  /** Cumulative expected-cacheable prompt tokens. */
  cachedPromptTokens: number;
}

/** Token throughputs of one window, in tokens per second. */
export interface ThroughputRates {
  /** Total prompt tokens (new + cached) per second. */
  promptTokS: number;
  /** Expected-cacheable prompt tokens per second. */
  cachedTokS: number;
  /** New prompt tokens per second. */
  newPromptTokS: number;
  /** Completion tokens per second. */
  completionTokS: number;
}

/** Which cumulative count a window rate is computed from. */
export type RateField = "prompt" | "cached" | "newPrompt" | "completion";

function pointValue(point: CompletionPoint, field: RateField): number {
  switch (field) {
    case "prompt":
      return point.newPromptTokens + point.cachedPromptTokens;
    case "cached":
      return point.cachedPromptTokens;
    case "newPrompt":
      return point.newPromptTokens;
    case "completion":
      return point.completionTokens;
  }
}

// The first index whose t is ≥ threshold (Python's bisect_left).
function bisectLeft(points: readonly CompletionPoint[], threshold: number) {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid].t < threshold) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * trie's window rate: a two-point secant from the first point with
 * `t ≥ threshold` (s) to the last point (e), `(e.X − s.X) / (e.t − s.t)`; the
 * tokens of s itself are excluded. 0 when there are fewer than two points,
 * when s is the last point (or none), or when `s.t == e.t`.
 *
 * @param points Points in non-decreasing `t` order.
 * @param threshold Window start, seconds since the benchmark started.
 * @param field The count to take the rate of.
 * @returns Tokens per second.
 *
 * @example Usage
 * ```ts
 * import { windowRate } from "./metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const p = (t: number, c: number) => ({
 *   t, completionTokens: c, newPromptTokens: 0, cachedPromptTokens: 0,
 * });
 * const points = [p(1, 10), p(2, 30), p(5, 90)];
 * // s is the point at t = 2 (the first with t ≥ 1.5), e the one at t = 5
 * assert.equal(windowRate(points, 1.5, "completion"), 20); // (90 − 30) / (5 − 2)
 * assert.equal(windowRate(points, 3, "completion"), 0); // s is the last point
 * ```
 */
export function windowRate(
  points: readonly CompletionPoint[],
  threshold: number,
  field: RateField,
): number {
  if (points.length < 2) return 0;
  const index = bisectLeft(points, threshold);
  if (index >= points.length - 1) return 0;
  const start = points[index];
  const end = points[points.length - 1];
  if (start.t === end.t) return 0;
  return (pointValue(end, field) - pointValue(start, field)) /
    (end.t - start.t);
}

/**
 * All four {@linkcode windowRate}s from one threshold.
 *
 * @param points Points in non-decreasing `t` order.
 * @param threshold Window start, seconds since the benchmark started.
 * @returns The rates.
 *
 * @example Usage
 * ```ts
 * import { windowRates } from "./metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const points = [
 *   { t: 0, completionTokens: 0, newPromptTokens: 0, cachedPromptTokens: 0 },
 *   { t: 2, completionTokens: 40, newPromptTokens: 100, cachedPromptTokens: 300 },
 * ];
 * assert.deepEqual(windowRates(points, 0), {
 *   promptTokS: 200, // (100 + 300) / 2
 *   cachedTokS: 150,
 *   newPromptTokS: 50,
 *   completionTokS: 20,
 * });
 * ```
 */
export function windowRates(
  points: readonly CompletionPoint[],
  threshold: number,
): ThroughputRates {
  return {
    promptTokS: windowRate(points, threshold, "prompt"),
    cachedTokS: windowRate(points, threshold, "cached"),
    newPromptTokS: windowRate(points, threshold, "newPrompt"),
    completionTokS: windowRate(points, threshold, "completion"),
  };
}

function lastT(points: readonly CompletionPoint[]): number {
  return points.length > 0 ? points[points.length - 1].t : 0;
}

/**
 * The "Last 30s Window" rates: the window starts `seconds` before the last
 * point (not before the end of the run); a run shorter than that starts at
 * the first point.
 *
 * @param points Points in non-decreasing `t` order.
 * @param seconds Window length (default 30).
 * @returns The rates.
 *
 * @example Usage
 * ```ts
 * import { lastWindowRates } from "./metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const p = (t: number, c: number) => ({
 *   t, completionTokens: c, newPromptTokens: 0, cachedPromptTokens: 0,
 * });
 * const points = [p(0, 0), p(50, 500), p(60, 600), p(70, 800)];
 * // The window starts at 70 − 30 = 40 s: from the point at t = 50 to t = 70
 * assert.equal(lastWindowRates(points).completionTokS, 15); // (800 − 500) / 20
 * assert.equal(lastWindowRates([]).completionTokS, 0);
 * ```
 */
export function lastWindowRates(
  points: readonly CompletionPoint[],
  seconds = 30,
): ThroughputRates {
  return windowRates(points, lastT(points) - seconds);
}

/**
 * The "Steady State" rates: the window starts at `warmupFraction` of the last
 * point's time, dropping the ramp-up.
 *
 * @param points Points in non-decreasing `t` order.
 * @param warmupFraction Fraction of the time dropped as warmup (default 0.2).
 * @returns The rates.
 *
 * @example Usage
 * ```ts
 * import { steadyStateRates } from "./metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const p = (t: number, c: number) => ({
 *   t, completionTokens: c, newPromptTokens: 0, cachedPromptTokens: 0,
 * });
 * const points = [p(0, 0), p(10, 200), p(50, 600)];
 * // Warmup is the first 0.2 × 50 = 10 s: from the point at t = 10 to t = 50
 * assert.equal(steadyStateRates(points).completionTokS, 10); // (600 − 200) / 40
 * assert.equal(steadyStateRates(points, 0).completionTokS, 12); // 600 / 50
 * ```
 */
export function steadyStateRates(
  points: readonly CompletionPoint[],
  warmupFraction = 0.2,
): ThroughputRates {
  return windowRates(points, lastT(points) * warmupFraction);
}

/**
 * The "Overall" rates: the last point's cumulative counts over the wall
 * time; all 0 without points or with a wall time ≤ 0.
 *
 * @param points Points in non-decreasing `t` order.
 * @param wallTime Seconds the run took.
 * @returns The rates.
 *
 * @example Usage
 * ```ts
 * import { overallRates } from "./metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const points = [
 *   { t: 1, completionTokens: 100, newPromptTokens: 20, cachedPromptTokens: 60 },
 * ];
 * const rates = overallRates(points, 2);
 * assert.equal(rates.completionTokS, 50); // 100 / 2
 * assert.equal(rates.promptTokS, 40); // (20 + 60) / 2
 * assert.equal(overallRates(points, 0).completionTokS, 0);
 * ```
 */
export function overallRates(
  points: readonly CompletionPoint[],
  wallTime: number,
): ThroughputRates {
  if (points.length === 0 || !(wallTime > 0)) {
    return {
      promptTokS: 0,
      cachedTokS: 0,
      newPromptTokS: 0,
      completionTokS: 0,
    };
  }
  const last = points[points.length - 1];
  return {
    promptTokS: pointValue(last, "prompt") / wallTime,
    cachedTokS: last.cachedPromptTokens / wallTime,
    newPromptTokS: last.newPromptTokens / wallTime,
    completionTokS: last.completionTokens / wallTime,
  };
}

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
   * import { ServerMetrics } from "./metrics.ts";
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
   * import { ServerMetrics } from "./metrics.ts";
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
   * import { ServerMetrics } from "./metrics.ts";
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
   * import { TraceAccumulator } from "./metrics.ts";
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
   * import { TraceAccumulator } from "./metrics.ts";
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
   * import { TraceAccumulator } from "./metrics.ts";
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
   * import { TraceAccumulator } from "./metrics.ts";
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
   * import { TraceAccumulator } from "./metrics.ts";
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
   * import { TraceAccumulator } from "./metrics.ts";
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
   * import { TraceAccumulator } from "./metrics.ts";
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

/** Options of {@linkcode TrieResult}. */
export interface TrieResultOptions {
  /** Streaming run: TTFT, TTFAT and decode rates are recorded (default false). */
  stream?: boolean;
  /** Benchmark start (ms, `performance.now()`); default: now. */
  startedAt?: number;
  /** SLOs the distributions count goodput against. */
  slos?: Slos;
}

/** Options of {@linkcode TrieResult.recordTurn} and `recordSuccess`. */
export interface RecordPointOptions {
  /**
   * Seconds since the benchmark started; default: now − `startedAt`. A time
   * before the last point's is raised to it, so points stay in time order.
   */
  at?: number;
}

/** What {@linkcode TrieResult.recordSuccess} did. */
export interface SuccessOutcome {
  /**
   * False when a streaming trace's server metrics were left out because no
   * request carried usage (trie logs `stream response usage missing;
   * omitting server metrics`).
   */
  serverMetricsRecorded: boolean;
}

/**
 * The aggregate of a trie run. Per trace the caller records each tool-use
 * turn ({@linkcode TrieResult.recordTurn}), then either the success
 * ({@linkcode TrieResult.recordSuccess}) or a failure
 * ({@linkcode TrieResult.recordFailure}); a cancelled trace records
 * nothing further. Turn points of failed or cancelled traces stay.
 */
export class TrieResult {
  /** Streaming run. */
  readonly stream: boolean;
  /** Benchmark start (ms, `performance.now()`). */
  readonly startedAt: number;
  /** Seconds the run took (set by the caller at the end; 0 until then). */
  wallTime = 0;
  /** Why the run stopped (set by `runTrie` at the end). */
  stopReason?: string;
  /** Why it stopped early for failures and its first error (set by `runTrie`; `describeFailure`). */
  failure?: string;
  /** Traces that succeeded. */
  completedTraces = 0;
  /** Traces that failed (an error, not a cancellation). */
  failedTraces = 0;
  /** Latency (s) of each successful trace. */
  readonly latencies: number[] = [];
  /** TTFT (s) of each successful trace (streaming). */
  readonly ttfts: number[] = [];
  /** TTFAT (s) of each successful trace (streaming). */
  readonly ttfats: number[] = [];
  /** Mean decode rate (tok/s) of each successful trace that has one (streaming). */
  readonly tpsValues: number[] = [];
  /** Successful traces (streaming) none of whose requests has a decode rate. */
  decodeUndefinedTraces = 0;
  /** Server cache counters of each successful trace. */
  readonly serverMetrics: ServerMetrics[] = [];
  /** Cumulative accounting points, in time order. */
  readonly points: CompletionPoint[] = [];
  /** Latency distributions of every request of the run (fed by `runTrie`). */
  readonly distributions: LatencyDistributions;

  /**
   * An empty result.
   *
   * @param options Streaming mode and the benchmark start.
   *
   * @example Usage
   * ```ts
   * import { TrieResult } from "./metrics.ts";
   * import assert from "node:assert/strict";
   *
   * const result = new TrieResult({ stream: true, startedAt: 0 });
   * assert.equal(result.stream, true);
   * assert.equal(result.completedTraces, 0);
   * assert.deepEqual(result.points, []);
   * ```
   */
  constructor(options: TrieResultOptions = {}) {
    this.stream = options.stream ?? false;
    this.startedAt = options.startedAt ?? performance.now();
    this.distributions = new LatencyDistributions({ slos: options.slos });
  }

  #append(
    at: number | undefined,
    completion: number,
    newPrompt: number,
    cached: number,
  ): void {
    const prev = this.points[this.points.length - 1];
    let t = at ?? (performance.now() - this.startedAt) / 1000;
    // The windows bisect on t, so points must stay sorted.
    if (prev !== undefined && t < prev.t) t = prev.t;
    this.points.push({
      t,
      completionTokens: (prev?.completionTokens ?? 0) + completion,
      newPromptTokens: (prev?.newPromptTokens ?? 0) + newPrompt,
      cachedPromptTokens: (prev?.cachedPromptTokens ?? 0) + cached,
    });
  }

  /**
   * Record that tool-use turn `turnIndex` of a trace completed: completion +=
   * `assistant_response_length[i]`; new += the initial prompt (turn 0) or
   * the previous turn's tool output; cached += the rest of the prompt.
   *
   * @param row The trace.
   * @param turnIndex The turn, 0 … N−1.
   * @param options When it happened.
   *
   * @example Usage
   * ```ts
   * import { TrieResult } from "./metrics.ts";
   * import assert from "node:assert/strict";
   *
   * const row = {
   *   num_turns: 2, input_prompt_length: 100, assistant_response_length: [10, 20],
   *   tool_call_output_length: [30, 40], tool_call_latency: [0, 0],
   *   final_assistant_response_length: 50,
   * };
   * const result = new TrieResult({ startedAt: 0 });
   * result.recordTurn(row, 0, { at: 1 });
   * result.recordTurn(row, 1, { at: 0.5 }); // raised to t = 1
   * // Turn 1: new = tool output 0 (30); cached = the rest, 100 + 10
   * assert.deepEqual(result.points[1], {
   *   t: 1, completionTokens: 30, newPromptTokens: 130, cachedPromptTokens: 110,
   * });
   * ```
   */
  recordTurn(
    row: TraceRow,
    turnIndex: number,
    options: RecordPointOptions = {},
  ): void {
    const newPrompt = turnIndex === 0
      ? row.input_prompt_length
      : row.tool_call_output_length[turnIndex - 1];
    this.#append(
      options.at,
      row.assistant_response_length[turnIndex],
      newPrompt,
      cumulativePromptTokens(row, turnIndex) - newPrompt,
    );
  }

  /**
   * Record that a trace's final request succeeded: the final accounting
   * point, the latency, the server metrics (in streaming mode only when
   * some request had usage) and, in streaming mode, TTFT, TTFAT and the
   * decode rate.
   *
   * @param row The trace.
   * @param trace The trace's accumulator, holding all its requests.
   * @param options When it happened.
   * @returns Whether the server metrics were recorded.
   * @throws {RangeError} If the accumulator holds no request.
   *
   * @example Usage
   * ```ts
   * import { TraceAccumulator, TrieResult } from "./metrics.ts";
   * import { testRecord } from "../../lib/testing/records.ts";
   * import assert from "node:assert/strict";
   *
   * const row = {
   *   num_turns: 0, input_prompt_length: 100, assistant_response_length: [],
   *   tool_call_output_length: [], tool_call_latency: [],
   *   final_assistant_response_length: 20,
   * };
   * const result = new TrieResult({ stream: true, startedAt: 0 });
   * const trace = new TraceAccumulator(0);
   * trace.add(testRecord({
   *   firstTokenAt: 200, endAt: 1200, promptTokens: 100, completionTokens: 21,
   * }));
   * const { serverMetricsRecorded } = result.recordSuccess(row, trace, { at: 1.2 });
   * assert.equal(serverMetricsRecorded, true); // the request carried usage
   * assert.deepEqual(result.latencies, [1.2]);
   * assert.deepEqual(result.tpsValues, [20]); // (21 − 1) / 1 s
   * assert.throws(() => result.recordSuccess(row, new TraceAccumulator(0)), RangeError);
   * ```
   */
  recordSuccess(
    row: TraceRow,
    trace: TraceAccumulator,
    options: RecordPointOptions = {},
  ): SuccessOutcome {
    const latency = trace.latencyS;
    if (latency === undefined) {
      throw new RangeError("Cannot record a trace success without requests");
    }
    const serverMetricsRecorded = !this.stream || trace.server.promptTokens > 0;
    if (serverMetricsRecorded) this.serverMetrics.push(trace.server);
    const n = row.num_turns;
    const newPrompt = n > 0
      ? row.tool_call_output_length[n - 1]
      : row.input_prompt_length;
    this.#append(
      options.at,
      row.final_assistant_response_length,
      newPrompt,
      cumulativePromptTokens(row, n) - newPrompt,
    );
    this.latencies.push(latency);
    this.completedTraces++;
    if (this.stream) {
      if (trace.ttftS !== undefined) this.ttfts.push(trace.ttftS);
      if (trace.ttfatS !== undefined) this.ttfats.push(trace.ttfatS);
      const tps = trace.decodeTps;
      if (tps !== undefined) this.tpsValues.push(tps);
      else this.decodeUndefinedTraces++;
    }
    return { serverMetricsRecorded };
  }

  /**
   * Count a failed trace (nothing else is recorded for it).
   *
   * @example Usage
   * ```ts
   * import { TrieResult } from "./metrics.ts";
   * import assert from "node:assert/strict";
   *
   * const result = new TrieResult();
   * result.recordFailure();
   * assert.equal(result.failedTraces, 1);
   * assert.equal(result.completedTraces, 0);
   * ```
   */
  recordFailure(): void {
    this.failedTraces++;
  }

  #last(): CompletionPoint | undefined {
    return this.points[this.points.length - 1];
  }

  /**
   * Cumulative accounting prompt tokens (new + cached).
   *
   * @example Usage
   * ```ts
   * import { TrieResult } from "./metrics.ts";
   * import assert from "node:assert/strict";
   *
   * const row = {
   *   num_turns: 2, input_prompt_length: 100, assistant_response_length: [10, 20],
   *   tool_call_output_length: [30, 40], tool_call_latency: [0, 0],
   *   final_assistant_response_length: 50,
   * };
   * const result = new TrieResult({ startedAt: 0 });
   * assert.equal(result.completedPromptTokens, 0);
   * result.recordTurn(row, 0, { at: 1 });
   * result.recordTurn(row, 1, { at: 2 });
   * assert.equal(result.completedPromptTokens, 240); // 100 + (100 + 10 + 30)
   * ```
   */
  get completedPromptTokens(): number {
    const last = this.#last();
    return last ? last.newPromptTokens + last.cachedPromptTokens : 0;
  }

  /**
   * Cumulative accounting completion tokens.
   *
   * @example Usage
   * ```ts
   * import { TrieResult } from "./metrics.ts";
   * import assert from "node:assert/strict";
   *
   * const row = {
   *   num_turns: 2, input_prompt_length: 100, assistant_response_length: [10, 20],
   *   tool_call_output_length: [30, 40], tool_call_latency: [0, 0],
   *   final_assistant_response_length: 50,
   * };
   * const result = new TrieResult({ startedAt: 0 });
   * assert.equal(result.completedCompletionTokens, 0);
   * result.recordTurn(row, 0, { at: 1 });
   * result.recordTurn(row, 1, { at: 2 });
   * assert.equal(result.completedCompletionTokens, 30); // 10 + 20
   * ```
   */
  get completedCompletionTokens(): number {
    return this.#last()?.completionTokens ?? 0;
  }

  /**
   * Cumulative new prompt tokens.
   *
   * @example Usage
   * ```ts
   * import { TrieResult } from "./metrics.ts";
   * import assert from "node:assert/strict";
   *
   * const row = {
   *   num_turns: 2, input_prompt_length: 100, assistant_response_length: [10, 20],
   *   tool_call_output_length: [30, 40], tool_call_latency: [0, 0],
   *   final_assistant_response_length: 50,
   * };
   * const result = new TrieResult({ startedAt: 0 });
   * assert.equal(result.newPromptTokens, 0);
   * result.recordTurn(row, 0, { at: 1 });
   * result.recordTurn(row, 1, { at: 2 });
   * assert.equal(result.newPromptTokens, 130); // the initial prompt + tool output 0
   * ```
   */
  get newPromptTokens(): number {
    return this.#last()?.newPromptTokens ?? 0;
  }

  /**
   * Cumulative expected-cacheable prompt tokens.
   *
   * @example Usage
   * ```ts
   * import { TrieResult } from "./metrics.ts";
   * import assert from "node:assert/strict";
   *
   * const row = {
   *   num_turns: 2, input_prompt_length: 100, assistant_response_length: [10, 20],
   *   tool_call_output_length: [30, 40], tool_call_latency: [0, 0],
   *   final_assistant_response_length: 50,
   * };
   * const result = new TrieResult({ startedAt: 0 });
   * assert.equal(result.cachedPromptTokens, 0);
   * result.recordTurn(row, 0, { at: 1 });
   * result.recordTurn(row, 1, { at: 2 });
   * assert.equal(result.cachedPromptTokens, 110); // turn 1 re-sends 100 + 10
   * ```
   */
  get cachedPromptTokens(): number {
    return this.#last()?.cachedPromptTokens ?? 0;
  }

  /**
   * Completed traces per second of wall time (0 while the wall time is 0).
   *
   * @example Usage
   * ```ts
   * import { TrieResult } from "./metrics.ts";
   * import assert from "node:assert/strict";
   *
   * const result = new TrieResult();
   * result.completedTraces = 3;
   * assert.equal(result.tracePerS, 0); // no wall time yet
   * result.wallTime = 2;
   * assert.equal(result.tracePerS, 1.5);
   * ```
   */
  get tracePerS(): number {
    return this.wallTime > 0 ? this.completedTraces / this.wallTime : 0;
  }

  /**
   * {@linkcode lastWindowRates} of the points.
   *
   * @param seconds Window length (default 30).
   * @returns The rates.
   *
   * @example Usage
   * ```ts
   * import { TrieResult } from "./metrics.ts";
   * import assert from "node:assert/strict";
   *
   * const row = {
   *   num_turns: 1, input_prompt_length: 50, assistant_response_length: [100],
   *   tool_call_output_length: [0], tool_call_latency: [0],
   *   final_assistant_response_length: 0,
   * };
   * const result = new TrieResult({ startedAt: 0 });
   * for (const at of [10, 40, 50]) result.recordTurn(row, 0, { at });
   * // From the point at t = 40 (first t ≥ 50 − 30) to t = 50: (300 − 200) / 10
   * assert.equal(result.lastWindowRates().completionTokS, 10);
   * ```
   */
  lastWindowRates(seconds = 30): ThroughputRates {
    return lastWindowRates(this.points, seconds);
  }

  /**
   * {@linkcode steadyStateRates} of the points.
   *
   * @param warmupFraction Fraction dropped as warmup (default 0.2).
   * @returns The rates.
   *
   * @example Usage
   * ```ts
   * import { TrieResult } from "./metrics.ts";
   * import assert from "node:assert/strict";
   *
   * const row = {
   *   num_turns: 1, input_prompt_length: 50, assistant_response_length: [100],
   *   tool_call_output_length: [0], tool_call_latency: [0],
   *   final_assistant_response_length: 0,
   * };
   * const result = new TrieResult({ startedAt: 0 });
   * for (const at of [10, 40, 50]) result.recordTurn(row, 0, { at });
   * // From the point at t = 10 (first t ≥ 0.2 × 50) to t = 50: (300 − 100) / 40
   * assert.equal(result.steadyStateRates().completionTokS, 5);
   * ```
   */
  steadyStateRates(warmupFraction = 0.2): ThroughputRates {
    return steadyStateRates(this.points, warmupFraction);
  }

  /**
   * {@linkcode overallRates} of the points over the wall time.
   *
   * @returns The rates.
   *
   * @example Usage
   * ```ts
   * import { TrieResult } from "./metrics.ts";
   * import assert from "node:assert/strict";
   *
   * const row = {
   *   num_turns: 1, input_prompt_length: 50, assistant_response_length: [100],
   *   tool_call_output_length: [0], tool_call_latency: [0],
   *   final_assistant_response_length: 0,
   * };
   * const result = new TrieResult({ startedAt: 0 });
   * for (const at of [10, 40, 50]) result.recordTurn(row, 0, { at });
   * assert.equal(result.overallRates().completionTokS, 0); // no wall time yet
   * result.wallTime = 60;
   * assert.equal(result.overallRates().completionTokS, 5); // 300 / 60
   * assert.equal(result.overallRates().promptTokS, 2.5); // 150 / 60
   * ```
   */
  overallRates(): ThroughputRates {
    return overallRates(this.points, this.wallTime);
  }
}
