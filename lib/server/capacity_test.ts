import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  capacityFromMetrics,
  capacityFromProps,
  compareCapacity,
  probeServerCapacity,
} from "./capacity.ts";
import { parsePrometheusText } from "./prometheus.ts";

Deno.test("vLLM: num_gpu_blocks × block_size and cache_dtype from cache_config_info", () => {
  const c = capacityFromMetrics(parsePrometheusText(
    'vllm:cache_config_info{block_size="16",cache_dtype="fp8_e4m3",num_gpu_blocks="27305"} 1.0\n',
  ));
  // 27,305 blocks × 16 tokens = 436,880 tokens.
  deepStrictEqual(
    [c.engine, c.deviceKvTokens, c.blockSize, c.cacheDtype, c.from],
    ["vllm", 436_880, 16, "fp8_e4m3", "/metrics cache_config_info"],
  );
});

Deno.test("SGLang: max_total_num_tokens and HiCache host tokens", () => {
  const c = capacityFromMetrics(parsePrometheusText(
    [
      'sglang:max_total_num_tokens{tp_rank="0"} 600000',
      'sglang:hicache_host_total_tokens{tp_rank="0"} 2400000',
      "",
    ].join("\n"),
  ));
  deepStrictEqual(
    [c.engine, c.deviceKvTokens, c.offloadKvTokens, c.cacheDtype],
    ["sglang", 600_000, 2_400_000, undefined],
  );
});

Deno.test("llama.cpp /props: n_ctx per slot × slots, GGUF metadata kept", () => {
  const metadata = {
    "general.architecture": "llama",
    "llama.block_count": 32,
  };
  const c = capacityFromProps({
    default_generation_settings: { n_ctx: 16384 },
    total_slots: 4,
    metadata,
  });
  deepStrictEqual(
    [c.deviceKvTokens, c.slots, c.ggufMetadata],
    [65_536, 4, metadata],
  );
  strictEqual(capacityFromProps("nonsense").deviceKvTokens, undefined);
});

Deno.test("compareCapacity: dtype families and counts more than 5 % apart", () => {
  const server = {
    engine: "vllm",
    cacheDtype: "auto",
    deviceKvTokens: 100_000,
    offloadKvTokens: 1_000_000,
    from: "/metrics cache_config_info",
  };
  // auto is the model's 16-bit dtype: agrees with bfloat16; 4 % apart agrees.
  deepStrictEqual(
    compareCapacity(server, {
      kvDtype: "bfloat16",
      offloadKvTokens: 960_000,
      deviceKvTokens: 100_000,
    }),
    [],
  );
  deepStrictEqual(
    compareCapacity(server, { kvDtype: "fp8", deviceKvTokens: 50_000 }),
    [
      "[WARN] The server's KV cache is auto (cache_config_info cache_dtype), the sizing's fp8: give --kv-cache-dtype auto",
      "[WARN] The server reports 100,000 GPU KV tokens (/metrics cache_config_info), the sizing computed 50,000: check the GPU KV size, TP and KV dtype given",
    ],
  );
});

Deno.test("probeServerCapacity: /metrics first, then /props, else undefined", async () => {
  let props = true;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/metrics") {
        return new Response(
          'vllm:cache_config_info{block_size="16",num_gpu_blocks="100"} 1\n',
        );
      }
      if (path === "/props" && props) {
        return Response.json({ default_generation_settings: { n_ctx: 10 } });
      }
      return new Response("no", { status: 404 });
    },
  );
  const origin = `http://127.0.0.1:${server.addr.port}`;
  try {
    strictEqual((await probeServerCapacity(origin))?.deviceKvTokens, 1600);
    props = false;
    const none = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response("no", { status: 404 }),
    );
    strictEqual(
      await probeServerCapacity(`http://127.0.0.1:${none.addr.port}`),
      undefined,
    );
    await none.shutdown();
  } finally {
    await server.shutdown();
  }
});
