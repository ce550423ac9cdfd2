import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  BUNDLED_MODEL_CONFIGS,
  bytesPerToken,
  offloadSizeGib,
  parseGib,
} from "../../lib/models/model_config.ts";
import { MAX_CONTEXTS, renderBenchmarkSpec, sizeBenchmark } from "./sizing.ts";
import { benchmarkWorkload } from "./workload.ts";
import type { RequestSpec, SessionContext } from "../../lib/types.ts";

// Hand-computed from contexts = floor(0.9 × offload / (bpt × 32000 / 1024³)):
// gpt-oss-120b: 0.9×100 / (73728×32000/2^30 = 2.197266) = 40.96 → 40, in flight 13
// gpt-oss-20b: 90 / 1.464844 = 61.44 → 61 / 20 (the Tensormesh blog's run)
// Qwen3-235B-FP8: TP 8 → 800 GiB; 720 / 2.868652 = 250.99 → 250 / 83
// Qwen3-Coder-480B-FP8: 720 / 7.568359 = 95.13 → 95 / 31
// Qwen3-30B-A3B: 90 / 2.929688 = 30.72 → 30 / 10 (the seed docs' example)
const EXPECTED: [string, number, number, number, number][] = [
  ["openai/gpt-oss-120b", 73728, 100, 40, 13],
  ["openai/gpt-oss-20b", 49152, 100, 61, 20],
  ["Qwen/Qwen3-235B-A22B-Instruct-2507-FP8", 96256, 800, 250, 83],
  ["Qwen/Qwen3-Coder-480B-A35B-Instruct-FP8", 253952, 800, 95, 31],
  ["Qwen/Qwen3-30B-A3B-Instruct-2507", 98304, 100, 30, 10],
];

for (const [name, bpt, offload, contexts, inflight] of EXPECTED) {
  Deno.test(`sizing of ${name}: ${bpt} B/token, ${offload} GiB → ${contexts} / ${contexts} / ${inflight}`, () => {
    const config = BUNDLED_MODEL_CONFIGS.find((c) => c.model_name === name)!;
    strictEqual(bytesPerToken(config), bpt);
    strictEqual(offloadSizeGib(config), offload);
    const s = sizeBenchmark(name, {
      offloadSizeGib: offload,
      bytesPerToken: bpt,
    });
    deepStrictEqual([
      s.contexts,
      s.questions,
      s.maxInFlight,
      s.inputLength,
      s.outputLength,
    ], [
      contexts,
      contexts,
      inflight,
      32000,
      100,
    ]);
  });
}

Deno.test("parseGib accepts tmesh-cli's suffixes and refuses junk", () => {
  strictEqual(parseGib("100Gi"), 100);
  strictEqual(parseGib("100G"), 100);
  strictEqual(parseGib("0"), 0);
  strictEqual(parseGib(30), 30);
  throws(
    () => parseGib("lots", "cpuOffloadingBufferSize"),
    /Cannot read cpuOffloadingBufferSize "lots"/,
  );
});

Deno.test("sizing keeps at least one request in flight and refuses a context that cannot fit", () => {
  strictEqual(
    sizeBenchmark("m", { offloadSizeGib: 5, bytesPerToken: 98304 })
      .maxInFlight,
    1,
  );
  throws(
    () => sizeBenchmark("m", { offloadSizeGib: 1, bytesPerToken: 98304 }),
    /does not fit/,
  );
});

Deno.test("sizing refuses more than MAX_CONTEXTS contexts (an input length far too short)", () => {
  // 1 GiB / (1024 B/token × 1 token) × 0.9 = 943,718 contexts: refused.
  throws(
    () =>
      sizeBenchmark("m", {
        offloadSizeGib: 1,
        bytesPerToken: 1024,
        inputLength: 1,
      }),
    {
      name: "RangeError",
      message:
        "Cannot size the workload: 943718 contexts of 1 tokens (more than 100000, with 314572 requests in flight) would fill 0.9 × 1 GiB: give a longer input length or a smaller offload size",
    },
  );
  // 943,718.4 / 10 tokens = 94,371 contexts: under MAX_CONTEXTS, sized.
  strictEqual(
    sizeBenchmark("m", {
      offloadSizeGib: 1,
      bytesPerToken: 1024,
      inputLength: 10,
    }).contexts,
    94371,
  );
  strictEqual(MAX_CONTEXTS, 100_000);
});

Deno.test("renderBenchmarkSpec prints tmesh-cli's block", () => {
  strictEqual(
    renderBenchmarkSpec(sizeBenchmark("Qwen/Qwen3-30B-A3B-Instruct-2507", {
      offloadSizeGib: 100,
      bytesPerToken: 98304,
    })),
    "Workload Specifications:\nModel: Qwen/Qwen3-30B-A3B-Instruct-2507\nNumber of Contexts: 30\n" +
      "Number of Questions per Context: 30\nMax Inflight Requests (Load-Balancing): 10\n" +
      "Input Length: 32000\nOutput Length: 100\n",
  );
});

async function specsOf(seed: number, n: number): Promise<RequestSpec[]> {
  const sizing = sizeBenchmark("m", {
    offloadSizeGib: 10,
    bytesPerToken: 98304,
    inputLength: 4,
  });
  const specs: RequestSpec[] = [];
  const ctx = {
    send: (spec: RequestSpec) => {
      specs.push(spec);
      return Promise.resolve({ ok: true });
    },
  } as unknown as SessionContext;
  let i = 0;
  for (
    const session of benchmarkWorkload(
      { ...sizing, contexts: 3, questions: 3 },
      {
        seed,
      },
    )
  ) {
    await session(ctx);
    if (++i === n) break;
  }
  return specs;
}

Deno.test("benchmarkWorkload sends context + question in tile order, reproducibly for a seed", async () => {
  const a = await specsOf(7, 7);
  const prompts = a.map((s) => s.prompt as string);
  for (let i = 0; i < 7; i++) {
    const match = /^(\d+)hihihihi(\d+)tell me a long story$/.exec(prompts[i]);
    strictEqual(match !== null, true, prompts[i]);
    strictEqual(Number(match![1]), i % 3);
    strictEqual(Number(match![2]) < 3, true);
  }
  strictEqual(a[0].maxTokens, 100);
  deepStrictEqual((await specsOf(7, 7)).map((s) => s.prompt), prompts);
});

Deno.test("per-rank TP sizing: Qwen3-235B-A22B at TP 8 in fp8 holds half the table's contexts", async () => {
  const { sizeBenchmarkFromHfConfig } = await import("./sizing.ts");
  const config = new URL(
    "../../tests/testdata/configs/qwen3-235b-a22b-instruct-2507.json",
    import.meta.url,
  ).pathname;
  // The table: 800 GiB / 96,256 B per token = 8.92 M tokens → 250 contexts.
  // Per rank: 4 KV heads over 8 ranks = 1 each: 2 × 94 × 1 × 128 × 1 =
  // 24,064 B; a 100 GiB rank buffer holds 107,374,182,400 / 24,064 =
  // 4,462,025 tokens; 0.9 × 800 / (8 × 24,064 × 32,000 / 1024³ = 5.737 GiB)
  // = 125.5 → 125 contexts, 41 in flight.
  const { sizing, kv } = await sizeBenchmarkFromHfConfig(
    "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8",
    { hfConfig: config, kvCacheDtype: "fp8" },
  );
  strictEqual(kv.tp, 8); // the table's tensorParallelSize
  strictEqual(kv.bytesPerTokenPerRank, 24_064);
  strictEqual(Math.floor(100 * 1024 ** 3 / kv.bytesPerTokenPerRank), 4_462_025);
  strictEqual(sizing.offloadSizeGib, 800); // the table's 100 GiB × TP 8
  deepStrictEqual(
    [sizing.contexts, sizing.maxInFlight, sizing.bytesPerToken],
    [125, 41, 192_512],
  );
  // A state-only model has nothing per token to size contexts with.
  const { sizeBenchmarkFromLayout } = await import("./sizing.ts");
  throws(
    () =>
      sizeBenchmarkFromLayout("m", {
        modelType: "x",
        dtype: "bfloat16",
        dtypeFrom: "",
        mtpLayers: 0,
        groups: [{
          kind: "mamba",
          layers: 2,
          convDim: 8,
          convWidth: 3,
          stateHeads: 2,
          stateHeadElements: 4,
        }],
      }, { offloadSizeGib: 10 }),
    /keeps no per-token KV cache/,
  );
});

Deno.test("the served model's layout: /v1/models root on this host, else llama.cpp's GGUF metadata", async () => {
  const { sizeBenchmarkFromHfConfig } = await import("./sizing.ts");
  const dir = await Deno.makeTempDir();
  await Deno.copyFile(
    new URL(
      "../../tests/testdata/configs/llama-3.1-8b-instruct.json",
      import.meta.url,
    ),
    `${dir}/config.json`,
  );
  let props = false;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/v1/models") {
        return Response.json({
          data: [{ id: "served/llama", root: props ? "relative" : dir }],
        });
      }
      if (path === "/props" && props) {
        return Response.json({
          default_generation_settings: { n_ctx: 4096 },
          total_slots: 1,
          metadata: {
            "general.architecture": "qwen3",
            "qwen3.block_count": 36,
            "qwen3.attention.head_count": 32,
            "qwen3.attention.head_count_kv": 8,
            "qwen3.attention.key_length": 128,
          },
        });
      }
      return new Response("not found", { status: 404 });
    },
  );
  const endpoint = `http://127.0.0.1:${server.addr.port}`;
  try {
    // vLLM's root: 2 × 32 × 8 × 128 × 2 = 131,072 B per token;
    // 0.9 × 4 GiB / (131,072 × 2,000 / 1024³) = 14.7 → 14 contexts.
    const fromRoot = await sizeBenchmarkFromHfConfig("served/llama", {
      endpoint,
      offloadSizeGib: 4,
      inputLength: 2000,
      cachedOnly: true,
    });
    deepStrictEqual(
      [fromRoot.kv.bytesPerTokenPerRank, fromRoot.sizing.contexts],
      [131_072, 14],
    );
    strictEqual(
      fromRoot.note.endsWith(`(layout from ${dir}/config.json)`),
      true,
    );
    // llama.cpp: GGUF metadata, f16: 2 × 36 × 8 × 128 × 2 = 147,456.
    props = true;
    const fromProps = await sizeBenchmarkFromHfConfig("served/llama", {
      endpoint,
      offloadSizeGib: 4,
      inputLength: 2000,
      cachedOnly: true,
    });
    strictEqual(fromProps.kv.bytesPerTokenPerRank, 147_456);
    strictEqual(
      fromProps.note.endsWith(`(layout from ${endpoint}/props)`),
      true,
    );
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
