/**
 * Splitting one workload over several processes or hosts (workers, shards):
 * part k of N takes the items k, k + N, k + 2N, … of the whole sequence, so
 * the parts together are the whole workload, in its order.
 *
 * @module
 */
import { closedLoop, type LoadPolicy, openLoop } from "./load.ts";
import type { RunPart } from "./runner.ts";

/**
 * How many of the first `total` items belong to `part`.
 *
 * @example 10 requests over 3 workers
 * ```ts
 * import { partCount } from "./part.ts";
 * import assert from "node:assert/strict";
 *
 * // items 0 3 6 9 | 1 4 7 | 2 5 8
 * assert.deepEqual([0, 1, 2].map((index) => partCount(10, { index, count: 3 })), [4, 3, 3]);
 * ```
 */
export function partCount(total: number, part: RunPart): number {
  return Math.max(0, Math.ceil((total - part.index) / part.count));
}

/**
 * This part's share of a concurrency: as even as it goes, the first parts
 * taking the remainder; a concurrency below the number of parts is refused.
 *
 * @example 10 in flight over 3 workers
 * ```ts
 * import { partConcurrency } from "./part.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual([0, 1, 2].map((index) => partConcurrency(10, { index, count: 3 })), [4, 3, 3]);
 * assert.throws(() => partConcurrency(2, { index: 0, count: 3 }), RangeError);
 * ```
 */
export function partConcurrency(concurrency: number, part: RunPart): number {
  if (concurrency < part.count) {
    throw new RangeError(
      `Cannot split a concurrency of ${concurrency} over ${part.count} parts: each needs at least 1`,
    );
  }
  return partCount(concurrency, part);
}

/**
 * Parse `K/N` (shard K of N, K from 0), as `--shard` takes it.
 *
 * @example Usage
 * ```ts
 * import { parsePart } from "./part.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parsePart("2/4"), { index: 2, count: 4 });
 * assert.throws(() => parsePart("4/4"), /Cannot read shard "4\/4"/);
 * ```
 */
export function parsePart(text: string): RunPart {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(m?.[1]), count = Number(m?.[2]);
  if (m === null || !(count >= 1) || index >= count) {
    throw new RangeError(
      `Cannot read shard "${text}": expected K/N with 0 ≤ K < N`,
    );
  }
  return { index, count };
}

/**
 * This part's share of a load policy, so the parts together keep the whole
 * run's shape: a closed loop's concurrency divided ({@linkcode partConcurrency});
 * an open loop's arrivals thinned to every `count`-th of the whole sequence,
 * starting at arrival `index`, so the union of the parts' schedules is the
 * schedule one process would follow (random processes included, when every
 * part draws from the same seed).
 *
 * @example Five arrivals a second over two parts
 * ```ts
 * import { partLoad } from "./part.ts";
 * import { constantRate, openLoop } from "./load.ts";
 * import assert from "node:assert/strict";
 *
 * const part = partLoad(openLoop(constantRate(5)), { index: 1, count: 2 });
 * assert.equal(part.kind, "open");
 * if (part.kind === "open") {
 *   assert.equal(part.startMs, 200); // the whole run's second arrival
 *   assert.equal(part.arrivals(0, 200), 400); // then every other one
 * }
 * ```
 */
export function partLoad(load: LoadPolicy, part: RunPart): LoadPolicy {
  if (load.kind === "closed") {
    return closedLoop(partConcurrency(load.concurrency, part));
  }
  let whole = 0;
  let at = load.startMs ?? 0;
  const advance = (): void => {
    at += load.arrivals(whole++, at);
  };
  while (whole < part.index) advance();
  return openLoop(() => {
    const from = at;
    for (let i = 0; i < part.count; i++) advance();
    return at - from;
  }, { label: load.label, startMs: at });
}
