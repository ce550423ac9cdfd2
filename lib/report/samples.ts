/**
 * Samples as the report keeps them: growable typed arrays, rounding to what
 * a plot can show (times to 1 ms, latencies to 0.01 ms, fractions to
 * 0.01 %), and the CDF of samples.
 *
 * @module
 */
import { sortedQuantile } from "../metrics/stats.ts";
import type { Cdf } from "./run_types.ts";

/**
 * `x` rounded to `digits` decimals.
 *
 * @example Usage
 * ```ts
 * import { round } from "./samples.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(round(1.23456, 2), 1.23);
 * ```
 */
export const round = (x: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
/**
 * A latency in milliseconds rounded to 0.01 ms.
 *
 * @example Usage
 * ```ts
 * import { ms } from "./samples.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(ms(12.3456), 12.35);
 * ```
 */
export const ms = (x: number): number => round(x, 2);
/**
 * A time in seconds rounded to 1 ms.
 *
 * @example Usage
 * ```ts
 * import { sec } from "./samples.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(sec(1.23456), 1.235);
 * ```
 */
export const sec = (x: number): number => round(x, 3);
/**
 * A fraction rounded to 0.01 %.
 *
 * @example Usage
 * ```ts
 * import { frac } from "./samples.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(frac(2 / 3), 0.6667);
 * ```
 */
export const frac = (x: number): number => round(x, 4);
/**
 * `f(x)`, or `null` when `x` is missing or not finite.
 *
 * @example Usage
 * ```ts
 * import { ms, orNull } from "./samples.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(orNull(1.234, ms), 1.23);
 * assert.equal(orNull(undefined, ms), null);
 * assert.equal(orNull(NaN, ms), null);
 * ```
 */
export const orNull = (
  x: number | undefined,
  f: (x: number) => number,
): number | null => x === undefined || !Number.isFinite(x) ? null : f(x);

/**
 * A growable pair of Float64Arrays: `n` pairs in `a` and `b`.
 *
 * @example Usage
 * ```ts
 * import { Pairs } from "./samples.ts";
 * import assert from "node:assert/strict";
 *
 * const pairs = new Pairs();
 * for (let i = 0; i < 2000; i++) pairs.push(i, 2 * i);
 * assert.equal(pairs.n, 2000);
 * assert.equal(pairs.b[1999], 3998);
 * ```
 */
export class Pairs {
  /** The first of each pair. */
  a = new Float64Array(1024);
  /** The second of each pair. */
  b = new Float64Array(1024);
  /** How many pairs. */
  n = 0;
  /** Add a pair. */
  push(a: number, b: number): void {
    if (this.n === this.a.length) {
      const grow = (old: Float64Array) => {
        const next = new Float64Array(old.length * 2);
        next.set(old);
        return next;
      };
      this.a = grow(this.a);
      this.b = grow(this.b);
    }
    this.a[this.n] = a;
    this.b[this.n++] = b;
  }
}

/**
 * Growable samples: `n` values in `v`.
 *
 * @example Usage
 * ```ts
 * import { Values } from "./samples.ts";
 * import assert from "node:assert/strict";
 *
 * const values = new Values();
 * for (let i = 0; i < 2000; i++) values.push(i);
 * assert.deepEqual([...values.v.subarray(1998, values.n)], [1998, 1999]);
 * ```
 */
export class Values {
  /** The values (the first `n` are set). */
  v = new Float64Array(1024);
  /** How many values. */
  n = 0;
  /** Add a value. */
  push(x: number): void {
    if (this.n === this.v.length) {
      const next = new Float64Array(this.v.length * 2);
      next.set(this.v);
      this.v = next;
    }
    this.v[this.n++] = x;
  }
}

/**
 * The CDF of samples as the report plots it: every sample when there are at
 * most `points` + 1, else `points` + 1 evenly spaced quantiles (numpy's
 * linear method); values rounded to 0.01 ms and made distinct (a repeated
 * value keeps its highest fraction).
 *
 * @example Usage
 * ```ts
 * import { cdf } from "./samples.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(cdf([30, 10, 20, 20, 40]), {
 *   x: [10, 20, 30, 40], p: [0, 0.5, 0.75, 1], count: 5,
 * });
 * assert.deepEqual(cdf(Array.from({ length: 1001 }, (_, i) => i), 4)?.x, [0, 250, 500, 750, 1000]);
 * assert.equal(cdf([]), undefined);
 * ```
 */
export function cdf(
  samples: ArrayLike<number>,
  points = 1000,
): Cdf | undefined {
  const n = samples.length;
  if (n === 0) return undefined;
  const sorted = Float64Array.from(samples).sort();
  const x: number[] = [];
  const p: number[] = [];
  const add = (value: number, q: number): void => {
    const v = ms(value);
    if (x.length > 0 && x[x.length - 1] === v) p[p.length - 1] = frac(q);
    else {
      x.push(v);
      p.push(frac(q));
    }
  };
  if (n <= points + 1) {
    for (let i = 0; i < n; i++) add(sorted[i], n === 1 ? 1 : i / (n - 1));
  } else {
    for (let i = 0; i <= points; i++) {
      add(sortedQuantile(sorted, i / points), i / points);
    }
  }
  return { x, p, count: n };
}

/**
 * Whether `v` is a JSON object (not null, not an array).
 *
 * @example Usage
 * ```ts
 * import { isObject } from "./samples.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isObject({ a: 1 }), true);
 * assert.equal(isObject([1]), false);
 * assert.equal(isObject(null), false);
 * ```
 */
export const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);
