/**
 * trie's checks before it sends: the endpoint, key and model (discovered
 * without `model=`), the tokenizer that counts its prompts, and the
 * pre-flight of its working set against the server's KV capacities.
 *
 * @module
 */
import { err } from "../../lib/cli/common.ts";
import type { KvValues } from "../../lib/cli/kv_args.ts";
import { modelKv, type ModelKvResult } from "../../lib/cli/model_kv.ts";
import {
  type ServerCapacities,
  type TracePreflight,
  tracePreflight,
  type TraceWorkingSet,
} from "../../lib/cli/trace_preflight.ts";
import type { PreflightWording } from "../../lib/server/preflight.ts";
import { checkEndpoint } from "../../lib/openai/preflight_request.ts";
import { resolveTokenizer } from "../../lib/openai/server_tokenizer.ts";
import type { Tokenizer } from "../../lib/text/tokenizer.ts";
import { logLine } from "./log_line.ts";
import { cumulativePromptTokens, type TraceRow } from "./trace_file.ts";

/**
 * Check the endpoint, key and model (discovered without `model=`; the
 * tokenizer first when the model is named, so a tokenizer error comes
 * before a network one) and resolve the tokenizer; sets `v.model`.
 */
export async function trieTokenizer(
  v: KvValues,
  baseUrl: string,
  signal: AbortSignal,
): Promise<{ tokenizer: Tokenizer; tokenizerName: string }> {
  const apiKey = (v.api_key as string | null) ??
    Deno.env.get("OPENAI_API_KEY");
  const check = async (): Promise<void> => {
    const checked = await checkEndpoint(baseUrl, {
      apiKey,
      model: (v.model as string | null) ?? undefined,
      signal,
      probe: !v.worker, // the parent asked
    });
    if (checked.warning !== undefined && !v.worker) {
      err(logLine("warning", checked.warning) + "\n");
    }
    if (checked.discovered && !v.worker) {
      err(logLine("info", "found model", { model: checked.model }) + "\n");
    }
    v.model = checked.model;
  };
  const discover = v.model === null || v.model === undefined;
  if (discover) await check();
  const resolved = await resolveTokenizer(
    (v.tokenizer_model as string | null) ?? undefined,
    { baseUrl, model: v.model as string, apiKey, signal, progress: true },
  );
  if (resolved.fellBack !== undefined && !v.worker) {
    err(
      logLine(
        "info",
        "counting tokens with the server's /tokenize (set tokenizer_model= to choose)",
        { tried: resolved.fellBack },
      ) + "\n",
    );
  }
  if (!discover) await check();
  return { tokenizer: resolved.tokenizer, tokenizerName: resolved.source };
}

/** Options of {@linkcode trieWorkingSet}. */
export interface TrieWorkingSetOptions {
  /** Closed loop: traces in flight. */
  concurrency?: number;
  /** Open loop: new traces per second (the traces in flight are then unknown). */
  arrivalRate?: number;
  /** `max_traces`: at most this many traces are admitted. */
  maxTraces?: number;
  /** `shared_prefix_tokens`: every trace's first tokens, the same text. */
  sharedPrefixTokens?: number;
}

/**
 * The working set of a trie run: what the traces in flight at once keep
 * reusing. A trace's unique prefix tokens are its last request's prompt
 * (each request re-sends the one before, its answer and its tool output:
 * {@linkcode cumulativePromptTokens} of its last turn). Every trace sends
 * text of its own, so reuse stays within a trace: the cache must hold the
 * traces in flight. Sessions take the rows in file order, over and over, so
 * `concurrency` traces in flight are that many consecutive rows: the working
 * set is the largest sum of `min(concurrency, max_traces)` consecutive rows
 * (wrapping around the file), with the shared prefix counted once. Under an
 * arrival rate the traces in flight depend on the server's speed: unknown.
 *
 * @example The test fixture: traces of 88, 100 and 304 unique tokens
 * ```ts
 * import { trieWorkingSet } from "./preflight.ts";
 * import assert from "node:assert/strict";
 *
 * const row = (input: number, answers: number[], tools: number[]) => ({
 *   num_turns: answers.length, input_prompt_length: input,
 *   assistant_response_length: answers, tool_call_output_length: tools,
 *   tool_call_latency: answers.map(() => 0), final_assistant_response_length: 8,
 * });
 * const rows = [row(32, [16, 20], [8, 12]), row(100, [], []), row(200, [8, 4, 12], [50, 0, 30])];
 * // 32 + 16 + 8 + 20 + 12 = 88; 100; 200 + 8 + 50 + 4 + 0 + 12 + 30 = 304
 * assert.deepEqual(trieWorkingSet(rows, { concurrency: 2 }), { tokens: 404, items: 2 }); // 100 + 304
 * assert.equal(trieWorkingSet(rows, { concurrency: 4 }).tokens, 796); // 304 + 88 + 100 + 304
 * // 32 shared tokens, counted once: 32 + (100 - 32) + (304 - 32)
 * assert.equal(trieWorkingSet(rows, { concurrency: 2, sharedPrefixTokens: 32 }).tokens, 372);
 * assert.equal(trieWorkingSet(rows, { concurrency: 8, maxTraces: 1 }).tokens, 304);
 * assert.equal(trieWorkingSet(rows, { arrivalRate: 2 }).tokens, undefined);
 * ```
 */
export function trieWorkingSet(
  rows: readonly TraceRow[],
  options: TrieWorkingSetOptions,
): TraceWorkingSet {
  if (options.concurrency === undefined) {
    return {
      unknown:
        "arrival_rate: how many traces are in flight depends on the server's speed",
    };
  }
  const inFlight = Math.min(
    options.concurrency,
    options.maxTraces ?? Infinity,
  );
  const shared = options.sharedPrefixTokens ?? 0;
  const unique = rows.map((r) =>
    cumulativePromptTokens(r, r.num_turns) - shared
  );
  const all = unique.reduce((a, b) => a + b, 0);
  const laps = Math.floor(inFlight / rows.length);
  const rest = inFlight % rows.length;
  // The largest sum of `rest` consecutive rows, wrapping around.
  let window = 0;
  for (let k = 0; k < rest; k++) window += unique[k];
  let largest = window;
  for (let start = 1; start < rows.length && rest > 0; start++) {
    window += unique[(start + rest - 1) % rows.length] - unique[start - 1];
    largest = Math.max(largest, window);
  }
  return { tokens: shared + laps * all + largest, items: inFlight };
}

/**
 * How trie's pre-flight names its items and fixes.
 *
 * @example Usage
 * ```ts
 * import { TRIE_WORDING } from "./preflight.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(TRIE_WORDING.items, "traces in flight");
 * ```
 */
export const TRIE_WORDING: PreflightWording = {
  item: "trace in flight",
  items: "traces in flight",
  raise:
    "Raise concurrency= (or the traces' lengths) above the GPU's capacity to measure the offload tier.",
  exceeds:
    "an LRU tier then drops a trace's prefix before its next turn comes back: this run measures almost no offload hit",
  lower: "Lower concurrency= or enlarge the offload tier.",
  moreThanSlots: "Send more traces in flight than slots (concurrency=).",
};

/**
 * The model's KV size for trie's pre-flight, from `hf_config=`, `tp=` and
 * `kv_cache_dtype=` (as benchmark's `--hf-config`, `--tp`,
 * `--kv-cache-dtype`); a bad value is a one-line error.
 *
 * @example A model of the table at tp=2 in fp8
 * ```ts
 * import { trieModelKv } from "./preflight.ts";
 * import assert from "node:assert/strict";
 *
 * const { kv } = await trieModelKv(
 *   { model: "Qwen/Qwen3-30B-A3B-Instruct-2507", hf_config: null, tp: 2, kv_cache_dtype: "fp8", api_key: null },
 *   { baseUrl: "http://127.0.0.1:9/v1/", signal: AbortSignal.timeout(5000) },
 * );
 * assert.equal(kv?.bytesPerTokenPerRank, 24_576); // 2 × 48 × 2 heads × 128 × 1 B
 * assert.equal(kv?.bytesPerToken, 49_152);
 * ```
 */
export async function trieModelKv(
  v: KvValues,
  options: { baseUrl: string; signal: AbortSignal },
): Promise<ModelKvResult> {
  return await modelKv(v.model as string, {
    hfConfig: (v.hf_config as string | null) ?? undefined,
    tp: (v.tp as number | null) ?? undefined,
    kvCacheDtype: (v.kv_cache_dtype as string | null) ?? undefined,
    baseUrl: options.baseUrl,
    apiKey: (v.api_key as string | null) ?? Deno.env.get("OPENAI_API_KEY"),
    signal: options.signal,
  });
}

/** Options of {@linkcode triePreflight}. */
export interface TriePreflightOptions {
  /** The model's KV size. */
  kv: ModelKvResult;
  /** The server's capacities. */
  capacities: ServerCapacities;
  /** The level's traces in flight (closed loop). */
  concurrency?: number;
  /** The level's arrival rate (open loop). */
  arrivalRate?: number;
}

/**
 * trie's pre-flight of one level, printed as trie's log lines (warnings as
 * `warning`); the run goes on whatever it says.
 *
 * @example Two traces in flight: 404 tokens past 256 tokens of GPU KV
 * ```ts
 * import { triePreflight } from "./preflight.ts";
 * import assert from "node:assert/strict";
 *
 * const row = { num_turns: 0, input_prompt_length: 202, assistant_response_length: [],
 *   tool_call_output_length: [], tool_call_latency: [], final_assistant_response_length: 1 };
 * const p = triePreflight([row], { shared_prefix_tokens: null, max_traces: null }, {
 *   kv: { unknown: "KV bytes per token unknown" },
 *   capacities: { deviceKvTokens: 256, offloadKvTokens: 4096 },
 *   concurrency: 2,
 * });
 * assert.equal(p.verdict, "needs_offload");
 * assert.equal(p.record.working_set_tokens, 404);
 * ```
 */
export function triePreflight(
  rows: readonly TraceRow[],
  v: KvValues,
  options: TriePreflightOptions,
): TracePreflight {
  const workingSet = trieWorkingSet(rows, {
    concurrency: options.concurrency,
    arrivalRate: options.arrivalRate,
    maxTraces: (v.max_traces as number | null) ?? undefined,
    sharedPrefixTokens: (v.shared_prefix_tokens as number | null) ?? undefined,
  });
  return tracePreflight(workingSet, {
    kv: options.kv,
    capacities: options.capacities,
    wording: TRIE_WORDING,
  });
}

/**
 * trie's log lines of a pre-flight: `[WARN]` lines as warnings, the others
 * as info.
 *
 * @example Usage
 * ```ts
 * import { preflightLogLines } from "./preflight.ts";
 * import assert from "node:assert/strict";
 *
 * const text = preflightLogLines(["Pre-flight: working set 1 tokens", "[WARN] Too small."]);
 * assert.match(text, /^\[info {5}\] Pre-flight: working set 1 tokens\n\[warning {2}\] Too small\.\n$/);
 * ```
 */
export function preflightLogLines(lines: readonly string[]): string {
  return lines.map((line) =>
    line.startsWith("[WARN] ")
      ? logLine("warning", line.slice("[WARN] ".length))
      : logLine("info", line)
  ).map((l) => `${l}\n`).join("");
}
