/**
 * Conformance against a real inference engine, skipped unless
 * `KVBENCH_REAL_ENDPOINT` is set (e.g. `http://127.0.0.1:8080`): invariants
 * that hold on any OpenAI-compatible server, checked through kvbench's own
 * request path.
 *
 * - `KVBENCH_REAL_MODEL`: the model to send (default: the first listed);
 * - `KVBENCH_REAL_TOKENIZER`: a folder with the model's `tokenizer.json`, or
 *   a Hugging Face id (default: the Qwen3 tokenizer kvbench tests with);
 * - `KVBENCH_REAL_API_KEY`: a bearer key, when the server wants one.
 */
import assert from "node:assert/strict";
import {
  createSynthesizer,
  discoverModels,
  loadTokenizer,
  normalizeEndpoint,
  requestFigures,
  sendRequest,
  type Tokenizer,
} from "../mod.ts";
import { qwen3Tokenizer } from "../lib/testing/tokenizers.ts";

const ENDPOINT = Deno.env.get("KVBENCH_REAL_ENDPOINT");

async function setup() {
  const baseUrl = normalizeEndpoint(ENDPOINT!);
  const apiKey = Deno.env.get("KVBENCH_REAL_API_KEY");
  const model = Deno.env.get("KVBENCH_REAL_MODEL") ??
    (await discoverModels(baseUrl, { apiKey }))[0];
  const name = Deno.env.get("KVBENCH_REAL_TOKENIZER");
  const tokenizer: Tokenizer = name === undefined
    ? qwen3Tokenizer()
    : await loadTokenizer(name);
  return {
    endpoint: { baseUrl, model, apiKey },
    synth: createSynthesizer(tokenizer, { seed: Date.now() }),
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? s[(s.length - 1) / 2]
    : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

Deno.test({
  name:
    "real engine: prompt tokens as meant, cached ≤ prompt, output events ≤ completion tokens",
  ignore: ENDPOINT === undefined,
  async fn() {
    const { endpoint, synth } = await setup();
    for (const n of [100, 1000]) {
      const r = await sendRequest(endpoint, {
        prompt: synth.text(n),
        maxTokens: 16,
        ignoreEos: true,
      });
      assert.equal(r.ok, true, JSON.stringify(r.error));
      assert.ok(r.promptTokens !== undefined, "the server sends usage");
      // Within 1 % (and a BOS token) of the synthesized length.
      assert.ok(
        Math.abs(r.promptTokens - n) <= Math.max(0.01 * n, 1),
        `${r.promptTokens} prompt tokens for ${n} meant`,
      );
      if (r.cachedTokens !== undefined) {
        assert.ok(r.cachedTokens <= r.promptTokens!);
      }
      assert.equal(r.completionTokens, 16, "ignore_eos: exactly max_tokens");
      // Each event carries at least one token (a token can also be merged
      // into the next event, or produce none).
      assert.ok(
        r.chunks >= 1 && r.chunks <= r.completionTokens!,
        `${r.chunks} events`,
      );
      const f = requestFigures(r);
      assert.equal(f.outputTokensFrom, "usage");
      if (f.decodeTps !== undefined) assert.ok(f.decodeTps > 0);
    }
  },
});

Deno.test({
  name:
    "real engine: a repeated prompt's TTFT is below its cold TTFT, and it is reported cached",
  ignore: ENDPOINT === undefined,
  async fn() {
    const { endpoint, synth } = await setup();
    const cold: number[] = [], warm: number[] = [], cached: number[] = [];
    for (let i = 0; i < 3; i++) {
      const prompt = synth.text(1500);
      const spec = { prompt, maxTokens: 2, ignoreEos: true };
      const a = await sendRequest(endpoint, spec);
      const b = await sendRequest(endpoint, spec);
      assert.equal(a.ok && b.ok, true, JSON.stringify(a.error ?? b.error));
      cold.push(a.firstTokenAt! - a.sentAt);
      warm.push(b.firstTokenAt! - b.sentAt);
      if (b.cachedTokens !== undefined) cached.push(b.cachedTokens);
    }
    assert.ok(median(warm) < median(cold), `warm ${warm} vs cold ${cold}`);
    if (cached.length > 0) {
      assert.ok(cached.every((c) => c >= 1400), `cached ${cached}`);
    }
  },
});

Deno.test({
  name:
    "real engine: chat streams, reasoning and answer events consistent with completion tokens",
  ignore: ENDPOINT === undefined,
  async fn() {
    const { endpoint, synth } = await setup();
    const r = await sendRequest(endpoint, {
      api: "chat",
      prompt: synth.text(200),
      maxTokens: 24,
      ignoreEos: true,
      keepText: true,
    });
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.equal(r.completionTokens, 24);
    const f = requestFigures(r);
    assert.ok(f.reasoningEvents + f.answerEvents === r.chunks);
    assert.ok(r.chunks >= 1 && r.chunks <= 24, `${r.chunks} events`);
    if (f.reasoningEvents > 0 && r.firstAnswerAt !== undefined) {
      assert.ok(r.firstAnswerAt >= r.firstTokenAt!);
    }
  },
});
