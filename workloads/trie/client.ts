/**
 * trie's Python `Client`, for scripts: the endpoint set once, workloads run
 * by alias, path or trace objects.
 *
 * @module
 */
import { normalizeEndpoint } from "../../lib/openai/endpoint.ts";
import { createSynthesizer, type Synthesizer } from "../../lib/text/synth.ts";
import { loadTokenizer } from "../../lib/text/tokenizer.ts";
import { resolveWorkloadPath } from "./dataset.ts";
import type { TrieResult } from "./metrics.ts";
import { runTrie, type TrieRunOptions } from "./run.ts";
import { loadTraceFile, type TraceRow, validateRow } from "./trace_file.ts";

/** Options of {@linkcode Client}. */
export interface ClientOptions {
  /** OpenAI-compatible base URL, e.g. `http://localhost:8000/v1`. */
  endpoint: string;
  /** Model name sent in requests (and the tokenizer, unless `tokenizerModel`). */
  model: string;
  /** Tokenizer: a folder with `tokenizer.json`, or a Hub id (default: `model`). */
  tokenizerModel?: string;
  /** Bearer key (default: `$OPENAI_API_KEY`, or none). */
  apiKey?: string;
  /** Seed of the synthesized text. */
  seed?: number;
  /** Retries of a failed request before the trace fails (default 2, as trie). */
  maxRetries?: number;
  /** Total timeout of one request, seconds (default 600). */
  timeout?: number;
}

/** Options of {@linkcode Client.run}. */
export type ClientRunOptions = Omit<
  TrieRunOptions,
  "endpoint" | "synthesizer"
>;

/**
 * trie's Python `Client`, for scripts: set the endpoint once, then run
 * workloads (an alias, a JSONL path, or trace objects).
 *
 * @example Usage
 * ```ts
 * import { Client } from "./client.ts";
 * import { renderTrieReport } from "./report.ts";
 * import { startSimulator } from "../../lib/sim/server.ts";
 * import { qwen3TokenizerDir } from "../../lib/testing/tokenizers.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * // A folder with tokenizer.json; without it, the model's tokenizer comes from the Hub.
 * const tokenizerModel = await qwen3TokenizerDir();
 * const client = new Client({ endpoint: sim.url, model: sim.model, tokenizerModel, seed: 1 });
 * // A workload is an alias ("agentic"), a JSONL path, or trace objects.
 * const traces = [{
 *   num_turns: 1, input_prompt_length: 64, assistant_response_length: [16],
 *   tool_call_output_length: [8], tool_call_latency: [0], final_assistant_response_length: 32,
 * }];
 * const result = await client.run(traces, { concurrency: 2, maxTraces: 2, duration: 10, stream: true });
 * assert.equal(result.completedTraces, 2);
 * assert.match(renderTrieReport(result, { numGpus: 1 }), /Workload metrics/);
 * await Deno.remove(tokenizerModel, { recursive: true });
 * ```
 */
export class Client {
  /** The options it was made with. */
  readonly options: Readonly<ClientOptions>;
  #synthesizer?: Promise<Synthesizer>;

  /** Make a client; nothing is loaded or sent until {@linkcode Client.run}. */
  constructor(options: ClientOptions) {
    this.options = options;
  }

  /** The synthesizer of the client's tokenizer (loaded once). */
  synthesizer(): Promise<Synthesizer> {
    this.#synthesizer ??= loadTokenizer(
      this.options.tokenizerModel ?? this.options.model,
    ).then((t) => createSynthesizer(t, { seed: this.options.seed }));
    return this.#synthesizer;
  }

  /** Replay a workload and resolve with its result. */
  async run(
    workload: string | readonly TraceRow[],
    options: ClientRunOptions,
  ): Promise<TrieResult> {
    const rows = typeof workload === "string"
      ? await loadTraceFile(await resolveWorkloadPath(workload))
      : workload.map((row, i) => validateRow(row, `trace ${i}`));
    return await runTrie(rows, {
      ...options,
      endpoint: {
        baseUrl: normalizeEndpoint(this.options.endpoint),
        model: this.options.model,
        apiKey: this.options.apiKey ?? Deno.env.get("OPENAI_API_KEY"),
        maxRetries: this.options.maxRetries ?? 2,
        timeoutMs: (this.options.timeout ?? 600) * 1000,
      },
      synthesizer: await this.synthesizer(),
    });
  }
}
