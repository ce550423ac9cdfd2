/**
 * `kvbench trie` as a library: agentic trace replay. Each row of a trace
 * file ({@linkcode loadTraceFile}) is one agent's conversation: a prompt,
 * then turns of assistant output, tool-call output and tool latency; a
 * trace session ({@linkcode traceSession}) replays it with tokenizer-exact
 * text, so every turn's prompt extends the previous one and a prefix cache
 * can serve it. {@linkcode runTrie} cycles the rows under a closed or open
 * loop until a deadline and resolves with the {@linkcode TrieResult} its
 * tables ({@linkcode renderTrieReport}) and `summary.json`
 * ({@linkcode trieSummaryJson}) are made of; {@linkcode TrieAccounting}
 * builds the same result from a records file. {@linkcode Client} is trie's
 * Python `Client` for scripts.
 *
 * @example Four traces against the simulator, the tables as the command prints them
 * ```ts
 * import { renderTrieReport, runTrie, type TraceRow } from "./mod.ts";
 * import { createSynthesizer } from "../../mod.ts";
 * import { startSimulator } from "../../lib/sim/mod.ts";
 * import { qwen3Tokenizer } from "../../lib/testing/mod.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * const rows: TraceRow[] = [{
 *   num_turns: 1, input_prompt_length: 64, assistant_response_length: [16],
 *   tool_call_output_length: [8], tool_call_latency: [0.01],
 *   final_assistant_response_length: 32,
 * }];
 * const result = await runTrie(rows, {
 *   endpoint: { baseUrl: sim.url, model: sim.model },
 *   synthesizer: createSynthesizer(qwen3Tokenizer(), { seed: 1 }),
 *   concurrency: 2,
 *   maxTraces: 4,
 *   duration: 10,
 * });
 * assert.equal(result.completedTraces, 4);
 * assert.equal(result.completedCompletionTokens, 4 * (16 + 32));
 * assert.match(renderTrieReport(result), /completed=4\/4/);
 * ```
 *
 * @module
 */
export {
  cumulativePromptTokens,
  loadTraceFile,
  parseTraceRows,
  type TraceRow,
  validateRow,
} from "./trace_file.ts";
export {
  type ResolveWorkloadOptions,
  resolveWorkloadPath,
  TRIE_DATASET_ALIASES,
} from "./dataset.ts";
export {
  traceSession,
  type TraceSessionOptions,
  trieWorkload,
  type TrieWorkloadOptions,
} from "./session.ts";
export {
  type TraceFailure,
  TrieAccounting,
  type TrieAccountingOptions,
} from "./accounting.ts";
export {
  type CompletionPoint,
  type RecordPointOptions,
  ServerMetrics,
  type SuccessOutcome,
  type ThroughputRates,
  TraceAccumulator,
  TrieResult,
  type TrieResultOptions,
} from "./metrics.ts";
export {
  renderTrieReport,
  type TrieReportOptions,
  type TrieSummaryJson,
  trieSummaryJson,
  type WorkloadRatesJson,
} from "./report.ts";
export {
  runTrie,
  trieLoad,
  type TrieLoadOptions,
  type TrieRunOptions,
} from "./run.ts";
export { Client, type ClientOptions, type ClientRunOptions } from "./client.ts";
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
export type { SynthesisWarning, Synthesizer } from "../../lib/text/synth.ts";
export type { Tokenizer } from "../../lib/text/tokenizer.ts";
export type { Summary } from "../../lib/metrics/stats.ts";
