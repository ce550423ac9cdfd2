/**
 * The table `kvbench compare` prints: runs side by side, every figure read
 * from the runs' {@linkcode RunData} (the report's own derivation from the
 * records and metrics files).
 *
 * @module
 */
import { renderTable } from "../format/table.ts";
import type { RunData } from "../report/data.ts";

const s = (x: number | undefined): string =>
  x === undefined ? "-" : (x / 1000).toFixed(2);
const pct = (x: number | undefined): string =>
  x === undefined ? "-" : `${(x * 100).toFixed(1)}%`;
const fixed = (x: number | undefined, digits: number): string =>
  x === undefined ? "-" : x.toFixed(digits);

/**
 * The runs side by side: a row per figure, a column per run.
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
 * assert.deepEqual(row("mean TTFT of reuses (s)"), ["0.05", "0.70"]);
 * assert.deepEqual(row("cache hit rate"), ["48.0%", "48.0%"]);
 * ```
 */
export function renderComparison(runs: readonly RunData[]): string {
  const row = (label: string, cell: (run: RunData) => string) => [
    label,
    ...runs.map(cell),
  ];
  const d = (run: RunData) => run.distributions;
  const rows = [
    row("requests completed", (r) => String(d(r).completed)),
    row(
      "requests per second",
      (r) => fixed(r.run.requestsPerS, 2),
    ),
    row("output tok/s", (r) => fixed(d(r).outputTokensPerS, 1)),
    row("mean TTFT (s)", (r) => s(d(r).ttftMs?.mean)),
    row("TTFT p50 (s)", (r) => s(d(r).ttftMs?.percentiles["50"])),
    row("TTFT p99 (s)", (r) => s(d(r).ttftMs?.percentiles["99"])),
    row("mean TTFT of reuses (s)", (r) => s(r.reuse?.meanReuseTtftMs)),
    row("TPOT p50 (ms)", (r) => fixed(d(r).tpotMs?.percentiles["50"], 2)),
    row("E2E p50 (s)", (r) => s(d(r).e2eMs?.percentiles["50"])),
    row("cache hit rate", (r) => pct(r.cache?.hitRate)),
    row("offload tier's share of reuse", (r) => pct(r.reuse?.offloadShare)),
    row("failed requests", (r) => String(d(r).failed)),
  ];
  return renderTable(
    [{ header: "" }, ...runs.map((r) => ({ header: r.name }))],
    rows,
  );
}
