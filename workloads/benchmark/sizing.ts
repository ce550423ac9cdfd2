/**
 * The sizing of `kvbench benchmark` (tmesh-cli's "Workload Specifications"):
 * as many long contexts as fill 90 % of the offload tier, as many questions,
 * and a third of the contexts in flight.
 *
 * @module
 */

/** The sized workload: tmesh-cli's "Workload Specifications". */
export interface BenchmarkSizing {
  /** Model name. */
  model: string;
  /** Offload capacity, GiB. */
  offloadSizeGib: number;
  /** KV bytes per token. */
  bytesPerToken: number;
  /** Number of contexts (= questions). */
  contexts: number;
  /** Size of the shared question pool. */
  questions: number;
  /** Requests in flight at most. */
  maxInFlight: number;
  /** Tokens per context. */
  inputLength: number;
  /** `max_tokens` per request. */
  outputLength: number;
}

/**
 * The most contexts a workload is sized to: more would need a third as many
 * connections in flight and hold every prompt in memory, and only comes of an
 * input length far too short for the offload tier.
 */
export const MAX_CONTEXTS = 100_000;

/** Options of {@linkcode sizeBenchmark}. */
export interface SizeBenchmarkOptions {
  /** Offload capacity, GiB. */
  offloadSizeGib: number;
  /** KV bytes per token of the model. */
  bytesPerToken: number;
  /** Tokens per context (default 32 000). */
  inputLength?: number;
  /** `max_tokens` per request (default 100). */
  outputLength?: number;
  /** Share of the offload tier the contexts fill (default 0.9). */
  fillRatio?: number;
}

/**
 * Size the workload as tmesh-cli: contexts = floor(0.9 × offload /
 * (bytes per token × input length / 1024³)), questions = contexts, in flight
 * = floor(contexts / 3) but at least 1 (tmesh-cli hung below 3 contexts);
 * more than {@linkcode MAX_CONTEXTS} contexts is a `RangeError`.
 *
 * @example Qwen3-30B-A3B with a 100 GiB offload tier
 * ```ts
 * import { sizeBenchmark } from "./sizing.ts";
 * import assert from "node:assert/strict";
 *
 * const s = sizeBenchmark("Qwen/Qwen3-30B-A3B-Instruct-2507", {
 *   offloadSizeGib: 100,
 *   bytesPerToken: 98304,
 * });
 * // 0.9 × 100 / (98 304 × 32 000 / 1024³ = 2.93 GiB) = 30.7 contexts
 * assert.deepEqual([s.contexts, s.questions, s.maxInFlight], [30, 30, 10]);
 * ```
 */
export function sizeBenchmark(
  model: string,
  options: SizeBenchmarkOptions,
): BenchmarkSizing {
  const {
    offloadSizeGib,
    bytesPerToken,
    inputLength = 32000,
    outputLength = 100,
    fillRatio = 0.9,
  } = options;
  if (!(offloadSizeGib > 0)) {
    throw new RangeError(
      `Cannot size the workload: offload size ${offloadSizeGib} GiB must be positive`,
    );
  }
  if (!(bytesPerToken > 0)) {
    throw new RangeError(
      `Cannot size the workload: bytes per token ${bytesPerToken} must be positive`,
    );
  }
  const perContextGib = bytesPerToken * inputLength / 1024 ** 3;
  const contexts = Math.floor((fillRatio * offloadSizeGib) / perContextGib);
  if (contexts < 1) {
    throw new RangeError(
      `Cannot size the workload: one ${inputLength}-token context (${
        perContextGib.toFixed(2)
      } GiB) does not fit in ${fillRatio} × ${offloadSizeGib} GiB`,
    );
  }
  if (contexts > MAX_CONTEXTS) {
    throw new RangeError(
      `Cannot size the workload: ${contexts} contexts of ${inputLength} tokens (more than ${MAX_CONTEXTS}, with ${
        Math.floor(contexts / 3)
      } requests in flight) would fill ${fillRatio} × ${offloadSizeGib} GiB: give a longer input length or a smaller offload size`,
    );
  }
  return {
    model,
    offloadSizeGib,
    bytesPerToken,
    contexts,
    questions: contexts,
    maxInFlight: Math.max(1, Math.floor(contexts / 3)),
    inputLength,
    outputLength,
  };
}

/**
 * tmesh-cli's "Workload Specifications" block (without the NOTE banner).
 *
 * @example Usage
 * ```ts
 * import { renderBenchmarkSpec, sizeBenchmark } from "./sizing.ts";
 * import assert from "node:assert/strict";
 *
 * const text = renderBenchmarkSpec(
 *   sizeBenchmark("m", { offloadSizeGib: 100, bytesPerToken: 98304 }),
 * );
 * assert.equal(text.split("\n")[2], "Number of Contexts: 30");
 * ```
 */
export function renderBenchmarkSpec(sizing: BenchmarkSizing): string {
  return [
    "Workload Specifications:",
    `Model: ${sizing.model}`,
    `Number of Contexts: ${sizing.contexts}`,
    `Number of Questions per Context: ${sizing.questions}`,
    `Max Inflight Requests (Load-Balancing): ${sizing.maxInFlight}`,
    `Input Length: ${sizing.inputLength}`,
    `Output Length: ${sizing.outputLength}`,
    "",
  ].join("\n");
}
