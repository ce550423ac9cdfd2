/**
 * Summary statistics and number formatting with the exact semantics of the
 * Python tools trie reports with: numpy's `mean` (pairwise summation) and
 * default (linear) `percentile`, Python's `repr(float)` and `format(x, ".Nf")`.
 * Matching them bit for bit keeps kvbench's figures identical to trie's for
 * the same inputs.
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
 * @param values Finite numbers; must not be empty.
 * @returns The mean.
 * @throws {RangeError} If `values` is empty.
 *
 * @example Usage
 * ```ts
 * import { mean } from "./stats.ts";
 * mean([1, 2, 3, 4]); // 2.5
 * ```
 */
export function mean(values: readonly number[]): number {
  if (values.length === 0) {
    throw new RangeError("Cannot compute the mean of an empty list");
  }
  return pairwiseSum(values, 0, values.length) / values.length;
}

// numpy's pairwise_sum for float64 (numpy/_core/src/umath/loops_utils.h.src).
function pairwiseSum(a: readonly number[], start: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    const r = a.slice(start, start + 8);
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
 * percentile([4, 1, 3, 2], 90); // 3.7
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

// numpy's _quantile + _lerp for method="linear" on an ascending array.
function sortedPercentile(sorted: readonly number[], p: number): number {
  const n = sorted.length;
  const index = (n - 1) * (p / 100);
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
 * summarize([15, 20, 35, 40, 50])?.p95; // 48
 * summarize([]); // undefined
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

/**
 * Python's `repr(float)`: the shortest string that round-trips, `2.0` for
 * integral values, and exponent form (`1e-05`, `1.5e+16`) when the decimal
 * exponent is below −4 or at least 16; `nan`, `inf`, `-inf`, `-0.0`.
 *
 * @param x Any number, rendered as a Python float.
 * @returns The Python repr.
 *
 * @example Usage
 * ```ts
 * import { formatPyFloat } from "./stats.ts";
 * formatPyFloat(300); // "300.0"
 * formatPyFloat(0.00001); // "1e-05"
 * formatPyFloat(109.25); // "109.25"
 * ```
 */
export function formatPyFloat(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  // toExponential() without digits gives the shortest round-trip digits,
  // the same ones Python's repr picks.
  const [mantissa, expText] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const exp = Number(expText);
  const decpt = exp + 1;
  if (decpt <= -4 || decpt > 16) {
    const frac = digits.length > 1 ? "." + digits.slice(1) : "";
    const e = String(Math.abs(exp)).padStart(2, "0");
    return `${sign}${digits[0]}${frac}e${exp < 0 ? "-" : "+"}${e}`;
  }
  if (decpt <= 0) return `${sign}0.${"0".repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) {
    return `${sign}${digits}${"0".repeat(decpt - digits.length)}.0`;
  }
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

/**
 * Python's `format(x, ".<digits>f")`: fixed point, rounded half-to-even on
 * the exact binary value (so `0.125` → `"0.12"`, unlike `toFixed`), with the
 * sign kept on negative values that round to zero (`-0.000`), no exponent
 * for large values, and `nan`/`inf`/`-inf`.
 *
 * @param x The number.
 * @param digits Digits after the point, an integer ≥ 0.
 * @returns The formatted number.
 * @throws {RangeError} If `digits` is not a non-negative integer.
 *
 * @example Usage
 * ```ts
 * import { formatFixed } from "./stats.ts";
 * formatFixed(2.675, 2); // "2.67" (2.675 is really 2.67499999…)
 * formatFixed(0.125, 2); // "0.12"
 * formatFixed(1234.5, 0); // "1234"
 * ```
 */
export function formatFixed(x: number, digits: number): string {
  if (!Number.isInteger(digits) || digits < 0) {
    throw new RangeError(`Cannot format with ${digits} digits`);
  }
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  const { mantissa, exponent } = decompose(Math.abs(x));
  const scale = 10n ** BigInt(digits);
  let q: bigint;
  if (exponent >= 0) {
    q = (mantissa << BigInt(exponent)) * scale;
  } else {
    const den = 1n << BigInt(-exponent);
    const num = mantissa * scale;
    q = num / den;
    const twice = 2n * (num % den);
    if (twice > den || (twice === den && (q & 1n) === 1n)) q += 1n;
  }
  const text = q.toString().padStart(digits + 1, "0");
  if (digits === 0) return sign + text;
  return `${sign}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

// x (finite, ≥ 0) as mantissa · 2^exponent, exactly.
function decompose(x: number): { mantissa: bigint; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  const fraction = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased === 0) return { mantissa: fraction, exponent: -1074 };
  return { mantissa: fraction | (1n << 52n), exponent: biased - 1075 };
}
