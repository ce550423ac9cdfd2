import assert from "node:assert/strict";
import {
  formatFixed,
  formatPyFloat,
  mean,
  percentile,
  summarize,
  SUMMARY_STATS,
} from "./stats.ts";

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

Deno.test("formatPyFloat() prints Python's repr(float)", () => {
  const cases: [number, string][] = [
    [300, "300.0"],
    [109.25, "109.25"],
    [0, "0.0"],
    [-0, "-0.0"],
    [0.00001, "1e-05"],
    [0.0001, "0.0001"],
    [0.001234, "0.001234"],
    [1e16, "1e+16"],
    [1.5e16, "1.5e+16"],
    [1e15, "1000000000000000.0"],
    [9999999999999998, "9999999999999998.0"],
    [123456789012345678, "1.2345678901234568e+17"],
    [0.1 + 0.2, "0.30000000000000004"],
    [1 / 3, "0.3333333333333333"],
    [-12345.678, "-12345.678"],
    [5e-324, "5e-324"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [NaN, "nan"],
    [Infinity, "inf"],
    [-Infinity, "-inf"],
  ];
  for (const [x, want] of cases) assert.equal(formatPyFloat(x), want, `${x}`);
});

Deno.test("formatFixed() prints Python's format(x, '.Nf')", () => {
  const cases: [number, number, string][] = [
    [2.675, 2, "2.67"], // binary value is below the half
    [0.125, 2, "0.12"], // exact tie → even
    [0.375, 2, "0.38"], // exact tie → even
    [2.5, 0, "2"],
    [3.5, 0, "4"],
    [0.5, 0, "0"],
    [1234.5, 0, "1234"],
    [1.0005, 3, "1.000"], // 1.000499999…
    [48, 2, "48.00"],
    [12.34567, 3, "12.346"],
    [-0, 3, "-0.000"],
    [-0.0001, 3, "-0.000"],
    [5e-324, 3, "0.000"],
    [1e22, 1, "10000000000000000000000.0"],
    [NaN, 2, "nan"],
    [Infinity, 1, "inf"],
    [-Infinity, 1, "-inf"],
  ];
  for (const [x, d, want] of cases) {
    assert.equal(formatFixed(x, d), want, `${x} .${d}f`);
  }
  assert.throws(() => formatFixed(1, -1), RangeError);
  assert.throws(() => formatFixed(1, 1.5), RangeError);
});
