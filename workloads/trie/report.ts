/**
 * The reports of `kvbench trie`, as trie prints them: the "Per-trace
 * metrics" and "Workload metrics" tables, the fields of the
 * `benchmark complete` log line, a JSON summary, and the live progress
 * status.
 *
 * @module
 */

import { PyFloat } from "./log_line.ts";
import { formatFixed } from "../../lib/format/py_format.ts";
import {
  summarize,
  type Summary,
  SUMMARY_STATS,
} from "../../lib/metrics/stats.ts";
import { redactSecrets } from "../../lib/format/redact.ts";
import { SUMMARY_SCHEMA_VERSION } from "../../lib/metrics/summary_json.ts";
import { renderTable } from "../../lib/format/table.ts";
import {
  overallRates,
  type ThroughputRates,
  type TrieResult,
} from "./metrics.ts";

/** Options of {@linkcode renderTrieReport} and {@linkcode completeLogFields}. */
export interface TrieReportOptions {
  /** Adds the "Steady State / GPU" column (steady state / `numGpus`). */
  numGpus?: number;
  /**
   * Streaming run: shows the TTFT, TTFAT and decode columns when they have
   * data. Default: the result's own `stream`.
   */
  stream?: boolean;
}

interface PerTraceColumn {
  label: string;
  key: string;
  digits: number;
  stream: boolean;
  /** A cache rate: shown only when the server reported cached tokens. */
  cache?: boolean;
  values: (r: TrieResult) => number[];
}

const PER_TRACE_COLUMNS: readonly PerTraceColumn[] = [
  {
    label: "Latency (s)",
    key: "latency_s",
    digits: 3,
    stream: false,
    values: (r) => r.latencies,
  },
  {
    label: "TTFT (s)",
    key: "ttft_s",
    digits: 3,
    stream: true,
    values: (r) => r.ttfts,
  },
  {
    label: "TTFAT (s)",
    key: "ttfat_s",
    digits: 3,
    stream: true,
    values: (r) => r.ttfats,
  },
  {
    label: "Decode TPS (tok/s)",
    key: "mean_turn_decode_tps_tok_s",
    digits: 2,
    stream: true,
    values: (r) => r.tpsValues,
  },
  {
    label: "Cache hit rate (%)",
    key: "cache_hit_rate_pct",
    digits: 1,
    stream: false,
    cache: true,
    values: (r) => r.serverMetrics.map((m) => m.cacheHitRate * 100),
  },
  {
    label: "Eligible cache hit rate (%)",
    key: "eligible_cache_hit_rate_pct",
    digits: 1,
    stream: false,
    cache: true,
    values: (r) => r.serverMetrics.map((m) => m.eligibleCacheHitRate * 100),
  },
];

interface ShownColumn {
  column: PerTraceColumn;
  summary: Summary;
}

// Only columns with data, like trie; and a cache rate only when the server
// reported cached tokens (not a column of zeros: "not reported" is said
// below the tables).
function shownColumns(
  result: TrieResult,
  options: TrieReportOptions,
): ShownColumn[] {
  const stream = options.stream ?? result.stream;
  const cached = result.serverMetrics.some((m) => m.cachedReported);
  const shown: ShownColumn[] = [];
  for (const column of PER_TRACE_COLUMNS) {
    if (column.stream && !stream) continue;
    if (column.cache && !cached) continue;
    const summary = summarize(column.values(result));
    if (summary !== undefined) shown.push({ column, summary });
  }
  return shown;
}

interface WorkloadFigures {
  overall: ThroughputRates;
  last30s: ThroughputRates;
  steady: ThroughputRates;
}

// trie shows the workload table only with completed completion tokens and a
// positive wall time.
function workloadFigures(
  result: TrieResult,
): WorkloadFigures | undefined {
  if (!(result.completedCompletionTokens > 0 && result.wallTime > 0)) {
    return undefined;
  }
  return {
    overall: result.overallRates(),
    last30s: result.lastWindowRates(30),
    steady: result.steadyStateRates(0.2),
  };
}

const WORKLOAD_ROWS: readonly {
  label: string;
  key: string;
  rate: keyof ThroughputRates;
}[] = [
  { label: "total prompt tok/s", key: "prompt_tok_per_s", rate: "promptTokS" },
  {
    label: "cached prompt tok/s",
    key: "cached_prompt_tok_per_s",
    rate: "cachedTokS",
  },
  {
    label: "uncached prompt tok/s",
    key: "new_prompt_tok_per_s",
    rate: "newPromptTokS",
  },
  {
    label: "completion tok/s",
    key: "completion_tok_per_s",
    rate: "completionTokS",
  },
];

/**
 * Both summary tables of a trie run, exactly as trie prints them after the
 * `benchmark complete` line, each preceded by an empty line: "Per-trace
 * metrics" (rows mean … max; only columns with data; latencies `.3f`, decode
 * rate `.2f`, cache rates `.1f` in %) and "Workload metrics" (Overall, Last
 * 30s Window, Steady State, and Steady State / GPU with `numGpus`; `.2f`),
 * the latter only when completion tokens were completed and the wall time
 * is positive.
 *
 * @param result The run's result.
 * @param options GPU count and streaming mode.
 * @returns The text to print (empty when there is no table).
 *
 * @example Usage
 * ```ts
 * import { renderTrieReport } from "./report.ts";
 * import { TrieResult } from "./metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const result = new TrieResult();
 * assert.equal(renderTrieReport(result), ""); // no data, no table
 * result.latencies.push(1, 3); // two traces succeeded, one failed, in 50 s
 * result.completedTraces = 2;
 * result.recordFailure();
 * result.wallTime = 50;
 * const p = (t: number, c: number) => ({
 *   t, completionTokens: c, newPromptTokens: 0, cachedPromptTokens: 0,
 * });
 * result.points.push(p(10, 100), p(40, 400), p(50, 600));
 * const lines = renderTrieReport(result, { numGpus: 2 }).split("\n");
 * const cells = (label: string) =>
 *   lines.find((l) => l.startsWith(`│ ${label} `))!.split("│").slice(1, -1)
 *     .map((cell) => cell.trim());
 * assert.ok(lines.some((l) => l.includes("completed=2/3  trace/s=0.04")));
 * assert.deepEqual(cells("mean"), ["mean", "2.000"]); // latency (s)
 * // Overall 600 / 50; last 30 s from t = 40: 200 / 10; steady state from
 * // t = 10: 500 / 40; per GPU: 12.5 / 2
 * assert.deepEqual(cells("completion tok/s"), [
 *   "completion tok/s", "12.00", "20.00", "12.50", "6.25",
 * ]);
 * ```
 */
export function renderTrieReport(
  result: TrieResult,
  options: TrieReportOptions = {},
): string {
  let text = "";
  const columns = shownColumns(result, options);
  if (columns.length > 0) {
    text += "\n" + renderTable(
      [
        { header: "Metric" },
        ...columns.map(({ column }) => ({ header: column.label })),
      ],
      SUMMARY_STATS.map((stat) => [
        stat,
        ...columns.map(({ column, summary }) =>
          formatFixed(summary[stat], column.digits)
        ),
      ]),
      { title: "Per-trace metrics" },
    );
    if ((options.stream ?? result.stream) && result.decodeUndefinedTraces > 0) {
      text +=
        `Decode TPS: undefined for ${result.decodeUndefinedTraces} traces (no request with a measurable decode), left out\n`;
    }
  }
  const figures = workloadFigures(result);
  if (figures !== undefined) {
    const total = result.completedTraces + result.failedTraces;
    const perGpu = options.numGpus !== undefined;
    text += "\n" + renderTable(
      [
        { header: "Metric" },
        { header: "Overall" },
        { header: "Last 30s Window" },
        { header: "Steady State" },
        ...(perGpu ? [{ header: "Steady State / GPU" }] : []),
      ],
      WORKLOAD_ROWS.map(({ label, rate }) => {
        const row = [
          label,
          formatFixed(figures.overall[rate], 2),
          formatFixed(figures.last30s[rate], 2),
          formatFixed(figures.steady[rate], 2),
        ];
        if (perGpu) {
          row.push(formatFixed(figures.steady[rate] / options.numGpus!, 2));
        }
        return row;
      }),
      {
        title: [
          "Workload metrics",
          `completed=${result.completedTraces}/${total}  trace/s=${
            formatFixed(result.tracePerS, 2)
          }`,
        ],
      },
    );
  }
  return text;
}

/**
 * The fields of trie's `benchmark complete` log line: `wall_time_s`,
 * `completed_requests`, `failed_requests` (traces, despite the names),
 * `trace_per_s`; with the workload table, the 12 workload keys
 * (`prompt_tok_per_s`, `cached_prompt_tok_per_s`, `new_prompt_tok_per_s`,
 * `completion_tok_per_s`, each also prefixed `steady_state_` and
 * `last_30s_window_`); and `<prefix>_<stat>` for each shown per-trace column
 * (`latency_s`, `ttft_s`, `ttfat_s`, `mean_turn_decode_tps_tok_s`,
 * `cache_hit_rate_pct`, `eligible_cache_hit_rate_pct`) and stat (mean, min,
 * p50, p90, p95, p99, max). Floats are {@linkcode PyFloat}s so that
 * `logLine` prints them as Python does; counts are plain numbers.
 *
 * @param result The run's result.
 * @param options Streaming mode (`numGpus` does not change the fields).
 * @returns The fields, for `logLine("info", "benchmark complete", fields)`.
 *
 * @example Usage
 * ```ts
 * import { completeLogFields } from "./report.ts";
 * import { logLine } from "./log_line.ts";
 * import { TrieResult } from "./metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const result = new TrieResult();
 * result.wallTime = 2;
 * const line = logLine("info", "benchmark complete", completeLogFields(result));
 * assert.ok(line.endsWith(
 *   " completed_requests=0 failed_requests=0 trace_per_s=0.0 wall_time_s=2.0",
 * ));
 * result.latencies.push(1.5);
 * const fields = completeLogFields(result);
 * assert.equal(String(fields.latency_s_p99), "1.5"); // a PyFloat per stat
 * assert.equal(fields.prompt_tok_per_s, undefined); // no workload table
 * ```
 */
export function completeLogFields(
  result: TrieResult,
  options: TrieReportOptions = {},
): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    wall_time_s: new PyFloat(result.wallTime),
    completed_requests: result.completedTraces,
    failed_requests: result.failedTraces,
    trace_per_s: new PyFloat(result.tracePerS),
  };
  const figures = workloadFigures(result);
  if (figures !== undefined) {
    for (const { key, rate } of WORKLOAD_ROWS) {
      fields[key] = new PyFloat(figures.overall[rate]);
      fields[`steady_state_${key}`] = new PyFloat(figures.steady[rate]);
      fields[`last_30s_window_${key}`] = new PyFloat(figures.last30s[rate]);
    }
  }
  for (const { column, summary } of shownColumns(result, options)) {
    for (const stat of SUMMARY_STATS) {
      fields[`${column.key}_${stat}`] = new PyFloat(summary[stat]);
    }
  }
  return fields;
}

/** The four workload rates of one column, keyed like trie's log keys. */
export interface WorkloadRatesJson {
  /** Total prompt tokens per second. */
  prompt_tok_per_s: number;
  /** Expected-cacheable prompt tokens per second. */
  cached_prompt_tok_per_s: number;
  /** New prompt tokens per second. */
  new_prompt_tok_per_s: number;
  /** Completion tokens per second. */
  completion_tok_per_s: number;
}

/** The JSON summary of a trie run ({@linkcode trieSummaryJson}). */
export interface TrieSummaryJson {
  /** The layout's version ({@linkcode SUMMARY_SCHEMA_VERSION}). */
  schema_version: number;
  /** `trie`. */
  command: "trie";
  /** The run's parameters, without any API key. */
  params: Record<string, unknown>;
  /** Seconds the run took. */
  wall_time_s: number;
  /** Completed traces. */
  completed_requests: number;
  /** Failed traces. */
  failed_requests: number;
  /** Completed traces per second. */
  trace_per_s: number;
  /** Cumulative accounting tokens (trace lengths, not server usage). */
  tokens: {
    prompt: number;
    cached_prompt: number;
    new_prompt: number;
    completion: number;
  };
  /** Statistics of each shown per-trace column, by log key prefix. */
  per_trace: Record<string, Summary>;
  /** Completed traces without a decode rate (left out of `mean_turn_decode_tps_tok_s`); 0 unless streamed. */
  decode_tps_undefined_traces: number;
  /** The workload table's columns, or null when trie shows no such table. */
  workload: {
    overall: WorkloadRatesJson;
    last_30s_window: WorkloadRatesJson;
    steady_state: WorkloadRatesJson;
    steady_state_per_gpu?: WorkloadRatesJson;
  } | null;
}

function ratesJson(rates: ThroughputRates, divisor = 1): WorkloadRatesJson {
  return {
    prompt_tok_per_s: rates.promptTokS / divisor,
    cached_prompt_tok_per_s: rates.cachedTokS / divisor,
    new_prompt_tok_per_s: rates.newPromptTokS / divisor,
    completion_tok_per_s: rates.completionTokS / divisor,
  };
}

/**
 * Every figure of both tables, the totals and the run's parameters as one
 * JSON-ready object (cache rates in %, as in the table).
 *
 * @param result The run's result.
 * @param params The run's parameters; `api_key`/`apiKey` keys are dropped at
 * any depth.
 * @param options GPU count and streaming mode.
 * @returns The summary.
 *
 * @example Usage
 * ```ts
 * import { trieSummaryJson } from "./report.ts";
 * import { TrieResult } from "./metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const result = new TrieResult();
 * result.latencies.push(1, 3);
 * const json = trieSummaryJson(result, { concurrency: 8, api_key: "x" });
 * assert.deepEqual(json.params, { concurrency: 8 }); // the key is dropped
 * assert.equal(json.per_trace.latency_s.mean, 2);
 * assert.equal(json.workload, null); // no completion tokens, no table
 * ```
 */
export function trieSummaryJson(
  result: TrieResult,
  params: Record<string, unknown>,
  options: TrieReportOptions = {},
): TrieSummaryJson {
  const perTrace: Record<string, Summary> = {};
  for (const { column, summary } of shownColumns(result, options)) {
    perTrace[column.key] = summary;
  }
  const figures = workloadFigures(result);
  let workload: TrieSummaryJson["workload"] = null;
  if (figures !== undefined) {
    workload = {
      overall: ratesJson(figures.overall),
      last_30s_window: ratesJson(figures.last30s),
      steady_state: ratesJson(figures.steady),
    };
    if (options.numGpus !== undefined) {
      workload.steady_state_per_gpu = ratesJson(
        figures.steady,
        options.numGpus,
      );
    }
  }
  return {
    schema_version: SUMMARY_SCHEMA_VERSION,
    command: "trie",
    params: redactSecrets(params) as Record<string, unknown>,
    wall_time_s: result.wallTime,
    completed_requests: result.completedTraces,
    failed_requests: result.failedTraces,
    trace_per_s: result.tracePerS,
    tokens: {
      prompt: result.completedPromptTokens,
      cached_prompt: result.cachedPromptTokens,
      new_prompt: result.newPromptTokens,
      completion: result.completedCompletionTokens,
    },
    per_trace: perTrace,
    decode_tps_undefined_traces: result.decodeUndefinedTraces,
    workload,
  };
}

/** Options of {@linkcode renderProgress} and {@linkcode progressLine}. */
export interface ProgressOptions {
  /** Seconds since the benchmark started. */
  elapsedS: number;
  /** The run's duration (s). */
  durationS: number;
}

// trie's _format_elapsed: whole seconds, H:MM:SS past an hour.
function formatElapsed(seconds: number): string {
  const total = Math.max(Math.trunc(seconds), 0);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  const mmss = `${String(minutes).padStart(2, "0")}:${
    String(secs).padStart(2, "0")
  }`;
  return hours > 0 ? `${hours}:${mmss}` : mmss;
}

const PROGRESS_RATES: readonly [string, keyof ThroughputRates][] = [
  ["total_prompt_t/s", "promptTokS"],
  ["cached_prompt_t/s", "cachedTokS"],
  ["uncached_prompt_t/s", "newPromptTokS"],
  ["compl_t/s", "completionTokS"],
];

function progressFigures(result: TrieResult, elapsedS: number) {
  return {
    elapsed: formatElapsed(elapsedS),
    tracePerS: formatFixed(
      elapsedS > 0 ? result.completedTraces / elapsedS : 0,
      2,
    ),
    overall: overallRates(result.points, elapsedS),
    last30s: result.lastWindowRates(30),
  };
}

function rateItems(rates: ThroughputRates, prefix = ""): string[] {
  return PROGRESS_RATES.map(([label, key]) =>
    `${prefix}${label}=${formatFixed(rates[key], 0)}`
  );
}

/**
 * trie's three-line live status: elapsed/duration (`MM:SS`, `H:MM:SS` past
 * an hour), completed traces and trace/s, then the overall (cumulative
 * accounting tokens / elapsed) and last-30 s rates rounded to integers.
 *
 * @param result The result so far.
 * @param options Elapsed time and duration.
 * @returns The three lines.
 *
 * @example Usage
 * ```ts
 * import { renderProgress } from "./report.ts";
 * import { TrieResult } from "./metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const result = new TrieResult();
 * result.completedTraces = 13;
 * result.points.push({
 *   t: 60, completionTokens: 1300, newPromptTokens: 650, cachedPromptTokens: 0,
 * });
 * const lines = renderProgress(result, { elapsedS: 65, durationS: 300 });
 * assert.equal(lines[0], "Running benchmark  elapsed=01:05/05:00  completed=13  trace/s=0.20");
 * assert.equal( // the tokens so far over 65 s: 650 / 65, 1300 / 65
 *   lines[1],
 *   "overall:  total_prompt_t/s=10  cached_prompt_t/s=0  uncached_prompt_t/s=10  compl_t/s=20",
 * );
 * ```
 */
export function renderProgress(
  result: TrieResult,
  options: ProgressOptions,
): string[] {
  const f = progressFigures(result, options.elapsedS);
  return [
    `Running benchmark  elapsed=${f.elapsed}/${
      formatElapsed(options.durationS)
    }  completed=${result.completedTraces}  trace/s=${f.tracePerS}`,
    "overall:  " + rateItems(f.overall).join("  "),
    "last30:   " + rateItems(f.last30s).join("  "),
  ];
}

/**
 * A one-line, greppable variant of {@linkcode renderProgress} for output
 * that is not a terminal: `progress elapsed=… completed=… failed=… trace/s=…`
 * then the overall rates and the last-30 s rates (prefixed `last30_`),
 * single-space separated `key=value` pairs.
 *
 * @param result The result so far.
 * @param options Elapsed time and duration.
 * @returns The line.
 *
 * @example Usage
 * ```ts
 * import { progressLine } from "./report.ts";
 * import { TrieResult } from "./metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const line = progressLine(new TrieResult(), { elapsedS: 3725, durationS: 7200 });
 * assert.ok(line.startsWith(
 *   "progress elapsed=1:02:05/2:00:00 completed=0 failed=0 trace/s=0.00 total_prompt_t/s=0 ",
 * ));
 * assert.ok(line.endsWith(" last30_compl_t/s=0"));
 * ```
 */
export function progressLine(
  result: TrieResult,
  options: ProgressOptions,
): string {
  const f = progressFigures(result, options.elapsedS);
  return [
    "progress",
    `elapsed=${f.elapsed}/${formatElapsed(options.durationS)}`,
    `completed=${result.completedTraces}`,
    `failed=${result.failedTraces}`,
    `trace/s=${f.tracePerS}`,
    ...rateItems(f.overall),
    ...rateItems(f.last30s, "last30_"),
  ].join(" ");
}
