/**
 * Whether a benchmark run can measure what it claims to measure: a working
 * set the server's own capacities say fits in GPU KV (no reuse needs the
 * offload tier) or exceeds the offload tier (every reuse is recomputed)
 * measures no offload hit. Such a run is refused before it sends, with the
 * fix computed from what the server reports, unless `--force`.
 *
 * @module
 */
import type { Preflight } from "../../lib/server/preflight.ts";
import type { BenchmarkSizing } from "./sizing.ts";

/** What the gate needs to know of the capacities the pre-flight used. */
export interface GateCapacities {
  /** GPU KV in tokens, when the server reported it. */
  serverDeviceKvTokens?: number;
  /** Offload capacity in tokens, when the server reported it. */
  serverOffloadKvTokens?: number;
}

const gibOf = (tokens: number, bytesPerToken: number): number =>
  tokens * bytesPerToken / 1024 ** 3;

/** GiB rounded up to two decimals (never below the value). */
const up2 = (gib: number): string => (Math.ceil(gib * 100) / 100).toFixed(2);

/** GiB rounded down to two decimals (never above the value). */
const down2 = (gib: number): string => (Math.floor(gib * 100) / 100).toFixed(2);

/**
 * The one-line refusal of a run that cannot measure the offload tier, with
 * its fix; undefined when the run can measure it, or when the capacities
 * that would say otherwise are not the server's own (a guess never refuses).
 * The sizing fills 90 % of `--offload-size` with contexts.
 *
 * @example The server's offload tier is 40 GiB; the run was sized for 100 GiB
 * ```ts
 * import { unmeasurableRun } from "./preflight_gate.ts";
 * import { sizeBenchmark } from "./sizing.ts";
 * import assert from "node:assert/strict";
 *
 * const sizing = sizeBenchmark("m", { offloadSizeGib: 100, bytesPerToken: 98_304 });
 * const gib = 1024 ** 3 / 98_304; // tokens per GiB
 * assert.equal(
 *   unmeasurableRun({ verdict: "exceeds_offload", lines: [] }, sizing, {
 *     serverDeviceKvTokens: 4 * gib,
 *     serverOffloadKvTokens: 40 * gib,
 *   }),
 *   "the working set exceeds the server's offload tier (40.00 GiB): every reuse would be recomputed and the run would measure no offload hit; size the run for the server's tier with --offload-size 40.00 (or pass --force to run anyway)",
 * );
 * assert.equal(
 *   unmeasurableRun({ verdict: "needs_offload", lines: [] }, sizing, {}),
 *   undefined,
 * );
 * // The server has no offload tier: the offload-off side of an A/B runs.
 * assert.equal(
 *   unmeasurableRun({ verdict: "exceeds_offload", lines: [] }, sizing, {
 *     serverOffloadKvTokens: 0,
 *   }),
 *   undefined,
 * );
 * ```
 */
export function unmeasurableRun(
  check: Preflight,
  sizing: BenchmarkSizing,
  capacities: GateCapacities,
): string | undefined {
  const bpt = sizing.bytesPerToken;
  const { serverDeviceKvTokens: device, serverOffloadKvTokens: offload } =
    capacities;
  // No offload tier at all (0 tokens): the baseline of an A/B, not a mistake.
  if (
    check.verdict === "exceeds_offload" && offload !== undefined && offload > 0
  ) {
    const tier = gibOf(offload, bpt);
    return `the working set exceeds the server's offload tier (${
      tier.toFixed(2)
    } GiB): every reuse would be recomputed and the run would measure no offload hit; size the run for the server's tier with --offload-size ${
      down2(tier)
    } (or pass --force to run anyway)`;
  }
  if (check.verdict === "fits_device" && device !== undefined) {
    const gpu = gibOf(device, bpt);
    // 90 % of --offload-size becomes the working set: it must pass the GPU.
    const least = gpu / 0.9;
    const fix = offload === undefined
      ? `--offload-size ${up2(least * 1.5)}`
      : gibOf(offload, bpt) > least
      ? `--offload-size ${down2(gibOf(offload, bpt))}`
      : undefined;
    return `the working set fits in the server's GPU KV (${
      gpu.toFixed(2)
    } GiB): every reuse would be served from GPU memory and the run would not stress the offload tier; ${
      fix === undefined
        ? "the server's offload tier is no larger than its GPU KV, so no size can measure it"
        : `size the run past the GPU with ${fix}`
    } (or pass --force to run anyway)`;
  }
  return undefined;
}
