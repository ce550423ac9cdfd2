/**
 * One trie trace as a session: a {@linkcode multiTurn} conversation of
 * `num_turns + 1` requests over a growing prompt of synthesized text and the
 * server's actual answers, with the tool latencies waited between turns; and
 * the endless stream of them, rows in file order.
 *
 * @module
 */
import type { Synthesizer } from "../../lib/text/synth.ts";
import type { Session } from "../../lib/types.ts";
import { tile } from "../../lib/shapes/orders.ts";
import type { RunPart } from "../../lib/run/runner.ts";
import { multiTurn, type TurnSpec } from "../../lib/shapes/sessions.ts";
import { cumulativePromptTokens, type TraceRow } from "./trace_file.ts";

/** Options of {@linkcode traceSession}. */
export interface TraceSessionOptions {
  /** Makes prompt text of exact token lengths. */
  synthesizer: Synthesizer;
  /** Stream the responses (TTFT, TTFAT, decode rate need it). */
  stream?: boolean;
  /**
   * `completions` (default, as trie: one growing text) or `chat` (a growing
   * list of messages; the chat template adds tokens to every prompt).
   */
  api?: "completions" | "chat";
  /** Send `ignore_eos` so each answer is exactly its `max_tokens` (default true, as trie). */
  ignoreEos?: boolean;
  /** Trace id, sent in the routing header for session affinity in routers. */
  traceId?: number;
  /** The routing header's name (default `X-SMG-Routing-Key`, as trie); null sends none. */
  routingHeader?: string | null;
  /**
   * Text every trace's prompt starts with (a system prompt and tool
   * definitions common to all traces, `shared_prefix_tokens`), and its
   * tokens, which count within `input_prompt_length`.
   */
  sharedPrefix?: { text: string; tokens: number };
}

/**
 * One trace as a session: the initial prompt of `input_prompt_length − 1`
 * synthesized tokens (the server adds BOS), then for each turn a request with
 * `max_tokens = assistant_response_length[i]` and `ignore_eos`, the answer
 * appended, `tool_call_latency[i]` waited, `tool_call_output_length[i]`
 * synthesized tokens appended; then the final request. The trace start is
 * taken before any synthesis.
 *
 * @example One trace against the simulator, accounted from its records
 * ```ts
 * import { traceSession } from "./session.ts";
 * import { TrieAccounting } from "./accounting.ts";
 * import { run } from "../../lib/run/runner.ts";
 * import { createSynthesizer } from "../../lib/text/synth.ts";
 * import { startSimulator } from "../../lib/sim/server.ts";
 * import { qwen3Tokenizer } from "../../lib/testing/tokenizers.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * const row = {
 *   num_turns: 1, input_prompt_length: 64, assistant_response_length: [16],
 *   tool_call_output_length: [8], tool_call_latency: [0.01], final_assistant_response_length: 32,
 * };
 * const synthesizer = createSynthesizer(qwen3Tokenizer(), { seed: 1 });
 * const accounting = new TrieAccounting([row], { stream: true });
 * const session = traceSession(row, { synthesizer, stream: true });
 * const summary = await run([session], {
 *   endpoint: { baseUrl: sim.url, model: sim.model },
 *   onRecord: (r) => accounting.add(r),
 * });
 * assert.equal(summary.requests.ok, 2); // num_turns + 1 requests
 * assert.equal(accounting.result.completedTraces, 1);
 * // One accounting point per request, completion tokens cumulated: 16, then 16 + 32.
 * assert.deepEqual(accounting.result.points.map((p) => p.completionTokens), [16, 48]);
 * ```
 */
export function traceSession(
  row: TraceRow,
  options: TraceSessionOptions,
): Session {
  const { synthesizer } = options;
  const n = row.num_turns;
  // Each request's prompt as the trace means it (the server adds BOS to the
  // input − 1 synthesized tokens), for the server's prompt_tokens check.
  const expected = (k: number) => ({
    expectedPromptTokens: cumulativePromptTokens(row, k),
  });
  const turns: TurnSpec[] = row.assistant_response_length.map((
    maxTokens,
    i,
  ) => ({
    maxTokens,
    waitMs: row.tool_call_latency[i] * 1000,
    append: () => synthesizer.text(row.tool_call_output_length[i]),
    request: expected(i),
  }));
  turns.push({
    maxTokens: row.final_assistant_response_length,
    request: expected(n),
  });
  const header = options.routingHeader === undefined
    ? "X-SMG-Routing-Key"
    : options.routingHeader;
  const headers = options.traceId === undefined || header === null
    ? undefined
    : { [header]: String(options.traceId) };
  return multiTurn({
    prompt: () =>
      (options.sharedPrefix?.text ?? "") +
      synthesizer.text(
        Math.max(
          row.input_prompt_length - 1 - (options.sharedPrefix?.tokens ?? 0),
          0,
        ),
      ),
    turns,
    api: options.api,
    request: {
      ignoreEos: options.ignoreEos ?? true,
      stream: options.stream ?? false,
      headers,
    },
  });
}

/** Options of {@linkcode trieWorkload}. */
export interface TrieWorkloadOptions
  extends Omit<TraceSessionOptions, "traceId"> {
  /** Only this part of the traces (a worker's, a shard's). */
  part?: RunPart;
}

/**
 * The endless stream of trace sessions: rows in file order, cycled. With
 * `part`, only the traces `index`, `index + count`, … of that stream (run
 * them with the same `part` in the run options so the records carry the
 * traces' ids).
 *
 * @example Usage
 * ```ts
 * import { trieWorkload } from "./session.ts";
 * import { TrieAccounting } from "./accounting.ts";
 * import { run } from "../../lib/run/runner.ts";
 * import { createSynthesizer } from "../../lib/text/synth.ts";
 * import { startScriptedServer } from "../../lib/testing/scripted_server.ts";
 * import { qwen3Tokenizer } from "../../lib/testing/tokenizers.ts";
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
 * const accounting = new TrieAccounting(rows);
 * const sessions = trieWorkload(rows, { synthesizer });
 * // The stream is endless (the rows cycle): stop after three traces, run one at a time.
 * await run(sessions, {
 *   endpoint: { baseUrl: `${server.origin}/v1/`, model: "test-model" },
 *   stop: { maxSessions: 3 },
 *   onRecord: (r) => accounting.add(r),
 * });
 * assert.equal(accounting.result.completedTraces, 3);
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
  options: TrieWorkloadOptions,
): Generator<Session> {
  const { part, ...session } = options;
  let traceId = 0;
  for (const row of tile(rows)) {
    if (part === undefined || traceId % part.count === part.index) {
      yield traceSession(row, { ...session, traceId });
    }
    traceId++;
  }
}
