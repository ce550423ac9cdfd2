/**
 * Synthetic prompt text of an exact token length, seeded.
 *
 * Two methods:
 * - `"random"` is trie's original: draw n ids from `[0, vocabSize)`, decode,
 *   re-encode, and repair at most 10 rounds (too short: append fresh random
 *   ids to the re-encoded ids; too long: truncate them to n); if the length
 *   still differs, the best effort is returned and a warning is counted.
 *   Exact in most cases, but slow (two full encodes per round).
 * - `"pool"` (default) draws from a pool of vocabulary words that encode to
 *   themselves alone and when concatenated: `" word"` pieces (a space then
 *   letters, for GPT-style byte-level tokenizers, joined without separator),
 *   or else `"word"` pieces joined by single spaces (SentencePiece-style
 *   tokenizers). The pool is checked once at construction by encoding a long
 *   concatenation of all of it; n draws then give exactly n tokens without any
 *   encoding. Without a usable pool it falls back to `"random"`.
 *
 * @module
 */

import { type Random, seededRandom } from "../rng.ts";
import type { Tokenizer } from "./tokenizer.ts";

/** A synthesis that missed its target length (method `"random"` only). */
export interface SynthesisWarning {
  /** One line, as trie logs it. */
  message: string;
  /** Tokens asked for. */
  target: number;
  /** Tokens the returned text encodes to. */
  length: number;
  /** Repair rounds run. */
  rounds: number;
}

/** Options of {@linkcode createSynthesizer}. */
export interface SynthesizerOptions {
  /** Seed of the random draws (default: a random seed). */
  seed?: number;
  /** `"pool"` (default; falls back to `"random"` if unusable) or `"random"`. */
  method?: "pool" | "random";
  /** Repair rounds of the `"random"` method (default 10, as trie). */
  maxRounds?: number;
  /** Called when a `"random"` synthesis returns a best effort. */
  onWarning?: (warning: SynthesisWarning) => void;
}

/** Makes prompt text of an exact token length. */
export interface Synthesizer {
  /** Text that the tokenizer encodes to exactly `tokens` ids (`""` for 0). */
  text(tokens: number): string;
  /** The method in use: `"pool"`, or `"random"` (asked for or fallen back to). */
  readonly method: "pool" | "random";
  /** Words in the pool (0 with the `"random"` method). */
  readonly poolSize: number;
  /** Syntheses that returned a best effort of another length so far. */
  readonly warnings: number;
}

/** How many pool words to look for; enough variety, and quick to verify. */
const POOL_TARGET = 4096;

/**
 * Make a seeded synthesizer of exact-length text for `tokenizer`. The same
 * seed and the same sequence of calls give the same texts.
 *
 * @example Usage
 * ```ts
 * import { createSynthesizer } from "./synth.ts";
 * import { qwen3Tokenizer } from "../testing/tokenizers.ts";
 * import assert from "node:assert/strict";
 *
 * const tokenizer = qwen3Tokenizer(); // or: await loadTokenizer("Qwen/Qwen3-8B")
 * const synth = createSynthesizer(tokenizer, { seed: 42 });
 * const prompt = synth.text(8192);
 * assert.equal(tokenizer.encode(prompt).length, 8192);
 * // The same seed gives the same text.
 * assert.equal(createSynthesizer(tokenizer, { seed: 42 }).text(8192), prompt);
 * ```
 */
export function createSynthesizer(
  tokenizer: Tokenizer,
  options: SynthesizerOptions = {},
): Synthesizer {
  const rng = seededRandom(options.seed);
  const pool = options.method === "random" ? undefined : buildPool(tokenizer);
  if (pool !== undefined) return poolSynthesizer(pool, rng);
  return randomSynthesizer(tokenizer, rng, options);
}

interface Pool {
  words: string[];
  separator: string;
}

function poolSynthesizer(pool: Pool, rng: Random): Synthesizer {
  const { words, separator } = pool;
  const size = words.length;
  return {
    method: "pool",
    poolSize: size,
    warnings: 0,
    text(tokens: number): string {
      checkCount(tokens);
      const parts = new Array<string>(tokens);
      for (let i = 0; i < tokens; i++) parts[i] = words[rng.int(size)];
      return parts.join(separator);
    },
  };
}

function randomSynthesizer(
  tokenizer: Tokenizer,
  rng: Random,
  options: SynthesizerOptions,
): Synthesizer {
  const maxRounds = options.maxRounds ?? 10;
  const vocabSize = tokenizer.vocabSize;
  const randomIds = (ids: number[], count: number): number[] => {
    for (let i = 0; i < count; i++) ids.push(rng.int(vocabSize));
    return ids;
  };
  let warnings = 0;
  return {
    method: "random",
    poolSize: 0,
    get warnings(): number {
      return warnings;
    },
    text(tokens: number): string {
      checkCount(tokens);
      if (tokens === 0) return "";
      let text = tokenizer.decode(randomIds([], tokens));
      let ids = tokenizer.encode(text);
      let rounds = 0;
      while (ids.length !== tokens && rounds < maxRounds) {
        ids = ids.length < tokens
          ? randomIds(ids, tokens - ids.length)
          : ids.slice(0, tokens);
        text = tokenizer.decode(ids);
        ids = tokenizer.encode(text);
        rounds++;
      }
      if (ids.length !== tokens) {
        warnings++;
        options.onWarning?.({
          message: `Failed to synthesize prompt for '${tokenizer.name}': ` +
            `target_length=${tokens}, final_length=${ids.length}, ` +
            `repair_rounds=${rounds}, max_rounds=${maxRounds}. ` +
            `Returning best effort result.`,
          target: tokens,
          length: ids.length,
          rounds,
        });
      }
      return text;
    },
  };
}

function checkCount(tokens: number): void {
  if (!Number.isSafeInteger(tokens) || tokens < 0) {
    throw new RangeError(
      `Cannot synthesize text of ${tokens} tokens: not a whole number >= 0`,
    );
  }
}

/**
 * The words of a verified pool, or undefined. `" word"` pieces joined by
 * nothing suit byte-level BPE (GPT-2, Llama 3, Qwen, GPT-OSS), whose
 * pre-tokenizers split before each space+letters run; `"word"` pieces joined
 * by a space suit Metaspace and WordPiece tokenizers.
 */
function buildPool(tokenizer: Tokenizer): Pool | undefined {
  const forms: Array<{ pattern: RegExp; separator: string }> = [
    { pattern: /^ \p{L}+$/u, separator: "" },
    { pattern: /^\p{L}+$/u, separator: " " },
  ];
  const vocabSize = tokenizer.vocabSize;
  if (vocabSize < 2) return undefined;
  // Visit ids in a fixed stride order, so the pool spans the whole
  // vocabulary rather than only its most frequent (shortest) head.
  let stride = Math.max(1, Math.floor(vocabSize * 0.6180339887));
  while (gcd(stride, vocabSize) !== 1) stride++;
  for (const { pattern, separator } of forms) {
    const ids: number[] = [];
    const words: string[] = [];
    for (let k = 0, id = 0; k < vocabSize && ids.length < POOL_TARGET; k++) {
      id = (id + stride) % vocabSize;
      const word = tokenizer.decode([id]);
      if (!pattern.test(word)) continue;
      const alone = tokenizer.encode(word);
      if (alone.length !== 1 || alone[0] !== id) continue;
      ids.push(id);
      words.push(word);
    }
    if (ids.length < 2) continue;
    const together = tokenizer.encode(words.join(separator));
    if (
      together.length === ids.length && together.every((id, i) => id === ids[i])
    ) {
      return { words, separator };
    }
  }
  return undefined;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
