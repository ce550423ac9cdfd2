import { strictEqual } from "node:assert/strict";
import { QWEN3_WORDS } from "./qwen3_words.ts";
import { qwen3Tokenizer } from "../testing/tokenizers.ts";
import { bundledTokenizer } from "./bundled_tokenizer.ts";
import { createSynthesizer } from "./synth.ts";

Deno.test("the bundled words are one Qwen3 token each, alone and joined", () => {
  const tokenizer = qwen3Tokenizer();
  strictEqual(QWEN3_WORDS.length, 6000);
  strictEqual(new Set(QWEN3_WORDS).size, 6000);
  const split = QWEN3_WORDS.filter((w) => tokenizer.encode(w).length !== 1);
  strictEqual(split.length, 0, split.slice(0, 10).join("|"));
  strictEqual(tokenizer.encode(QWEN3_WORDS.join("")).length, 6000);
});

Deno.test("the bundled tokenizer synthesizes exact Qwen3 lengths with both methods", () => {
  const qwen3 = qwen3Tokenizer();
  for (const method of ["pool", "random"] as const) {
    const synth = createSynthesizer(bundledTokenizer(), { seed: 3, method });
    strictEqual(synth.method, method);
    for (const n of [1, 17, 4096]) {
      strictEqual(qwen3.encode(synth.text(n)).length, n, `${method} ${n}`);
    }
  }
});
