/**
 * Numbers as kvbench prints them to people: thousands separated by commas
 * (`1,068.5`), a fixed number of decimals.
 *
 * @module
 */

/**
 * `x` with `digits` decimals and commas between thousands, as the report's
 * tables and the summaries print counts and rates.
 *
 * @example Usage
 * ```ts
 * import { formatGrouped } from "./grouped.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatGrouped(1068.46, 1), "1,068.5");
 * assert.equal(formatGrouped(6716), "6,716");
 * assert.equal(formatGrouped(0.125, 2), "0.13");
 * assert.equal(formatGrouped(-1234567.891, 2), "-1,234,567.89");
 * ```
 */
export function formatGrouped(x: number, digits = 0): string {
  return x.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}
