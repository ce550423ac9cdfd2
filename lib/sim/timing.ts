/**
 * The simulator's timing model, as pure functions of model time (ms):
 *
 * - prefill of one request = uncached tokens / prefill rate + tokens loaded
 *   from the offload tier / load rate; prefills run one at a time, in
 *   admission order, so TTFT = queueing (waiting for admission and for the
 *   prefills ahead) + that request's prefill;
 * - the inter-token time of every decoding sequence is
 *   `itlBaseMs + itlPerSeqMs × (sequences decoding)`, as one continuous
 *   batch whose step time grows with its size.
 *
 * @module
 */

/** Rates of the timing model. */
export interface TimingModel {
  /** Prompt tokens computed per second by prefill. */
  prefillTokensPerS: number;
  /** Cached tokens loaded per second from the offload tier into GPU. */
  loadTokensPerS: number;
  /** Inter-token time of a lone sequence, before the per-sequence growth (ms). */
  itlBaseMs: number;
  /** Growth of the inter-token time per decoding sequence (ms). */
  itlPerSeqMs: number;
}

/**
 * Duration of one request's prefill (ms): compute what is not cached, load
 * what sits in the offload tier; GPU hits cost nothing.
 *
 * @example Usage
 * ```ts
 * import { prefillMs } from "./timing.ts";
 * import assert from "node:assert/strict";
 *
 * const model = { prefillTokensPerS: 20_000, loadTokensPerS: 250_000, itlBaseMs: 6, itlPerSeqMs: 0.5 };
 * assert.equal(prefillMs(32_000, 0, model), 1600); // cold: 32,000 / 20,000 tokens/s
 * assert.equal(prefillMs(8, 32_000, model), 128.4); // hit in the offload tier: 8 computed, 32,000 loaded
 * ```
 */
export function prefillMs(
  uncachedTokens: number,
  offloadHitTokens: number,
  model: TimingModel,
): number {
  return (uncachedTokens / model.prefillTokensPerS +
    offloadHitTokens / model.loadTokensPerS) * 1000;
}

/**
 * Inter-token time (ms) while `decoding` sequences share the batch.
 *
 * @example Usage
 * ```ts
 * import { interTokenMs } from "./timing.ts";
 * import assert from "node:assert/strict";
 *
 * const model = { prefillTokensPerS: 20_000, loadTokensPerS: 250_000, itlBaseMs: 6, itlPerSeqMs: 0.5 };
 * assert.equal(interTokenMs(1, model), 6.5); // 6 + 0.5 × 1
 * assert.equal(interTokenMs(10, model), 11); // 6 + 0.5 × 10
 * ```
 */
export function interTokenMs(decoding: number, model: TimingModel): number {
  return model.itlBaseMs + model.itlPerSeqMs * decoding;
}
