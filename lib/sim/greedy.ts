/**
 * The simulator's answers as a function of the prompt: greedy decoding
 * (`temperature: 0`) and seeded sampling (`seed`) give the same tokens and
 * log-probabilities for the same prompt, whatever the cache holds, as a
 * correct engine does; and the fault that breaks this, KV restored from the
 * offload tier that changes the continuation (as LMCache #5151 did).
 *
 * @module
 */
import { type Random, seededRandom } from "../rng.ts";
import { blockHashes } from "./prefix_cache.ts";
import type { ParsedRequest } from "./protocol.ts";

export type { ParsedRequest } from "./protocol.ts";
export type { Random } from "../rng.ts";
import { SIM_WORDS } from "./words.ts";

/**
 * A 53-bit hash of a whole token sequence (with an optional seed), from the
 * prefix cache's block hash.
 *
 * @example Usage
 * ```ts
 * import { sequenceKey } from "./greedy.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(sequenceKey([1, 2, 3]), sequenceKey([1, 2, 3]));
 * assert.notEqual(sequenceKey([1, 2, 3]), sequenceKey([1, 2, 4]));
 * assert.notEqual(sequenceKey([1, 2, 3], 7), sequenceKey([1, 2, 3]));
 * ```
 */
export function sequenceKey(ids: ArrayLike<number>, seed = 0): number {
  if (ids.length === 0) return blockHashes([0], 1, { prev: seed })[0];
  return blockHashes(ids, ids.length, { prev: seed })[0];
}

/**
 * The generator of a request's length and words when they must not depend
 * on arrival order: greedy (`temperature: 0`, the seed then does not matter)
 * or seeded (`seed`). Undefined otherwise: the server draws from its own
 * arrival-ordered generator.
 *
 * @example Usage
 * ```ts
 * import { outputRandom } from "./greedy.ts";
 * import assert from "node:assert/strict";
 *
 * const a = outputRandom([5, 6, 7], { temperature: 0, simSeed: 0 })!;
 * const b = outputRandom([5, 6, 7], { temperature: 0, seed: 9, simSeed: 0 })!;
 * assert.equal(a.next(), b.next()); // greedy ignores the seed
 * assert.equal(outputRandom([5, 6, 7], { simSeed: 0 }), undefined);
 * ```
 */
export function outputRandom(
  promptIds: ArrayLike<number>,
  options: Pick<ParsedRequest, "temperature" | "seed"> & { simSeed: number },
): Random | undefined {
  const { simSeed } = options;
  const request = options;
  if (request.temperature === 0) {
    return seededRandom(sequenceKey(promptIds, simSeed));
  }
  if (request.seed !== undefined) {
    return seededRandom(
      sequenceKey(promptIds, simSeed) ^ (request.seed >>> 0),
    );
  }
  return undefined;
}

/**
 * Log-probabilities of the generated words: a function of the prompt, the
 * position and the word, in (-3, 0], rounded to 4 decimals.
 *
 * @example Usage
 * ```ts
 * import { wordLogprobs } from "./greedy.ts";
 * import assert from "node:assert/strict";
 *
 * const lp = wordLogprobs([1, 2], Uint8Array.of(3, 4));
 * assert.deepEqual(lp, wordLogprobs([1, 2], Uint8Array.of(3, 4)));
 * assert.ok(lp.every((v) => v <= 0 && v > -3));
 * ```
 */
export function wordLogprobs(
  promptIds: ArrayLike<number>,
  words: Uint8Array,
): number[] {
  const key = sequenceKey(promptIds);
  return Array.from(words, (w, i) => {
    const u = seededRandom(sequenceKey([w, i], key)).next();
    return -Math.round(u * 30_000) / 10_000;
  });
}

/**
 * Whether the corrupt-offload fault hits this prompt: a fixed draw per
 * prompt, so the same prompt is corrupted on every restore.
 *
 * @example Usage
 * ```ts
 * import { corruptsPrompt } from "./greedy.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(corruptsPrompt([1, 2, 3], 1), true);
 * assert.equal(corruptsPrompt([1, 2, 3], 0), false);
 * ```
 */
export function corruptsPrompt(
  promptIds: ArrayLike<number>,
  rate: number,
): boolean {
  if (rate <= 0) return false;
  return seededRandom(sequenceKey(promptIds, 0x5eed)).next() < rate;
}

/**
 * What KV gone wrong does to a continuation: every word from token `from`
 * (0-based) on is replaced by another one (never the same), and its
 * log-probability drops by 0.5. Changes the arrays in place.
 *
 * @example Usage
 * ```ts
 * import { corruptOutput } from "./greedy.ts";
 * import assert from "node:assert/strict";
 *
 * const words = Uint8Array.of(0, 1, 2), ids = [10, 11, 12], lp = [-1, -1, -1];
 * corruptOutput({ words, ids, logprobs: lp }, { from: 1, wordIds: [10, 11, 12, 13] });
 * assert.equal(words[0], 0);
 * assert.notEqual(words[1], 1);
 * assert.equal(ids[1], 10 + words[1]);
 * assert.deepEqual(lp, [-1, -1.5, -1.5]);
 * ```
 */
export function corruptOutput(
  output: { words: Uint8Array; ids: number[]; logprobs?: number[] },
  options: { from: number; wordIds: readonly number[] },
): void {
  const { words, ids, logprobs } = output;
  const count = SIM_WORDS.length;
  for (let i = options.from; i < words.length; i++) {
    words[i] = (words[i] + 1 + (i % (count - 1))) % count;
    ids[i] = options.wordIds[words[i]];
    if (logprobs) logprobs[i] = Math.round((logprobs[i] - 0.5) * 1e4) / 1e4;
  }
}

/**
 * The cache namespace of a request, as a hash chained before its first
 * block: vLLM's `cache_salt` (a different salt, a different namespace: vLLM
 * adds the salt to the extra keys of the first block's hash,
 * `vllm/v1/core/kv_cache_utils.py` `generate_block_hash_extra_keys`), and
 * llama.cpp's `cache_prompt: false` (nothing reused: a namespace of its own,
 * `uniqueId`). Undefined for the shared namespace.
 *
 * @example Usage
 * ```ts
 * import { cacheNamespace } from "./greedy.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(cacheNamespace({ cachePrompt: true }, 1), undefined);
 * assert.equal(
 *   cacheNamespace({ cacheSalt: "a", cachePrompt: true }, 1),
 *   cacheNamespace({ cacheSalt: "a", cachePrompt: true }, 2),
 * );
 * assert.notEqual(cacheNamespace({ cachePrompt: false }, 1), cacheNamespace({ cachePrompt: false }, 2));
 * ```
 */
export function cacheNamespace(
  request: Pick<ParsedRequest, "cacheSalt" | "cachePrompt">,
  uniqueId: number,
): number | undefined {
  const text = !request.cachePrompt
    ? `\0nocache ${uniqueId}`
    : request.cacheSalt === undefined
    ? undefined
    : `\0salt ${request.cacheSalt}`;
  if (text === undefined) return undefined;
  return sequenceKey(Array.from(text, (c) => c.codePointAt(0)!), 0xca5e);
}
