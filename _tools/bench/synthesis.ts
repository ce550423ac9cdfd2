/**
 * Scenario 4's child process: time the tmesh contexts of every bundled model
 * (sized as `benchmark` sizes them), and tokens/s of tokenizer-exact
 * synthesis with the Qwen3 tokenizer; writes a JSON result.
 *
 * Usage: `deno run -A bench/synthesis.ts '{"tokens":2000000,"out":"r.json"}'`
 *
 * @module
 */
import {
  BUNDLED_MODEL_CONFIGS,
  bytesPerToken,
  offloadSizeGib,
} from "../../lib/models/model_config.ts";
import { createSynthesizer } from "../../lib/text/synth.ts";
import { loadTokenizer } from "../../lib/text/tokenizer.ts";
import { qwen3TokenizerDir } from "../../lib/testing/tokenizers.ts";
import { sizeBenchmark } from "../../workloads/benchmark/sizing.ts";
import { repeatedWordContexts } from "../../lib/shapes/prompts.ts";

/** Contexts of one model. */
export interface ContextTiming {
  model: string;
  contexts: number;
  tokens: number;
  /** Building the strings. */
  ms: number;
  /** JSON-encoding all of them once, as sending them does (flattens V8's rope strings). */
  serializeMs: number;
}

/** What the probe measured. */
export interface SynthesisResult {
  contexts: ContextTiming[];
  tokenizerLoadMs: number;
  synthesizerBuildMs: number;
  method: string;
  poolSize: number;
  promptTokens: number;
  prompts: number;
  synthMs: number;
  tokensPerSecond: number;
  verifiedPrompts: number;
  verifiedExact: boolean;
}

const config: { tokens: number; promptTokens?: number; out: string } = JSON
  .parse(Deno.args[0]);

const contexts: ContextTiming[] = [];
for (const model of BUNDLED_MODEL_CONFIGS) {
  const sizing = sizeBenchmark(model.model_name, {
    offloadSizeGib: offloadSizeGib(model),
    bytesPerToken: bytesPerToken(model),
  });
  const t0 = performance.now();
  const texts = repeatedWordContexts(sizing.contexts, {
    tokens: sizing.inputLength,
  });
  const ms = performance.now() - t0;
  let bytes = 0;
  for (const text of texts) bytes += JSON.stringify(text).length;
  const serializeMs = performance.now() - t0 - ms;
  if (bytes < sizing.contexts * sizing.inputLength) {
    throw new Error("contexts shorter than sized");
  }
  contexts.push({
    model: model.model_name,
    contexts: sizing.contexts,
    tokens: sizing.contexts * sizing.inputLength,
    ms,
    serializeMs,
  });
}

const dir = await qwen3TokenizerDir();
const t0 = performance.now();
const tokenizer = await loadTokenizer(dir);
const t1 = performance.now();
const synth = createSynthesizer(tokenizer, { seed: 1 });
const t2 = performance.now();
const promptTokens = config.promptTokens ?? 8192;
const prompts = Math.ceil(config.tokens / promptTokens);
const kept: string[] = [];
const t3 = performance.now();
for (let i = 0; i < prompts; i++) {
  const text = synth.text(promptTokens);
  if (i < 3) kept.push(text);
}
const synthMs = performance.now() - t3;
// Not timed: the texts must be exact.
const verifiedExact = kept.every((text) =>
  tokenizer.encode(text).length === promptTokens
);
await Deno.remove(dir, { recursive: true });

const result: SynthesisResult = {
  contexts,
  tokenizerLoadMs: t1 - t0,
  synthesizerBuildMs: t2 - t1,
  method: synth.method,
  poolSize: synth.poolSize,
  promptTokens,
  prompts,
  synthMs,
  tokensPerSecond: prompts * promptTokens / (synthMs / 1000),
  verifiedPrompts: kept.length,
  verifiedExact,
};
await Deno.writeTextFile(config.out, JSON.stringify(result));
