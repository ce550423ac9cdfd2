/**
 * The simulator's options and their defaults, loosely one H100 80GB serving
 * Qwen3-30B-A3B (bf16, 98,304 KV bytes per token) with vLLM prefix caching
 * and an LMCache CPU offload buffer. Where each order of magnitude comes from:
 *
 * - `blockSize` 16: vLLM's default `--block-size` on CUDA.
 * - `gpuKvGb` 8 GiB: 80 GB × 0.9 (`gpu_memory_utilization`) ≈ 67 GiB, minus
 *   ≈ 57 GiB of bf16 weights (30.5 B parameters) and ≈ 2 GiB of activations
 *   and CUDA graphs; 87,381 tokens for Qwen3-30B-A3B, under three 32k-token
 *   tmesh contexts.
 * - `offloadGb`: the model's entry in `model_configs.json`
 *   (max(cpu × TP, disk × TP, remote), 100 GiB for Qwen3-30B-A3B, 1,092,266
 *   tokens), the buffer tmesh sizes its working set to.
 * - `prefillTokensPerS` 20,000: ≈ 6.6 GFLOP per token for the 3.3 B active
 *   parameters plus ≈ 13 GFLOP of attention at an average position of 16k
 *   tokens, at ≈ 400 TFLOP/s (40% of the H100's dense bf16 peak).
 * - `loadTokensPerS`: 25 GB/s (pinned CPU → GPU copies over PCIe Gen5 x16)
 *   divided by the model's KV bytes per token: 254,313 for Qwen3-30B-A3B, so a
 *   32k-token context loads in ≈ 0.13 s instead of 1.6 s of prefill.
 * - `itlBaseMs` 6: one decode step reads ≈ 6.6 GB of active weights (2 ms at
 *   3.35 TB/s) plus MoE routing, kernel launches and scheduling: ≈ 150-170
 *   tokens/s for one stream.
 * - `itlPerSeqMs` 0.5: each decoding sequence adds a read of its KV cache,
 *   ≈ 0.5 ms for a 16k-token context (1.6 GB at 3.35 TB/s).
 * - `maxRunningSeqs` 256: vLLM's default `max_num_seqs`.
 *
 * @module
 */
import {
  BUNDLED_MODEL_CONFIGS,
  bytesPerToken,
  findModelConfig,
  type ModelConfig,
  offloadSizeGib,
} from "../models/model_config.ts";
import type { EngineConfig } from "./engine.ts";
import type { MetricsFlavor } from "./metrics_flavors.ts";
import { type FaultOptions, resolveFaults } from "./faults.ts";
import type { SimTokenizer } from "./token_count.ts";

/** The model served when none is named. */
export const DEFAULT_SIM_MODEL = "Qwen/Qwen3-30B-A3B-Instruct-2507";

/** Defaults of the options that do not depend on the model (see the module doc). */
export const SIM_DEFAULTS = {
  hostname: "127.0.0.1",
  seed: 0,
  blockSize: 16,
  gpuKvGb: 8,
  prefillTokensPerS: 20_000,
  loadGbPerS: 25,
  itlBaseMs: 6,
  itlPerSeqMs: 0.5,
  maxRunningSeqs: 256,
  timeScale: 1,
} as const;

/** Options of {@linkcode startSimulator}; every one has a default. */
export interface SimOptions {
  /** Interface to listen on (default 127.0.0.1). */
  hostname?: string;
  /** Port (default 0: any free port). */
  port?: number;
  /**
   * Called when accepting connections fails (for instance "Too many open
   * files"): the connections already open go on, and the simulator listens
   * again on its port after `retryMs` (the library never prints).
   */
  onListenError?: (error: Error, retryMs: number) => void;
  /** Model id served (default {@linkcode DEFAULT_SIM_MODEL}); sizes come from its `model_configs.json` entry, or the default model's. */
  model?: string;
  /**
   * KV bytes per token of the model, for the GiB conversions and the default
   * load rate (default: its `model_configs.json` entry's, else the default
   * model's); `kvbench sim --hf-config` sizes it from a config.json.
   */
  bytesPerToken?: number;
  /**
   * The `root` of the model's `/v1/models` entry (default: the model id). A
   * folder holding the model's config.json, as vLLM reports a local model,
   * lets a client on this host size the model's KV from it.
   */
  modelRoot?: string;
  /**
   * More ids `/v1/models` lists that the engine refuses (HTTP 404), as a
   * router still lists a model whose backend went away: a client that
   * checks the list goes on, and every request for them fails.
   */
  unservedModels?: readonly string[];
  /** When set, requests to `/v1/…` need `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Seed of generated text, lengths, faults and jitter (default 0). */
  seed?: number;
  /** Tokens per KV block (default 16). */
  blockSize?: number;
  /** GPU KV capacity in tokens (overrides `gpuKvGb`). */
  gpuKvTokens?: number;
  /** GPU KV capacity in GiB, converted with the model's KV bytes per token (default 8). */
  gpuKvGb?: number;
  /** Offload capacity in tokens (overrides `offloadGb`); 0 disables the tier. */
  offloadTokens?: number;
  /** Offload capacity in GiB (default: the model's offload size); 0 disables the tier. */
  offloadGb?: number;
  /** Prefill rate, tokens per second (default 20,000). */
  prefillTokensPerS?: number;
  /** Offload → GPU load rate, tokens per second (default 25 GB/s ÷ KV bytes per token). */
  loadTokensPerS?: number;
  /** Inter-token time of a lone sequence before per-sequence growth, ms (default 6). */
  itlBaseMs?: number;
  /** Inter-token time added per decoding sequence, ms (default 0.5). */
  itlPerSeqMs?: number;
  /** Cap on running sequences (default 256). */
  maxRunningSeqs?: number;
  /** Wall time per model time (default 1; 0.01 runs 100× faster). */
  timeScale?: number;
  /** Exact token ids for text prompts (default: the approximation of `token_count.ts`). */
  tokenizer?: SimTokenizer;
  /** Injected faults (default none). */
  faults?: FaultOptions;
  /** Where to look the model up (default: the bundled `model_configs.json`). */
  modelConfigs?: readonly ModelConfig[];
  /** Which engine's `/metrics` to look like (default `vllm`: the simulator's own vLLM-named set); see `metrics_flavors.ts`. */
  metricsFlavor?: MetricsFlavor;
  /**
   * Replicas answering `/metrics` in turn, as behind a load balancer
   * (default 1). Replica k > 0 is another server that served other traffic:
   * its counters are half the simulator's plus 50,000 × k.
   */
  metricsReplicas?: number;
}

/** Options with every default applied. */
export interface ResolvedSimOptions {
  /** Model id served. */
  model: string;
  /** KV bytes per token used for the GiB conversions. */
  bytesPerToken: number;
  /** The engine's configuration. */
  engine: EngineConfig;
  /** Fault options with defaults. */
  faults: Required<FaultOptions>;
  /** Seed. */
  seed: number;
}

const GIB = 2 ** 30;

/**
 * Apply the defaults; throws a RangeError on a contradictory or impossible option.
 *
 * @example Usage
 * ```ts
 * import { resolveSimOptions } from "./config.ts";
 * import assert from "node:assert/strict";
 *
 * const { engine } = resolveSimOptions();
 * assert.equal(engine.gpuKvTokens, 87381); // 8 GiB / 98304 bytes per token
 * assert.equal(engine.offloadTokens, 1092266); // 100 GiB
 * assert.throws(() => resolveSimOptions({ gpuKvTokens: 1000, gpuKvGb: 1 }), RangeError);
 * // A model sized from its own bytes per token: 8 GiB of 131,072 B.
 * assert.equal(resolveSimOptions({ bytesPerToken: 131_072 }).engine.gpuKvTokens, 65_536);
 * ```
 */
export function resolveSimOptions(
  options: SimOptions = {},
): ResolvedSimOptions {
  const model = options.model ?? DEFAULT_SIM_MODEL;
  const configs = options.modelConfigs ?? BUNDLED_MODEL_CONFIGS;
  const config = findModelConfig(model, configs) ??
    findModelConfig(DEFAULT_SIM_MODEL)!;
  const bpt = options.bytesPerToken ?? bytesPerToken(config);
  if (!(bpt > 0) || !Number.isFinite(bpt)) {
    throw new RangeError(`Cannot use ${bpt} KV bytes per token`);
  }
  const tokens = (
    name: string,
    tokens?: number,
    gib?: number,
    defaultGib = 0,
  ): number => {
    if (tokens !== undefined && gib !== undefined) {
      throw new RangeError(
        `Cannot use both ${name}Tokens and ${name}Gb: give one`,
      );
    }
    const value = tokens ?? Math.floor((gib ?? defaultGib) * GIB / bpt);
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`Cannot use a ${name} capacity of ${value} tokens`);
    }
    return value;
  };
  const seed = options.seed ?? SIM_DEFAULTS.seed;
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`Cannot use seed ${seed}: expected an integer`);
  }
  return {
    model,
    bytesPerToken: bpt,
    seed,
    faults: resolveFaults(options.faults),
    engine: {
      blockSize: options.blockSize ?? SIM_DEFAULTS.blockSize,
      gpuKvTokens: tokens(
        "gpuKv",
        options.gpuKvTokens,
        options.gpuKvGb,
        SIM_DEFAULTS.gpuKvGb,
      ),
      offloadTokens: tokens(
        "offload",
        options.offloadTokens,
        options.offloadGb,
        offloadSizeGib(config),
      ),
      maxRunningSeqs: options.maxRunningSeqs ?? SIM_DEFAULTS.maxRunningSeqs,
      timeScale: options.timeScale ?? SIM_DEFAULTS.timeScale,
      timing: {
        prefillTokensPerS: options.prefillTokensPerS ??
          SIM_DEFAULTS.prefillTokensPerS,
        loadTokensPerS: options.loadTokensPerS ??
          Math.round(SIM_DEFAULTS.loadGbPerS * 1e9 / bpt),
        itlBaseMs: options.itlBaseMs ?? SIM_DEFAULTS.itlBaseMs,
        itlPerSeqMs: options.itlPerSeqMs ?? SIM_DEFAULTS.itlPerSeqMs,
      },
    },
  };
}
