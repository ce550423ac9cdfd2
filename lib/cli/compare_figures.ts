/**
 * The table `kvbench compare` prints: runs side by side, every figure read
 * from the runs' {@linkcode RunData} (the report's own derivation from the
 * records and metrics files).
 *
 * @module
 */
import { formatGrouped } from "../format/grouped.ts";
import { renderTable } from "../format/table.ts";
import type { RunData } from "../report/data.ts";
import { escapeHtml } from "../report/_escape.ts";

// Thousands separated, as the report's HTML tables print them.
const seconds = (x: number | undefined): string =>
  x === undefined ? "-" : formatGrouped(x / 1000, 2);
const pct = (x: number | undefined): string =>
  x === undefined ? "-" : `${(x * 100).toFixed(1)}%`;
const fixed = (digits: number) => (x: number | undefined): string =>
  x === undefined ? "-" : formatGrouped(x, digits);
const count = (x: number | undefined): string =>
  x === undefined ? "-" : formatGrouped(x);

/** One figure of the comparison: its label, and its value in each run. */
export interface ComparisonRow {
  /** What the figure is, with its unit. */
  label: string;
  /** The figure in each run, in the runs' order (undefined: unknown). */
  values: (number | undefined)[];
  /** Each value as printed. */
  cells: string[];
}

/**
 * The figures `kvbench compare` puts side by side, a row each, read from the
 * runs' {@linkcode RunData}.
 *
 * @example Usage
 * ```ts
 * import { comparisonRows } from "./compare_figures.ts";
 * import { runData } from "../report/data.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const run = runData({
 *   source: "a",
 *   records: { records: [testRecord({ firstTokenAt: 80, endAt: 100, chunks: 2, completionTokens: 2 })], reports: [] },
 * });
 * const rows = comparisonRows([run]);
 * assert.deepEqual(rows.find((r) => r.label === "requests completed")!.cells, ["1"]);
 * ```
 */
export function comparisonRows(runs: readonly RunData[]): ComparisonRow[] {
  const d = (run: RunData) => run.distributions;
  const figures: [
    string,
    (r: RunData) => number | undefined,
    (x: number | undefined) => string,
  ][] = [
    ["requests completed", (r) => d(r).completed, count],
    [
      "requests per second",
      (r) => r.run.requestsPerS,
      fixed(2),
    ],
    ["output tok/s", (r) => d(r).outputTokensPerS, fixed(1)],
    ["mean TTFT (s)", (r) => d(r).ttftMs?.mean, seconds],
    ["TTFT p50 (s)", (r) => d(r).ttftMs?.percentiles["50"], seconds],
    ["TTFT p99 (s)", (r) => d(r).ttftMs?.percentiles["99"], seconds],
    ["mean TTFT of reuses (s)", (r) => r.reuse?.meanReuseTtftMs, seconds],
    ["TPOT p50 (ms)", (r) => d(r).tpotMs?.percentiles["50"], fixed(2)],
    ["E2E p50 (s)", (r) => d(r).e2eMs?.percentiles["50"], seconds],
    ["cache hit rate", (r) => r.cache?.hitRate, pct],
    ["offload tier's share of reuse", (r) => r.reuse?.offloadShare, pct],
    ["GPU prefix cache's share of reuse", (r) => r.reuse?.deviceShare, pct],
    ["failed requests", (r) => d(r).failed, count],
  ];
  return figures.map(([label, get, format]) => {
    const values = runs.map(get);
    return { label, values, cells: values.map(format) };
  });
}

/**
 * `b / a` as printed in a ratio column: two decimals and `×`; `-` when
 * either is unknown or `a` is 0.
 *
 * @example Usage
 * ```ts
 * import { ratio } from "./compare_figures.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(ratio(700, 50), "14.00×");
 * assert.equal(ratio(0, 0), "-");
 * assert.equal(ratio(2137, 2), "1,068.50×");
 * ```
 */
export function ratio(b: number | undefined, a: number | undefined): string {
  if (a === undefined || b === undefined || a === 0) return "-";
  return `${formatGrouped(b / a, 2)}×`;
}

/** The comparison's columns: the figure, each run, and each later run over the first. */
function columns(runs: readonly RunData[]): {
  header: string[];
  rows: string[][];
} {
  const header = [
    "",
    ...runs.map((r) => r.name),
    ...runs.slice(1).map((r) => `${r.name} / ${runs[0].name}`),
  ];
  const rows = comparisonRows(runs).map((row) => [
    row.label,
    ...row.cells,
    ...row.values.slice(1).map((v) => ratio(v, row.values[0])),
  ]);
  return { header, rows };
}

/**
 * The runs side by side: a row per figure, a column per run, then a ratio
 * column for each later run over the first (`off / on`).
 *
 * @example Usage
 * ```ts
 * import { renderComparison } from "./compare_figures.ts";
 * import { runData } from "../report/data.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * // Two requests on one context: a cold prefill, then a reuse.
 * const run = (name: string, reuseTtft: number) =>
 *   runData({
 *     source: name,
 *     records: {
 *       records: [0, 1].map((i) => testRecord({
 *         session: i, sentAt: i * 1000, firstTokenAt: i * 1000 + (i ? reuseTtft : 800),
 *         endAt: i * 1000 + 900, chunks: 1, completionTokens: 1, promptTokens: 100,
 *         cachedTokens: i ? 96 : 0, tags: { context: 0, question: 0 }, runStartedAt: 0,
 *       })),
 *       reports: [],
 *       run: { startedAt: 0, elapsedMs: 2000, stopReason: "duration" },
 *     },
 *   }, { name });
 * const text = renderComparison([run("on", 50), run("off", 700)]);
 * const row = (label: string) =>
 *   text.split("\n").find((l) => l.startsWith(`│ ${label} `))!.split("│").slice(2, -1).map((c) => c.trim());
 * assert.deepEqual(row("mean TTFT of reuses (s)"), ["0.05", "0.70", "14.00×"]);
 * assert.deepEqual(row("cache hit rate"), ["48.0%", "48.0%", "1.00×"]);
 * assert.ok(text.includes("┃ off / on ┃"));
 * ```
 */
export function renderComparison(runs: readonly RunData[]): string {
  const { header, rows } = columns(runs);
  return renderTable(header.map((h) => ({ header: h })), rows);
}

/**
 * The comparison table as an HTML section for the report (`compare.html`),
 * with the warnings of {@linkcode comparisonWarnings} above it.
 *
 * @example Usage
 * ```ts
 * import { comparisonSection } from "./compare_figures.ts";
 * import { runData } from "../report/data.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const run = (name: string, ttft: number) => runData({
 *   source: name,
 *   records: { records: [testRecord({ firstTokenAt: ttft, endAt: ttft + 50, chunks: 2, completionTokens: 2 })], reports: [] },
 * }, { name });
 * const html = comparisonSection([run("on", 80), run("off", 800)]);
 * assert.ok(html.includes("<tr><th>mean TTFT (s)</th><td>0.08</td><td>0.80</td><td>10.00×</td></tr>"));
 * assert.ok(html.includes("<th>off / on</th>"));
 * ```
 */
export function comparisonSection(runs: readonly RunData[]): string {
  const { header, rows } = columns(runs);
  const warnings = comparisonWarnings(runs).map((w) =>
    `<p class="note warning">${escapeHtml(w)}</p>`
  ).join("\n");
  return `<section class="block" id="comparison">
<h2>Comparison</h2>
${warnings}
<table class="numbers" id="comparison-table"><thead><tr>${
    header.map((h) => `<th>${escapeHtml(h)}</th>`).join("")
  }</tr></thead><tbody>
${
    rows.map(([label, ...cells]) =>
      `<tr><th>${escapeHtml(label)}</th>${
        cells.map((c) => `<td>${escapeHtml(c)}</td>`).join("")
      }</tr>`
    ).join("\n")
  }
</tbody></table>
<p class="note">The ratio columns divide each run's figure by the first run's: below 1.00× a latency is shorter, a rate lower.</p>
</section>`;
}

/** What makes runs comparable, as each run says it (undefined: it does not say). */
const FACETS: [string, (run: RunData) => string | undefined][] = [
  ["command", (r) => r.command],
  ["model", (r) => stringOf(r.run.params?.model)],
  ["engine", (r) => r.run.engine],
  [
    "input length",
    (r) =>
      stringOf(
        (r.run.workload as { inputLength?: unknown } | undefined)?.inputLength,
      ),
  ],
  ["interval", (r) => interval(r)],
  // The working set: benchmark's contexts and the offload size they fill.
  ["contexts", (r) => stringOf(workloadOf(r).contexts)],
  ["offload size", (r) => withUnit(workloadOf(r).offloadSizeGib, "GiB")],
  [
    "duration",
    (r) =>
      given(
        r,
        ["duration_s", "duration"],
        (v) => v === null ? "until stopped" : withUnit(v, "s"),
      ),
  ],
  [
    "max in-flight",
    (r) =>
      given(
        r,
        ["max_inflight", "concurrency"],
        (v) => v === null ? "none" : stringOf(v),
      ),
  ],
  [
    "request rate",
    (r) =>
      given(
        r,
        ["request_rate", "arrival_rate"],
        (v) => v === null ? "closed loop" : withUnit(v, "req/s"),
      ),
  ],
];

/** The run's sized workload (benchmark's `run.json` `workload`). */
function workloadOf(run: RunData): Record<string, unknown> {
  const w = run.run.workload;
  return typeof w === "object" && w !== null
    ? w as Record<string, unknown>
    : {};
}

/** A number with its unit, to 4 significant digits (40GB is 37.25 GiB; 0.001 and 0.004 stay apart); undefined when the run does not say. */
function withUnit(value: unknown, unit: string): string | undefined {
  return typeof value === "number"
    ? `${Number(value.toPrecision(4))} ${unit}`
    : undefined;
}

/**
 * The first of `keys` the run's parameters hold (benchmark's and replay's
 * names, then trie's), as `show` words it; undefined when none is there.
 */
function given(
  run: RunData,
  keys: string[],
  show: (value: unknown) => string | undefined,
): string | undefined {
  const params = run.run.params ?? {};
  const key = keys.find((k) => k in params);
  return key === undefined ? undefined : show(params[key]);
}

/**
 * One line per way the runs differ that makes the comparison mix unlike
 * runs: their command (benchmark, trie), model, engine, input length, report
 * interval, working set (benchmark's contexts and offload size), duration,
 * max in-flight (trie's concurrency) or request rate (trie's arrival rate).
 * What an A/B changes on purpose, the server's configuration, is none of
 * these: two runs of one command line against two servers get no warning.
 * A figure a run does not record is left out of the check.
 *
 * @example Usage
 * ```ts
 * import { comparisonWarnings } from "./compare_figures.ts";
 * import { runData } from "../report/data.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const run = (name: string, command: string) => runData({
 *   source: name,
 *   records: { records: [testRecord({ firstTokenAt: 10, endAt: 50, chunks: 2 })], reports: [] },
 *   info: { command } as never,
 * }, { name });
 * assert.deepEqual(comparisonWarnings([run("a", "benchmark"), run("b", "trie")]), [
 *   "the runs differ in command (a: benchmark, b: trie): the comparison mixes unlike runs",
 * ]);
 * assert.deepEqual(comparisonWarnings([run("a", "trie"), run("b", "trie")]), []);
 *
 * // The working set and the load, from run.json's params and workload.
 * const sized = (name: string, contexts: number, duration: number | null) => runData({
 *   source: name,
 *   records: { records: [testRecord({ firstTokenAt: 10, endAt: 50, chunks: 2 })], reports: [] },
 *   info: {
 *     command: "benchmark",
 *     params: { duration_s: duration, max_inflight: 2, request_rate: null },
 *     workload: { contexts, offloadSizeGib: contexts / 2 },
 *   } as never,
 * }, { name });
 * assert.deepEqual(comparisonWarnings([sized("a", 6, 20), sized("b", 4, null)]), [
 *   "the runs differ in contexts (a: 6, b: 4): the comparison mixes unlike runs",
 *   "the runs differ in offload size (a: 3 GiB, b: 2 GiB): the comparison mixes unlike runs",
 *   "the runs differ in duration (a: 20 s, b: until stopped): the comparison mixes unlike runs",
 * ]);
 * const gib = (name: string, offloadSizeGib: number) => runData({
 *   source: name,
 *   records: { records: [testRecord({ firstTokenAt: 10, endAt: 50, chunks: 2 })], reports: [] },
 *   info: { command: "benchmark", params: {}, workload: { contexts: 6, offloadSizeGib } } as never,
 * }, { name });
 * assert.deepEqual(comparisonWarnings([gib("a", 20), gib("b", 37.25290298461914)]), [
 *   "the runs differ in offload size (a: 20 GiB, b: 37.25 GiB): the comparison mixes unlike runs",
 * ]);
 * assert.equal(comparisonWarnings([gib("a", 0.001), gib("b", 0.004)]).length, 1);
 * ```
 */
export function comparisonWarnings(runs: readonly RunData[]): string[] {
  const warnings: string[] = [];
  for (const [facet, get] of FACETS) {
    const values = runs.map(get);
    if (values.every((v) => v === undefined)) continue;
    if (new Set(values).size === 1) continue;
    warnings.push(
      `the runs differ in ${facet} (${
        runs.map((r, i) => `${r.name}: ${values[i] ?? "unknown"}`).join(", ")
      }): the comparison mixes unlike runs`,
    );
  }
  return warnings;
}

function stringOf(value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : String(value);
}

/** The report interval the run was given (`--interval`, `duration_update_interval=`), or `default`. */
function interval(run: RunData): string | undefined {
  const argv = run.run.argv;
  if (argv === undefined) return undefined;
  for (const [i, arg] of argv.entries()) {
    const m = /^(?:--)?(?:interval|duration_update_interval)=(.*)$/.exec(arg);
    if (m) return m[1];
    if (arg === "--interval") return argv[i + 1];
  }
  return "default";
}
