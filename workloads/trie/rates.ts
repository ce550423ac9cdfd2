/**
 * trie's window rates: the cumulative workload accounting points (trace
 * lengths, not server usage) and the throughput derived from them overall,
 * over the last 30 s and in the steady state. Times are seconds since the
 * benchmark started.
 *
 * @module
 */

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
 * import { windowRate } from "./rates.ts";
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
 * import { windowRates } from "./rates.ts";
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
 * import { lastWindowRates } from "./rates.ts";
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
 * import { steadyStateRates } from "./rates.ts";
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
 * import { overallRates } from "./rates.ts";
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
