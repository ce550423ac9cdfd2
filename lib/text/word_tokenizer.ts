/**
 * A tokenizer whose vocabulary is a list of words: what the synthesizer
 * needs to write text of an exact length for any tokenizer that counts each
 * of the words as one token.
 *
 * @module
 */
import type { Tokenizer } from "./tokenizer.ts";

/**
 * A tokenizer whose ids are indices into `words` (each with its leading
 * space, `" word"`); any other text gets the id `words.length`, one per
 * character.
 *
 * @example Usage
 * ```ts
 * import { wordTokenizer } from "./word_tokenizer.ts";
 * import assert from "node:assert/strict";
 *
 * const tokenizer = wordTokenizer("two", [" hello", " world"]);
 * assert.deepEqual(tokenizer.encode(" world hello"), [1, 0]);
 * assert.equal(tokenizer.decode([0, 1]), " hello world");
 * assert.equal(tokenizer.vocabSize, 2);
 * ```
 */
export function wordTokenizer(
  name: string,
  words: readonly string[],
): Tokenizer {
  const index = new Map(words.map((w, i) => [w, i]));
  return {
    name,
    vocabSize: words.length,
    encode(text: string): number[] {
      return (text.match(/ [a-z]+|[^]/g) ?? []).map((piece) =>
        index.get(piece) ?? words.length
      );
    },
    decode(ids: number[]): string {
      return ids.map((id) => words[id] ?? "").join("");
    },
  };
}
