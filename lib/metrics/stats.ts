/**
 * Summary statistics with the exact semantics of numpy: `mean` (pairwise
 * summation) and the default (linear) `percentile`. Matching them bit for bit
 * keeps kvbench's figures identical to those of the Python tools (trie, vLLM's
 * benchmarks) for the same inputs.
 *
 * @module
 */

/** The statistics of one per-trace column: mean, min, percentiles, max. */
export interface Summary {
  /** Arithmetic mean (numpy pairwise summation). */
  mean: number;
  /** Smallest value. */
  min: number;
  /** 50th percentile (median), linear interpolation. */
  p50: number;
  /** 90th percentile. */
  p90: number;
  /** 95th percentile. */
  p95: number;
  /** 99th percentile. */
  p99: number;
  /** Largest value. */
  max: number;
}

/** The statistic names of a {@linkcode Summary}, in table order. */
export const SUMMARY_STATS: readonly (keyof Summary)[] = [
  "mean",
  "min",
  "p50",
  "p90",
  "p95",
  "p99",
  "max",
];

/**
 * The arithmetic mean, summed like numpy (`np.mean` on float64): pairwise
 * summation in blocks of 8 accumulators, so the result is bit-identical.
 *
 * @param values Finite numbers (an array or a typed array); must not be empty.
 * @returns The mean.
 * @throws {RangeError} If `values` is empty.
 *
 * @example Usage
 * ```ts
 * import { mean } from "./stats.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(mean([1, 2, 3, 4]), 2.5);
 * assert.throws(() => mean([]), RangeError);
 * ```
 */
export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) {
    throw new RangeError("Cannot compute the mean of an empty list");
  }
  return pairwiseSum(values, 0, values.length) / values.length;
}

// numpy's pairwise_sum for float64 (numpy/_core/src/umath/loops_utils.h.src).
function pairwiseSum(a: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    const r: number[] = [];
    for (let j = 0; j < 8; j++) r.push(a[start + j]);
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
    }
    let res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/**
 * The `p`-th percentile with numpy's default method (`linear`):
 * `rank = p/100·(n−1)`, interpolating between the two neighbouring sorted
 * values exactly as numpy does (bit-identical results).
 *
 * @param values Numbers in any order (not modified); must not be empty or
 * contain NaN.
 * @param p Percentile in [0, 100].
 * @returns The interpolated percentile.
 * @throws {RangeError} If `values` is empty or `p` is outside [0, 100].
 *
 * @example Usage
 * ```ts
 * import { percentile } from "./stats.ts";
 * import assert from "node:assert/strict";
 *
 * // rank 0.9 · (4 − 1) = 2.7: 70% of the way from 3 to 4
 * assert.equal(percentile([4, 1, 3, 2], 90), 3.7);
 * ```
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) {
    throw new RangeError("Cannot compute a percentile of an empty list");
  }
  if (!(p >= 0 && p <= 100)) {
    throw new RangeError(`Cannot compute percentile ${p}: not in [0, 100]`);
  }
  return sortedPercentile(sortNumbers(values), p);
}

function sortNumbers(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

function sortedPercentile(sorted: readonly number[], p: number): number {
  return sortedQuantile(sorted, p / 100);
}

/**
 * numpy's linear quantile (`_quantile` + `_lerp`, method "linear") of an
 * ascending array, `q` from 0 to 1.
 *
 * @example Usage
 * ```ts
 * import { sortedQuantile } from "./stats.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(sortedQuantile([1, 2, 3, 4], 0.5), 2.5);
 * assert.equal(sortedQuantile(new Float64Array([10, 20]), 1), 20);
 * ```
 */
export function sortedQuantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  const index = (n - 1) * q;
  if (index >= n - 1) return sorted[n - 1];
  const lo = Math.floor(index);
  const gamma = index - lo;
  const a = sorted[lo];
  const b = sorted[lo + 1];
  const diff = b - a;
  // numpy interpolates from the nearer end, which changes the last bit.
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

/**
 * The seven statistics of a per-trace column (mean, min, p50, p90, p95, p99,
 * max), each as numpy computes it.
 *
 * @param values The per-trace values, in any order (not modified).
 * @returns The summary, or `undefined` when `values` is empty (trie shows
 * only columns with data).
 *
 * @example Usage
 * ```ts
 * import { summarize } from "./stats.ts";
 * import assert from "node:assert/strict";
 *
 * const summary = summarize([15, 20, 35, 40, 50]);
 * assert.equal(summary?.mean, 32);
 * assert.equal(summary?.p50, 35);
 * assert.equal(summary?.p95, 48); // rank 0.95 · 4 = 3.8: 80% of the way from 40 to 50
 * assert.equal(summarize([]), undefined);
 * ```
 */
export function summarize(values: readonly number[]): Summary | undefined {
  if (values.length === 0) return undefined;
  const sorted = sortNumbers(values);
  return {
    mean: mean(values),
    min: sorted[0],
    p50: sortedPercentile(sorted, 50),
    p90: sortedPercentile(sorted, 90),
    p95: sortedPercentile(sorted, 95),
    p99: sortedPercentile(sorted, 99),
    max: sorted[sorted.length - 1],
  };
}
