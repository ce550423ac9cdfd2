/**
 * KV-cache bytes per token of a {@linkcode KvLayout}, per tensor-parallel
 * rank and for the whole model, with the KV cache dtype, by the engines'
 * rules:
 *
 * - full and sliding attention: `max(1, kv_heads / TP)` heads per rank
 *   (vLLM `ModelConfig.get_num_kv_heads`, SGLang `get_num_kv_heads`), K and
 *   V of `head_dim` and `v_head_dim` each (vLLM
 *   `FullAttentionSpec.real_page_size_bytes`); nvfp4 packs each head as
 *   `d/2` bytes of data plus `d/16` bytes of fp8 block scales
 *   (`nvfp4_kv_cache_full_dim`);
 * - MLA: one latent of `kv_lora_rank + qk_rope_head_dim` elements per token
 *   and layer, replicated on every rank (`MLAAttentionSpec`: one head);
 *   `fp8_ds_mla` is 656 bytes per token and layer (FlashMLA sparse: 512 fp8
 *   latent values, 4 float32 scales, 64 bf16 rotary values);
 * - sliding window: the GPU keeps only the window of those layers
 *   (`SlidingWindowSpec`), while an offload tier stores every block of every
 *   layer, so both footprints are given;
 * - linear attention and Mamba: a fixed state per request (`MambaSpec`),
 *   shown apart, in the model dtype (vLLM `mamba_cache_dtype` auto).
 *
 * Sources: vLLM `vllm/v1/kv_cache_interface.py`, SGLang
 * `python/sglang/srt/model_executor/model_runner_kv_cache_mixin.py`.
 *
 * @module
 */
import type { KvLayout, LayerGroup, StateGroup } from "./hf_config.ts";

/** The `--kv-cache-dtype` values kvbench knows (vLLM's names, and their aliases). */
export const KV_CACHE_DTYPES: readonly string[] = [
  "auto",
  "bf16",
  "bfloat16",
  "fp16",
  "float16",
  "half",
  "float32",
  "fp8",
  "fp8_e4m3",
  "fp8_e5m2",
  "fp8_ds_mla",
  "nvfp4",
];

/** Bytes of one element of each dtype name. */
const ELEMENT_BYTES: Record<string, number> = {
  bf16: 2,
  bfloat16: 2,
  fp16: 2,
  float16: 2,
  half: 2,
  float32: 4,
  fp8: 1,
  fp8_e4m3: 1,
  fp8_e5m2: 1,
  fp8_ds_mla: 1,
  nvfp4: 1,
};

/** Bytes per token and layer of one `fp8_ds_mla` latent (vLLM `MLAAttentionSpec`). */
export const FP8_DS_MLA_BYTES = 656;

/** Options of {@linkcode sizeKv}. */
export interface SizeKvOptions {
  /** Tensor-parallel degree (default 1). */
  tp?: number;
  /** KV cache dtype (default `auto`: the config's kv_cache_scheme, else the model dtype). */
  kvCacheDtype?: string;
  /** Count the checkpoint's MTP (draft) layers, as when speculative decoding is on. */
  mtp?: boolean;
}

/** The size of one layer group. */
export interface GroupSizing {
  /** The group's kind. */
  kind: LayerGroup["kind"];
  /** Layers in the group (with MTP layers when counted). */
  layers: number;
  /** KV heads each rank stores (attention), or 1 (MLA). */
  headsPerRank?: number;
  /** The arithmetic, written out. */
  formula: string;
  /** Bytes per token on one rank for every layer of the group: what an offload tier stores. */
  bytesPerTokenPerRank: number;
  /** Tokens the GPU keeps per request for these layers (sliding window), when bounded. */
  windowTokens?: number;
  /** Fixed state per request on one rank (linear attention, Mamba). */
  stateBytesPerRequestPerRank: number;
}

/** KV bytes of a model on a deployment. */
export interface KvSizing {
  /** Tensor-parallel degree. */
  tp: number;
  /** KV cache dtype used. */
  kvDtype: string;
  /** Where the dtype comes from. */
  kvDtypeFrom: string;
  /** The groups, in the layout's order. */
  groups: GroupSizing[];
  /** Per-token bytes on one rank, every layer and token (the offload footprint). */
  bytesPerTokenPerRank: number;
  /** The same over all ranks (`× TP`, replicas included). */
  bytesPerTokenAllRanks: number;
  /** Per-token bytes of the model at TP 1 (no replica). */
  modelBytesPerToken: number;
  /** Per-token bytes on one rank the GPU keeps for every token (full attention and MLA). */
  gpuBytesPerTokenPerRank: number;
  /** Per-token bytes on one rank of the sliding layers, kept for `windowTokens` tokens only. */
  windowBytesPerTokenPerRank: number;
  /** The sliding window, when some layers slide. */
  windowTokens?: number;
  /** Fixed state per request on one rank (linear attention, Mamba). */
  stateBytesPerRequestPerRank: number;
  /** MTP layers counted. */
  mtpLayers: number;
}

function resolveDtype(
  layout: KvLayout,
  flag: string | undefined,
): { name: string; from: string } {
  if (flag === undefined || flag === "auto") {
    if (layout.kvCacheScheme !== undefined) {
      return {
        name: layout.kvCacheScheme,
        from: layout.kvCacheSchemeFrom ??
          "quantization_config.kv_cache_scheme",
      };
    }
    return {
      name: layout.dtype,
      from: `model dtype, ${layout.dtypeFrom}`,
    };
  }
  if (!(flag in ELEMENT_BYTES)) {
    throw new RangeError(
      `Cannot size the KV cache: --kv-cache-dtype "${flag}" is not one of ${
        KV_CACHE_DTYPES.join(", ")
      }`,
    );
  }
  return { name: flag, from: "--kv-cache-dtype" };
}

const nvfp4Dim = (d: number): number => d / 2 + d / 16;

const fmt = (n: number): string => n.toLocaleString("en-US");

function sizeGroup(
  group: LayerGroup,
  tp: number,
  dtype: string,
  modelDtypeBytes: number,
): GroupSizing {
  const b = ELEMENT_BYTES[dtype];
  const base = { kind: group.kind, layers: group.layers };
  if (group.kind === "mla") {
    if (dtype === "nvfp4") {
      throw new RangeError(
        "Cannot size the KV cache: nvfp4 is for GQA/MHA layers, not MLA",
      );
    }
    const bytes = dtype === "fp8_ds_mla"
      ? group.layers * FP8_DS_MLA_BYTES
      : group.layers * (group.kvLoraRank + group.ropeDim) * b;
    return {
      ...base,
      headsPerRank: 1,
      formula: dtype === "fp8_ds_mla"
        ? `${group.layers} × ${FP8_DS_MLA_BYTES} B (fp8_ds_mla)`
        : `${group.layers} × (${group.kvLoraRank} + ${group.ropeDim}) × ${b} B`,
      bytesPerTokenPerRank: bytes,
      stateBytesPerRequestPerRank: 0,
    };
  }
  if (group.kind === "full" || group.kind === "sliding") {
    if (dtype === "fp8_ds_mla") {
      throw new RangeError(
        "Cannot size the KV cache: fp8_ds_mla is for MLA models (DeepSeek V3.2), and this layer group is not MLA",
      );
    }
    const heads = Math.max(1, Math.floor(group.kvHeads / tp));
    const { headDim: k, vHeadDim: v } = group;
    let formula: string;
    let bytes: number;
    if (dtype === "nvfp4") {
      bytes = group.layers * heads * (nvfp4Dim(k) + nvfp4Dim(v));
      formula =
        `${group.layers} × ${heads} × ((${k}/2 + ${k}/16) + (${v}/2 + ${v}/16)) B (nvfp4 + scales)`;
    } else {
      bytes = group.layers * heads * (k + v) * b;
      formula = k === v
        ? `2 × ${group.layers} × ${heads} × ${k} × ${b} B`
        : `${group.layers} × ${heads} × (${k} + ${v}) × ${b} B`;
    }
    const sizing: GroupSizing = {
      ...base,
      headsPerRank: heads,
      formula,
      bytesPerTokenPerRank: bytes,
      stateBytesPerRequestPerRank: 0,
    };
    if (group.kind === "sliding") sizing.windowTokens = group.window;
    return sizing;
  }
  return sizeState(group as StateGroup, tp, modelDtypeBytes);
}

function sizeState(
  group: StateGroup,
  tp: number,
  modelDtypeBytes: number,
): GroupSizing {
  const base = { kind: group.kind, layers: group.layers };
  const conv = Math.ceil(group.convDim / tp);
  const heads = Math.max(1, Math.floor(group.stateHeads / tp));
  const state = group.layers *
    (conv * group.convWidth + heads * group.stateHeadElements) *
    modelDtypeBytes;
  return {
    ...base,
    formula: `${group.layers} × (${
      fmt(conv)
    } × ${group.convWidth} + ${heads} × ${
      fmt(group.stateHeadElements)
    }) × ${modelDtypeBytes} B per request`,
    bytesPerTokenPerRank: 0,
    stateBytesPerRequestPerRank: state,
  };
}

/**
 * Size the KV cache of a layout on `tp` ranks in a KV dtype.
 *
 * @example Qwen3-235B-A22B at TP 8 in fp8: 4 KV heads, so one per rank
 * ```ts
 * import { parseHfConfig } from "./hf_config.ts";
 * import { sizeKv } from "./kv_size.ts";
 * import assert from "node:assert/strict";
 *
 * const layout = parseHfConfig({
 *   torch_dtype: "bfloat16", num_hidden_layers: 94, num_attention_heads: 64,
 *   num_key_value_heads: 4, head_dim: 128,
 * });
 * const s = sizeKv(layout, { tp: 8, kvCacheDtype: "fp8" });
 * assert.equal(s.bytesPerTokenPerRank, 24_064); // 2 × 94 × 1 × 128 × 1
 * assert.equal(s.modelBytesPerToken, 96_256); // 2 × 94 × 4 × 128 × 1
 * assert.equal(s.bytesPerTokenAllRanks, 192_512); // 8 ranks × 24,064
 * ```
 */
export function sizeKv(
  layout: KvLayout,
  options: SizeKvOptions = {},
): KvSizing {
  const tp = options.tp ?? 1;
  if (!Number.isInteger(tp) || tp < 1) {
    throw new RangeError(
      `Cannot size the KV cache: TP ${tp} is not a positive integer`,
    );
  }
  const { name, from } = resolveDtype(layout, options.kvCacheDtype);
  const modelBytes = ELEMENT_BYTES[layout.dtype];
  const mtp = options.mtp ? layout.mtpLayers : 0;
  let mtpLeft = mtp;
  const groups = layout.groups.map((g) => {
    // The draft layers are copies of the model's attention layers.
    if (mtpLeft > 0 && (g.kind === "mla" || g.kind === "full")) {
      const withMtp = { ...g, layers: g.layers + mtpLeft };
      mtpLeft = 0;
      return sizeGroup(withMtp, tp, name, modelBytes);
    }
    return sizeGroup(g, tp, name, modelBytes);
  });
  const sum = (f: (g: GroupSizing) => number): number =>
    groups.reduce((a, g) => a + f(g), 0);
  const perRank = sum((g) => g.bytesPerTokenPerRank);
  const windowed = groups.filter((g) => g.windowTokens !== undefined);
  const sizing: KvSizing = {
    tp,
    kvDtype: name,
    kvDtypeFrom: from,
    groups,
    bytesPerTokenPerRank: perRank,
    bytesPerTokenAllRanks: perRank * tp,
    modelBytesPerToken: tp === 1
      ? perRank
      : sizeKv(layout, { ...options, tp: 1 }).bytesPerTokenPerRank,
    gpuBytesPerTokenPerRank: sum((g) =>
      g.windowTokens === undefined ? g.bytesPerTokenPerRank : 0
    ),
    windowBytesPerTokenPerRank: sum((g) =>
      g.windowTokens === undefined ? 0 : g.bytesPerTokenPerRank
    ),
    stateBytesPerRequestPerRank: sum((g) => g.stateBytesPerRequestPerRank),
    mtpLayers: mtp - mtpLeft,
  };
  if (windowed.length > 0) {
    sizing.windowTokens = Math.max(...windowed.map((g) => g.windowTokens!));
  }
  return sizing;
}

/**
 * GPU KV bytes of one request of `contextTokens` tokens on one rank: every
 * token of the full-attention and MLA layers, at most the window of the
 * sliding layers, and the fixed state of linear-attention and Mamba layers.
 *
 * @example gpt-oss-20b: 12 full layers, 12 sliding layers of window 128
 * ```ts
 * import { parseHfConfig } from "./hf_config.ts";
 * import { gpuBytesPerRequest, sizeKv } from "./kv_size.ts";
 * import assert from "node:assert/strict";
 *
 * const s = sizeKv(parseHfConfig({
 *   torch_dtype: "bfloat16", num_hidden_layers: 4, num_attention_heads: 64,
 *   num_key_value_heads: 8, head_dim: 64, sliding_window: 128,
 *   layer_types: ["sliding_attention", "full_attention", "sliding_attention", "full_attention"],
 * }));
 * // 2 full layers × 2,048 B per token, 2 sliding layers × 2,048 B for 128 tokens
 * assert.equal(gpuBytesPerRequest(s, 1000), 1000 * 4096 + 128 * 4096);
 * ```
 */
export function gpuBytesPerRequest(
  sizing: KvSizing,
  contextTokens: number,
): number {
  const window = Math.min(contextTokens, sizing.windowTokens ?? contextTokens);
  return contextTokens * sizing.gpuBytesPerTokenPerRank +
    window * sizing.windowBytesPerTokenPerRank +
    sizing.stateBytesPerRequestPerRank;
}
