/**
 * A small seeded pseudo-random generator (xoshiro128**, seeded through
 * splitmix32), so every random choice kvbench makes is reproducible.
 *
 * @module
 */

/** A source of uniform numbers in [0, 1). */
export interface Random {
  /** A uniform float in [0, 1). */
  next(): number;
  /** A uniform integer in [0, n). */
  int(n: number): number;
}

/**
 * Make a seeded generator; without a seed, one is drawn from the platform's
 * crypto RNG.
 *
 * @example Usage
 * ```ts
 * import { seededRandom } from "./rng.ts";
 * import assert from "node:assert/strict";
 *
 * const rng = seededRandom(42);
 * const rolls = Array.from({ length: 5 }, () => 1 + rng.int(6));
 * assert.ok(rolls.every((die) => die >= 1 && die <= 6));
 * // The same seed draws the same numbers.
 * const again = seededRandom(42);
 * assert.deepEqual(Array.from({ length: 5 }, () => 1 + again.int(6)), rolls);
 * ```
 */
export function seededRandom(seed?: number): Random {
  let s = seed === undefined
    ? crypto.getRandomValues(new Uint32Array(1))[0]
    : (Math.trunc(seed) >>> 0) ^ Math.trunc(seed / 2 ** 32);
  const split = (): number => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split(), b = split(), c = split(), d = split();
  const nextU32 = (): number => {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return r;
  };
  const next = (): number => nextU32() / 2 ** 32;
  return { next, int: (n: number): number => Math.floor(next() * n) };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
