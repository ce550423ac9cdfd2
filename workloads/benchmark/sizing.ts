/**
 * The sizing of `kvbench benchmark` (tmesh-cli's "Workload Specifications"):
 * as many long contexts as fill 90 % of the offload tier, as many questions,
 * and a third of the contexts in flight.
 *
 * @module
 */
import type { KvLayout } from "../../lib/models/hf_config.ts";
import { type KvSizing, sizeKv } from "../../lib/models/kv_size.ts";
import {
  BUNDLED_MODEL_CONFIGS,
  findModelConfig,
  type ModelConfig,
  offloadSizeGib,
} from "../../lib/models/model_config.ts";
import {
  type ModelSource,
  resolveModelLayout,
} from "../../lib/models/model_source.ts";
import { servedModelSource } from "../../lib/cli/model_kv.ts";
import { normalizeEndpoint } from "../../lib/openai/endpoint.ts";
import { probeServerCapacity } from "../../lib/server/capacity.ts";

/** The sized workload: tmesh-cli's "Workload Specifications". */
export interface BenchmarkSizing {
  /** Model name. */
  model: string;
  /** Offload capacity, GiB. */
  offloadSizeGib: number;
  /** KV bytes per token. */
  bytesPerToken: number;
  /** Number of contexts (= questions). */
  contexts: number;
  /** Size of the shared question pool. */
  questions: number;
  /** Requests in flight at most. */
  maxInFlight: number;
  /** Tokens per context. */
  inputLength: number;
  /** `max_tokens` per request. */
  outputLength: number;
}

/**
 * The most contexts a workload is sized to: more would need a third as many
 * connections in flight and hold every prompt in memory, and only comes of an
 * input length far too short for the offload tier.
 */
export const MAX_CONTEXTS = 100_000;

/** Options of {@linkcode sizeBenchmark}. */
export interface SizeBenchmarkOptions {
  /** Offload capacity, GiB. */
  offloadSizeGib: number;
  /** KV bytes per token of the model. */
  bytesPerToken: number;
  /** Tokens per context (default 32 000). */
  inputLength?: number;
  /** `max_tokens` per request (default 100). */
  outputLength?: number;
  /** Share of the offload tier the contexts fill (default 0.9). */
  fillRatio?: number;
}

/**
 * A size in GiB as the workload block prints it (`offload_size:`): at most
 * two decimals, trailing zeros dropped; a size below 0.01 with two
 * significant digits, never printed as 0.
 *
 * @example Usage
 * ```ts
 * import { formatSizeGib } from "./sizing.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatSizeGib(100), "100");
 * // --offload-size 20GB: 20 × 10⁹ / 1024³ = 18.6264… GiB
 * assert.equal(formatSizeGib(20e9 / 1024 ** 3), "18.63");
 * assert.equal(formatSizeGib(0.5), "0.5");
 * assert.equal(formatSizeGib(0.0012345), "0.0012");
 * ```
 */
export function formatSizeGib(gib: number): string {
  return String(Number(gib >= 0.01 ? gib.toFixed(2) : gib.toPrecision(2)));
}

/**
 * The fix when one context does not fit: the smallest `--offload-size`
 * (GiB, two decimals, rounded up) whose fill holds one context, or the
 * longest `--input-length` that fits the offload size given.
 */
function _fitOneContext(options: SizeBenchmarkOptions): string {
  const { offloadSizeGib, bytesPerToken, inputLength = 32000 } = options;
  const fill = options.fillRatio ?? 0.9;
  const perContextGib = bytesPerToken * inputLength / 1024 ** 3;
  const fits = (gib: number, tokens: number): boolean =>
    Math.floor(fill * gib / (bytesPerToken * tokens / 1024 ** 3)) >= 1;
  let size = Math.ceil(perContextGib / fill * 100) / 100;
  if (!fits(size, inputLength)) size += 0.01; // a rounding's last digit
  let length = Math.floor(fill * offloadSizeGib * 1024 ** 3 / bytesPerToken);
  if (length >= 1 && !fits(offloadSizeGib, length)) length -= 1;
  const larger = `give --offload-size ${size.toFixed(2)} or more`;
  return length >= 1
    ? `${larger}, or --input-length ${length} or less`
    : larger;
}

/**
 * Size the workload as tmesh-cli: contexts = floor(0.9 × offload /
 * (bytes per token × input length / 1024³)), questions = contexts, in flight
 * = floor(contexts / 3) but at least 1 (tmesh-cli hung below 3 contexts);
 * more than {@linkcode MAX_CONTEXTS} contexts is a `RangeError`.
 *
 * @example Qwen3-30B-A3B with a 100 GiB offload tier
 * ```ts
 * import { sizeBenchmark } from "./sizing.ts";
 * import assert from "node:assert/strict";
 *
 * const s = sizeBenchmark("Qwen/Qwen3-30B-A3B-Instruct-2507", {
 *   offloadSizeGib: 100,
 *   bytesPerToken: 98304,
 * });
 * // 0.9 × 100 / (98 304 × 32 000 / 1024³ = 2.93 GiB) = 30.7 contexts
 * assert.deepEqual([s.contexts, s.questions, s.maxInFlight], [30, 30, 10]);
 * ```
 *
 * @example One context does not fit: the sizes that would
 * ```ts
 * import { sizeBenchmark } from "./sizing.ts";
 * import assert from "node:assert/strict";
 *
 * // 2.93 GiB / 0.9 = 3.2553 GiB; 0.9 × 2 GiB / 98 304 B = 19 660.8 tokens.
 * assert.throws(
 *   () => sizeBenchmark("m", { offloadSizeGib: 2, bytesPerToken: 98304 }),
 *   new RangeError(
 *     "Cannot size the workload: one 32000-token context (2.93 GiB) does not fit in 0.9 × 2 GiB: give --offload-size 3.26 or more, or --input-length 19660 or less",
 *   ),
 * );
 * ```
 */
export function sizeBenchmark(
  model: string,
  options: SizeBenchmarkOptions,
): BenchmarkSizing {
  const {
    offloadSizeGib,
    bytesPerToken,
    inputLength = 32000,
    outputLength = 100,
    fillRatio = 0.9,
  } = options;
  if (!(offloadSizeGib > 0)) {
    throw new RangeError(
      `Cannot size the workload: offload size ${offloadSizeGib} GiB must be positive`,
    );
  }
  if (!(bytesPerToken > 0)) {
    throw new RangeError(
      `Cannot size the workload: bytes per token ${bytesPerToken} must be positive`,
    );
  }
  const perContextGib = bytesPerToken * inputLength / 1024 ** 3;
  const contexts = Math.floor((fillRatio * offloadSizeGib) / perContextGib);
  if (contexts < 1) {
    throw new RangeError(
      `Cannot size the workload: one ${inputLength}-token context (${
        perContextGib.toFixed(2)
      } GiB) does not fit in ${fillRatio} × ${offloadSizeGib} GiB: ${
        _fitOneContext(options)
      }`,
    );
  }
  if (contexts > MAX_CONTEXTS) {
    throw new RangeError(
      `Cannot size the workload: ${contexts} contexts of ${inputLength} tokens (more than ${MAX_CONTEXTS}, with ${
        Math.floor(contexts / 3)
      } requests in flight) would fill ${fillRatio} × ${offloadSizeGib} GiB: give a longer input length or a smaller offload size`,
    );
  }
  return {
    model,
    offloadSizeGib,
    bytesPerToken,
    contexts,
    questions: contexts,
    maxInFlight: Math.max(1, Math.floor(contexts / 3)),
    inputLength,
    outputLength,
  };
}

/**
 * tmesh-cli's "Workload Specifications" block (without the NOTE banner).
 *
 * @example Usage
 * ```ts
 * import { renderBenchmarkSpec, sizeBenchmark } from "./sizing.ts";
 * import assert from "node:assert/strict";
 *
 * const text = renderBenchmarkSpec(
 *   sizeBenchmark("m", { offloadSizeGib: 100, bytesPerToken: 98304 }),
 * );
 * assert.equal(text.split("\n")[2], "Number of Contexts: 30");
 * ```
 */
export function renderBenchmarkSpec(sizing: BenchmarkSizing): string {
  return [
    "Workload Specifications:",
    `Model: ${sizing.model}`,
    `Number of Contexts: ${sizing.contexts}`,
    `Number of Questions per Context: ${sizing.questions}`,
    `Max Inflight Requests (Load-Balancing): ${sizing.maxInFlight}`,
    `Input Length: ${sizing.inputLength}`,
    `Output Length: ${sizing.outputLength}`,
    "",
  ].join("\n");
}

/** Options of {@linkcode sizeBenchmarkFromLayout}. */
export interface SizeFromLayoutOptions {
  /** Offload capacity over all ranks, GiB (per-rank CPU/disk buffer × TP). */
  offloadSizeGib: number;
  /** Tensor-parallel degree (default 1). */
  tp?: number;
  /** KV cache dtype (default `auto`). */
  kvCacheDtype?: string;
  /** Count MTP (draft) layers. */
  mtp?: boolean;
  /** Tokens per context (default 32 000). */
  inputLength?: number;
  /** `max_tokens` per request (default 100). */
  outputLength?: number;
}

/** A sizing from a model's KV layout, with the KV arithmetic behind it. */
export interface LayoutSizing {
  /** The workload. Its `bytesPerToken` is per rank × TP: what the offload tier stores per token over all ranks. */
  sizing: BenchmarkSizing;
  /** The KV arithmetic. */
  kv: KvSizing;
  /** One line saying how bytes per token were found. */
  note: string;
}

/**
 * Size the benchmark from a model's KV layout on `tp` ranks: each rank's
 * offload buffer stores that rank's KV (`max(1, kv_heads / TP)` heads, or the
 * whole MLA latent), so the tier holds offload / (per-rank bytes × TP)
 * tokens, and the contexts are sized from that.
 *
 * @example Qwen3-235B-A22B at TP 8, fp8 KV, 100 GiB per rank
 * ```ts
 * import { sizeBenchmarkFromLayout } from "./sizing.ts";
 * import { parseHfConfig } from "../../lib/models/hf_config.ts";
 * import assert from "node:assert/strict";
 *
 * const layout = parseHfConfig({
 *   torch_dtype: "bfloat16", num_hidden_layers: 94, num_attention_heads: 64,
 *   num_key_value_heads: 4, head_dim: 128,
 * });
 * const { sizing, kv } = sizeBenchmarkFromLayout("qwen", layout, {
 *   offloadSizeGib: 800, tp: 8, kvCacheDtype: "fp8",
 * });
 * assert.equal(kv.bytesPerTokenPerRank, 24_064); // 1 head per rank
 * // 0.9 × 800 / (192,512 × 32,000 / 1024³ = 5.737 GiB) = 125.5 contexts
 * assert.equal(sizing.contexts, 125);
 * ```
 */
export function sizeBenchmarkFromLayout(
  model: string,
  layout: KvLayout,
  options: SizeFromLayoutOptions,
): LayoutSizing {
  const kv = sizeKv(layout, {
    tp: options.tp,
    kvCacheDtype: options.kvCacheDtype,
    mtp: options.mtp,
  });
  if (kv.bytesPerTokenPerRank === 0) {
    throw new RangeError(
      `Cannot size the workload: ${model} keeps no per-token KV cache (only a fixed state per request)`,
    );
  }
  const sizing = sizeBenchmark(model, {
    offloadSizeGib: options.offloadSizeGib,
    bytesPerToken: kv.bytesPerTokenAllRanks,
    inputLength: options.inputLength,
    outputLength: options.outputLength,
  });
  const fmt = (n: number): string => n.toLocaleString("en-US");
  const note = `KV ${fmt(kv.bytesPerTokenPerRank)} B per token per rank (${
    kv.groups.map((g) => g.formula).filter((f) => !f.endsWith("request"))
      .join(" + ")
  }; ${kv.kvDtype} from ${kv.kvDtypeFrom}) × TP ${kv.tp} = ${
    fmt(kv.bytesPerTokenAllRanks)
  } B per token over all ranks`;
  return { sizing, kv, note };
}

/** Options of {@linkcode sizeBenchmarkFromHfConfig}. */
export interface SizeFromHfConfigOptions
  extends Omit<SizeFromLayoutOptions, "offloadSizeGib"> {
  /** A config.json, a folder holding one, or a Hugging Face id (default: the served model's name, looked up in the table, on disk, in the caches and on the Hub). */
  hfConfig?: string;
  /** Offload capacity over all ranks, GiB (default: the model's `model_configs.json` entry). */
  offloadSizeGib?: number;
  /** The table the model's entry comes from (default: the bundled one). */
  configs?: readonly ModelConfig[];
  /** The server (`--endpoint`): without an offload size, its offload capacity in tokens is asked (`/metrics`), before the table's. */
  endpoint?: string;
  /** Read the model's config.json only from disk and the caches, never download it. */
  cachedOnly?: boolean;
  /** Bearer key of the server, to ask its `/v1/models`. */
  apiKey?: string;
  /** Cancels a download. */
  signal?: AbortSignal;
}

/**
 * Size the benchmark of `model` from a Hugging Face `config.json` (or its
 * `model_configs.json` entry's layout), on `tp` ranks (default: the entry's
 * `tensorParallelSize`, else 1), in a KV dtype: see
 * {@linkcode sizeBenchmarkFromLayout}.
 *
 * @example Llama-3.1-70B, which the table lacks, at TP 8 over 8 × 100 GiB
 * ```ts
 * import { sizeBenchmarkFromHfConfig } from "./sizing.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({
 *   torch_dtype: "bfloat16", num_hidden_layers: 80, hidden_size: 8192,
 *   num_attention_heads: 64, num_key_value_heads: 8,
 * }));
 * const { sizing, kv } = await sizeBenchmarkFromHfConfig("llama", {
 *   hfConfig: dir, tp: 8, offloadSizeGib: 800,
 * });
 * assert.equal(kv.bytesPerTokenPerRank, 40_960); // 2 × 80 × 1 × 128 × 2
 * // 0.9 × 800 / (327,680 × 32,000 / 1024³ = 9.766 GiB) = 73.7 contexts
 * assert.equal(sizing.contexts, 73);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function sizeBenchmarkFromHfConfig(
  model: string,
  options: SizeFromHfConfigOptions,
): Promise<LayoutSizing> {
  const configs = options.configs ?? BUNDLED_MODEL_CONFIGS;
  let found: ModelSource;
  try {
    found = await resolveModelLayout(options.hfConfig ?? model, {
      configs,
      noTable: options.hfConfig !== undefined,
      signal: options.signal,
      ...(options.cachedOnly ? { offline: true } : {}),
    });
  } catch (error) {
    const served = options.hfConfig === undefined &&
        options.endpoint !== undefined
      ? await servedModelSource(model, {
        baseUrl: options.endpoint,
        apiKey: options.apiKey,
        signal: options.signal,
      })
      : undefined;
    if (served === undefined) throw error;
    found = served;
  }
  const entry = findModelConfig(model, configs);
  const tp = options.tp ??
    (entry === undefined ? 1 : Number(entry.tensorParallelSize));
  let offload = options.offloadSizeGib;
  let offloadNote = "";
  if (offload === undefined && options.endpoint !== undefined) {
    // The server's offload tokens are per rank (each rank holds its share of
    // every token): × the bytes all ranks store per token.
    const origin = new URL(normalizeEndpoint(options.endpoint)).origin;
    const server = await probeServerCapacity(origin, {
      signal: options.signal,
    });
    if (server?.offloadKvTokens !== undefined) {
      const kv = sizeKv(found.layout, {
        tp,
        kvCacheDtype: options.kvCacheDtype,
        mtp: options.mtp,
      });
      offload = server.offloadKvTokens * kv.bytesPerTokenAllRanks / 1024 ** 3;
      offloadNote = `; offload ${
        server.offloadKvTokens.toLocaleString("en-US")
      } tokens per rank, from the server (${server.from})`;
    }
  }
  if (offload === undefined && entry !== undefined) {
    offload = offloadSizeGib(entry);
  }
  if (offload === undefined) {
    throw new RangeError(
      `Cannot size the workload: model_configs.json has no offload size for ${model}: give --offload-size GB (the offload capacity over all TP ranks)`,
    );
  }
  const sized = sizeBenchmarkFromLayout(model, found.layout, {
    ...options,
    tp,
    offloadSizeGib: offload,
  });
  sized.note += ` (layout from ${
    found.from === "table" ? "model_configs.json" : found.source
  }${offloadNote})`;
  return sized;
}
