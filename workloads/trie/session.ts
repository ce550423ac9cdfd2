/**
 * One trie trace as a session: a {@linkcode multiTurn} conversation of
 * `num_turns + 1` requests over a growing prompt of synthesized text and the
 * server's actual answers, with the tool latencies waited between turns; and
 * the endless stream of them, rows in file order.
 *
 * @module
 */
import type { Synthesizer } from "../../engine/text/synth.ts";
import type { RequestRecord, Session } from "../../engine/types.ts";
import { tile } from "../../shapes/orders.ts";
import { multiTurn, type TurnSpec } from "../../shapes/sessions.ts";
import { TraceAccumulator, type TrieResult } from "./metrics.ts";
import type { TraceRow } from "./trace_file.ts";

/** Why a trace stopped early, for the `request failed` warning. */
export interface TraceFailure {
  /** The trace (session) id. */
  traceId: number;
  /** Tool-use turns completed before the failing request. */
  turn: number;
  /** The failing request's record. */
  record: RequestRecord;
}

/** Options of {@linkcode traceSession}. */
export interface TraceSessionOptions {
  /** Makes prompt text of exact token lengths. */
  synthesizer: Synthesizer;
  /** Where the trace's accounting goes. */
  result: TrieResult;
  /** Stream the responses (TTFT, TTFAT, decode rate need it). */
  stream?: boolean;
  /** Trace id, sent as `X-SMG-Routing-Key` for session affinity in routers. */
  traceId?: number;
  /** Called when a request fails (not when the run aborts it). */
  onFailure?: (failure: TraceFailure) => void;
  /** Called when a streamed trace succeeded without any usage. */
  onUsageMissing?: () => void;
}

/**
 * One trace as a session: the initial prompt of `input_prompt_length − 1`
 * synthesized tokens (the server adds BOS), then for each turn a request with
 * `max_tokens = assistant_response_length[i]` and `ignore_eos`, the answer
 * appended, `tool_call_latency[i]` waited, `tool_call_output_length[i]`
 * synthesized tokens appended; then the final request. The trace start is
 * taken before any synthesis.
 *
 * @example Usage
 * ```ts
 * import { traceSession } from "./session.ts";
 * import { TrieResult } from "./metrics.ts";
 * import { run } from "../../engine/run/runner.ts";
 * import { createSynthesizer } from "../../engine/text/synth.ts";
 * import { startSimulator } from "../../sim/server.ts";
 * import { qwen3Tokenizer } from "../../testing/tokenizers.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * const row = {
 *   num_turns: 1, input_prompt_length: 64, assistant_response_length: [16],
 *   tool_call_output_length: [8], tool_call_latency: [0.01], final_assistant_response_length: 32,
 * };
 * const synthesizer = createSynthesizer(qwen3Tokenizer(), { seed: 1 });
 * const result = new TrieResult({ stream: true });
 * const session = traceSession(row, { synthesizer, result, stream: true });
 * const summary = await run([session], { endpoint: { baseUrl: sim.url, model: sim.model } });
 * assert.equal(summary.requests.ok, 2); // num_turns + 1 requests
 * assert.equal(result.completedTraces, 1);
 * // One accounting point per request, completion tokens cumulated: 16, then 16 + 32.
 * assert.deepEqual(result.points.map((p) => p.completionTokens), [16, 48]);
 * ```
 */
export function traceSession(
  row: TraceRow,
  options: TraceSessionOptions,
): Session {
  const { synthesizer, result } = options;
  const n = row.num_turns;
  const turns: TurnSpec[] = row.assistant_response_length.map((
    maxTokens,
    i,
  ) => ({
    maxTokens,
    waitMs: row.tool_call_latency[i] * 1000,
    append: () => synthesizer.text(row.tool_call_output_length[i]),
  }));
  turns.push({ maxTokens: row.final_assistant_response_length });
  let trace: TraceAccumulator;
  const headers = options.traceId === undefined
    ? undefined
    : { "X-SMG-Routing-Key": String(options.traceId) };
  return multiTurn({
    prompt: () => synthesizer.text(Math.max(row.input_prompt_length - 1, 0)),
    turns,
    request: { ignoreEos: true, stream: options.stream ?? false, headers },
    onStart: () => {
      trace = new TraceAccumulator(performance.now());
    },
    onRecord: (record, turn, ctx) => {
      if (!record.ok) {
        if (record.error?.kind !== "aborted") {
          result.recordFailure();
          options.onFailure?.({ traceId: ctx.id, turn, record });
        }
        return;
      }
      trace.add(record);
      const at = ctx.now() / 1000;
      if (turn < n) {
        result.recordTurn(row, turn, { at });
      } else if (
        !result.recordSuccess(row, trace, { at }).serverMetricsRecorded
      ) {
        options.onUsageMissing?.();
      }
    },
  });
}

/**
 * The endless stream of trace sessions: rows in file order, cycled.
 *
 * @example Usage
 * ```ts
 * import { trieWorkload } from "./session.ts";
 * import { TrieResult } from "./metrics.ts";
 * import { run } from "../../engine/run/runner.ts";
 * import { createSynthesizer } from "../../engine/text/synth.ts";
 * import { startScriptedServer } from "../../testing/scripted_server.ts";
 * import { qwen3Tokenizer } from "../../testing/tokenizers.ts";
 * import assert from "node:assert/strict";
 *
 * const server = startScriptedServer();
 * const rows = [{
 *   num_turns: 1, input_prompt_length: 32, assistant_response_length: [4],
 *   tool_call_output_length: [8], tool_call_latency: [0], final_assistant_response_length: 8,
 * }, {
 *   num_turns: 0, input_prompt_length: 16, assistant_response_length: [],
 *   tool_call_output_length: [], tool_call_latency: [], final_assistant_response_length: 2,
 * }];
 * const synthesizer = createSynthesizer(qwen3Tokenizer(), { seed: 1 });
 * const result = new TrieResult();
 * const sessions = trieWorkload(rows, { synthesizer, result });
 * // The stream is endless (the rows cycle): stop after three traces, run one at a time.
 * await run(sessions, {
 *   endpoint: { baseUrl: `${server.origin}/v1/`, model: "test-model" },
 *   stop: { maxSessions: 3 },
 * });
 * assert.equal(result.completedTraces, 3);
 * // Rows 0, 1, then 0 again, each trace id sent as its routing key.
 * assert.deepEqual(server.received.map((r) => r.body?.max_tokens), [4, 8, 2, 4, 8]);
 * assert.deepEqual(
 *   server.received.map((r) => r.headers.get("x-smg-routing-key")),
 *   ["0", "0", "1", "2", "2"],
 * );
 * await server.close();
 * ```
 */
export function* trieWorkload(
  rows: readonly TraceRow[],
  options: Omit<TraceSessionOptions, "traceId">,
): Generator<Session> {
  let traceId = 0;
  for (const row of tile(rows)) {
    yield traceSession(row, { ...options, traceId: traceId++ });
  }
}
