/**
 * Durations and sizes as the command line takes them: `30s`, `2m`, `1h`
 * (a plain number is seconds); `40GB`, `40GiB` (a plain number is GiB).
 *
 * @module
 */

const DURATION_UNITS: Record<string, number> = {
  ms: 0.001,
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
};

/**
 * A duration in seconds: a number of seconds, or a number with a unit
 * (`ms`, `s`, `m`, `h`, `d`); undefined when it is neither.
 *
 * @example Usage
 * ```ts
 * import { parseDuration } from "./units.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseDuration("30"), 30);
 * assert.equal(parseDuration("2m"), 120);
 * assert.equal(parseDuration("1.5h"), 5400);
 * assert.equal(parseDuration("250ms"), 0.25);
 * assert.equal(parseDuration("soon"), undefined);
 * ```
 */
export function parseDuration(text: string): number | undefined {
  return withUnit(text, DURATION_UNITS);
}

const SIZE_UNITS: Record<string, number> = {
  b: 1 / 1024 ** 3,
  kb: 1e3 / 1024 ** 3,
  mb: 1e6 / 1024 ** 3,
  gb: 1e9 / 1024 ** 3,
  tb: 1e12 / 1024 ** 3,
  kib: 1 / 1024 ** 2,
  mib: 1 / 1024,
  gib: 1,
  tib: 1024,
};

/**
 * A size in GiB: a number of GiB, or a number with a unit (`B`, `KB`, `MB`,
 * `GB`, `TB` are powers of 1000; `KiB`, `MiB`, `GiB`, `TiB` powers of
 * 1024); undefined when it is neither.
 *
 * @example Usage
 * ```ts
 * import { parseSizeGib } from "./units.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseSizeGib("40"), 40);
 * assert.equal(parseSizeGib("40GiB"), 40);
 * assert.equal(parseSizeGib("512MiB"), 0.5);
 * assert.equal(parseSizeGib("1GB"), 1e9 / 1024 ** 3);
 * assert.equal(parseSizeGib("lots"), undefined);
 * ```
 */
export function parseSizeGib(text: string): number | undefined {
  return withUnit(text.toLowerCase(), SIZE_UNITS);
}

function withUnit(
  text: string,
  units: Record<string, number>,
): number | undefined {
  const m = /^\s*([+-]?[0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*$/i
    .exec(text);
  if (m === null) return undefined;
  const n = Number(m[1]);
  if (!Number.isFinite(n)) return undefined;
  if (m[2] === "") return n;
  const unit = units[m[2]];
  return unit === undefined ? undefined : n * unit;
}
