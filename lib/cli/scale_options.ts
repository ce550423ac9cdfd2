/**
 * The scale-out options every workload shares, read once: `workers`,
 * `shard`/`shards` and `start_at`.
 *
 * @module
 */
import type { Scale } from "./pipeline.ts";
import { parseStartAt, parseWorkers, resolveShard } from "./scale.ts";

/** The scale-out options as parsed (null or undefined: not given). */
export interface ScaleValues {
  /** `workers`: N or `auto`. */
  workers?: string | null;
  /** `shard`: K/N. */
  shard?: string | null;
  /** `shards`: N, K from `$JOB_COMPLETION_INDEX`. */
  shards?: number | null;
  /** `start_at`: ISO 8601 or Unix seconds. */
  startAt?: string | null;
}

/**
 * Workers, shard and start time from their options; a bad one throws a
 * `TypeError` with a one-line message.
 *
 * @example Usage
 * ```ts
 * import { scaleOf } from "./scale_options.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(scaleOf({ workers: "2", shard: "1/4", startAt: "1700000000" }), {
 *   workers: 2,
 *   workersAuto: false,
 *   part: { index: 1, count: 4 },
 *   startAt: 1700000000000,
 * });
 * assert.throws(() => scaleOf({ workers: "0" }), TypeError);
 * ```
 */
export function scaleOf(values: ScaleValues): Scale {
  return {
    workers: values.workers == null ? 1 : parseWorkers(values.workers),
    workersAuto: values.workers === "auto",
    part: resolveShard(
      values.shard ?? undefined,
      values.shards == null ? undefined : String(values.shards),
    ),
    startAt: values.startAt == null ? undefined : parseStartAt(values.startAt),
  };
}
