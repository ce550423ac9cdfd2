import assert from "node:assert/strict";
import { createSynthesizer, type SynthesisWarning } from "./synth.ts";
import { type Tokenizer, tokenizerFromJson } from "./tokenizer.ts";
import { seededRandom } from "../rng.ts";
import { gptossTokenizer, qwen3Tokenizer } from "../testing/tokenizers.ts";

const qwen3 = qwen3Tokenizer;

const LENGTHS = [1, 7, 100, 8192];

/** A character tokenizer: every character of `alphabet` is one token. */
function charTokenizer(
  alphabet: string,
  options: { extraToken?: boolean } = {},
): Tokenizer {
  return {
    name: "chars",
    vocabSize: alphabet.length,
    encode: (text) => {
      const ids = [...text].map((c) => alphabet.indexOf(c));
      if (options.extraToken) ids.push(0); // never the length it should be
      return ids;
    },
    decode: (ids) => ids.map((id) => alphabet[id]).join(""),
  };
}

Deno.test("pool method: Qwen3 texts of 0, 1, 7, 100 and 8192 tokens encode to exactly that many", () => {
  const tokenizer = qwen3();
  const synth = createSynthesizer(tokenizer, { seed: 1 });
  assert.equal(synth.method, "pool");
  assert.equal(synth.poolSize, 4096);
  assert.equal(synth.text(0), "");
  for (const n of LENGTHS) {
    assert.equal(tokenizer.encode(synth.text(n)).length, n, `n = ${n}`);
  }
  const rng = seededRandom(5);
  for (let i = 0; i < 100; i++) {
    const n = 1 + rng.int(3000);
    assert.equal(tokenizer.encode(synth.text(n)).length, n, `n = ${n}`);
  }
  assert.equal(synth.warnings, 0);
});

Deno.test("random method (trie's original): Qwen3 texts of 1, 7, 100 and 8192 tokens are exact", () => {
  const tokenizer = qwen3();
  const warnings: SynthesisWarning[] = [];
  const synth = createSynthesizer(tokenizer, {
    seed: 7,
    method: "random",
    onWarning: (warning) => warnings.push(warning),
  });
  assert.equal(synth.method, "random");
  assert.equal(synth.poolSize, 0);
  assert.equal(synth.text(0), "");
  for (const n of LENGTHS) {
    assert.equal(tokenizer.encode(synth.text(n)).length, n, `n = ${n}`);
  }
  assert.equal(synth.warnings, 0);
  assert.deepEqual(warnings, []);
});

Deno.test("pool and random methods: GPT-OSS (o200k) texts are exact", () => {
  const tokenizer = gptossTokenizer();
  const pool = createSynthesizer(tokenizer, { seed: 3 });
  assert.equal(pool.method, "pool");
  for (const n of LENGTHS) {
    assert.equal(tokenizer.encode(pool.text(n)).length, n, `pool, n = ${n}`);
  }
  const random = createSynthesizer(tokenizer, { seed: 3, method: "random" });
  for (const n of [1, 7, 100]) {
    assert.equal(
      tokenizer.encode(random.text(n)).length,
      n,
      `random, n = ${n}`,
    );
  }
  assert.equal(random.warnings, 0);
});

Deno.test("both methods are deterministic for a seed and differ between seeds", () => {
  const tokenizer = qwen3();
  for (const method of ["pool", "random"] as const) {
    const run = (seed: number): string[] => {
      const synth = createSynthesizer(tokenizer, { seed, method });
      return [5, 50, 1, 300].map((n) => synth.text(n));
    };
    const first = run(42);
    assert.deepEqual(run(42), first, method);
    assert.notDeepEqual(run(43), first, method);
  }
});

Deno.test("pool method: successive calls give different texts", () => {
  const synth = createSynthesizer(qwen3(), { seed: 9 });
  const texts = new Set(Array.from({ length: 20 }, () => synth.text(16)));
  assert.equal(texts.size, 20);
});

Deno.test("pool method: a SentencePiece/WordPiece-style tokenizer gets words joined by spaces", () => {
  const tiny = tokenizerFromJson({
    model: {
      type: "WordPiece",
      vocab: { "[UNK]": 0, hello: 1, world: 2, foo: 3, "##s": 4 },
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
    },
    pre_tokenizer: { type: "Whitespace" },
    decoder: { type: "WordPiece", prefix: "##", cleanup: false },
  });
  const synth = createSynthesizer(tiny, { seed: 1 });
  assert.equal(synth.method, "pool");
  assert.equal(synth.poolSize, 3); // hello, world, foo; not [UNK] or ##s
  const text = synth.text(6);
  const words = text.split(" ");
  assert.equal(words.length, 6);
  for (const word of words) assert.ok(["hello", "world", "foo"].includes(word));
  assert.equal(tiny.encode(text).length, 6);
});

Deno.test("pool method falls back to random when concatenated words do not keep their ids", () => {
  // "a" and "b" are one token each alone, but "a b" is three (the space is a token).
  const tokenizer = charTokenizer("ab ");
  const synth = createSynthesizer(tokenizer, { seed: 1 });
  assert.equal(synth.method, "random");
  assert.equal(synth.poolSize, 0);
  for (const n of [1, 7, 100]) {
    assert.equal(tokenizer.encode(synth.text(n)).length, n);
  }
});

Deno.test("pool method falls back to random when no token is a word", () => {
  const synth = createSynthesizer(charTokenizer("0123456789"), { seed: 1 });
  assert.equal(synth.method, "random");
  assert.equal(synth.text(4).length, 4);
});

Deno.test("random method: a best effort after the last repair round is counted and reported", () => {
  const warnings: SynthesisWarning[] = [];
  const tokenizer = {
    ...charTokenizer("xy", { extraToken: true }),
    name: "fake",
  };
  const synth = createSynthesizer(tokenizer, {
    seed: 1,
    method: "random",
    onWarning: (warning) => warnings.push(warning),
  });
  const text = synth.text(3);
  assert.equal(text.length, 3); // the truncated ids of the last round, decoded
  assert.equal(synth.warnings, 1);
  assert.deepEqual(warnings, [{
    message: "Failed to synthesize prompt for 'fake': target_length=3, " +
      "final_length=4, repair_rounds=10, max_rounds=10. Returning best effort result.",
    target: 3,
    length: 4,
    rounds: 10,
  }]);
  const short = createSynthesizer(tokenizer, {
    seed: 1,
    method: "random",
    maxRounds: 2,
  });
  short.text(5);
  short.text(5);
  assert.equal(short.warnings, 2);
});

Deno.test("text() refuses negative or fractional token counts", () => {
  const synth = createSynthesizer(charTokenizer("ab"), { method: "random" });
  for (const bad of [-1, 1.5, Number.NaN]) {
    assert.throws(
      () => synth.text(bad),
      new RangeError(
        `Cannot synthesize text of ${bad} tokens: not a whole number >= 0`,
      ),
    );
  }
});
