import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { qwen3Tokenizer } from "../testing/tokenizers.ts";
import { approximateTokenIds } from "./token_count.ts";
import { SIM_WORDS } from "./words.ts";

const count = (text: string): number => approximateTokenIds(text).length;

Deno.test("approximateTokenIds cuts text as its module doc says", () => {
  strictEqual(count("tell me a long story"), 5); // tell| me| a| long| story
  strictEqual(count("hi".repeat(1000)), 1000); // a repeated unit: one token each
  strictEqual(count("12345"), 5); // digits one by one
  strictEqual(count("\n\n\n"), 1); // a run of newlines
  strictEqual(count("   x"), 2); // "  " + " x"
  strictEqual(count("abcdefghijklmnopqrstuvwxy"), 3); // letters in tokens of at most 10
  strictEqual(count("!!!!!!!!!"), 3); // punctuation in tokens of at most 4
  strictEqual(count("日本語の文章"), 2); // non-ASCII in tokens of at most 3
  strictEqual(count(""), 0);
});

Deno.test("approximateTokenIds keeps prefixes: a shared prefix gives shared leading ids", () => {
  const a = approximateTokenIds("The quick brown fox jumps over the lazy dog");
  const b = approximateTokenIds("The quick brown fox sleeps");
  deepStrictEqual(Array.from(a.slice(0, 4)), Array.from(b.slice(0, 4)));
  ok(a[4] !== b[4]);
  deepStrictEqual(
    approximateTokenIds("same text"),
    approximateTokenIds("same text"),
  );
});

Deno.test("approximateTokenIds against the real Qwen3 tokenizer: tmesh prompts exact, output words one token", () => {
  const qwen = qwen3Tokenizer();
  const prompt = "0" + "hi".repeat(32000) + "5tell me a long story";
  strictEqual(count(prompt), 32_007);
  strictEqual(qwen.encode(prompt).length, 32_007);
  for (const word of SIM_WORDS) {
    strictEqual(
      qwen.encode(word).length,
      1,
      `${JSON.stringify(word)} is one Qwen3 token`,
    );
    strictEqual(count(word), 1);
  }
  const prose =
    "Prefix caching lets the engine skip the prefill of tokens it has seen before. " +
    "With an offload tier, blocks evicted from GPU memory are kept in CPU memory and loaded back.";
  const ratio = count(prose) / qwen.encode(prose).length;
  ok(ratio >= 0.9 && ratio <= 1.2, `prose ratio ${ratio}`);
});
