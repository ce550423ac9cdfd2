/**
 * Sample sets for percentiles over a long run: a growable `Float64Array`
 * (8 bytes a sample, no object per sample, every value kept exactly, so the
 * figures recomputed from a records file are bit-identical), and a count per distinct value for samples
 * that repeat (inter-token latencies, which the records quantize to 0.1 ms).
 * Percentiles interpolate linearly between the neighbouring order
 * statistics, exactly as numpy's default does.
 *
 * @module
 */
import { mean } from "./stats.ts";

// numpy's _lerp, interpolating from the nearer end (which changes the last bit).
function lerp(a: number, b: number, gamma: number): number {
  const diff = b - a;
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

function checkP(p: number): void {
  if (!(p >= 0 && p <= 100)) {
    throw new RangeError(`Cannot compute percentile ${p}: not in [0, 100]`);
  }
}

/**
 * Samples kept exactly in a growable `Float64Array` (a long run's million
 * requests cost 8 MB per figure: measured, `LatencyDistributions` holds
 * 41 MB of samples after 1,000,000 records where `Float32Array`s held 21 MB).
 *
 * @example Usage
 * ```ts
 * import { Samples } from "./samples.ts";
 * import assert from "node:assert/strict";
 *
 * const s = new Samples();
 * for (const x of [4, 1, 3, 2]) s.add(x);
 * assert.equal(s.percentile(90), 3.7); // rank 0.9 × 3 = 2.7: 3 + 0.7 × (4 − 3)
 * assert.equal(s.mean(), 2.5);
 * assert.equal(s.max(), 4);
 * s.add(3838.7249); // kept exactly, not rounded to 3838.72509765625
 * assert.equal(s.max(), 3838.7249);
 * ```
 */
export class Samples {
  #values = new Float64Array(64);
  #n = 0;
  #sorted = true;

  /** Add one sample. */
  add(value: number): void {
    if (this.#n === this.#values.length) {
      const grown = new Float64Array(Math.ceil(this.#values.length * 1.5));
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.#n++] = value;
    this.#sorted = false;
  }

  /** Samples added. */
  get count(): number {
    return this.#n;
  }

  /** The samples, in the order they were added unless a percentile sorted them. */
  values(): Float64Array {
    return this.#values.subarray(0, this.#n);
  }

  /** The arithmetic mean (numpy's pairwise summation); NaN when empty. */
  mean(): number {
    return this.#n === 0 ? NaN : mean(this.values());
  }

  /** The largest sample; NaN when empty. */
  max(): number {
    return this.#n === 0 ? NaN : this.percentile(100);
  }

  /** The `p`-th percentile (numpy's linear method); NaN when empty. */
  percentile(p: number): number {
    checkP(p);
    const n = this.#n;
    if (n === 0) return NaN;
    if (!this.#sorted) {
      this.values().sort();
      this.#sorted = true;
    }
    const v = this.#values;
    const index = (n - 1) * (p / 100);
    if (index >= n - 1) return v[n - 1];
    const lo = Math.floor(index);
    return lerp(v[lo], v[lo + 1], index - lo);
  }
}

/**
 * Samples kept as counts per distinct value: exact percentiles in memory
 * that grows with the distinct values, not with the samples.
 *
 * @example Usage
 * ```ts
 * import { CountedSamples } from "./samples.ts";
 * import assert from "node:assert/strict";
 *
 * const s = new CountedSamples();
 * s.add(20, 3); // three samples of 20
 * s.add(10);
 * // sorted: 10 20 20 20; rank 0.5 × 3 = 1.5 → 20
 * assert.equal(s.percentile(50), 20);
 * assert.equal(s.percentile(0), 10);
 * assert.equal(s.mean(), 17.5);
 * assert.equal(s.count, 4);
 * ```
 */
export class CountedSamples {
  #counts = new Map<number, number>();
  #n = 0;
  #sum = 0;
  #keys: number[] | undefined;

  /** Add `times` samples of `value`. */
  add(value: number, times = 1): void {
    const before = this.#counts.get(value);
    if (before === undefined) this.#keys = undefined;
    this.#counts.set(value, (before ?? 0) + times);
    this.#n += times;
    this.#sum += value * times;
  }

  /** Samples added. */
  get count(): number {
    return this.#n;
  }

  /** Distinct values held. */
  get distinct(): number {
    return this.#counts.size;
  }

  /** The arithmetic mean; NaN when empty. */
  mean(): number {
    return this.#n === 0 ? NaN : this.#sum / this.#n;
  }

  /** The largest sample; NaN when empty. */
  max(): number {
    return this.#n === 0 ? NaN : this.percentile(100);
  }

  /** The `p`-th percentile (numpy's linear method); NaN when empty. */
  percentile(p: number): number {
    checkP(p);
    const n = this.#n;
    if (n === 0) return NaN;
    this.#keys ??= [...this.#counts.keys()].sort((a, b) => a - b);
    const index = (n - 1) * (p / 100);
    const lo = Math.min(Math.floor(index), n - 1);
    const a = this.#at(lo);
    if (index >= n - 1) return a;
    return lerp(a, this.#at(lo + 1), index - lo);
  }

  /** The `rank`-th smallest sample (0-based). */
  #at(rank: number): number {
    let seen = 0;
    for (const key of this.#keys!) {
      seen += this.#counts.get(key)!;
      if (rank < seen) return key;
    }
    return this.#keys![this.#keys!.length - 1];
  }
}
