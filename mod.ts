/**
 * kvbench: a scriptable benchmark runtime for OpenAI-compatible LLM inference
 * endpoints, built to measure what KV-cache management (prefix caching,
 * CPU/disk offloading) does to real workloads.
 *
 * A workload is a stream of sessions; a session sends requests through its
 * context; the runner admits sessions under a load policy until a stop
 * condition; every request becomes a record for the metrics and sinks.
 *
 * @example A multi-round chat workload with a shared system prompt, paced at 2 sessions/s
 * ```ts ignore
 * import { multiTurn, openLoop, poisson, run, sharedPrefix } from "@kvbench/cli";
 *
 * const system = "You are a helpful assistant. ".repeat(200);
 * function* users() {
 *   for (let u = 0; ; u++) {
 *     yield multiTurn({
 *       prompt: sharedPrefix(system, `User ${u} asks: `),
 *       turns: [
 *         { maxTokens: 100, waitMs: 1000, append: " And then?" },
 *         { maxTokens: 100 },
 *       ],
 *     });
 *   }
 * }
 * const summary = await run(users(), {
 *   endpoint: { baseUrl: "http://localhost:8000/v1/", model: "Qwen/Qwen3-30B-A3B-Instruct-2507" },
 *   load: openLoop(poisson(2, { seed: 1 })),
 *   stop: { durationMs: 60_000 },
 *   onRecord: (r) => console.log(r.session, r.turn, r.firstTokenAt! - r.sentAt, r.cachedTokens),
 * });
 * ```
 *
 * @module
 */
export type {
  ChatMessage,
  RequestErrorKind,
  RequestRecord,
  RequestSpec,
  Session,
  SessionContext,
  Workload,
} from "./lib/types.ts";
export {
  discoverModels,
  type DiscoverOptions,
  type DiscoveryFailure,
  maskKey,
  normalizeEndpoint,
} from "./lib/endpoint.ts";
export {
  codePoints,
  type EndpointConfig,
  networkErrorText,
  type RequestContext,
  sendRequest,
} from "./lib/request.ts";
export {
  fetchTransport,
  type HttpRequest,
  type ResponseSink,
  type SendOptions,
  type Transport,
} from "./lib/transport.ts";
export {
  defaultTransport,
  type Http1Options,
  http1Transport,
  usesProxy,
} from "./lib/http1.ts";
export { type SseBytesHandler, type SseHandler, SseParser } from "./lib/sse.ts";
export {
  abortableSleep,
  run,
  type RunOptions,
  type RunSummary,
  type SessionOutcome,
  type StopOptions,
  type StopReason,
} from "./lib/runner.ts";
export {
  type ArrivalProcess,
  closedLoop,
  constantRate,
  gamma,
  type LoadPolicy,
  openLoop,
  poisson,
  ramp,
} from "./lib/load.ts";
export {
  openRecordsFile,
  type RecordsFile,
  toEpochRecord,
} from "./lib/records.ts";
export {
  renderTmeshBlock,
  type TmeshAverages,
  tmeshAverages,
  TmeshMetrics,
  type TmeshSample,
  tmeshSample,
  type TmeshSnapshot,
  type TmeshWindow,
} from "./lib/tmesh_metrics.ts";
export {
  BUNDLED_MODEL_CONFIGS,
  bytesPerToken,
  findModelConfig,
  loadModelConfigs,
  type ModelConfig,
  offloadSizeGib,
  parseGib,
} from "./lib/model_config.ts";
export { type Random, seededRandom } from "./lib/rng.ts";
export { interleave, randomOrder, shuffled, tile } from "./workloads/orders.ts";
export {
  numberedQuestions,
  repeatedWordContexts,
} from "./workloads/prompts.ts";
export {
  multiTurn,
  type MultiTurnOptions,
  type RequestOptions,
  sharedPrefix,
  singleRequest,
  type TextSource,
  type TurnSpec,
} from "./workloads/sessions.ts";
export {
  type OffloadResult,
  type OffloadRunOptions,
  type OffloadSizing,
  offloadSummaryJson,
  offloadWorkload,
  renderWorkloadSpec,
  runOffloadBenchmark,
  sizeOffloadWorkload,
} from "./workloads/offload.ts";
export {
  loadTraceFile,
  parseTraceRows,
  validateRow,
} from "./workloads/trace_file.ts";
export {
  Client,
  type ClientOptions,
  type ClientRunOptions,
  runTraceReplay,
  type TraceFailure,
  traceLoad,
  type TraceReplayRunOptions,
  traceReplayWorkload,
  traceSession,
  type TraceSessionOptions,
} from "./workloads/trace_replay.ts";
export {
  type BenchmarkResult,
  type CompletionPoint,
  cumulativePromptTokens,
  lastWindowRates,
  overallRates,
  type RateField,
  type RecordPointOptions,
  ServerMetrics,
  steadyStateRates,
  type SuccessOutcome,
  type ThroughputRates,
  TraceAccumulator,
  TraceReplayResult,
  type TraceReplayResultOptions,
  type TraceRow,
  windowRate,
  windowRates,
} from "./lib/trace_metrics.ts";
export {
  completeLogFields,
  progressLine,
  type ProgressOptions,
  renderProgress,
  renderTrieReport,
  type TrieReportOptions,
  type TrieSummaryJson,
  trieSummaryJson,
  type WorkloadRatesJson,
} from "./lib/trie_report.ts";
export {
  formatFixed,
  formatPyFloat,
  mean,
  percentile,
  summarize,
  type Summary,
  SUMMARY_STATS,
} from "./lib/stats.ts";
export { renderTable, type TableColumn } from "./lib/table.ts";
export {
  type LogLevel,
  logLine,
  PyFloat,
  pyFloat,
  pyRepr,
} from "./lib/log_line.ts";
export {
  loadTokenizer,
  type LoadTokenizerOptions,
  type Tokenizer,
  tokenizerFromJson,
  type TokenizerFromJsonOptions,
} from "./lib/tokenizer.ts";
export {
  createSynthesizer,
  type SynthesisWarning,
  type Synthesizer,
  type SynthesizerOptions,
} from "./lib/synth.ts";
export {
  type ResolveWorkloadOptions,
  resolveWorkloadPath,
  TRIE_DATASET_ALIASES,
  TRIE_DATASET_REPO,
  trieDatasetCacheDir,
} from "./lib/dataset.ts";
export {
  downloadFile,
  type DownloadOptions,
  downloadStatus,
  hfEndpoint,
  hfHubCacheDir,
  hfOffline,
  hfToken,
  type ProgressBar,
  progressBar,
  type ProgressBarOptions,
  type ProgressWriter,
} from "./lib/hub.ts";
export {
  type SimOptions,
  type SimServer,
  type SimStats,
  startSimulator,
} from "./lib/sim/server.ts";
export type { FaultOptions } from "./lib/sim/faults.ts";
export type { FaultCounts } from "./lib/sim/metrics.ts";
export type { EngineStats } from "./lib/sim/engine.ts";
export type { SimTokenizer } from "./lib/sim/token_count.ts";
export { type RecordTotals, recordTotals } from "./lib/record_totals.ts";
