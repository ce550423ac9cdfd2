/**
 * `kvbench merge` of replay runs: the distributions and the fidelity
 * recomputed from the merged records of the parts and the trace.
 *
 * @module
 */
import {
  distributionsJson,
  SUMMARY_SCHEMA_VERSION,
} from "../../lib/metrics/summary_json.ts";
import {
  LatencyDistributions,
  renderDistributions,
} from "../../lib/metrics/distributions.ts";
import { err, out } from "../../lib/cli/common.ts";
import type { MergedRun } from "../../lib/cli/workload.ts";
import {
  fidelityLines,
  mismatchTable,
  requestFidelity,
  summarizeFidelity,
} from "./fidelity.ts";
import { loadTrace } from "./formats.ts";
import { fidelityJson } from "./level.ts";
import { theoreticalReuse } from "./theory.ts";
import type { TraceFormat } from "./trace.ts";

/**
 * Print the figures of a merged replay run (distributions, fidelity against
 * the trace named in its params) and return its summary.
 *
 * @example Usage
 * ```ts
 * import { mergeReplayFigures } from "./merge.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * await Deno.writeTextFile(path, '{"timestamp": 0, "input_length": 10, "output_length": 2}\n');
 * const json = await mergeReplayFigures({
 *   records: [{
 *     session: 0, turn: 0, scheduledAt: 0, sentAt: 0, endAt: 5, chunks: 2, promptChars: 0,
 *     outputChars: 2, maxTokens: 2, ok: true, retries: 0, promptTokens: 10, cachedTokens: 0,
 *     tags: { trace_request: 0 },
 *   }],
 *   params: { trace: path },
 *   elapsedMs: 5,
 *   summary: {
 *     startedAt: 0, endedAt: 5, wallTimeMs: 5, stopReason: "exhausted",
 *     sessions: { started: 1, completed: 1, failed: 0, cancelled: 0 },
 *     requests: { sent: 1, ok: 1, failed: 0, aborted: 0 },
 *   },
 * });
 * assert.equal((json.fidelity as { length_mismatches: number }).length_mismatches, 0);
 * assert.equal(json.schema_version, 2);
 * await Deno.remove(path);
 * ```
 */
export async function mergeReplayFigures(
  run: MergedRun,
): Promise<Record<string, unknown>> {
  const params = run.params as {
    trace?: string;
    format?: TraceFormat | "auto";
    block_size?: number | null;
    capacity_tokens?: number | null;
    theory_capacity_tokens?: number | null;
  };
  const distributions = new LatencyDistributions({ slos: run.slos });
  for (const record of run.records) distributions.add(record);
  const dist = distributions.summary({
    percentiles: run.percentiles,
    elapsedMs: run.elapsedMs,
  });
  out(renderDistributions(dist, {}));
  let fidelity = null;
  const path = run.workloadFile ?? params.trace;
  const trace = path === undefined ? undefined : await loadTrace(path, {
    format: params.format,
    blockSize: params.block_size ?? undefined,
  }).catch((error: Error) => {
    err(
      `[WARN] the fidelity is not recomputed: ${error.message} (give the trace with --workload FILE)\n`,
    );
    return undefined;
  });
  if (trace !== undefined) {
    const theory = theoreticalReuse(trace, {
      capacityTokens: params.theory_capacity_tokens ??
        params.capacity_tokens ?? undefined,
    });
    const rows = requestFidelity(
      trace,
      theory.lru ?? theory.unbounded,
      run.records,
    );
    const summary = summarizeFidelity(rows);
    out("\n" + fidelityLines(summary).join("\n") + "\n");
    const table = mismatchTable(trace, rows);
    if (table !== "") out(table);
    fidelity = fidelityJson(summary);
  }
  const { requests } = run.summary;
  return {
    schema_version: SUMMARY_SCHEMA_VERSION,
    command: "replay",
    params: run.params,
    requests: {
      sent: requests.sent,
      completed: requests.ok,
      failed: requests.failed,
      aborted: requests.aborted,
    },
    fidelity,
    distributions: distributionsJson(dist),
  };
}
