/**
 * `kvbench merge` of trie runs: the figures recomputed from the merged
 * records of the parts, against the trace file the run replayed.
 *
 * @module
 */
import { renderDistributions } from "../../lib/metrics/distributions.ts";
import { out } from "../../lib/cli/common.ts";
import type { MergedRun } from "../../lib/cli/workload.ts";
import { TrieAccounting } from "./accounting.ts";
import { resolveWorkloadPath } from "./dataset.ts";
import { renderTrieReport, trieSummaryJson } from "./report.ts";
import { loadTraceFile } from "./trace_file.ts";

/**
 * Print the tables of a merged trie run and return its summary; the trace
 * file is `run.workloadFile` (merge's `--workload`) or the run's
 * `workload_path`.
 *
 * @example Usage
 * ```ts
 * import { mergeTrieFigures } from "./merge.ts";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(
 *   mergeTrieFigures({
 *     records: [],
 *     params: { workload_path: "/nonexistent/t.jsonl" },
 *     elapsedMs: 0,
 *     summary: {
 *       startedAt: 0, endedAt: 0, wallTimeMs: 0, stopReason: "exhausted",
 *       sessions: { started: 0, completed: 0, failed: 0, cancelled: 0 },
 *       requests: { sent: 0, ok: 0, failed: 0, aborted: 0 },
 *     },
 *   }),
 *   /Cannot merge the trie runs/,
 * );
 * ```
 */
export async function mergeTrieFigures(
  run: MergedRun,
): Promise<Record<string, unknown>> {
  const { params } = run;
  const path = run.workloadFile ?? params.workload_path as string;
  let rows;
  try {
    // An alias (agentic, qa, office) is the dataset's file, cached or fetched.
    rows = await loadTraceFile(await resolveWorkloadPath(path));
  } catch (error) {
    throw new Error(
      `Cannot merge the trie runs: ${
        (error as Error).message
      } (give the trace file with --workload FILE)`,
    );
  }
  const accounting = new TrieAccounting(rows, {
    stream: params.stream === true,
    slos: run.slos,
  });
  for (const record of run.records) {
    accounting.add(record);
    accounting.result.distributions.add(record);
  }
  const result = accounting.result;
  result.wallTime = run.elapsedMs / 1000;
  const numGpus = (params.num_gpus as number | null) ?? undefined;
  out(renderTrieReport(result, { numGpus }));
  const distributions = result.distributions.summary({
    percentiles: run.percentiles,
    elapsedMs: run.elapsedMs,
  });
  out(renderDistributions(distributions, {}));
  return {
    ...trieSummaryJson(result, params, { numGpus }),
    distributions,
  };
}
