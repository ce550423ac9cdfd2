import assert from "node:assert/strict";
import { type EngineReading, readEngineMetrics } from "./engines.ts";
import { parsePrometheusText } from "./prometheus.ts";
import { startSimulator } from "../sim/server.ts";

// Every expected number below is worked out by hand from the fixture text
// in testdata/metrics/ (the arithmetic is in the comments).
const fixture = (name: string): Promise<string> =>
  Deno.readTextFile(
    new URL(`../../tests/testdata/metrics/${name}`, import.meta.url),
  );

/** The reading without its sources (tested on their own below). */
const read = (text: string): Omit<EngineReading, "sources"> => {
  const { engines, counters, gauges } = readEngineMetrics(
    parsePrometheusText(text),
  );
  return { engines, counters, gauges };
};

Deno.test("vLLM with prompt tokens by source (vllm_v1_offload.prom)", async () => {
  assert.deepEqual(read(await fixture("vllm_v1_offload.prom")), {
    engines: ["vllm"],
    counters: {
      promptTokens: 1228800, // vllm:prompt_tokens_total 1.2288e+06
      computedTokens: 204800, // source="local_compute"
      // source="local_cache_hit" 614400 − prompt_tokens_recomputed_total 0
      deviceHitTokens: 614400,
      offloadHitTokens: 409600, // source="external_kv_transfer"
      // The OffloadingConnector (kv_offload_* counters) offloads to host
      // memory: its external hits are the host tier's.
      hostHitTokens: 409600,
      offloadQueryTokens: 614400, // external_prefix_cache_queries_total
      offloadLoadBytes: 3355443200, // kv_offload_load_bytes_total 3.3554432e+09
      offloadLoadSeconds: 0.8124, // kv_offload_load_time_total
      offloadStoreBytes: 6710886400, // kv_offload_store_bytes_total 6.7108864e+09
      offloadStoreSeconds: 1.633, // kv_offload_store_time_total
      preemptions: 0,
      generationTokens: 25600,
    },
    gauges: {
      blockSize: 16,
      deviceKvTokens: 262144, // num_gpu_blocks 16384 × block_size 16
      deviceKvUsage: 0.4375,
      requestsRunning: 2,
      requestsWaiting: 0,
    },
  });
});

Deno.test("vLLM by source: the recomputed last token is taken off the device hits", () => {
  const text = [
    'vllm:prompt_tokens_total{engine="0"} 3000',
    'vllm:prompt_tokens_by_source_total{engine="0",source="local_compute"} 1002',
    'vllm:prompt_tokens_by_source_total{engine="0",source="local_cache_hit"} 1998',
    'vllm:prompt_tokens_by_source_total{engine="0",source="external_kv_transfer"} 2',
    'vllm:prompt_tokens_recomputed_total{engine="0"} 2',
  ].join("\n");
  // 1002 + 1998 + 2 − 2 recomputed = 3000: the hits lose the 2 recomputed.
  assert.deepEqual(read(text).counters, {
    promptTokens: 3000,
    computedTokens: 1002,
    deviceHitTokens: 1996, // 1998 − 2
    offloadHitTokens: 2,
  });
});

Deno.test("vLLM without by-source counters (vllm_v1_single_process_with_created.prom)", async () => {
  assert.deepEqual(
    read(await fixture("vllm_v1_single_process_with_created.prom")),
    {
      engines: ["vllm"],
      counters: {
        promptTokens: 4096,
        deviceHitTokens: 2048, // prefix_cache_hits_total
        computedTokens: 2048, // 4096 − 2048 − no connector (0)
      },
      gauges: {},
    },
  );
});

Deno.test("vLLM's old names, two data-parallel engines summed (vllm_old_names_two_engines.prom)", async () => {
  assert.deepEqual(read(await fixture("vllm_old_names_two_engines.prom")), {
    engines: ["vllm"],
    counters: {
      promptTokens: 70000, // 40000 + 30000
      deviceHitTokens: 36000, // gpu_prefix_cache_hits_total 24000 + 12000
      computedTokens: 34000, // 70000 − 36000
      preemptions: 3, // 2 + 1
      generationTokens: 8000, // 5000 + 3000
    },
    gauges: {
      blockSize: 16,
      deviceKvTokens: 262144, // 2 engines × 8192 blocks × 16
      deviceKvUsage: 0.375, // gpu_cache_usage_perc mean of 0.5 and 0.25
      requestsRunning: 4, // 3 + 1
      requestsWaiting: 4, // 0 + 4
    },
  });
});

Deno.test("vLLM's first v1 builds counted prefix cache hits in blocks", () => {
  const blocks = [
    "# HELP vllm:gpu_prefix_cache_hits_total GPU prefix cache hits, in terms of number of cached blocks.",
    "# TYPE vllm:gpu_prefix_cache_hits_total counter",
    'vllm:gpu_prefix_cache_hits_total{model_name="m"} 10.0',
    'vllm:prompt_tokens_total{model_name="m"} 400.0',
  ];
  const config =
    'vllm:cache_config_info{block_size="16",num_gpu_blocks="100"} 1.0';
  // 10 blocks × 16 = 160 tokens; computed 400 − 160 = 240.
  assert.deepEqual(read([...blocks, config].join("\n")).counters, {
    promptTokens: 400,
    deviceHitTokens: 160,
    computedTokens: 240,
  });
  // Without the block size the hits are not given in tokens at all.
  assert.deepEqual(read(blocks.join("\n")).counters, { promptTokens: 400 });
});

Deno.test("vLLM: the new name wins over the deprecated one served beside it", () => {
  const text = [
    'vllm:prefix_cache_hits_total{engine="0"} 100',
    'vllm:gpu_prefix_cache_hits_total{engine="0"} 100',
    'vllm:kv_cache_usage_perc{engine="0"} 0.5',
    'vllm:gpu_cache_usage_perc{engine="0"} 0.5',
  ].join("\n");
  const { counters, gauges } = read(text);
  assert.equal(counters.deviceHitTokens, 100); // not 200
  assert.equal(gauges.deviceKvUsage, 0.5);
});

Deno.test("vLLM cache_config_info: kv_cache_size_tokens when num_gpu_blocks is None", () => {
  const text =
    'vllm:cache_config_info{block_size="32",engine="0",kv_cache_size_tokens="65536",num_gpu_blocks="None"} 1.0';
  assert.deepEqual(read(text).gauges, {
    blockSize: 32,
    deviceKvTokens: 65536,
  });
});

Deno.test("SGLang with HiCache host and storage sources (sglang_hicache.prom)", async () => {
  const expected: Omit<EngineReading, "sources"> = {
    engines: ["sglang"],
    counters: {
      promptTokens: 1228800, // sglang:prompt_tokens_total 1.2288e+06
      generationTokens: 25600,
      deviceHitTokens: 614400, // cache_source="device"
      offloadHitTokens: 409600, // host 409600 + storage_file 0
      hostHitTokens: 409600, // cache_source="host"
      diskHitTokens: 0, // storage_file: HiCache's file backend, local disk
      remoteHitTokens: 0, // no other storage_* backend
      computedTokens: 204800, // 1228800 − 614400 − 409600 − 0
    },
    gauges: {
      deviceKvTokens: 130720, // max_total_num_tokens
      deviceKvUsage: 0.47, // token_usage
      offloadKvTokens: 261440, // hicache_host_total_tokens
      offloadKvUsedTokens: 196608, // hicache_host_used_tokens
      requestsRunning: 2,
      requestsWaiting: 0,
      blockSize: 64, // cache_config_info page_size
    },
  };
  const text = await fixture("sglang_hicache.prom");
  assert.deepEqual(read(text), expected);
  // The sglang_ spelling (gateways, metric stores) reads the same.
  const underscored = text.replaceAll("sglang:", "sglang_");
  assert.ok(!underscored.includes("sglang:"));
  assert.deepEqual(read(underscored), expected);
});

Deno.test("SGLang: workers summed, ranks of one pool counted once, pools summed", () => {
  const sched = (labels: string, running: number, capacity: number) => [
    `sglang:num_running_reqs{${labels}} ${running}`,
    `sglang:max_total_num_tokens{${labels}} ${capacity}`,
    `sglang:token_usage{${labels}} ${running / 10}`,
  ];
  const text = [
    // Tokenizer counters of two workers behind a router.
    'sglang_prompt_tokens_total{model_name="m",worker="a"} 1000',
    'sglang_prompt_tokens_total{model_name="m",worker="b"} 3000',
    'sglang_cached_tokens_total{cache_source="device",model_name="m",worker="a"} 400',
    'sglang_cached_tokens_total{cache_source="device",model_name="m",worker="b"} 1000',
    'sglang_cached_tokens_total{cache_source="host",model_name="m",worker="b"} 600',
    'sglang_cached_tokens_total{cache_source="storage_mooncake",model_name="m",worker="b"} 200',
    // --enable-metrics-for-all-schedulers: tp_rank 0 and 1 report the same
    // pool of dp_rank 0; dp_rank 1 is a second pool.
    ...sched('dp_rank="0",model_name="m",pp_rank="0",tp_rank="0"', 3, 5000),
    ...sched('dp_rank="0",model_name="m",pp_rank="0",tp_rank="1"', 3, 5000),
    ...sched('dp_rank="1",model_name="m",pp_rank="0",tp_rank="0"', 1, 5000),
  ].join("\n");
  assert.deepEqual(read(text), {
    engines: ["sglang"],
    counters: {
      promptTokens: 4000, // 1000 + 3000
      deviceHitTokens: 1400, // 400 + 1000
      offloadHitTokens: 800, // host 600 + storage_mooncake 200
      hostHitTokens: 600,
      diskHitTokens: 0,
      remoteHitTokens: 200, // storage_mooncake: a remote store
      computedTokens: 1800, // 4000 − 1400 − 800
    },
    gauges: {
      deviceKvTokens: 10000, // 5000 (dp 0, once) + 5000 (dp 1)
      deviceKvUsage: 0.2, // mean of 0.3 (dp 0) and 0.1 (dp 1)
      requestsRunning: 4, // 3 + 1, not 3 + 3 + 1
    },
  });
});

Deno.test("SGLang without a per-source breakdown, and before the first hit", () => {
  const total = [
    'sglang:prompt_tokens_total{model_name="m"} 900',
    'sglang:cached_tokens_total{cache_source="total",model_name="m"} 300',
  ].join("\n");
  assert.deepEqual(read(total).counters, {
    promptTokens: 900,
    cachedTokens: 300, // the tier is not said
    computedTokens: 600, // 900 − 300
  });
  // Series appear at their first hit: none yet means nothing was cached.
  assert.deepEqual(
    read('sglang:prompt_tokens_total{model_name="m"} 500').counters,
    { promptTokens: 500, computedTokens: 500 },
  );
});

Deno.test("LMCache alone (lmcache_in_vllm.prom): its retrieve counters are the offload tier", async () => {
  assert.deepEqual(read(await fixture("lmcache_in_vllm.prom")), {
    engines: ["lmcache"],
    counters: {
      offloadHitTokens: 409600, // lmcache:num_hit_tokens_total
      offloadQueryTokens: 614400, // lmcache:num_requested_tokens_total
    },
    gauges: {},
  });
});

Deno.test("LMCache inside vLLM: vLLM's own connector counters win", async () => {
  const vllm = await fixture("vllm_v1_offload.prom");
  // LMCache's counters made to differ from vLLM's, so a mix-up shows.
  const lmcache = (await fixture("lmcache_in_vllm.prom"))
    .replaceAll(" 409600.0", " 7.0").replaceAll(" 614400.0", " 9.0");
  assert.equal(read(lmcache).counters.offloadHitTokens, 7);
  const alone = read(vllm);
  const both = read(`${vllm}\n${lmcache}`);
  assert.deepEqual(both.engines, ["vllm", "lmcache"]);
  assert.deepEqual(both.counters, alone.counters);
  assert.deepEqual(both.gauges, alone.gauges);
});

Deno.test("LMCache is not mixed with vLLM's by-source counters, even where vLLM lacks a field", async () => {
  const vllm = [
    'vllm:prompt_tokens_total{engine="0"} 1000',
    'vllm:prompt_tokens_by_source_total{engine="0",source="local_compute"} 600',
    'vllm:prompt_tokens_by_source_total{engine="0",source="local_cache_hit"} 400',
    'vllm:prompt_tokens_by_source_total{engine="0",source="external_kv_transfer"} 0',
  ].join("\n");
  const { counters } = read(
    `${vllm}\n${await fixture("lmcache_in_vllm.prom")}`,
  );
  // No external_prefix_cache_queries_total: offloadQueryTokens stays unknown
  // rather than LMCache's 614400 beside vLLM's own offload count of 0.
  assert.deepEqual(counters, {
    promptTokens: 1000,
    computedTokens: 600,
    deviceHitTokens: 400,
    offloadHitTokens: 0,
  });
});

Deno.test("LMCache inside a vLLM without external_* counters fills the offload tier", async () => {
  const vllm = [
    'vllm:prompt_tokens_total{engine="0",model_name="Qwen/Qwen2-0.5B"} 1228800.0',
    'vllm:prefix_cache_hits_total{engine="0",model_name="Qwen/Qwen2-0.5B"} 614400.0',
  ].join("\n");
  const { engines, counters } = read(
    `${vllm}\n${await fixture("lmcache_in_vllm.prom")}`,
  );
  assert.deepEqual(engines, ["vllm", "lmcache"]);
  assert.deepEqual(counters, {
    promptTokens: 1228800,
    deviceHitTokens: 614400,
    offloadHitTokens: 409600, // lmcache:num_hit_tokens_total
    offloadQueryTokens: 614400, // lmcache:num_requested_tokens_total
    computedTokens: 204800, // 1228800 − 614400 − 409600
  });
});

Deno.test("llama.cpp, a real capture (llamacpp_real.prom)", async () => {
  assert.deepEqual(read(await fixture("llamacpp_real.prom")), {
    engines: ["llamacpp"],
    counters: {
      computedTokens: 6662, // prompt_tokens_total: evaluated tokens only
      cachedTokens: 3107, // prompt_tokens_cached_total: slot or RAM cache
      promptTokens: 9769, // 6662 + 3107
      generationTokens: 1548, // tokens_predicted_total
    },
    gauges: { requestsRunning: 0, requestsWaiting: 0 },
  });
});

Deno.test("llama.cpp, real captures around three 1001-token prompts", async () => {
  // /work/notes/llama_findings.md §f: the same 1001-token prompt sent 3
  // times; the first evaluated in full, the next two all but the last token
  // from the cache.
  const before = read(await fixture("llamacpp_real_before_long.prom")).counters;
  const after = read(await fixture("llamacpp_real_after_long.prom")).counters;
  const delta = (k: "promptTokens" | "computedTokens" | "cachedTokens") =>
    after[k]! - before[k]!;
  assert.equal(delta("computedTokens"), 1003); // 1076 − 73 = 1001 + 1 + 1
  assert.equal(delta("cachedTokens"), 2000); // 2106 − 106 = 1000 + 1000
  assert.equal(delta("promptTokens"), 3003); // 3 × 1001
});

Deno.test("llama.cpp, an older build without the cached counter (llamacpp.prom)", async () => {
  assert.deepEqual(read(await fixture("llamacpp.prom")), {
    engines: ["llamacpp"],
    // No prompt_tokens_cached_total: the whole prompt is not known.
    counters: { computedTokens: 143, generationTokens: 673 },
    gauges: { requestsRunning: 1, requestsWaiting: 0 },
  });
});

Deno.test("Dynamo KVBM (dynamo_kvbm.prom)", async () => {
  assert.deepEqual(read(await fixture("dynamo_kvbm.prom")), {
    engines: ["dynamo-kvbm"],
    counters: {
      offloadHitTokens: 163840, // kvbm_matched_tokens
      onboardHostBlocks: 9400, // kvbm_onboard_blocks_h2d (blocks)
      onboardDiskBlocks: 820, // kvbm_onboard_blocks_d2d (blocks)
    },
    gauges: {}, // the *_cache_hit_rate gauges are windows: ignored
  });
});

Deno.test("TensorRT-LLM (names of tensorrt_llm/metrics/collector.py)", () => {
  const labels = '{engine_type="trtllm",model_name="m"}';
  const text = [
    `trtllm_prompt_tokens_total${labels} 1000.0`,
    `trtllm_prompt_cached_tokens_total${labels} 600.0`,
    `trtllm_generation_tokens_total${labels} 50.0`,
    `trtllm_kv_cache_max_blocks${labels} 100.0`,
    `trtllm_kv_cache_tokens_per_block${labels} 32.0`,
    `trtllm_kv_cache_utilization${labels} 0.25`,
    `trtllm_kv_cache_hit_rate${labels} 0.9`,
    `trtllm_num_requests_running${labels} 2.0`,
    `trtllm_num_requests_waiting${labels} 1.0`,
  ].join("\n");
  assert.deepEqual(read(text), {
    engines: ["trtllm"],
    counters: {
      promptTokens: 1000,
      cachedTokens: 600,
      computedTokens: 400, // 1000 − 600
      generationTokens: 50,
    },
    gauges: {
      deviceKvUsage: 0.25,
      deviceKvTokens: 3200, // 100 blocks × 32
      blockSize: 32,
      requestsRunning: 2,
      requestsWaiting: 1,
    },
  });
});

Deno.test("no known engine: engines [] and nothing read (edge_cases.prom)", async () => {
  const empty = { engines: [], counters: {}, gauges: {} };
  assert.deepEqual(read(await fixture("edge_cases.prom")), empty);
  assert.deepEqual(read(""), empty);
  assert.deepEqual(
    read('process_cpu_seconds_total 1\nhttp_requests_total{handler="/v1"} 5'),
    empty,
  );
});

Deno.test("an engine is detected by a TYPE line even before its first sample", () => {
  assert.deepEqual(read("# TYPE sglang:cached_tokens_total counter\n"), {
    engines: ["sglang"],
    counters: {},
    gauges: {},
  });
});

Deno.test("the kvbench simulator reads as vLLM", async () => {
  await using sim = await startSimulator({ timeScale: 0.01 });
  const body = JSON.stringify({ prompt: "hi".repeat(320), max_tokens: 4 });
  for (let i = 0; i < 2; i++) {
    await (await fetch(sim.url + "completions", { method: "POST", body }))
      .json();
  }
  const text = await (await fetch(new URL("/metrics", sim.url))).text();
  const { engines, counters, gauges } = read(text);
  assert.deepEqual(engines, ["vllm"]);
  // Two 320-token prompts; the second found 304 tokens (19 blocks of 16).
  assert.equal(counters.promptTokens, 640);
  assert.equal(counters.deviceHitTokens, 304);
  assert.equal(
    counters.computedTokens! + counters.deviceHitTokens! +
      counters.offloadHitTokens!,
    640,
  );
  assert.equal(gauges.blockSize, 16);
  assert.ok(gauges.deviceKvTokens! > 0 && gauges.offloadKvTokens! > 0);
});
