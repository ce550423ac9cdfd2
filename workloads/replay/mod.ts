/**
 * `@kvbench/cli/replay`: replay the public KV-cache traces token-exact —
 * Mooncake (FAST '25), Alibaba Bailian and SemiAnalysis/WEKA AgentX hash-id
 * traces — on their schedule, with the trace's theoretical hit rate before
 * the run and each request's fidelity after it (`kvbench replay`).
 *
 * @example Usage
 * ```ts
 * import { parseTrace, theoreticalReuse } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const trace = parseTrace(
 *   '{"timestamp": 0, "input_length": 1024, "output_length": 8, "hash_ids": [1, 2]}\n' +
 *     '{"timestamp": 100, "input_length": 1024, "output_length": 8, "hash_ids": [1, 2]}\n',
 *   { name: "t.jsonl" },
 * );
 * assert.equal(trace.requests.length, 2);
 * assert.equal(theoreticalReuse(trace).unboundedHitRate, 0.5);
 * ```
 *
 * @module
 */
export {
  DEFAULT_BLOCK_SIZES,
  type ReplayTrace,
  stepRequests,
  type TraceBranch,
  type TraceFormat,
  type TraceRequest,
  type TraceSession,
  type TraceStep,
} from "./trace.ts";
export {
  detectFormat,
  loadTrace,
  parseTrace,
  type ParseTraceOptions,
} from "./formats.ts";
export {
  theoreticalReuse,
  type Theory,
  type TheoryOptions,
  traceOrder,
} from "./theory.ts";
export {
  BlockPrompts,
  type BlockPromptsOptions,
  DEFAULT_ID_RANGE,
  rangeVocabulary,
  tokenizerVocabulary,
  type Vocabulary,
} from "./token_blocks.ts";
export {
  fidelityLines,
  type FidelitySummary,
  mismatchTable,
  type RequestFidelity,
  requestFidelity,
  summarizeFidelity,
} from "./fidelity.ts";
export {
  replayLoad,
  replaySessions,
  type ReplaySessionsOptions,
  REQUEST_TAG,
} from "./session.ts";
export { traceLines } from "./describe.ts";
export { type IdsProbe, probeTokenIds } from "./probe.ts";
export {
  type ReplayOptions,
  type ReplayResult,
  replaySpecs,
  replayTrace,
} from "./run.ts";

// The core types this API names (also exported by `@kvbench/cli`).
export type { RequestRecord, RequestSpec, Session } from "../../lib/types.ts";
export type {
  RecordSource,
  RunPart,
  RunSummary,
} from "../../lib/run/runner.ts";
export type { LoadPolicy } from "../../lib/run/load.ts";
export type { EndpointConfig } from "../../lib/openai/request.ts";
export type { Tokenizer } from "../../lib/text/tokenizer.ts";
export type { ArrivalProcess } from "../../lib/run/load.ts";
export type { ChatMessage } from "../../lib/types.ts";
export type { FirstError } from "../../lib/run/fail_fast.ts";
export type { RecordHandlers } from "../../lib/run/runner.ts";
export type { RequestErrorKind } from "../../lib/types.ts";
export type { SessionContext } from "../../lib/types.ts";
export type { StopReason } from "../../lib/run/runner.ts";
export type { Transport } from "../../lib/transport/transport.ts";
export type { HttpRequest } from "../../lib/transport/transport.ts";
export type { ResponseSink } from "../../lib/transport/transport.ts";
export type { SendOptions } from "../../lib/transport/transport.ts";
