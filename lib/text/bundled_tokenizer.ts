/**
 * The tokenizer kvbench bundles, for runs that cannot reach the Hugging Face
 * Hub (`tokenizer_model=bundled`): not Qwen3's 11 MB tokenizer itself but
 * 6,000 words it counts as one token each (`qwen3_words.ts`), which is all
 * the synthesizer needs. Prompts made of them are exact for Qwen3 models; for
 * others, the run compares the prompt lengths with the server's
 * `usage.prompt_tokens` (`tokenizer_model=server` is exact for any server
 * with a `/tokenize`).
 *
 * @module
 */
import type { Tokenizer } from "./tokenizer.ts";
import { QWEN3_WORDS } from "./qwen3_words.ts";
import { wordTokenizer } from "./word_tokenizer.ts";

/** The name `tokenizer_model=` takes for the bundled tokenizer. */
export const BUNDLED_TOKENIZER = "bundled";

/**
 * The bundled tokenizer: the Qwen3 single-token words.
 *
 * @example Usage
 * ```ts
 * import { bundledTokenizer } from "./bundled_tokenizer.ts";
 * import { createSynthesizer } from "./synth.ts";
 * import { qwen3Tokenizer } from "../testing/tokenizers.ts";
 * import assert from "node:assert/strict";
 *
 * const text = createSynthesizer(bundledTokenizer(), { seed: 1 }).text(2000);
 * assert.equal(qwen3Tokenizer().encode(text).length, 2000); // exact for Qwen3
 * ```
 */
export function bundledTokenizer(): Tokenizer {
  return wordTokenizer("bundled (Qwen3 words)", QWEN3_WORDS);
}
