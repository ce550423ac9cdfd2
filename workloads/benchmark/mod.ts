/**
 * `kvbench benchmark` as a library: the KV-offload stress workload. A model's
 * config sizes it ({@linkcode sizeBenchmark}: enough distinct long contexts
 * to overflow the offload tier, so every reuse must come from that tier or be
 * prefilled again); {@linkcode benchmarkWorkload} asks questions about those
 * contexts in tile order; {@linkcode runBenchmark} runs it under a load
 * policy and prints a report block every interval; the final snapshot
 * renders as the command prints it ({@linkcode renderBenchmarkBlock}) and as
 * its `summary.json` ({@linkcode benchmarkSummaryJson}).
 *
 * Model configs: the bundled table (`model_configs.json` at the repository's
 * root, {@linkcode BUNDLED_MODEL_CONFIGS}), or a file of your own
 * ({@linkcode loadModelConfigs}); {@linkcode bytesPerToken} and
 * {@linkcode offloadSizeGib} derive the sizes the workload needs.
 *
 * @example Sized for a model, against the simulator, for half a second
 * ```ts
 * import {
 *   bytesPerToken,
 *   findModelConfig,
 *   renderBenchmarkBlock,
 *   runBenchmark,
 *   sizeBenchmark,
 * } from "./mod.ts";
 * import { startSimulator } from "../../lib/sim/mod.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * const config = findModelConfig(sim.model)!;
 * const sizing = sizeBenchmark(sim.model, {
 *   offloadSizeGib: 1,
 *   bytesPerToken: bytesPerToken(config),
 *   inputLength: 1000,
 *   outputLength: 8,
 * });
 * assert.equal(sizing.bytesPerToken, 98304); // Qwen3-30B-A3B: 48 layers × 4 KV heads × 128 × 2 × 2 bytes
 * const result = await runBenchmark(sizing, {
 *   endpoint: { baseUrl: sim.url, model: sim.model },
 *   durationMs: 500,
 *   seed: 1,
 * });
 * assert.equal(result.final.global.failed, 0);
 * assert.match(renderBenchmarkBlock(result.final), /^Elapsed Time: .*\nTotal Number of Requests Processed: \d+\n/);
 * ```
 *
 * @module
 */
export {
  type BenchmarkSizing,
  renderBenchmarkSpec,
  sizeBenchmark,
  type SizeBenchmarkOptions,
} from "./sizing.ts";
export {
  benchmarkWorkload,
  type BenchmarkWorkloadOptions,
} from "./workload.ts";
export {
  type BenchmarkAverages,
  benchmarkAverages,
  BenchmarkMetrics,
  type BenchmarkSnapshot,
  type BenchmarkWindow,
} from "./metrics.ts";
export {
  type BenchmarkRunResult,
  benchmarkSummaryJson,
  type BenchmarkSummaryOptions,
  renderBenchmarkBlock,
  type RenderBlockOptions,
} from "./report.ts";
export { type BenchmarkRunOptions, runBenchmark } from "./run.ts";
export type { LapFigures } from "./lap.ts";
export {
  BUNDLED_MODEL_CONFIGS,
  bytesPerToken,
  findModelConfig,
  loadModelConfigs,
  type ModelConfig,
  offloadSizeGib,
} from "../../lib/models/model_config.ts";
// Types the API above names, defined by the library's core (`mod.ts`).
export type { EndpointConfig } from "../../lib/openai/request.ts";
export type {
  HttpRequest,
  ResponseSink,
  SendOptions,
  Transport,
} from "../../lib/transport/transport.ts";
export type { ArrivalProcess, LoadPolicy } from "../../lib/run/load.ts";
export type {
  RecordHandlers,
  RecordSource,
  RunPart,
  RunSummary,
  StopReason,
} from "../../lib/run/runner.ts";
export type { FirstError } from "../../lib/run/fail_fast.ts";
export {
  type Distribution,
  type DistributionSummary,
  LatencyDistributions,
  type LatencyDistributionsOptions,
  type Slos,
  type SummaryOptions,
} from "../../lib/metrics/distributions.ts";
export type {
  ChatMessage,
  RequestErrorKind,
  RequestRecord,
  RequestSpec,
  Session,
  SessionContext,
} from "../../lib/types.ts";
