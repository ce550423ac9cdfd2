/**
 * The `summary.json` form of the figures: one key style (snake_case, the
 * unit last: `ttft_ms`, `output_tokens_per_s`), percentiles as `p50`,
 * `p99.9`, `null` for a figure with no sample, and a `schema_version`.
 * `docs/summary_json.md` documents every field.
 *
 * @module
 */
import type {
  Distribution,
  DistributionSummary,
  Slos,
} from "./distributions.ts";
import { FIGURE_TABLE } from "./figure_table.ts";

/**
 * The version of `summary.json`'s layout: 2 since the keys carry their
 * units and the distributions follow the figure table (1, unversioned, mixed
 * `mean_ttft_s` with `ttftMs.percentiles.99`).
 */
export const SUMMARY_SCHEMA_VERSION = 2;

/** One distribution in `summary.json`: count, mean, `pNN`…, max. */
export type DistributionJson = Record<string, number>;

function distributionJson(
  d: Distribution | undefined,
): DistributionJson | null {
  if (d === undefined) return null;
  const out: DistributionJson = { count: d.count, mean: d.mean };
  for (const [p, v] of Object.entries(d.percentiles)) out[`p${p}`] = v;
  out.max = d.max;
  return out;
}

/**
 * SLOs with their units in their names.
 *
 * @example Usage
 * ```ts
 * import { slosJson } from "./summary_json.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(slosJson({ ttftMs: 500, tpotMs: 50 }), { ttft_ms: 500, tpot_ms: 50 });
 * ```
 */
export function slosJson(slos: Slos): Record<string, number> {
  const out: Record<string, number> = {};
  if (slos.ttftMs !== undefined) out.ttft_ms = slos.ttftMs;
  if (slos.tpotMs !== undefined) out.tpot_ms = slos.tpotMs;
  if (slos.e2eMs !== undefined) out.e2e_ms = slos.e2eMs;
  return out;
}

/**
 * The distributions of a run as `summary.json` writes them (full precision):
 * the counts, one entry per row of the figure table, client lag, the output
 * rate and goodput over the measured time.
 *
 * @example Usage
 * ```ts
 * import { distributionsJson } from "./summary_json.ts";
 * import { LatencyDistributions } from "./distributions.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const d = new LatencyDistributions({ slos: { ttftMs: 100 } });
 * d.add(testRecord({ firstTokenAt: 50, endAt: 150, chunks: 1, completionTokens: 1 }));
 * const json = distributionsJson(d.summary({ percentiles: [50], elapsedMs: 2000 }));
 * assert.deepEqual(json.ttft_ms, { count: 1, mean: 50, p50: 50, max: 50 });
 * assert.equal(json.tpot_ms, null); // one token: no TPOT
 * assert.equal(json.output_tokens_per_s, 0.5);
 * assert.deepEqual(json.goodput, {
 *   slos: { ttft_ms: 100 }, requests: 1, measured_requests: 1, fraction: 1,
 *   requests_per_s: 0.5,
 * });
 * ```
 */
export function distributionsJson(
  summary: DistributionSummary,
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    completed: summary.completed,
    failed: summary.failed,
    warmup: summary.warmup,
    measured_s: summary.measuredMs === undefined
      ? null
      : summary.measuredMs / 1000,
    output_tokens: summary.outputTokens,
    output_tokens_per_s: summary.outputTokensPerS ?? null,
  };
  for (const row of FIGURE_TABLE) {
    out[row.key] = distributionJson(summary[row.field]);
  }
  out.lag_ms = summary.lagMs ?? null;
  out.decode_unmeasured = summary.decodeUnmeasured;
  out.reasoning = summary.reasoning;
  out.without_usage = summary.withoutUsage;
  out.cached_not_reported = summary.cachedNotReported;
  out.prompt_tokens = summary.promptTokens ?? null;
  const g = summary.goodput;
  out.goodput = g === undefined ? null : {
    slos: slosJson(g.slos),
    requests: g.requests,
    measured_requests: g.measured,
    fraction: g.fraction,
    requests_per_s: g.perS ?? null,
  };
  out.resent = summary.resent;
  return out;
}

/**
 * The server's view in `summary.json`'s key style: what the commands gather
 * (`engine`, `version`, `maxModelLen`, `split`, …) with `maxModelLen` as
 * `max_model_len_tokens`.
 *
 * @example Usage
 * ```ts
 * import { serverJson } from "./summary_json.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(serverJson({ engine: "vllm", maxModelLen: 32768 }), {
 *   engine: "vllm", max_model_len_tokens: 32768,
 * });
 * ```
 */
export function serverJson(
  server: Record<string, unknown>,
): Record<string, unknown> {
  const { maxModelLen, ...rest } = server;
  return maxModelLen === undefined
    ? rest
    : { ...rest, max_model_len_tokens: maxModelLen };
}
