/**
 * The sweep table every workload prints after its levels: one row a level,
 * its columns read from the level's `summary.json`.
 *
 * @module
 */
import { renderTable } from "../format/table.ts";
import type { DistributionSummary } from "../metrics/distributions.ts";

/** One column of the sweep table. */
export interface SweepColumn {
  /** Header text; `\n` starts a new header line. */
  header: string;
  /** The cell of a level, from its summary. */
  cell(summary: Record<string, unknown>): string;
}

/**
 * `x` with `digits` decimals, or `-` when it is not a finite number.
 *
 * @example Usage
 * ```ts
 * import { fixed } from "./sweep.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(fixed(1.234, 1), "1.2");
 * assert.equal(fixed(null, 1), "-");
 * ```
 */
export function fixed(x: unknown, digits: number): string {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "-";
}

/**
 * `x` (a fraction) as a percentage with one decimal, or `-` when it is not
 * a finite number.
 *
 * @example Usage
 * ```ts
 * import { percent } from "./sweep.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(percent(0.1234), "12.3%");
 * assert.equal(percent(undefined), "-");
 * ```
 */
export function percent(x: unknown): string {
  return typeof x === "number" && Number.isFinite(x)
    ? `${(x * 100).toFixed(1)}%`
    : "-";
}

/** The latency columns both workloads show: TTFT p50/p99, TPOT p50, E2E p50. */
export const LATENCY_COLUMNS: readonly SweepColumn[] = [
  {
    header: "TTFT p50\n(ms)",
    cell: (s) => fixed(dist(s).ttftMs?.percentiles["50"], 1),
  },
  {
    header: "TTFT p99\n(ms)",
    cell: (s) => fixed(dist(s).ttftMs?.percentiles["99"], 1),
  },
  {
    header: "TPOT p50\n(ms)",
    cell: (s) => fixed(dist(s).tpotMs?.percentiles["50"], 2),
  },
  {
    header: "E2E p50\n(ms)",
    cell: (s) => fixed(dist(s).e2eMs?.percentiles["50"], 1),
  },
];

/**
 * The output token throughput of a level, tok/s, one decimal.
 *
 * @example Usage
 * ```ts
 * import { outputTokensPerS } from "./sweep.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(outputTokensPerS({ distributions: { outputTokensPerS: 12.34 } }), "12.3");
 * ```
 */
export function outputTokensPerS(summary: Record<string, unknown>): string {
  return fixed(dist(summary).outputTokensPerS, 1);
}

function dist(summary: Record<string, unknown>): DistributionSummary {
  return summary.distributions as DistributionSummary;
}

/**
 * The sweep table: a "Level" column with each level's label, then
 * `columns`.
 *
 * @example Usage
 * ```ts
 * import { renderSweep } from "./sweep.ts";
 * import assert from "node:assert/strict";
 *
 * const text = renderSweep([
 *   { level: { label: "a" }, summary: { qps: 1.5 } },
 *   { level: { label: "b" }, summary: { qps: null } },
 * ], [{ header: "req/s", cell: (s) => String(s.qps ?? "-") }]);
 * assert.match(text, /^Sweep: throughput/m);
 * assert.match(text, /│ a +│ +1\.5 │/);
 * assert.match(text, /│ b +│ +- │/);
 * ```
 */
export function renderSweep(
  rows: readonly {
    level: { label: string };
    summary: Record<string, unknown>;
  }[],
  columns: readonly SweepColumn[],
): string {
  return "\n" + renderTable(
    [{ header: "Level" }, ...columns.map((c) => ({ header: c.header }))],
    rows.map(({ level, summary }) => [
      level.label,
      ...columns.map((c) => c.cell(summary)),
    ]),
    { title: "Sweep: throughput against latency, level by level" },
  );
}
