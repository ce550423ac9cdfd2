import { deepStrictEqual, throws } from "node:assert/strict";
import { layoutFromGguf } from "./gguf_layout.ts";
import { sizeKv } from "./kv_size.ts";

Deno.test("GGUF: per-layer KV heads (0 = recurrent layer), distinct key and value lengths", () => {
  const layout = layoutFromGguf({
    "general.architecture": "lfm2",
    "lfm2.block_count": 4,
    "lfm2.attention.head_count": 16,
    "lfm2.attention.head_count_kv": [0, 8, 0, 8],
    "lfm2.attention.key_length": 192,
    "lfm2.attention.value_length": 128,
  });
  deepStrictEqual(layout.groups, [
    { kind: "full", layers: 2, kvHeads: 8, headDim: 192, vHeadDim: 128 },
  ]);
  // 2 layers × 8 heads × (192 + 128) × 2 B (f16) = 10,240.
  deepStrictEqual(sizeKv(layout).bytesPerTokenPerRank, 10_240);
  throws(
    () => layoutFromGguf({ "general.architecture": "llama" }),
    /Cannot size the GGUF model: llama.block_count is missing/,
  );
  throws(
    () =>
      layoutFromGguf({
        "general.architecture": "llama",
        "llama.block_count": 2,
        "llama.attention.head_count_kv": 2,
      }),
    /llama.attention.key_length is missing/,
  );
});
