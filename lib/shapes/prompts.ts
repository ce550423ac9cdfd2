/**
 * Prompt sources that need no tokenizer: fixed text, and the repeated-word
 * long contexts of tmesh-cli.
 *
 * @module
 */

/** Options of {@linkcode repeatedWordContexts}. */
export interface RepeatedWordOptions {
  /** Repetitions of the word per context (about one token each). */
  tokens: number;
  /** The word (default `"hi"`). */
  word?: string;
  /** Between repetitions, and after the index (default none, as tmesh-cli). */
  separator?: string;
  /**
   * A tag put at the very start of every context, followed by `-` (default
   * none, as tmesh-cli): contexts with another salt share no first token
   * with these, so no engine finds them in its prefix cache.
   */
  salt?: string;
}

/**
 * `count` long contexts: context i is `String(i)` followed by `word`
 * repeated `tokens` times (tmesh-cli: `"hi"` × 32000, no separator; about one
 * token per repetition with Qwen3 and o200k tokenizers). The leading index
 * makes every context's first token different, so no two share a prefix.
 * With a `salt`, context i is `salt + "-" + String(i)` followed by the words:
 * the salt comes first, so the texts of two salts differ from the first
 * token on, and the index after it keeps the contexts distinct.
 *
 * @example Usage
 * ```ts
 * import { repeatedWordContexts } from "./prompts.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(repeatedWordContexts(2, { tokens: 3 }), ["0hihihi", "1hihihi"]);
 * assert.deepEqual(repeatedWordContexts(2, { tokens: 1, salt: "42" }), ["42-0hi", "42-1hi"]);
 * ```
 */
export function repeatedWordContexts(
  count: number,
  options: RepeatedWordOptions,
): string[] {
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(
      `Cannot make ${count} contexts: expected a non-negative integer`,
    );
  }
  const { tokens, word = "hi", separator = "", salt } = options;
  const body = separator === ""
    ? word.repeat(tokens)
    : Array(tokens).fill(word).join(separator);
  const lead = separator === "" ? "" : separator;
  const head = salt === undefined ? "" : `${salt}-`;
  return Array.from({ length: count }, (_, i) => `${head}${i}${lead}${body}`);
}

/** Options of {@linkcode numberedQuestions}. */
export interface NumberedQuestionsOptions {
  /** The text after the number (default `"tell me a long story"`). */
  text?: string;
}

/**
 * `count` short questions: `String(j) + text` (tmesh-cli:
 * `"17tell me a long story"`).
 *
 * @example Usage
 * ```ts
 * import { numberedQuestions } from "./prompts.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(numberedQuestions(2), ["0tell me a long story", "1tell me a long story"]);
 * ```
 */
export function numberedQuestions(
  count: number,
  options: NumberedQuestionsOptions = {},
): string[] {
  const text = options.text ?? "tell me a long story";
  return Array.from({ length: count }, (_, j) => `${j}${text}`);
}
