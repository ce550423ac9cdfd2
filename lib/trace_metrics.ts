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

import type { RequestRecord } from "./types.ts";

/**
 * One trace of a trie workload, as one JSONL row (snake_case as in the file).
 * A trace issues `num_turns + 1` requests: one per tool-use turn, then a final
 * one.
 */
export interface TraceRow {
  /** Number of tool-use turns, N (may be 0). */
  num_turns: number;
  /** Tokens of the initial prompt. */
  input_prompt_length: number;
  /** `max_tokens` of each tool-use turn (length N). */
  assistant_response_length: number[];
  /** Tokens of synthetic tool output appended after each turn (length N). */
  tool_call_output_length: number[];
  /** Seconds to wait after each turn, before its tool output (length N). */
  tool_call_latency: number[];
  /** `max_tokens` of the final request. */
  final_assistant_response_length: number;
}

/**
 * The prompt length (trace accounting) of request `k` of a trace: the initial
 * prompt plus, for every earlier turn, its response and its tool output.
 *
 * @param row The trace.
 * @param k Request index, 0 … N.
 * @returns `input_prompt_length + Σ_{j<k} (assistant_response_length[j] + tool_call_output_length[j])`.
 *
 * @example Usage
 * ```ts
 * import { cumulativePromptTokens } from "./trace_metrics.ts";
 * const row = {
 *   num_turns: 2, input_prompt_length: 32, assistant_response_length: [16, 20],
 *   tool_call_output_length: [8, 12], tool_call_latency: [0, 0],
 *   final_assistant_response_length: 64,
 * };
 * cumulativePromptTokens(row, 2); // 32 + 16 + 8 + 20 + 12 = 88
 * ```
 */
export function cumulativePromptTokens(row: TraceRow, k: number): number {
  let total = row.input_prompt_length;
  for (let j = 0; j < k; j++) {
    total += row.assistant_response_length[j] + row.tool_call_output_length[j];
  }
  return total;
}

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
 * import { windowRate } from "./trace_metrics.ts";
 * const p = (t: number, c: number) => ({
 *   t, completionTokens: c, newPromptTokens: 0, cachedPromptTokens: 0,
 * });
 * windowRate([p(1, 10), p(2, 30), p(5, 90)], 1.5, "completion"); // (90 − 30) / 3 = 20
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
 * import { windowRates } from "./trace_metrics.ts";
 * windowRates([], 0).completionTokS; // 0
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
 * import { lastWindowRates } from "./trace_metrics.ts";
 * lastWindowRates([]).promptTokS; // 0
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
 * import { steadyStateRates } from "./trace_metrics.ts";
 * steadyStateRates([]).cachedTokS; // 0
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
 * import { overallRates } from "./trace_metrics.ts";
 * overallRates([{ t: 1, completionTokens: 100, newPromptTokens: 0, cachedPromptTokens: 0 }], 2)
 *   .completionTokS; // 50
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
 * request i are the previous request's prompt plus completion (0 for
 * request 0); requests without usage are skipped and the carry comes from
 * the last request that had usage.
 */
export class ServerMetrics {
  /** Σ `usage.prompt_tokens`. */
  promptTokens = 0;
  /** Σ `usage.prompt_tokens_details.cached_tokens` (missing counts 0). */
  cachedTokens = 0;
  /** Σ eligible prompt tokens. */
  eligiblePromptTokens = 0;
  #carry = 0;

  /**
   * Add one request's usage.
   *
   * @param usage The counts; `cachedTokens` may be missing.
   *
   * @example Usage
   * ```ts
   * import { ServerMetrics } from "./trace_metrics.ts";
   * const m = new ServerMetrics();
   * m.recordUsage({ promptTokens: 100, completionTokens: 10 });
   * m.recordUsage({ promptTokens: 130, completionTokens: 10, cachedTokens: 96 });
   * m.eligibleCacheHitRate; // 96 / 110
   * ```
   */
  recordUsage(
    usage: {
      promptTokens: number;
      completionTokens: number;
      cachedTokens?: number;
    },
  ): void {
    this.promptTokens += usage.promptTokens;
    this.cachedTokens += usage.cachedTokens ?? 0;
    this.eligiblePromptTokens += this.#carry;
    this.#carry = usage.promptTokens + usage.completionTokens;
  }

  /**
   * Cached over prompt tokens, as a fraction (0 when no prompt tokens).
   *
   * @example Usage
   * ```ts
   * import { ServerMetrics } from "./trace_metrics.ts";
   * new ServerMetrics().cacheHitRate; // 0
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
   * import { ServerMetrics } from "./trace_metrics.ts";
   * new ServerMetrics().eligibleCacheHitRate; // 0
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
 * Per request, latency is `endAt − sentAt` and TTFT `firstTokenAt − sentAt`;
 * the decode rate is `(out − 1) / (latency − ttft)` when `out > 1` and the
 * denominator is > 0, else 0, where `out` is `usage.completion_tokens` or the
 * request's `max_tokens` when usage is missing. A request without
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
   * import { TraceAccumulator } from "./trace_metrics.ts";
   * const trace = new TraceAccumulator(performance.now());
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
   * ```ts ignore
   * trace.add(await ctx.send(spec));
   * ```
   */
  add(record: RequestRecord): void {
    const latency = (record.endAt - record.sentAt) / 1000;
    let tps = 0;
    let ttft: number | undefined;
    if (record.firstTokenAt !== undefined) {
      ttft = (record.firstTokenAt - record.sentAt) / 1000;
      const decode = latency - ttft;
      const out = record.completionTokens ?? record.maxTokens;
      if (out > 1 && decode > 0) tps = (out - 1) / decode;
    }
    if (this.#requests === 0) this.#ttft = ttft;
    this.#lastFirstTokenOffset = record.firstTokenAt === undefined
      ? undefined
      : (record.firstTokenAt - this.startedAt) / 1000;
    this.#lastEndAt = record.endAt;
    this.#tpsSum += tps;
    this.#requests++;
    if (
      record.promptTokens !== undefined && record.completionTokens !== undefined
    ) {
      this.server.recordUsage({
        promptTokens: record.promptTokens,
        completionTokens: record.completionTokens,
        cachedTokens: record.cachedTokens,
      });
    }
  }

  /**
   * Requests added so far.
   *
   * @example Usage
   * ```ts
   * import { TraceAccumulator } from "./trace_metrics.ts";
   * new TraceAccumulator(0).requests; // 0
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
   * import { TraceAccumulator } from "./trace_metrics.ts";
   * new TraceAccumulator(0).ttftS; // undefined
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
   * import { TraceAccumulator } from "./trace_metrics.ts";
   * new TraceAccumulator(0).ttfatS; // undefined
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
   * import { TraceAccumulator } from "./trace_metrics.ts";
   * new TraceAccumulator(0).latencyS; // undefined
   * ```
   */
  get latencyS(): number | undefined {
    return this.#lastEndAt === undefined
      ? undefined
      : (this.#lastEndAt - this.startedAt) / 1000;
  }

  /**
   * Mean per-request decode rate (tok/s), zeros included.
   *
   * @example Usage
   * ```ts
   * import { TraceAccumulator } from "./trace_metrics.ts";
   * new TraceAccumulator(0).decodeTps; // undefined
   * ```
   */
  get decodeTps(): number | undefined {
    return this.#requests > 0 ? this.#tpsSum / this.#requests : undefined;
  }
}

/** Options of {@linkcode TraceReplayResult}. */
export interface TraceReplayResultOptions {
  /** Streaming run: TTFT, TTFAT and decode rates are recorded (default false). */
  stream?: boolean;
  /** Benchmark start (ms, `performance.now()`); default: now. */
  startedAt?: number;
}

/** Options of {@linkcode TraceReplayResult.recordTurn} and `recordSuccess`. */
export interface RecordPointOptions {
  /**
   * Seconds since the benchmark started; default: now − `startedAt`. A time
   * before the last point's is raised to it, so points stay in time order.
   */
  at?: number;
}

/** What {@linkcode TraceReplayResult.recordSuccess} did. */
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
 * turn ({@linkcode TraceReplayResult.recordTurn}), then either the success
 * ({@linkcode TraceReplayResult.recordSuccess}) or a failure
 * ({@linkcode TraceReplayResult.recordFailure}); a cancelled trace records
 * nothing further. Turn points of failed or cancelled traces stay.
 */
export class TraceReplayResult {
  /** Streaming run. */
  readonly stream: boolean;
  /** Benchmark start (ms, `performance.now()`). */
  readonly startedAt: number;
  /** Seconds the run took (set by the caller at the end; 0 until then). */
  wallTime = 0;
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
  /** Mean decode rate (tok/s) of each successful trace (streaming). */
  readonly tpsValues: number[] = [];
  /** Server cache counters of each successful trace. */
  readonly serverMetrics: ServerMetrics[] = [];
  /** Cumulative accounting points, in time order. */
  readonly points: CompletionPoint[] = [];

  /**
   * An empty result.
   *
   * @param options Streaming mode and the benchmark start.
   *
   * @example Usage
   * ```ts
   * import { TraceReplayResult } from "./trace_metrics.ts";
   * const result = new TraceReplayResult({ stream: true });
   * ```
   */
  constructor(options: TraceReplayResultOptions = {}) {
    this.stream = options.stream ?? false;
    this.startedAt = options.startedAt ?? performance.now();
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
   * ```ts ignore
   * result.recordTurn(row, i, { at: ctx.now() / 1000 });
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
   * ```ts ignore
   * const { serverMetricsRecorded } = result.recordSuccess(row, trace, { at: ctx.now() / 1000 });
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
      this.tpsValues.push(trace.decodeTps ?? 0);
    }
    return { serverMetricsRecorded };
  }

  /**
   * Count a failed trace (nothing else is recorded for it).
   *
   * @example Usage
   * ```ts
   * import { TraceReplayResult } from "./trace_metrics.ts";
   * const result = new TraceReplayResult();
   * result.recordFailure();
   * result.failedTraces; // 1
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
   * import { TraceReplayResult } from "./trace_metrics.ts";
   * new TraceReplayResult().completedPromptTokens; // 0
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
   * import { TraceReplayResult } from "./trace_metrics.ts";
   * new TraceReplayResult().completedCompletionTokens; // 0
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
   * import { TraceReplayResult } from "./trace_metrics.ts";
   * new TraceReplayResult().newPromptTokens; // 0
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
   * import { TraceReplayResult } from "./trace_metrics.ts";
   * new TraceReplayResult().cachedPromptTokens; // 0
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
   * import { TraceReplayResult } from "./trace_metrics.ts";
   * new TraceReplayResult().tracePerS; // 0
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
   * import { TraceReplayResult } from "./trace_metrics.ts";
   * new TraceReplayResult().lastWindowRates().completionTokS; // 0
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
   * import { TraceReplayResult } from "./trace_metrics.ts";
   * new TraceReplayResult().steadyStateRates().completionTokS; // 0
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
   * import { TraceReplayResult } from "./trace_metrics.ts";
   * new TraceReplayResult().overallRates().completionTokS; // 0
   * ```
   */
  overallRates(): ThroughputRates {
    return overallRates(this.points, this.wallTime);
  }
}

/** The result of a trie run (kvbench's name for trie's `BenchmarkResult`). */
export type BenchmarkResult = TraceReplayResult;
