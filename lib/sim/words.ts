/**
 * The simulator's generated text: seeded picks from 64 common English words,
 * each with a leading space, one word per token. Each is a single token for
 * the Qwen3 tokenizer and for the approximation of `token_count.ts`, so the
 * text a client appends to its next prompt re-tokenizes to what the engine
 * cached.
 *
 * @module
 */
import type { Random } from "../rng.ts";

/** The output vocabulary (leading space included). */
export const SIM_WORDS: readonly string[] = (
  "the a of and to in that it was for on with as his he at by from they this had not but what " +
  "all were when we there can an your which their said if will each about how up out them then " +
  "she many some so these would other into has more her two like him see time could no make than"
).split(" ").map((w) => " " + w);

/**
 * Indices into {@linkcode SIM_WORDS} of `count` generated tokens.
 *
 * @example Usage
 * ```ts
 * import { generateWords, SIM_WORDS } from "./words.ts";
 * import { seededRandom } from "../rng.ts";
 * import assert from "node:assert/strict";
 *
 * const picks = generateWords(seededRandom(7), 3);
 * // Three words, the same for seed 7 every time.
 * assert.equal(Array.from(picks, (i) => SIM_WORDS[i]).join(""), " he which there");
 * ```
 */
export function generateWords(rng: Random, count: number): Uint8Array {
  const picks = new Uint8Array(count);
  for (let i = 0; i < count; i++) picks[i] = rng.int(SIM_WORDS.length);
  return picks;
}
