import assert from "node:assert/strict";
import { mean, percentile, summarize, SUMMARY_STATS } from "./stats.ts";

Deno.test("percentile() matches numpy's linear interpolation", () => {
  // rank = 0.9·3 = 2.7 → 3 + 0.7·(4 − 3)
  assert.equal(percentile([1, 2, 3, 4], 90), 3.7);
  // rank = 0.95·4 = 3.8 → 40 + 0.8·(50 − 40)
  assert.equal(percentile([15, 20, 35, 40, 50], 95), 48.0);
  assert.equal(percentile([15, 20, 35, 40, 50], 50), 35.0);
  assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
  // rank = 0.99·2 = 1.98 → 0.7 − (0.7 − 0.2)·0.02 (numpy prints 0.69)
  assert.equal(percentile([0.1, 0.2, 0.7], 99), 0.69);
  // rank = 0.9·2 = 1.8 → 10 − 7.5·0.2
  assert.equal(percentile([10, 1.5, 2.5], 90), 8.5);
  assert.equal(percentile([3], 95), 3);
  assert.equal(percentile([4, 3, 2, 1], 0), 1);
  assert.equal(percentile([4, 3, 2, 1], 100), 4);
});

Deno.test("percentile() does not reorder its input", () => {
  const values = [3, 1, 2];
  assert.equal(percentile(values, 50), 2);
  assert.deepEqual(values, [3, 1, 2]);
});

Deno.test("percentile() and mean() reject empty input and bad p", () => {
  assert.throws(() => percentile([], 50), RangeError);
  assert.throws(() => percentile([1], 101), RangeError);
  assert.throws(() => percentile([1], -1), RangeError);
  assert.throws(() => percentile([1], NaN), RangeError);
  assert.throws(() => mean([]), RangeError);
});

Deno.test("mean() sums pairwise like numpy", () => {
  assert.equal(mean([1, 2, 3, 4]), 2.5);
  assert.equal(mean([0.1, 0.2]), 0.15000000000000002);
  // Sequential summation gives 1.0999999999999999 / 11 here; numpy's
  // 8-accumulator block gives exactly 1.1 / 11 = 0.1.
  const elevenTenths = Array(11).fill(0.1);
  let sequential = 0;
  for (const v of elevenTenths) sequential += v;
  assert.equal(sequential, 1.0999999999999999);
  assert.equal(mean(elevenTenths), 0.1);
});

Deno.test("summarize() gives the seven statistics, undefined when empty", () => {
  assert.equal(summarize([]), undefined);
  assert.deepEqual(summarize([50, 15, 40, 20, 35]), {
    mean: 32,
    min: 15,
    p50: 35,
    p90: 46, // rank 3.6 → 40 + 0.6·10
    p95: 48,
    p99: 49.6, // rank 3.96 → 50 − 10·0.04
    max: 50,
  });
  assert.deepEqual(SUMMARY_STATS, [
    "mean",
    "min",
    "p50",
    "p90",
    "p95",
    "p99",
    "max",
  ]);
});
