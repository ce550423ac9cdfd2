/**
 * Where the run's prompt tokens came from, as the server counted them:
 * computed (prefill), the device (GPU) prefix cache, or an offload tier;
 * shown beside what the client saw in `usage.prompt_tokens_details`, with
 * the disagreement said when they differ.
 *
 * @module
 */
import type { EngineName, TierCounters } from "./engines.ts";

/** The server's split of the prompt tokens over a run. */
export interface PromptSplit {
  /** Prompt tokens the server processed. */
  prompt: number;
  /** Computed (prefilled). */
  computed: number;
  /** Served from the device (GPU) prefix cache; undefined when the engine does not say which tier. */
  device?: number;
  /** Served from an offload tier; undefined when the engine does not say which tier. */
  offload?: number;
  /** Served from a cache whose tier the engine does not name (llama.cpp, SGLang's `total`). */
  cached?: number;
}

/**
 * The server's split of a run's prompt tokens from its counter deltas, or
 * undefined when the counters do not say enough.
 *
 * @example A vLLM with an offload connector, over one run
 * ```ts
 * import { promptSplit } from "./attribution.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   promptSplit({ promptTokens: 1000, computedTokens: 100, deviceHitTokens: 160, offloadHitTokens: 740 }),
 *   { prompt: 1000, computed: 100, device: 160, offload: 740 },
 * );
 * assert.equal(promptSplit({}), undefined);
 * ```
 */
export function promptSplit(counters: TierCounters): PromptSplit | undefined {
  const device = counters.deviceHitTokens;
  const offload = counters.offloadHitTokens;
  const cached = counters.cachedTokens;
  let prompt = counters.promptTokens;
  let computed = counters.computedTokens;
  const hits = (device ?? 0) + (offload ?? 0) + (cached ?? 0);
  if (prompt === undefined && computed !== undefined) prompt = computed + hits;
  if (prompt === undefined) return undefined;
  computed ??= Math.max(0, prompt - hits);
  const split: PromptSplit = { prompt, computed };
  if (device !== undefined || offload !== undefined) {
    split.device = device ?? 0;
    split.offload = offload ?? 0;
  }
  if (cached !== undefined) split.cached = cached;
  return split;
}

/** Options of {@linkcode renderAttribution}. */
export interface AttributionOptions {
  /** The engines whose metrics were read. */
  engines?: readonly EngineName[];
  /** Σ `usage.prompt_tokens` the client saw over the same requests. */
  clientPromptTokens?: number;
  /** Σ `cached_tokens` the client saw; undefined when the server reported none. */
  clientCachedTokens?: number;
}

const pct = (part: number, whole: number): string =>
  whole > 0 ? `${(part / whole * 100).toFixed(1)}%` : "-";
const n = (x: number): string => Math.round(x).toLocaleString("en-US");

/**
 * The split as lines of text: the server's view, the client's beside it,
 * and their disagreement when the cached shares differ by more than one
 * point.
 *
 * @example Usage
 * ```ts
 * import { renderAttribution } from "./attribution.ts";
 * import assert from "node:assert/strict";
 *
 * const lines = renderAttribution(
 *   { prompt: 1000, computed: 100, device: 160, offload: 740 },
 *   { engines: ["vllm"], clientPromptTokens: 1000, clientCachedTokens: 900 },
 * );
 * assert.equal(
 *   lines[0],
 *   "KV source (server counters, vllm): 1,000 prompt tokens: 10.0% computed, 16.0% GPU prefix cache, 74.0% offload tier",
 * );
 * assert.equal(lines[1], "Client usage: 1,000 prompt tokens, 90.0% reported cached");
 * assert.equal(lines.length, 2); // they agree
 * ```
 */
export function renderAttribution(
  split: PromptSplit,
  options: AttributionOptions = {},
): string[] {
  const engines = options.engines?.length
    ? `, ${options.engines.join(" + ")}`
    : "";
  const parts = [`${pct(split.computed, split.prompt)} computed`];
  if (split.device !== undefined) {
    parts.push(`${pct(split.device, split.prompt)} GPU prefix cache`);
  }
  if (split.offload !== undefined) {
    parts.push(`${pct(split.offload, split.prompt)} offload tier`);
  }
  if (split.cached !== undefined) {
    parts.push(`${pct(split.cached, split.prompt)} cached (tier not reported)`);
  }
  const lines = [
    `KV source (server counters${engines}): ${n(split.prompt)} prompt tokens: ${
      parts.join(", ")
    }`,
  ];
  const prompt = options.clientPromptTokens;
  if (prompt === undefined) return lines;
  const cached = options.clientCachedTokens;
  lines.push(
    `Client usage: ${n(prompt)} prompt tokens, ${
      cached === undefined
        ? "cached tokens not reported"
        : `${pct(cached, prompt)} reported cached`
    }`,
  );
  if (cached !== undefined && prompt > 0 && split.prompt > 0) {
    const server = (split.prompt - split.computed) / split.prompt;
    const client = cached / prompt;
    if (Math.abs(server - client) > 0.01) {
      lines.push(
        `The server and the client disagree: ${
          pct(split.prompt - split.computed, split.prompt)
        } of prompt tokens served from cache by the server's counters, ${
          pct(cached, prompt)
        } by cached_tokens (other traffic on the server, requests in flight at the scrape, or a counter the engine fills differently)`,
      );
    }
  }
  return lines;
}
