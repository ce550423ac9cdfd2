import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { parseHfConfig } from "./hf_config.ts";
import { gpuBytesPerRequest, type KvSizing, sizeKv } from "./kv_size.ts";

const CONFIGS = new URL("../../tests/testdata/configs/", import.meta.url);

function fixture(name: string): unknown {
  return JSON.parse(Deno.readTextFileSync(new URL(`${name}.json`, CONFIGS)));
}

function size(
  name: string,
  options: Parameters<typeof sizeKv>[1] = {},
): KvSizing {
  return sizeKv(parseHfConfig(fixture(name), name), options);
}

// Each fixture's bytes per token, computed by hand from its config.json:
// full attention 2 (K, V) × layers × KV heads × head dim × dtype bytes;
// MLA layers × (kv_lora_rank + qk_rope_head_dim) × dtype bytes.
const WHOLE_MODEL: [string, number, string][] = [
  ["llama-3.1-8b-instruct", 131_072, "2 × 32 × 8 × (4096/32 = 128) × 2"],
  ["llama-3.1-70b-instruct", 327_680, "2 × 80 × 8 × (8192/64 = 128) × 2"],
  ["qwen3-8b", 147_456, "2 × 36 × 8 × 128 × 2"],
  ["qwen3-30b-a3b-instruct-2507", 98_304, "2 × 48 × 4 × 128 × 2"],
  ["qwen3-235b-a22b-instruct-2507", 192_512, "2 × 94 × 4 × 128 × 2"],
  ["qwen3-coder-480b-a35b-instruct", 253_952, "2 × 62 × 8 × 128 × 2"],
  ["qwen3-next-80b-a3b-instruct", 24_576, "2 × 12 full layers × 2 × 256 × 2"],
  ["deepseek-v3", 70_272, "61 × (512 + 64) × 2"],
  ["kimi-k2-instruct", 70_272, "61 × (512 + 64) × 2"],
  ["gpt-oss-20b", 49_152, "2 × (12 full + 12 sliding) × 8 × 64 × 2"],
  ["gpt-oss-120b", 73_728, "2 × (18 full + 18 sliding) × 8 × 64 × 2"],
  ["gemma-3-27b-it", 507_904, "2 × (10 full + 52 sliding) × 16 × 128 × 2"],
  // Gemma3TextConfig's defaults: 4 KV heads of 256.
  ["gemma-3-4b-it", 139_264, "2 × (5 full + 29 sliding) × 4 × 256 × 2"],
  ["mixtral-8x7b-instruct-v0.1", 131_072, "2 × 32 × 8 × (4096/32) × 2"],
  ["nemotron-h-8b-base-8k", 16_384, "2 × 4 attention layers × 8 × 128 × 2"],
  ["glm-4.5", 376_832, "2 × 92 × 8 × 128 × 2"],
];

for (const [name, bytes, arithmetic] of WHOLE_MODEL) {
  Deno.test(`${name}: ${arithmetic} = ${bytes} bytes per token`, () => {
    const s = size(name);
    strictEqual(s.bytesPerTokenPerRank, bytes);
    strictEqual(s.modelBytesPerToken, bytes);
    strictEqual(s.kvDtype, "bfloat16");
  });
}

Deno.test("per rank: max(1, kv_heads / TP) heads; MLA replicated on every rank", () => {
  // Llama-3.1-70B at TP 8: 8 heads / 8 = 1 per rank: 2 × 80 × 1 × 128 × 2.
  const llama = size("llama-3.1-70b-instruct", { tp: 8 });
  strictEqual(llama.bytesPerTokenPerRank, 40_960);
  strictEqual(llama.bytesPerTokenAllRanks, 327_680);
  // Qwen3-235B at TP 8 in fp8: 4 heads < 8 ranks, one head each:
  // 2 × 94 × 1 × 128 × 1 = 24,064 per rank; 8 × 24,064 = 192,512 stored.
  const qwen = size("qwen3-235b-a22b-instruct-2507", {
    tp: 8,
    kvCacheDtype: "fp8",
  });
  strictEqual(qwen.bytesPerTokenPerRank, 24_064);
  strictEqual(qwen.bytesPerTokenAllRanks, 192_512);
  strictEqual(qwen.modelBytesPerToken, 96_256);
  strictEqual(qwen.groups[0].headsPerRank, 1);
  // DeepSeek-V3 at TP 8: the latent is not split: 70,272 per rank, 8 copies.
  const ds = size("deepseek-v3", { tp: 8 });
  strictEqual(ds.bytesPerTokenPerRank, 70_272);
  strictEqual(ds.bytesPerTokenAllRanks, 562_176);
  strictEqual(ds.groups[0].formula, "61 × (512 + 64) × 2 B");
});

Deno.test("KV dtypes: fp8 halves, fp8_ds_mla is 656 B a layer, nvfp4 packs scales", () => {
  strictEqual(
    size("llama-3.1-8b-instruct", { kvCacheDtype: "fp8_e4m3" })
      .bytesPerTokenPerRank,
    65_536, // 2 × 32 × 8 × 128 × 1
  );
  // nvfp4: per head K and V each 128/2 + 128/16 = 72 bytes: 32 × 8 × 144.
  strictEqual(
    size("llama-3.1-8b-instruct", { kvCacheDtype: "nvfp4" })
      .bytesPerTokenPerRank,
    36_864,
  );
  // DeepSeek V3.2's sparse FlashMLA cache: 61 × 656.
  strictEqual(
    size("deepseek-v3", { kvCacheDtype: "fp8_ds_mla" }).bytesPerTokenPerRank,
    40_016,
  );
  throws(
    () => size("llama-3.1-8b-instruct", { kvCacheDtype: "fp8_ds_mla" }),
    /fp8_ds_mla is for MLA models/,
  );
  throws(
    () => size("llama-3.1-8b-instruct", { kvCacheDtype: "int3" }),
    /--kv-cache-dtype "int3" is not one of auto, bf16/,
  );
  // A config's kv_cache_scheme sets the dtype when none is asked for.
  const config = {
    ...(fixture("llama-3.1-8b-instruct") as object),
    quantization_config: {
      quant_method: "compressed-tensors",
      kv_cache_scheme: { num_bits: 8, type: "float", strategy: "tensor" },
    },
  };
  const s = sizeKv(parseHfConfig(config));
  deepStrictEqual(
    [s.kvDtype, s.kvDtypeFrom, s.bytesPerTokenPerRank],
    ["fp8", "quantization_config.kv_cache_scheme", 65_536],
  );
  strictEqual(
    sizeKv(parseHfConfig(config), { kvCacheDtype: "bf16" })
      .bytesPerTokenPerRank,
    131_072,
  );
});

Deno.test("sliding window: the GPU keeps the window, the offload tier every block", () => {
  // gpt-oss-120b: 18 full layers × 2 × 8 × 64 × 2 = 36,864 B per token, and
  // 18 sliding layers of the same size for the last 128 tokens only.
  const oss = size("gpt-oss-120b");
  deepStrictEqual(
    [
      oss.gpuBytesPerTokenPerRank,
      oss.windowBytesPerTokenPerRank,
      oss.windowTokens,
    ],
    [36_864, 36_864, 128],
  );
  // One 32,000-token context: 32,000 × 36,864 + 128 × 36,864 bytes on the GPU.
  strictEqual(gpuBytesPerRequest(oss, 32_000), 1_184_366_592);
  // Gemma 3 27B: layers 6, 12, …, 60 global (10), 52 sliding over 1024 tokens;
  // 8,192 B per layer and token.
  const gemma = size("gemma-3-27b-it");
  deepStrictEqual(
    gemma.groups.map((g) => [g.kind, g.layers, g.bytesPerTokenPerRank]),
    [["sliding", 52, 425_984], ["full", 10, 81_920]],
  );
  strictEqual(gemma.windowTokens, 1024);
  // Qwen3 has a sliding_window field but use_sliding_window false: all full.
  deepStrictEqual(size("qwen3-8b").groups.map((g) => g.kind), ["full"]);
  // Mistral-7B-v0.1 style: sliding_window without a pattern: every layer slides.
  const mistral = sizeKv(parseHfConfig({
    torch_dtype: "bfloat16",
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    hidden_size: 4096,
    sliding_window: 4096,
  }));
  deepStrictEqual(
    [mistral.gpuBytesPerTokenPerRank, mistral.windowBytesPerTokenPerRank],
    [0, 131_072],
  );
});

Deno.test("linear attention and Mamba: a fixed state per request, apart", () => {
  // Qwen3-Next: 36 gated-delta-net layers; conv over 2 × 16 × 128 + 32 × 128
  // = 8,192 channels × 3, state 32 heads × 128 × 128 = 524,288, bf16:
  // 36 × (24,576 + 524,288) × 2 = 39,518,208 B per request.
  const next = size("qwen3-next-80b-a3b-instruct");
  strictEqual(next.stateBytesPerRequestPerRank, 39_518_208);
  deepStrictEqual(
    next.groups.map((g) => [g.kind, g.layers]),
    [["linear", 36], ["full", 12]],
  );
  // At TP 2: 1 KV head per rank (2 × 12 × 1 × 256 × 2 = 12,288), the state
  // halves: 36 × (4,096 × 3 + 16 × 16,384) × 2 = 19,759,104.
  const next2 = size("qwen3-next-80b-a3b-instruct", { tp: 2 });
  strictEqual(next2.bytesPerTokenPerRank, 12_288);
  strictEqual(next2.stateBytesPerRequestPerRank, 19_759_104);
  // Nemotron-H 8B: 24 Mamba2 layers; conv over 128 × 64 + 2 × 8 × 128 =
  // 10,240 channels × 3, state 128 heads × 64 × 128, bf16:
  // 24 × (30,720 + 1,048,576) × 2 = 51,806,208 B per request.
  const nemo = size("nemotron-h-8b-base-8k");
  strictEqual(nemo.stateBytesPerRequestPerRank, 51_806_208);
  deepStrictEqual(
    nemo.groups.map((g) => [g.kind, g.layers]),
    [["mamba", 24], ["full", 4]],
  );
  strictEqual(gpuBytesPerRequest(nemo, 1000), 1000 * 16_384 + 51_806_208);
});

Deno.test("MTP layers are counted when speculative decoding is on", () => {
  // DeepSeek-V3 ships 1 MTP layer: 62 × 576 × 2 = 71,424.
  const ds = size("deepseek-v3", { mtp: true });
  deepStrictEqual([ds.bytesPerTokenPerRank, ds.mtpLayers], [71_424, 1]);
  // GLM-4.5: 2 × 93 × 8 × 128 × 2 = 380,928.
  strictEqual(size("glm-4.5", { mtp: true }).bytesPerTokenPerRank, 380_928);
  strictEqual(size("kimi-k2-instruct", { mtp: true }).mtpLayers, 0);
});

Deno.test("bad configs: a one-line error naming the field", () => {
  const llama = fixture("llama-3.1-8b-instruct") as Record<string, unknown>;
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { ...llama, num_hidden_layers: undefined },
      /num_hidden_layers is missing/,
    ],
    [{ ...llama, num_key_value_heads: "8" }, /num_key_value_heads "8" is not/],
    [
      { ...llama, layer_types: Array(32).fill("weird_attention") },
      /layer_types\[0\] "weird_attention" is not an attention type/,
    ],
    [{ ...llama, layer_types: ["full_attention"] }, /layer_types must list/],
    [
      { ...llama, hidden_size: 4000, num_attention_heads: 48 },
      /head_dim is missing and hidden_size 4000/,
    ],
    [{ ...llama, torch_dtype: "int4" }, /torch_dtype "int4" is not a known/],
    [
      { ...llama, kv_lora_rank: 512 },
      /qk_rope_head_dim is missing/,
    ],
    [
      { ...llama, hybrid_override_pattern: "M*" },
      /hybrid_override_pattern must have one character per layer/,
    ],
    [
      { ...llama, full_attention_interval: 4 },
      /linear_num_key_heads is missing/,
    ],
  ];
  for (const [config, message] of cases) {
    throws(() => parseHfConfig(config, "x.json"), (error: Error) => {
      strictEqual(error instanceof TypeError, true);
      strictEqual(error.message.includes("\n"), false);
      strictEqual(error.message.startsWith('Cannot size "x.json": '), true);
      return message.test(error.message);
    });
  }
  throws(() => parseHfConfig([1, 2]), /not a JSON object/);
});
