/**
 * The KV layout of a llama.cpp model from its GGUF metadata (as llama.cpp's
 * server may report it), so a model served from a `.gguf` file is sized
 * without a `config.json`: `<arch>.block_count` layers,
 * `<arch>.attention.head_count_kv` KV heads (a number, or one per layer with
 * 0 for layers without attention), `<arch>.attention.key_length` and
 * `value_length` (default `embedding_length / head_count`), in llama.cpp's
 * default f16 KV cache (`--cache-type-k/-v f16`).
 *
 * @module
 */
import type { KvLayout } from "./hf_config.ts";

const int = (x: unknown): number | undefined =>
  typeof x === "number" && Number.isInteger(x) && x > 0 ? x : undefined;

/**
 * Read a KV layout from GGUF metadata keys. A missing key is a one-line
 * `TypeError` naming it.
 *
 * @example Qwen3-8B as a GGUF: 36 layers, 8 KV heads of 128
 * ```ts
 * import { layoutFromGguf } from "./gguf_layout.ts";
 * import { sizeKv } from "./kv_size.ts";
 * import assert from "node:assert/strict";
 *
 * const layout = layoutFromGguf({
 *   "general.architecture": "qwen3",
 *   "qwen3.block_count": 36,
 *   "qwen3.attention.head_count": 32,
 *   "qwen3.attention.head_count_kv": 8,
 *   "qwen3.attention.key_length": 128,
 *   "qwen3.attention.value_length": 128,
 * });
 * assert.equal(sizeKv(layout).bytesPerTokenPerRank, 147_456); // 2 × 36 × 8 × 128 × 2
 * ```
 */
export function layoutFromGguf(metadata: Record<string, unknown>): KvLayout {
  const arch = metadata["general.architecture"];
  const fail = (key: string): never => {
    throw new TypeError(
      `Cannot size the GGUF model: ${key} is missing or not a positive integer`,
    );
  };
  if (typeof arch !== "string" || arch === "") {
    fail("general.architecture");
  }
  const key = (name: string): string => `${arch}.${name}`;
  const layers = int(metadata[key("block_count")]) ?? fail(key("block_count"));
  const heads = int(metadata[key("attention.head_count")]);
  const kvRaw = metadata[key("attention.head_count_kv")];
  let kvHeads: number;
  let attentionLayers = layers;
  if (Array.isArray(kvRaw)) {
    // Hybrid models list KV heads per layer; 0 marks a recurrent layer.
    const perLayer = kvRaw.filter((h) => typeof h === "number" && h > 0);
    attentionLayers = perLayer.length;
    kvHeads = Math.max(0, ...perLayer) || fail(key("attention.head_count_kv"));
  } else {
    kvHeads = int(kvRaw) ?? heads ?? fail(key("attention.head_count_kv"));
  }
  const embedding = int(metadata[key("embedding_length")]);
  const keyLength = int(metadata[key("attention.key_length")]) ??
    (embedding !== undefined && heads !== undefined && embedding % heads === 0
      ? embedding / heads
      : fail(key("attention.key_length")));
  const valueLength = int(metadata[key("attention.value_length")]) ??
    keyLength;
  return {
    modelType: `gguf ${arch}`,
    dtype: "float16",
    dtypeFrom: "llama.cpp's default f16 KV cache",
    groups: [{
      kind: "full",
      layers: attentionLayers,
      kvHeads,
      headDim: keyLength,
      vHeadDim: valueLength,
    }],
    mtpLayers: 0,
  };
}
