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
 * This module is the script core:
 * - prompts: {@linkcode repeatedWordContexts}, {@linkcode numberedQuestions},
 *   {@linkcode createSynthesizer} (tokenizer-exact text), token-id arrays;
 * - sessions: {@linkcode singleRequest}, {@linkcode multiTurn},
 *   {@linkcode sharedPrefix};
 * - orders: {@linkcode tile}, {@linkcode interleave}, {@linkcode randomOrder},
 *   {@linkcode shuffled};
 * - load: {@linkcode closedLoop}, {@linkcode openLoop} with
 *   {@linkcode constantRate}, {@linkcode poisson}, {@linkcode gamma},
 *   {@linkcode ramp};
 * - stops: {@linkcode StopOptions} (duration, requests, sessions, signal);
 * - one request: {@linkcode sendRequest} over a {@linkcode Transport};
 * - sinks and figures: `onRecord`, {@linkcode openRecordsFile},
 *   {@linkcode readRecordsFile}, {@linkcode requestFigures},
 *   {@linkcode recordTotals}, {@linkcode summarize}, {@linkcode renderTable}.
 *
 * The rest lives in subpath modules:
 * - `@kvbench/cli/benchmark`: the KV-offload stress workload (`kvbench
 *   benchmark`): sizing from a model's config, the workload, its run and
 *   report;
 * - `@kvbench/cli/trie`: agentic trace replay (`kvbench trie`): trace files,
 *   trace sessions, its run and report;
 * - `@kvbench/cli/replay`: token-exact replay of the public KV-cache traces
 *   (Mooncake, Bailian, AgentX): formats, token-id prompts, the schedule,
 *   theoretical reuse and per-request fidelity (`kvbench replay`);
 * - `@kvbench/cli/report`: latency distributions, reading run directories,
 *   the HTML report, and writing a run directory that `kvbench report` and
 *   `kvbench compare` read;
 * - `@kvbench/cli/server`: the server's view: Prometheus parsing, engine
 *   detection, scrapes, attribution to cache tiers, pre-flight and the
 *   offload verdict;
 * - `@kvbench/cli/sim`: a simulated endpoint with a KV cache;
 * - `@kvbench/cli/testing`: a scripted server, records and tokenizers for
 *   tests;
 * - `@kvbench/cli/cli`: the `kvbench` command line.
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
 * } from "./mod.ts";
 * import { startSimulator } from "./lib/sim/mod.ts";
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

// Transport and the OpenAI protocol.
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
  checkEndpoint,
  type CheckEndpointOptions,
  type EndpointCheck,
} from "./lib/openai/preflight_request.ts";
export {
  type ResolvedTokenizer,
  resolveTokenizer,
  type ResolveTokenizerOptions,
} from "./lib/openai/server_tokenizer.ts";
export {
  type EndpointConfig,
  type RequestContext,
  sendRequest,
} from "./lib/openai/request.ts";

// The runner and its load policies.
export {
  run,
  type RunOptions,
  type RunPart,
  type RunSummary,
  type SessionOutcome,
  type StopOptions,
  type StopReason,
} from "./lib/run/runner.ts";
export type { FailFastOptions, FirstError } from "./lib/run/fail_fast.ts";
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
export { partLoad } from "./lib/run/part.ts";
export { type Random, seededRandom } from "./lib/rng.ts";

// Records files.
export {
  openRecordsFile,
  type OpenRecordsFileOptions,
  readRecordsFile,
  type RecordsFile,
  type RecordsFileContents,
  type RecordsLine,
  type RunEnd,
} from "./lib/run/records_file.ts";

// Figures and totals.
export {
  interTokenLatencies,
  outputReads,
  outputTokens,
  type OutputTokensSource,
  type RequestFigures,
  requestFigures,
} from "./lib/metrics/figures.ts";
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

// Text and tokenization.
export {
  loadTokenizer,
  type LoadTokenizerOptions,
  type Tokenizer,
  tokenizerFromJson,
  type TokenizerFromJsonOptions,
} from "./lib/text/tokenizer.ts";
export { bundledTokenizer } from "./lib/text/bundled_tokenizer.ts";
export {
  createSynthesizer,
  type SynthesisWarning,
  type Synthesizer,
  type SynthesizerOptions,
} from "./lib/text/synth.ts";

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
