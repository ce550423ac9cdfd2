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
import { cumulativePromptTokens, type TraceRow } from "./trace_file.ts";
import {
  type CompletionPoint,
  lastWindowRates,
  overallRates,
  steadyStateRates,
  type ThroughputRates,
} from "./rates.ts";
import type { ServerMetrics, TraceAccumulator } from "./trace_accounting.ts";

export * from "./rates.ts";
export * from "./trace_accounting.ts";

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
