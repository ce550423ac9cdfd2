/**
 * What `kvbench benchmark` prints and writes: tmesh-cli's metric block and
 * the JSON summary of a run.
 *
 * @module
 */
import { describeFailure } from "../../lib/run/fail_fast.ts";
import { redactSecrets } from "../../lib/format/redact.ts";
import type { LatencyDistributions } from "../../lib/metrics/distributions.ts";
import {
  distributionsJson,
  serverJson,
  SUMMARY_SCHEMA_VERSION,
} from "../../lib/metrics/summary_json.ts";
import type { RunSummary } from "../../lib/run/runner.ts";
import { benchmarkAverages, type BenchmarkSnapshot } from "./metrics.ts";
import type { BenchmarkSizing } from "./sizing.ts";
import type { LapFigures } from "./lap.ts";

/** Options of {@linkcode renderBenchmarkBlock}. */
export interface RenderBlockOptions {
  /** The report period, for the "Requests Processed in Last N second Interval" label (default 5). */
  intervalSeconds?: number;
}

function fixed(value: number | undefined, digits: number): string {
  return value === undefined ? "-" : value.toFixed(digits);
}

function percent(x: number | undefined): string {
  return x === undefined ? "-" : `${(x * 100).toFixed(2)}%`;
}

/**
 * Render the report block: tmesh-cli's 12 lines with its labels (numbers as
 * its documentation shows them: 2 decimals, ITL 3), then kvbench's extra
 * lines (failures; cache hit rate when the server reports `cached_tokens`;
 * the requests whose decode window was a burst, when there were some),
 * then an empty line.
 *
 * @example Usage
 * ```ts
 * import { renderBenchmarkBlock } from "./report.ts";
 * import { BenchmarkMetrics } from "./metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const text = renderBenchmarkBlock(new BenchmarkMetrics().report(5));
 * assert.equal(text.split("\n")[0], "Elapsed Time: 5.00");
 * assert.equal(text.split("\n")[3], "Global Average TTFT: -");
 * ```
 */
export function renderBenchmarkBlock(
  snapshot: BenchmarkSnapshot,
  options: RenderBlockOptions = {},
): string {
  const g = benchmarkAverages(snapshot.global);
  const i = benchmarkAverages(snapshot.interval);
  // Over the measured clock: a warm-up's time is not in the denominator.
  const qps = snapshot.measured > 0
    ? snapshot.global.requests / snapshot.measured
    : 0;
  const lines = [
    `Elapsed Time: ${snapshot.elapsed.toFixed(2)}`,
    `Total Number of Requests Processed: ${snapshot.global.requests}`,
    `QPS: ${qps.toFixed(2)}`,
    `Global Average TTFT: ${fixed(g.ttft, 2)}`,
    `Global Average ITL: ${fixed(g.itl, 3)}`,
    `Global Average Prefill Throughput: ${fixed(g.prefill, 2)}`,
    `Global Average Decode Throughput: ${fixed(g.decode, 2)}`,
    `Requests Processed in Last ${
      options.intervalSeconds ?? 5
    } second Interval: ${snapshot.interval.requests}`,
    `Interval Average TTFT: ${fixed(i.ttft, 2)}`,
    `Interval Average ITL: ${fixed(i.itl, 3)}`,
    `Interval Average Prefill Throughput: ${fixed(i.prefill, 2)}`,
    `Interval Average Decode Throughput: ${fixed(i.decode, 2)}`,
    `Failed Requests: ${snapshot.global.failed} (${snapshot.interval.failed} in interval)`,
  ];
  if (g.cacheHitRate !== undefined) {
    lines.push(`Global Cache Hit Rate: ${percent(g.cacheHitRate)}`);
    lines.push(`Interval Cache Hit Rate: ${percent(i.cacheHitRate)}`);
  }
  if (snapshot.global.decodeUnmeasured > 0) {
    lines.push(
      `Decode Throughput Not Measurable: ${snapshot.global.decodeUnmeasured} (${snapshot.interval.decodeUnmeasured} in interval)`,
    );
  }
  return lines.join("\n") + "\n\n";
}

/** What a benchmark run measured: the final snapshot, the distributions and the runner's counters. */
export interface BenchmarkRunResult {
  /** The final snapshot (whole run, and the interval since the last report). */
  final: BenchmarkSnapshot;
  /** Runner counters. */
  summary: RunSummary;
  /** Latency distributions of the run (warm-up left out). */
  distributions: LatencyDistributions;
}

/** Options of {@linkcode benchmarkSummaryJson}. */
export interface BenchmarkSummaryOptions {
  /** The run's parameters, written under `params` (credentials are dropped). */
  params?: Record<string, unknown>;
  /** Percentiles of the distributions (default 50, 90, 99). */
  percentiles?: readonly number[];
  /** The transport the run used. */
  transport?: string;
  /** The server's view (engine, version, KV source split, verdict), written under `server`. */
  server?: Record<string, unknown>;
  /** Lap 1 as measured (`lap.ts`), written under `lap_1`. */
  lap?: LapFigures;
}

/**
 * A JSON summary of a benchmark run (for `--output` and the run directory's
 * `summary.json`): the sizing, the final figures in full precision, failures
 * by kind, and how the run ended; every key is documented in
 * `docs/summary_json.md` (schema version {@linkcode SUMMARY_SCHEMA_VERSION}).
 *
 * @example Usage
 * ```ts
 * import { benchmarkSummaryJson } from "./report.ts";
 * import { BenchmarkMetrics } from "./metrics.ts";
 * import { sizeBenchmark } from "./sizing.ts";
 * import { LatencyDistributions } from "../../lib/metrics/distributions.ts";
 * import assert from "node:assert/strict";
 *
 * const sizing = sizeBenchmark("m", { offloadSizeGib: 100, bytesPerToken: 98304 });
 * const json = benchmarkSummaryJson(sizing, {
 *   final: new BenchmarkMetrics().report(1),
 *   summary: {
 *     startedAt: 0, endedAt: 1000, wallTimeMs: 1000, stopReason: "duration",
 *     sessions: { started: 0, completed: 0, failed: 0, cancelled: 0 },
 *     requests: { sent: 0, ok: 0, failed: 0, aborted: 0 },
 *   },
 *   distributions: new LatencyDistributions(),
 * }, { params: { model: "m", api_key: "sk-secret" } });
 * assert.deepEqual(json.params, { model: "m" });
 * assert.equal(json.schema_version, 2);
 * // 0.9 × 100 GiB / (32 000 × 98 304 bytes) = 30.7: 30 contexts, 10 in flight
 * assert.deepEqual(json.workload, {
 *   model: "m", offload_size_gib: 100, kv_bytes_per_token: 98304,
 *   contexts: 30, questions: 30, max_inflight: 10, input_tokens: 32000,
 *   max_output_tokens: 100,
 * });
 * assert.equal(json.mean_ttft_s, null);
 * ```
 */
export function benchmarkSummaryJson(
  sizing: BenchmarkSizing,
  result: BenchmarkRunResult,
  options: BenchmarkSummaryOptions = {},
): Record<string, unknown> {
  const { final, summary } = result;
  const g = final.global;
  const avg = benchmarkAverages(g);
  return {
    schema_version: SUMMARY_SCHEMA_VERSION,
    command: "benchmark",
    params: redactSecrets(options.params ?? {}),
    workload: {
      model: sizing.model,
      offload_size_gib: sizing.offloadSizeGib,
      kv_bytes_per_token: sizing.bytesPerToken,
      contexts: sizing.contexts,
      questions: sizing.questions,
      max_inflight: sizing.maxInFlight,
      input_tokens: sizing.inputLength,
      max_output_tokens: sizing.outputLength,
    },
    elapsed_s: final.elapsed,
    measured_s: final.measured,
    stop_reason: summary.stopReason,
    // Why it stopped early and its first error (lib/run/fail_fast.ts).
    failure: describeFailure(summary) ?? null,
    requests: {
      completed: g.requests,
      failed: g.failed,
      aborted: summary.requests.aborted,
      failures_by_kind: final.failures,
      without_usage: final.withoutUsage,
      decode_unmeasured: g.decodeUnmeasured,
    },
    qps: final.measured > 0 ? g.requests / final.measured : null,
    mean_ttft_s: avg.ttft ?? null,
    mean_itl_s: avg.itl ?? null,
    mean_prefill_tokens_per_s: avg.prefill ?? null,
    mean_decode_tokens_per_s: avg.decode ?? null,
    cache_hit_rate: avg.cacheHitRate ?? null,
    // Token sums over the requests whose usage reported cached_tokens.
    cache_report_prompt_tokens: g.cachePromptTokens,
    cache_report_cached_tokens: g.cachedTokens,
    transport: options.transport ?? null,
    // The first pass over the contexts (lap.ts): null when not followed.
    lap_1: options.lap === undefined ? null : {
      requests: options.lap.requests,
      settled: options.lap.settled,
      elapsed_s: options.lap.lapMs === undefined
        ? null
        : options.lap.lapMs / 1000,
    },
    server: options.server === undefined ? null : serverJson(options.server),
    distributions: distributionsJson(result.distributions.summary({
      percentiles: options.percentiles,
      elapsedMs: final.elapsed * 1000,
    })),
  };
}
