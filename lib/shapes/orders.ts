/**
 * Orders: in which sequence a pool of items (contexts, documents, users) is
 * visited. The order decides the reuse distance, and so which cache tier a
 * reuse must come from.
 *
 * @module
 */
import { seededRandom } from "../rng.ts";

/** Options of {@linkcode tile} and {@linkcode interleave}. */
export interface OrderOptions {
  /** Rounds over the items (default: forever). */
  rounds?: number;
}

/** Options of {@linkcode randomOrder}. */
export interface RandomOrderOptions {
  /** Seed of the draws (default: random). */
  seed?: number;
  /** Items to draw (default: forever). */
  count?: number;
}

/** Options of {@linkcode shuffled}. */
export interface ShuffledOptions {
  /** Seed of the permutations (default: random). */
  seed?: number;
  /** Rounds over the items (default: forever). */
  rounds?: number;
}

/**
 * Round-robin forever: 0, 1, …, n−1, 0, 1, … Every item is reused exactly
 * `n` requests after its last use, the longest distance possible, so with a
 * working set larger than GPU memory every reuse must come from the offload
 * tier (tmesh-cli's "tile").
 *
 * @example Usage
 * ```ts
 * import { tile } from "./orders.ts";
 * import assert from "node:assert/strict";
 *
 * const it = tile(["a", "b", "c"]);
 * const firstFour = [it.next().value, it.next().value, it.next().value, it.next().value];
 * assert.deepEqual(firstFour, ["a", "b", "c", "a"]);
 * ```
 */
export function* tile<T>(
  items: readonly T[],
  options: OrderOptions = {},
): Generator<T> {
  checkItems(items);
  for (let round = 0; round < (options.rounds ?? Infinity); round++) {
    yield* items;
  }
}

/**
 * Each item `repeats` times in a row: 0, 0, 1, 1, … (reuse distance 1: the
 * best case for a GPU prefix cache), then again from the start unless
 * `rounds` is given.
 *
 * @example Usage
 * ```ts
 * import { interleave } from "./orders.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual([...interleave(["a", "b"], 2, { rounds: 1 })], ["a", "a", "b", "b"]);
 * ```
 */
export function* interleave<T>(
  items: readonly T[],
  repeats: number,
  options: OrderOptions = {},
): Generator<T> {
  checkItems(items);
  for (let round = 0; round < (options.rounds ?? Infinity); round++) {
    for (const item of items) for (let r = 0; r < repeats; r++) yield item;
  }
}

/**
 * Items drawn uniformly at random with replacement, forever (or `count`).
 *
 * @example Usage
 * ```ts
 * import { randomOrder } from "./orders.ts";
 * import assert from "node:assert/strict";
 *
 * const draws = [...randomOrder([1, 2, 3], { seed: 1, count: 5 })];
 * assert.equal(draws.length, 5);
 * assert.ok(draws.every((d) => [1, 2, 3].includes(d)));
 * // The same seed draws the same sequence.
 * assert.deepEqual([...randomOrder([1, 2, 3], { seed: 1, count: 5 })], draws);
 * ```
 */
export function* randomOrder<T>(
  items: readonly T[],
  options: RandomOrderOptions = {},
): Generator<T> {
  checkItems(items);
  const rng = seededRandom(options.seed);
  for (let i = 0; i < (options.count ?? Infinity); i++) {
    yield items[rng.int(items.length)];
  }
}

/**
 * Every item once per round in a fresh random permutation (Fisher–Yates),
 * forever (or `rounds`).
 *
 * @example Usage
 * ```ts
 * import { shuffled } from "./orders.ts";
 * import assert from "node:assert/strict";
 *
 * // Each round is a permutation: every item exactly once.
 * const round = [...shuffled([1, 2, 3], { seed: 1, rounds: 1 })];
 * assert.deepEqual(round.toSorted(), [1, 2, 3]);
 * ```
 */
export function* shuffled<T>(
  items: readonly T[],
  options: ShuffledOptions = {},
): Generator<T> {
  checkItems(items);
  const rng = seededRandom(options.seed);
  const order = [...items];
  for (let round = 0; round < (options.rounds ?? Infinity); round++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    yield* order;
  }
}

function checkItems(items: readonly unknown[]): void {
  if (items.length === 0) {
    throw new RangeError("Cannot order an empty list of items");
  }
}
