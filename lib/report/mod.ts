/**
 * Reports of runs: latency distributions and their terminal table
 * ({@linkcode LatencyDistributions}, {@linkcode renderDistributions}), run
 * directories read back ({@linkcode loadRun}: `run.json`, `records.jsonl`,
 * `metrics.jsonl`, `summary.json`, or a records file alone) into the
 * {@linkcode RunData} a report shows, one self-contained HTML file of one run
 * or several overlaid ({@linkcode renderReport}), and a script's run written
 * as a run directory ({@linkcode writeRunDirectory}) that `kvbench report`
 * and `kvbench compare` read as they read the commands' runs.
 *
 * @example A script's run, written as a run directory and rendered
 * ```ts
 * import { closedLoop, type RequestRecord, run, singleRequest } from "../../mod.ts";
 * import { startSimulator } from "../sim/mod.ts";
 * import { renderDistributions, writeRunDirectory } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * const records: RequestRecord[] = [];
 * const summary = await run((function* () {
 *   for (let i = 0; i < 4; i++) {
 *     yield singleRequest({ prompt: "Hello ".repeat(50), maxTokens: 4, ignoreEos: true });
 *   }
 * })(), {
 *   endpoint: { baseUrl: sim.url, model: sim.model },
 *   load: closedLoop(1),
 *   onRecord: (r) => records.push(r),
 * });
 * const dir = await Deno.makeTempDir();
 * const data = await writeRunDirectory(`${dir}/run`, { records, run: summary });
 * assert.equal(data.distributions.completed, 4);
 * assert.ok((await Deno.readTextFile(`${dir}/run/report.html`)).startsWith("<!doctype html>"));
 * assert.match(renderDistributions(data.distributions), /TTFT/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
export {
  DEFAULT_PERCENTILES,
  type Distribution,
  type DistributionSummary,
  LatencyDistributions,
  type LatencyDistributionsOptions,
  parsePercentiles,
  parseSlos,
  renderDistributions,
  type RenderDistributionsOptions,
  type Slos,
  type SummaryOptions,
} from "../metrics/distributions.ts";
export {
  type Cdf,
  type ItlPoints,
  loadRun,
  type MetricsFileContents,
  type MetricsHeader,
  type MetricsScrape,
  readMetricsFile,
  type RequestPoints,
  type RunData,
  runData,
  type RunDataOptions,
  type RunInfo,
  type RunInput,
  type ServerCacheTimeline,
  type Timeline,
  type TurnFigures,
} from "./data.ts";
export {
  type FidelityCounts,
  type FidelityData,
  fidelityData,
  type FidelityRow,
  parseFidelity,
} from "./fidelity.ts";
export { renderReport, type RenderReportOptions } from "./html.ts";
export type { PreflightData } from "./preflight.ts";
export type { VerifyData, VerifyRow } from "./verify.ts";
export {
  writeRunDirectory,
  type WriteRunDirectoryOptions,
} from "./write_run.ts";
// Types the API above names, defined by the library's core and the server's view.
export type { RecordsFileContents, RunEnd } from "../run/records_file.ts";
export type { RunSummary, StopReason } from "../run/runner.ts";
export type { FirstError } from "../run/fail_fast.ts";
export type { RequestErrorKind, RequestRecord } from "../types.ts";
export type { PromptSplit } from "../server/attribution.ts";
export type { CacheGauges, TierCounters } from "../server/engines.ts";
