/**
 * `kvbench merge` of benchmark runs: the figures recomputed from the merged
 * records of the parts.
 *
 * @module
 */
import {
  LatencyDistributions,
  renderDistributions,
} from "../../lib/metrics/distributions.ts";
import { renderAttribution } from "../../lib/server/attribution.ts";
import { benchmarkVerdict, ReuseTracker } from "../../lib/server/verdict.ts";
import { out } from "../../lib/cli/common.ts";
import type { MergedRun } from "../../lib/cli/workload.ts";
import { BenchmarkMetrics } from "./metrics.ts";
import { benchmarkSummaryJson, renderBenchmarkBlock } from "./report.ts";
import type { BenchmarkSizing } from "./sizing.ts";
import { lapLine, LapTracker } from "./lap.ts";

/**
 * Print the figures of a merged benchmark run (the final block, the
 * distributions, the server's split, the verdict) and return its summary.
 *
 * @example Usage
 * ```ts
 * import { mergeBenchmarkFigures } from "./merge.ts";
 * import { sizeBenchmark } from "./sizing.ts";
 * import assert from "node:assert/strict";
 *
 * const json = await mergeBenchmarkFigures({
 *   records: [],
 *   params: {},
 *   workload: sizeBenchmark("m", { offloadSizeGib: 1, bytesPerToken: 1024, inputLength: 1000, outputLength: 10 }),
 *   elapsedMs: 1000,
 *   summary: {
 *     startedAt: 0, endedAt: 1000, wallTimeMs: 1000, stopReason: "duration",
 *     sessions: { started: 0, completed: 0, failed: 0, cancelled: 0 },
 *     requests: { sent: 0, ok: 0, failed: 0, aborted: 0 },
 *   },
 * });
 * assert.equal((json.requests as { completed: number }).completed, 0);
 * ```
 */
export function mergeBenchmarkFigures(
  run: MergedRun,
): Promise<Record<string, unknown>> {
  const sizing = run.workload as BenchmarkSizing;
  const metrics = new BenchmarkMetrics();
  const { percentiles, slos, intervalS, transport } = run;
  const distributions = new LatencyDistributions({ slos });
  const reuse = new ReuseTracker();
  // Lap 1 of the whole run: every part's first-lap requests, on one clock.
  const lap = new LapTracker({
    contexts: sizing.contexts,
    maxInFlight: sizing.maxInFlight,
  });
  let clientPrompt = 0, clientCached: number | undefined;
  for (const record of run.records) {
    metrics.add(record);
    distributions.add(record);
    reuse.add(record);
    lap.add(record);
    if (record.ok && record.promptTokens !== undefined) {
      clientPrompt += record.promptTokens;
      if (record.cachedTokens !== undefined) {
        clientCached = (clientCached ?? 0) + record.cachedTokens;
      }
    }
  }
  const final = metrics.report(run.elapsedMs / 1000);
  out("\nFinal metrics:\n");
  out(renderBenchmarkBlock(final, { intervalSeconds: intervalS }));
  out(
    renderDistributions(
      distributions.summary({ percentiles, elapsedMs: run.elapsedMs }),
      { transport },
    ),
  );
  // As a single run: when no request completed there is no lap or verdict
  // to print (the parts' first errors were theirs to say).
  const failedRun = !run.records.some((r) => r.ok);
  if (!failedRun) out(`${lapLine(lap.figures())}\n`);
  const split = run.split?.split;
  if (split !== undefined) {
    out(
      renderAttribution(split, {
        engines: run.split?.engines,
        clientPromptTokens: clientPrompt,
        clientCachedTokens: clientCached,
        clientUnfinishedPromptTokens: reuse.figures().unfinishedPromptTokens,
      }).join("\n") + "\n",
    );
  }
  const verdict = benchmarkVerdict(reuse.figures(), {
    split,
    noSplitReason: "no part has the server's metrics",
  });
  out(
    failedRun
      ? "\nNo request of any part completed: nothing to measure.\n\n"
      : `\n${verdict.text}\n\n`,
  );
  return Promise.resolve(benchmarkSummaryJson(sizing, {
    final,
    summary: run.summary,
    distributions,
  }, {
    params: run.params,
    percentiles,
    lap: lap.figures(),
    server: {
      ...(run.server as object ?? {}),
      split: split ?? null,
      offload_share: verdict.offloadShare ?? null,
      verdict: verdict.text,
    },
  }));
}
