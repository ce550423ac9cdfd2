/**
 * `kvbench merge` of replay runs: the distributions and the fidelity
 * recomputed from the merged records of the parts and the trace.
 *
 * @module
 */
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

/** Print the figures of a merged replay run and return its summary. */
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
    params: run.params,
    requests: {
      sent: requests.sent,
      completed: requests.ok,
      failed: requests.failed,
      aborted: requests.aborted,
    },
    fidelity,
    distributions: dist,
  };
}
