/**
 * kvbench: a scriptable benchmark runtime for OpenAI-compatible LLM inference
 * endpoints, built to measure what KV-cache management (prefix caching,
 * CPU/disk offloading) does to real workloads.
 *
 * A workload is a stream of sessions; a session sends requests through its
 * context; {@linkcode run} admits sessions under a load policy until a stop
 * condition; every request becomes a {@linkcode RequestRecord}, and
 * {@linkcode requestFigures} derives its figures (TTFT, TPOT, E2E, cache
 * hits) the same way for every command, report and script.
 *
 * The pieces:
 * - prompts: {@linkcode repeatedWordContexts}, {@linkcode numberedQuestions},
 *   {@linkcode createSynthesizer} (tokenizer-exact text), token-id arrays;
 * - sessions: {@linkcode singleRequest}, {@linkcode multiTurn},
 *   {@linkcode sharedPrefix}, {@linkcode traceSession};
 * - orders: {@linkcode tile}, {@linkcode interleave}, {@linkcode randomOrder},
 *   {@linkcode shuffled};
 * - load: {@linkcode closedLoop}, {@linkcode openLoop} with
 *   {@linkcode constantRate}, {@linkcode poisson}, {@linkcode gamma},
 *   {@linkcode ramp};
 * - stops: {@linkcode StopOptions} (duration, requests, sessions, signal);
 * - sinks and figures: `onRecord`, {@linkcode openRecordsFile},
 *   {@linkcode requestFigures}, {@linkcode recordTotals},
 *   {@linkcode summarize};
 * - the built-in workloads: {@linkcode runBenchmark} (KV-offload stress) and
 *   {@linkcode runTrie} (agentic trace replay), with their reports;
 * - reports: {@linkcode loadRun} reads a run directory (or a records file)
 *   into {@linkcode RunData}, {@linkcode renderReport} makes one
 *   self-contained HTML file of one run or several overlaid;
 * - scale: a run split into parts ({@linkcode RunPart}, {@linkcode partLoad})
 *   for worker processes and shards, {@linkcode estimateClockOffset} and
 *   {@linkcode rebaseRecord} to put their records on one clock;
 * - a simulated endpoint with a KV cache: {@linkcode startSimulator} (also
 *   `@kvbench/cli/sim`).
 *
 * @example A multi-turn workload with a shared system prompt, against the simulator
 * ```ts
 * import {
 *   closedLoop,
 *   multiTurn,
 *   recordTotals,
 *   type RequestRecord,
 *   run,
 *   sharedPrefix,
 *   startSimulator,
 * } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * const system = "You are a helpful assistant. ".repeat(100);
 * function* users() {
 *   for (let u = 0; u < 4; u++) {
 *     yield multiTurn({
 *       prompt: sharedPrefix(system, `User ${u} asks: `),
 *       turns: [
 *         { maxTokens: 8, waitMs: 10, append: " And then?" },
 *         { maxTokens: 8 },
 *       ],
 *     });
 *   }
 * }
 * const records: RequestRecord[] = [];
 * await run(users(), {
 *   endpoint: { baseUrl: sim.url, model: sim.model },
 *   load: closedLoop(2),
 *   onRecord: (r) => records.push(r),
 * });
 * const totals = recordTotals(records);
 * assert.equal(totals.ok, 8);
 * assert.ok(totals.cacheHitRate! > 0.5); // the system prompt is served from cache
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

// Engine: transport, OpenAI protocol, run and load.
export type {
  HttpRequest,
  ResponseSink,
  SendOptions,
  Transport,
} from "./lib/transport/transport.ts";
export { fetchTransport } from "./lib/transport/fetch.ts";
export {
  defaultTransport,
  type Http1Options,
  http1Transport,
} from "./lib/transport/http1.ts";
export {
  discoverModels,
  type DiscoverOptions,
  normalizeEndpoint,
} from "./lib/openai/endpoint.ts";
export {
  type EndpointConfig,
  type RequestContext,
  sendRequest,
} from "./lib/openai/request.ts";
export {
  type RecordHandlers,
  type RecordSource,
  run,
  type RunOptions,
  type RunPart,
  type RunSummary,
  type SessionOutcome,
  type StopOptions,
  type StopReason,
} from "./lib/run/runner.ts";
export {
  type ArrivalProcess,
  closedLoop,
  constantRate,
  gamma,
  type LoadPolicy,
  openLoop,
  type OpenLoopOptions,
  poisson,
  ramp,
  type RandomOptions,
} from "./lib/run/load.ts";
export {
  parsePart,
  partConcurrency,
  partCount,
  partLoad,
} from "./lib/run/part.ts";
export { type Random, seededRandom } from "./lib/rng.ts";
export {
  type LineSource,
  openRecordsFile,
  type OpenRecordsFileOptions,
  parseRecordsLine,
  readRecordsFile,
  type RecordsFile,
  type RecordsFileContents,
  type RecordsLine,
  type RunEnd,
} from "./lib/run/records_file.ts";

// Engine: metrics.
export {
  interTokenLatencies,
  outputReads,
  outputTokens,
  type OutputTokensSource,
  type RequestFigures,
  requestFigures,
} from "./lib/metrics/figures.ts";
export {
  DEFAULT_PERCENTILES,
  type Distribution,
  type DistributionSummary,
  LatencyDistributions,
  parsePercentiles,
  parseSlos,
  renderDistributions,
  type RenderDistributionsOptions,
  type Slos,
  type SummaryOptions,
} from "./lib/metrics/distributions.ts";
export { CountedSamples, Samples } from "./lib/metrics/samples.ts";
export { type RecordTotals, recordTotals } from "./lib/metrics/totals.ts";
export {
  mean,
  percentile,
  summarize,
  type Summary,
} from "./lib/metrics/stats.ts";
export {
  renderTable,
  type RenderTableOptions,
  type TableColumn,
} from "./lib/format/table.ts";

// Engine: text and tokenization.
export {
  loadTokenizer,
  type LoadTokenizerOptions,
  type Tokenizer,
  tokenizerFromJson,
  type TokenizerFromJsonOptions,
} from "./lib/text/tokenizer.ts";
export {
  createSynthesizer,
  type SynthesisWarning,
  type Synthesizer,
  type SynthesizerOptions,
} from "./lib/text/synth.ts";
export {
  BUNDLED_MODEL_CONFIGS,
  bytesPerToken,
  findModelConfig,
  loadModelConfigs,
  type ModelConfig,
  offloadSizeGib,
} from "./lib/models/model_config.ts";

// Workload shapes.
export {
  interleave,
  type OrderOptions,
  randomOrder,
  type RandomOrderOptions,
  shuffled,
  type ShuffledOptions,
  tile,
} from "./lib/shapes/orders.ts";
export {
  numberedQuestions,
  type NumberedQuestionsOptions,
  repeatedWordContexts,
  type RepeatedWordOptions,
} from "./lib/shapes/prompts.ts";
export {
  multiTurn,
  type MultiTurnOptions,
  type RequestOptions,
  sharedPrefix,
  singleRequest,
  type SingleRequestOptions,
  type TextSource,
  type TurnSpec,
} from "./lib/shapes/sessions.ts";

// Engine: the server's view (its Prometheus metrics, engine and version).
export {
  parsePrometheusText,
  type PromExposition,
  type PromSample,
} from "./lib/server/prometheus.ts";
export {
  type CacheGauges,
  type EngineName,
  type EngineReading,
  readEngineMetrics,
  type TierCounters,
} from "./lib/server/engines.ts";
export {
  MetricsScraper,
  type MetricsScraperOptions,
  type Scrape,
} from "./lib/server/scrape.ts";
export {
  type AttributionOptions,
  type PromptSplit,
  promptSplit,
  renderAttribution,
} from "./lib/server/attribution.ts";
export {
  type Preflight,
  preflight,
  type PreflightOptions,
  type PreflightVerdict,
} from "./lib/server/preflight.ts";
export {
  detectServer,
  type DetectServerOptions,
  type ServerInfo,
} from "./lib/server/detect.ts";

// The built-in workloads: `kvbench benchmark` …
export {
  type BenchmarkSizing,
  renderBenchmarkSpec,
  sizeBenchmark,
  type SizeBenchmarkOptions,
} from "./workloads/benchmark/sizing.ts";
export {
  benchmarkWorkload,
  type BenchmarkWorkloadOptions,
} from "./workloads/benchmark/workload.ts";
export {
  type BenchmarkAverages,
  benchmarkAverages,
  BenchmarkMetrics,
  type BenchmarkSnapshot,
  type BenchmarkWindow,
} from "./workloads/benchmark/metrics.ts";
export {
  type BenchmarkRunResult,
  benchmarkSummaryJson,
  type BenchmarkSummaryOptions,
  renderBenchmarkBlock,
  type RenderBlockOptions,
} from "./workloads/benchmark/report.ts";
export {
  type BenchmarkRunOptions,
  runBenchmark,
} from "./workloads/benchmark/run.ts";

// … and `kvbench trie`.
export {
  cumulativePromptTokens,
  loadTraceFile,
  parseTraceRows,
  type TraceRow,
  validateRow,
} from "./workloads/trie/trace_file.ts";
export {
  type ResolveWorkloadOptions,
  resolveWorkloadPath,
  TRIE_DATASET_ALIASES,
} from "./workloads/trie/dataset.ts";
export {
  traceSession,
  type TraceSessionOptions,
  trieWorkload,
  type TrieWorkloadOptions,
} from "./workloads/trie/session.ts";
export {
  type TraceFailure,
  TrieAccounting,
  type TrieAccountingOptions,
} from "./workloads/trie/accounting.ts";
export {
  type CompletionPoint,
  type RecordPointOptions,
  ServerMetrics,
  type SuccessOutcome,
  type ThroughputRates,
  TraceAccumulator,
  TrieResult,
  type TrieResultOptions,
} from "./workloads/trie/metrics.ts";
export {
  renderTrieReport,
  type TrieReportOptions,
  type TrieSummaryJson,
  trieSummaryJson,
  type WorkloadRatesJson,
} from "./workloads/trie/report.ts";
export {
  runTrie,
  trieLoad,
  type TrieLoadOptions,
  type TrieRunOptions,
} from "./workloads/trie/run.ts";
export {
  Client,
  type ClientOptions,
  type ClientRunOptions,
} from "./workloads/trie/client.ts";

// Replaying public KV-cache traces (Mooncake, Bailian, WEKA / AgentX).
export {
  DEFAULT_BLOCK_SIZES,
  type ReplayTrace,
  stepRequests,
  type TraceBranch,
  type TraceFormat,
  type TraceRequest,
  type TraceSession,
  type TraceStep,
} from "./workloads/replay/trace.ts";
export {
  detectFormat,
  loadTrace,
  parseTrace,
  type ParseTraceOptions,
} from "./workloads/replay/formats.ts";
export {
  theoreticalReuse,
  type Theory,
  type TheoryOptions,
  traceOrder,
} from "./workloads/replay/theory.ts";
export {
  BlockPrompts,
  type BlockPromptsOptions,
  DEFAULT_ID_RANGE,
  rangeVocabulary,
  tokenizerVocabulary,
  type Vocabulary,
} from "./workloads/replay/token_blocks.ts";
export {
  fidelityLines,
  type FidelitySummary,
  mismatchTable,
  type RequestFidelity,
  requestFidelity,
  summarizeFidelity,
} from "./workloads/replay/fidelity.ts";
export {
  replayLoad,
  replaySessions,
  type ReplaySessionsOptions,
  REQUEST_TAG,
} from "./workloads/replay/session.ts";
export { traceLines } from "./workloads/replay/describe.ts";
export { type IdsProbe, probeTokenIds } from "./workloads/replay/probe.ts";
export {
  type ReplayOptions,
  type ReplayResult,
  replaySpecs,
  replayTrace,
} from "./workloads/replay/run.ts";

// Reports.
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
} from "./lib/report/data.ts";
export { renderReport, type RenderReportOptions } from "./lib/report/html.ts";

// Runs on several processes and hosts.
export {
  type ClockOffset,
  estimateClockOffset,
  type EstimateClockOffsetOptions,
} from "./lib/run/clock_offset.ts";
export {
  clockDelta,
  type ProcessClock,
  type RebaseOptions,
  rebaseRecord,
} from "./lib/run/align.ts";
export { RecordsTail } from "./lib/run/records_tail.ts";

// The simulator (also `@kvbench/cli/sim`).
export {
  type EngineStats,
  type FaultCounts,
  type FaultOptions,
  type SimOptions,
  type SimServer,
  type SimStats,
  type SimTokenizer,
  startSimulator,
} from "./lib/sim/mod.ts";
