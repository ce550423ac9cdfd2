import assert from "node:assert/strict";
import { formatFixed, formatPyFloat } from "./py_format.ts";

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
