/**
 * The KV-cache layout of a model read from its Hugging Face `config.json`:
 * which layers hold a per-token KV cache (full attention, sliding-window
 * attention, multi-head latent attention) and which hold a fixed state per
 * request (linear attention, Mamba), with the shapes the engines allocate.
 *
 * The rules follow the engines' own readers of the same fields: vLLM's
 * `vllm/v1/kv_cache_interface.py` (FullAttentionSpec, SlidingWindowSpec,
 * MLAAttentionSpec, MambaSpec) and `vllm/model_executor/layers/mamba/
 * mamba_utils.py` (state shapes), SGLang's
 * `python/sglang/srt/model_executor/model_runner_kv_cache_mixin.py`, and
 * transformers' config classes for the layer patterns (Qwen2/Qwen3
 * `max_window_layers`, Gemma 3 `sliding_window_pattern`, gpt-oss and
 * Qwen3-Next `layer_types`, Nemotron-H `hybrid_override_pattern`).
 *
 * @module
 */

/** Layers of one kind whose KV cache grows with every token. */
export interface AttentionGroup {
  /** `full`: every token of the context; `sliding`: the last `window` tokens on the GPU. */
  kind: "full" | "sliding";
  /** How many layers. */
  layers: number;
  /** Key/value heads of the whole model (before tensor parallelism). */
  kvHeads: number;
  /** Key head size. */
  headDim: number;
  /** Value head size (the key's unless the config names another). */
  vHeadDim: number;
  /** Tokens a sliding layer attends to (`sliding_window`). */
  window?: number;
}

/** Multi-head latent attention layers (DeepSeek V2/V3, Kimi-K2). */
export interface MlaGroup {
  /** MLA: one latent vector per token and layer, the same on every rank. */
  kind: "mla";
  /** How many layers. */
  layers: number;
  /** `kv_lora_rank`: the compressed KV latent. */
  kvLoraRank: number;
  /** `qk_rope_head_dim`: the decoupled rotary key. */
  ropeDim: number;
}

/** Layers with a fixed recurrent state per request instead of a KV cache. */
export interface StateGroup {
  /** `linear`: gated delta net (Qwen3-Next); `mamba`: Mamba2 (Nemotron-H). */
  kind: "linear" | "mamba";
  /** How many layers. */
  layers: number;
  /** Channels of the convolution state (split over TP ranks). */
  convDim: number;
  /** Kernel size − 1: the convolution state's length. */
  convWidth: number;
  /** Heads of the recurrent state (split over TP ranks). */
  stateHeads: number;
  /** Elements of one head's recurrent state. */
  stateHeadElements: number;
}

/** One group of layers of the same kind and shape. */
export type LayerGroup = AttentionGroup | MlaGroup | StateGroup;

/** What `config.json` says about the KV cache. */
export interface KvLayout {
  /** `model_type` (of `text_config` when nested), or `unknown`. */
  modelType: string;
  /** The model's dtype: `bfloat16`, `float16` or `float32`. */
  dtype: string;
  /** Where the dtype comes from, for the derivation. */
  dtypeFrom: string;
  /** `quantization_config.kv_cache_scheme` as a KV dtype (`fp8`), when present. */
  kvCacheScheme?: string;
  /** Where `kvCacheScheme` comes from (default `quantization_config.kv_cache_scheme`). */
  kvCacheSchemeFrom?: string;
  /** The layer groups, in the order their first layer appears. */
  groups: LayerGroup[];
  /** Multi-token-prediction (draft) layers the checkpoint ships (`num_nextn_predict_layers`). */
  mtpLayers: number;
}

type Json = Record<string, unknown>;

const isObject = (x: unknown): x is Json =>
  typeof x === "object" && x !== null && !Array.isArray(x);

function fail(source: string, reason: string): never {
  throw new TypeError(`Cannot size "${source}": ${reason}`);
}

function positiveInt(
  config: Json,
  field: string,
  source: string,
): number | undefined {
  const value = config[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
    fail(source, `${field} ${JSON.stringify(value)} is not a positive integer`);
  }
  return value;
}

function nonNegativeInt(
  config: Json,
  field: string,
  source: string,
): number | undefined {
  return config[field] === 0 ? 0 : positiveInt(config, field, source);
}

function required(config: Json, field: string, source: string): number {
  return positiveInt(config, field, source) ??
    fail(source, `${field} is missing`);
}

const DTYPES: Record<string, string> = {
  bfloat16: "bfloat16",
  bf16: "bfloat16",
  float16: "float16",
  fp16: "float16",
  half: "float16",
  float32: "float32",
  float: "float32",
  fp32: "float32",
};

function modelDtype(
  text: Json,
  top: Json,
  source: string,
): { dtype: string; dtypeFrom: string } {
  for (const config of [text, top]) {
    for (const field of ["torch_dtype", "dtype"]) {
      const value = config[field];
      if (value === undefined || value === null) continue;
      const dtype = DTYPES[String(value).replace(/^torch\./, "")];
      if (dtype === undefined) {
        fail(source, `${field} ${JSON.stringify(value)} is not a known dtype`);
      }
      // vLLM's dtype "auto" serves float32 checkpoints in bfloat16
      // (vllm/config/model.py, _get_and_verify_dtype).
      return dtype === "float32"
        ? {
          dtype: "bfloat16",
          dtypeFrom: `${field} float32, served as bfloat16 (vLLM's auto)`,
        }
        : { dtype, dtypeFrom: `${field} ${dtype}` };
    }
  }
  return {
    dtype: "bfloat16",
    dtypeFrom: "no torch_dtype: vLLM's auto serves bfloat16",
  };
}

function kvCacheScheme(top: Json, text: Json, source: string) {
  const quant = isObject(text.quantization_config)
    ? text.quantization_config
    : isObject(top.quantization_config)
    ? top.quantization_config
    : undefined;
  const scheme = quant?.kv_cache_scheme;
  if (scheme === undefined || scheme === null) return undefined;
  if (!isObject(scheme)) {
    fail(source, "quantization_config.kv_cache_scheme is not an object");
  }
  if (scheme.num_bits === 8 && (scheme.type ?? "float") === "float") {
    return "fp8";
  }
  fail(
    source,
    `quantization_config.kv_cache_scheme ${
      JSON.stringify(scheme)
    } is not an 8-bit float scheme (the one kvbench knows)`,
  );
}

/**
 * Defaults of the transformers config classes whose checkpoints leave KV
 * fields out: Gemma3TextConfig (num_attention_heads 8, num_key_value_heads 4,
 * head_dim 256, sliding_window 4096, a global layer every 6th).
 */
const CLASS_DEFAULTS: Record<string, Json> = {
  gemma3_text: {
    num_attention_heads: 8,
    num_key_value_heads: 4,
    head_dim: 256,
    sliding_window: 4096,
    sliding_window_pattern: 6,
  },
};

type Kind = "full" | "sliding" | "linear" | "mamba" | "none";

const LAYER_TYPES: Record<string, Kind> = {
  full_attention: "full",
  attention: "full",
  sliding_attention: "sliding",
  chunked_attention: "sliding",
  linear_attention: "linear",
  mamba: "mamba",
};

/** Each layer's kind, from whichever pattern field the config has. */
function layerKinds(text: Json, layers: number, source: string): Kind[] {
  const types = text.layer_types;
  if (types !== undefined && types !== null) {
    if (!Array.isArray(types) || types.length !== layers) {
      fail(
        source,
        `layer_types must list num_hidden_layers (${layers}) layer types`,
      );
    }
    return types.map((t, i) =>
      LAYER_TYPES[String(t)] ??
        fail(
          source,
          `layer_types[${i}] ${
            JSON.stringify(t)
          } is not an attention type kvbench knows (${
            Object.keys(LAYER_TYPES).join(", ")
          })`,
        )
    );
  }
  const pattern = text.hybrid_override_pattern;
  if (pattern !== undefined && pattern !== null) {
    if (typeof pattern !== "string" || pattern.length !== layers) {
      fail(
        source,
        `hybrid_override_pattern must have one character per layer (${layers})`,
      );
    }
    // Nemotron-H: M = Mamba2, * = attention, - = MLP, E = MoE.
    return [...pattern].map((c, i) =>
      c === "M"
        ? "mamba"
        : c === "*"
        ? "full"
        : c === "-" || c === "E"
        ? "none"
        : fail(
          source,
          `hybrid_override_pattern[${i}] "${c}" is not M, *, - or E`,
        )
    );
  }
  const interval = positiveInt(text, "full_attention_interval", source);
  if (interval !== undefined) {
    // Qwen3-Next: every interval-th layer is full attention, the rest gated
    // delta nets (transformers Qwen3NextConfig.layer_types).
    return Array.from(
      { length: layers },
      (_, i) => (i + 1) % interval === 0 ? "full" : "linear",
    );
  }
  const window = positiveInt(text, "sliding_window", source);
  if (window === undefined) return Array(layers).fill("full");
  const swPattern = positiveInt(text, "sliding_window_pattern", source);
  if (swPattern !== undefined) {
    // Gemma 3: every pattern-th layer is global, the others sliding
    // (transformers Gemma3TextConfig, default pattern 6).
    return Array.from(
      { length: layers },
      (_, i) => (i + 1) % swPattern === 0 ? "full" : "sliding",
    );
  }
  if (text.use_sliding_window === false) return Array(layers).fill("full");
  // Qwen2/Qwen3: layers from max_window_layers on slide; Mistral: all slide.
  const from = positiveInt(text, "max_window_layers", source) ?? 0;
  return Array.from(
    { length: layers },
    (_, i) => i >= from ? "sliding" : "full",
  );
}

function attentionShape(text: Json, source: string) {
  const heads = positiveInt(text, "num_attention_heads", source);
  const kvHeads = positiveInt(text, "num_key_value_heads", source) ?? heads ??
    fail(source, "num_key_value_heads and num_attention_heads are missing");
  let headDim = positiveInt(text, "head_dim", source) ??
    positiveInt(text, "attention_head_dim", source);
  if (headDim === undefined) {
    const hidden = required(text, "hidden_size", source);
    if (heads === undefined) fail(source, "num_attention_heads is missing");
    if (hidden % heads !== 0) {
      fail(
        source,
        `head_dim is missing and hidden_size ${hidden} is not a multiple of num_attention_heads ${heads}`,
      );
    }
    headDim = hidden / heads;
  }
  const vHeadDim = positiveInt(text, "v_head_dim", source) ?? headDim;
  return { kvHeads, headDim, vHeadDim };
}

function stateGroup(
  kind: "linear" | "mamba",
  layers: number,
  text: Json,
  source: string,
): StateGroup {
  const r = (field: string): number => required(text, field, source);
  if (kind === "linear") {
    // vLLM MambaStateShapeCalculator.gated_delta_net_state_shape: conv over
    // q, k (key heads × key dim each) and v; one key × value matrix per value head.
    const keyDim = r("linear_num_key_heads") * r("linear_key_head_dim");
    const valueHeads = r("linear_num_value_heads");
    return {
      kind,
      layers,
      convDim: 2 * keyDim + valueHeads * r("linear_value_head_dim"),
      convWidth: r("linear_conv_kernel_dim") - 1,
      stateHeads: valueHeads,
      stateHeadElements: r("linear_key_head_dim") * r("linear_value_head_dim"),
    };
  }
  // vLLM MambaStateShapeCalculator.mamba2_state_shape: conv over x, B and C;
  // one head dim × state size matrix per head.
  const heads = r("mamba_num_heads");
  const headDim = r("mamba_head_dim");
  const stateSize = r("ssm_state_size");
  const groups = positiveInt(text, "n_groups", source) ?? 1;
  return {
    kind,
    layers,
    convDim: heads * headDim + 2 * groups * stateSize,
    convWidth: r("conv_kernel") - 1,
    stateHeads: heads,
    stateHeadElements: headDim * stateSize,
  };
}

/**
 * Read the KV layout of a model from its parsed `config.json` (a nested
 * `text_config` is read in place of the top level). A missing or malformed
 * field is a one-line `TypeError` naming it.
 *
 * @example Llama-3.1-70B: 80 full-attention layers of 8 KV heads
 * ```ts
 * import { parseHfConfig } from "./hf_config.ts";
 * import assert from "node:assert/strict";
 *
 * const layout = parseHfConfig({
 *   model_type: "llama", torch_dtype: "bfloat16", num_hidden_layers: 80,
 *   hidden_size: 8192, num_attention_heads: 64, num_key_value_heads: 8,
 * });
 * assert.deepEqual(layout.groups, [
 *   { kind: "full", layers: 80, kvHeads: 8, headDim: 128, vHeadDim: 128 },
 * ]);
 * assert.throws(() => parseHfConfig({ model_type: "llama" }), /num_hidden_layers is missing/);
 * ```
 */
export function parseHfConfig(
  config: unknown,
  source = "config.json",
): KvLayout {
  if (!isObject(config)) fail(source, "config.json is not a JSON object");
  const nested = isObject(config.text_config)
    ? { ...config.text_config }
    : config;
  // A config.json names only the fields that differ from its class's
  // defaults: fill them in as transformers does.
  const text = {
    ...CLASS_DEFAULTS[String(nested.model_type ?? "")],
    ...nested,
  };
  const layers = required(text, "num_hidden_layers", source);
  const { dtype, dtypeFrom } = modelDtype(text, config, source);
  const layout: KvLayout = {
    modelType: String(text.model_type ?? config.model_type ?? "unknown"),
    dtype,
    dtypeFrom,
    groups: [],
    mtpLayers: nonNegativeInt(text, "num_nextn_predict_layers", source) ??
      nonNegativeInt(text, "mtp_num_hidden_layers", source) ?? 0,
  };
  const scheme = kvCacheScheme(config, text, source);
  if (scheme !== undefined) layout.kvCacheScheme = scheme;
  if (text.kv_lora_rank !== undefined && text.kv_lora_rank !== null) {
    layout.groups.push({
      kind: "mla",
      layers,
      kvLoraRank: required(text, "kv_lora_rank", source),
      ropeDim: required(text, "qk_rope_head_dim", source),
    });
    return layout;
  }
  const kinds = layerKinds(text, layers, source);
  const count = (k: Kind): number => kinds.filter((x) => x === k).length;
  const order = [...new Set(kinds)].filter((k) => k !== "none");
  const needsAttention = order.some((k) => k === "full" || k === "sliding");
  const shape = needsAttention ? attentionShape(text, source) : undefined;
  for (const kind of order) {
    if (kind === "full" || kind === "sliding") {
      const group: AttentionGroup = { kind, layers: count(kind), ...shape! };
      if (kind === "sliding") {
        group.window = required(text, "sliding_window", source);
      }
      layout.groups.push(group);
    } else {
      layout.groups.push(stateGroup(kind, count(kind), text, source));
    }
  }
  return layout;
}
