/**
 * Sizing end to end through cli.ts: `kvbench size` (a model_configs.json
 * name, a config.json path, a Hugging Face id from a local Hub, --json) and
 * `benchmark --hf-config` against the simulator.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { startSimulator } from "../lib/sim/server.ts";
import { serveFakeHub } from "../lib/testing/fake_hub.ts";
import { startScriptedServer } from "../lib/testing/scripted_server.ts";
import { runCli } from "./cli_process.ts";

const CONFIGS = new URL("./testdata/configs/", import.meta.url).pathname;

Deno.test("benchmark --hf-config sizes a model the table lacks, per TP rank", async () => {
  await using sim = await startSimulator({
    model: "meta-llama/Llama-3.1-70B-Instruct",
    timeScale: 0.01,
    seed: 1,
  });
  const { code, stdout, stderr } = await runCli([
    "benchmark",
    "--force",
    "--endpoint",
    sim.url,
    "--hf-config",
    `${CONFIGS}llama-3.1-70b-instruct.json`,
    "--tp",
    "8",
    "--offload-size",
    "8",
    "--input-length",
    "2000",
    "--output-length",
    "4",
    "--num-prompts",
    "3",
    "--no-artifacts",
    "--interval",
    "60",
  ]);
  strictEqual(code, 0, stderr);
  // 2 × 80 layers × (8 KV heads / 8 ranks = 1) × 128 × 2 B = 40,960 per
  // rank; 8 ranks store 327,680 B per token; 0.9 × 8 GiB / (327,680 × 2,000
  // / 1024³ = 0.6104 GiB) = 11.8 → 11 contexts, 3 in flight.
  ok(
    stdout.includes(
      "KV 40,960 B per token per rank (2 × 80 × 1 × 128 × 2 B; bfloat16 from model dtype, torch_dtype bfloat16) × TP 8 = 327,680 B per token over all ranks",
    ),
    stdout,
  );
  ok(
    stdout.includes(
      "Number of Contexts: 11\nNumber of Questions per Context: 11\nMax Inflight Requests (Load-Balancing): 3\nInput Length: 2000\n",
    ),
    stdout,
  );
  // Without --offload-size, the server's offload capacity sizes it: the
  // simulator's 1,092,256 tokens (per rank) × 327,680 B over all ranks; 0.9 ×
  // 1,092,256 / 32,000 tokens per context = 30.7 → 30 contexts.
  const fromServer = await runCli([
    "benchmark",
    "--force",
    "--endpoint",
    sim.url,
    "--hf-config",
    `${CONFIGS}llama-3.1-70b-instruct.json`,
    "--num-prompts",
    "1",
    "--output-length",
    "2",
    "--no-artifacts",
  ]);
  strictEqual(fromServer.code, 0, fromServer.stderr);
  ok(
    fromServer.stdout.includes(
      "; offload 1,092,256 tokens per rank, from the server (/metrics))\n",
    ),
    fromServer.stdout,
  );
  ok(fromServer.stdout.includes("Number of Contexts: 30\n"), fromServer.stdout);
  // A server that does not tell, and no table entry: it says what to add.
  const quiet = startScriptedServer({
    models: ["my/model"],
    script: () => ({ firstTokenMs: 5 }),
  });
  const missing = await runCli([
    "benchmark",
    "--force",
    "--endpoint",
    quiet.origin,
    "--hf-config",
    `${CONFIGS}llama-3.1-70b-instruct.json`,
    "--no-artifacts",
  ]);
  await quiet.close();
  strictEqual(missing.code, 1);
  ok(
    missing.stderr.includes(
      "[ERROR] Cannot size the workload: model_configs.json has no offload size for my/model: give --offload-size GB",
    ),
    missing.stderr,
  );
  const both = await runCli([
    "benchmark",
    "--force",
    "--endpoint",
    sim.url,
    "--tp",
    "2",
    "--bytes-per-token",
    "1000",
  ]);
  strictEqual(both.code, 2);
  ok(
    both.stderr.includes(
      "error: --bytes-per-token excludes --hf-config, --tp and --kv-cache-dtype",
    ),
  );
});

Deno.test("kvbench size NAME: model_configs.json's entry, per rank, and the workload", async () => {
  const { code, stdout, stderr } = await runCli([
    "size",
    "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8",
  ]);
  strictEqual(code, 0, stderr);
  const lines = stdout.split("\n");
  deepStrictEqual(lines.slice(0, 2), [
    "Model: Qwen/Qwen3-235B-A22B-Instruct-2507-FP8 (model_configs.json)",
    "TP 8; KV dtype fp8 (model_configs.json dtype_size 1)",
  ]);
  // One row: 94 layers, 4 KV heads over 8 ranks = 1 each, fp8.
  ok(
    stdout.includes(
      "│ full  │     94 │   1 of 4 │ 2 × 94 × 1 × 128 × 1 B │    24,064 │   every token │",
    ),
    stdout,
  );
  for (
    const line of [
      "KV bytes per token: 24,064 per rank; 192,512 over 8 rank(s); 96,256 for the model at TP 1",
      // 107,374,182,400 B / 24,064 B = 4,462,025 tokens per 100 GiB rank buffer.
      "Offload 800 GiB over 8 rank(s) (100 GiB per rank) holds 4,462,025 tokens",
      "Number of Contexts: 125",
      "Max Inflight Requests (Load-Balancing): 41",
      // 250 × 32,000 = 8,000,000 tokens: the table's rule overfills 1.8×.
      "[WARN] Without --tp, --kv-cache-dtype or --hf-config, benchmark sizes 250 contexts by model_configs.json's rule (whole-model bytes per token against every rank's buffer): 8,000,000 tokens for a tier that holds 4,462,025 per rank, so reuses would miss.",
    ]
  ) ok(lines.includes(line), `${line}\n---\n${stdout}`);
});

Deno.test("kvbench size PATH: sliding window and state, GPU capacity, --json", async () => {
  const text = await runCli([
    "size",
    `${CONFIGS}gpt-oss-120b.json`,
    "--offload-size",
    "100",
    "--gpu-kv-gb",
    "10",
    "--input-length",
    "8000",
  ]);
  strictEqual(text.code, 0, text.stderr);
  for (
    const line of [
      `Model: ${CONFIGS}gpt-oss-120b.json (config.json)`,
      "TP 1; KV dtype bfloat16 (model dtype, no torch_dtype: vLLM's auto serves bfloat16)",
      "KV bytes per token: 73,728 per rank; 73,728 over 1 rank(s); 73,728 for the model at TP 1",
      "GPU per rank: 36,864 B per token + 36,864 B per token of the last 128 tokens",
      // 10 GiB / (8,000 × 36,864 + 128 × 36,864 = 299,630,592 B) = 35.8 → 35.
      "GPU KV 10 GiB per rank holds 35 contexts of 8,000 tokens (280,000 tokens)",
      // 107,374,182,400 / 73,728 = 1,456,355.
      "Offload 100 GiB over 1 rank(s) (100 GiB per rank) holds 1,456,355 tokens",
      // 0.9 × 100 / (73,728 × 8,000 / 1024³ = 0.5493 GiB) = 163.8 → 163.
      "Number of Contexts: 163",
    ]
  ) ok(text.stdout.split("\n").includes(line), `${line}\n---\n${text.stdout}`);
  const json = await runCli([
    "size",
    `${CONFIGS}qwen3-next-80b-a3b-instruct.json`,
    "--tp",
    "2",
    "--json",
  ]);
  strictEqual(json.code, 0, json.stderr);
  const r = JSON.parse(json.stdout);
  deepStrictEqual(
    [
      r.from,
      r.kv.tp,
      r.kv.bytesPerTokenPerRank,
      r.kv.stateBytesPerRequestPerRank,
      r.offload,
      r.workload,
    ],
    // 2 × 12 × 1 × 256 × 2; 36 × (4,096 × 3 + 16 × 16,384) × 2; no offload size.
    ["file", 2, 12_288, 19_759_104, null, null],
  );
  deepStrictEqual(r.kv.groups.map((g: { kind: string }) => g.kind), [
    "linear",
    "full",
  ]);
});

Deno.test("kvbench size OWNER/NAME: downloaded from the Hub once, then from the cache", async () => {
  const body = await Deno.readTextFile(`${CONFIGS}deepseek-v3.json`);
  const hub = serveFakeHub((path) =>
    path === "/deepseek-ai/DeepSeek-V3/resolve/main/config.json"
      ? new Response(body)
      : new Response("Entry not found", { status: 404 })
  );
  const cache = await Deno.makeTempDir();
  const env = {
    HF_ENDPOINT: hub.url,
    HF_TOKEN: "hf_test",
    HF_HUB_CACHE: `${cache}/hf`,
    KVBENCH_CONFIG_CACHE: `${cache}/kvbench`,
  };
  try {
    const first = await runCli(
      ["size", "deepseek-ai/DeepSeek-V3", "--tp", "8", "--offload-size", "800"],
      { env },
    );
    strictEqual(first.code, 0, first.stderr);
    const saved = `${cache}/kvbench/deepseek-ai--DeepSeek-V3/config.json`;
    ok(
      first.stdout.startsWith(
        `Model: deepseek-ai/DeepSeek-V3 (downloaded to ${saved})\n`,
      ),
      first.stdout,
    );
    for (
      const line of [
        // MLA: 61 × (512 + 64) × 2 on every rank, replicated.
        "│ mla   │     61 │ 1 latent │ 61 × (512 + 64) × 2 B │    70,272 │   every token │",
        "KV bytes per token: 70,272 per rank; 562,176 over 8 rank(s); 70,272 for the model at TP 1",
      ]
    ) ok(first.stdout.split("\n").includes(line), `${line}\n${first.stdout}`);
    strictEqual(hub.requests[0].authorization, "Bearer hf_test");
    const again = await runCli(
      ["size", "deepseek-ai/DeepSeek-V3", "--kv-cache-dtype", "fp8_ds_mla"],
      { env: { ...env, HF_HUB_OFFLINE: "1" } },
    );
    strictEqual(again.code, 0, again.stderr);
    ok(again.stdout.startsWith(
      `Model: deepseek-ai/DeepSeek-V3 (kvbench's cache: ${saved})\n`,
    ));
    // fp8_ds_mla: 61 × 656 B.
    ok(again.stdout.includes("KV bytes per token: 40,016 per rank;"));
    strictEqual(hub.requests.length, 1);
    const missing = await runCli(["size", "org/absent"], { env });
    strictEqual(missing.code, 1);
    strictEqual(
      missing.stderr.trim().split("\n").length,
      1,
      missing.stderr,
    );
    ok(missing.stderr.includes("HTTP 404"), missing.stderr);
  } finally {
    await hub.server.shutdown();
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("kvbench size: bad configs and arguments get one line, no stack trace", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/config.json`,
      JSON.stringify({
        num_hidden_layers: 4,
        num_key_value_heads: 2,
        head_dim: 64,
        layer_types: Array(4).fill("lightning_attention"),
      }),
    );
    const bad = await runCli(["size", dir]);
    strictEqual(bad.code, 1);
    strictEqual(
      bad.stderr,
      `kvbench size: error: Cannot size "${dir}/config.json": layer_types[0] "lightning_attention" is not an attention type kvbench knows (full_attention, attention, sliding_attention, chunked_attention, linear_attention, mamba)\n`,
    );
    const dtype = await runCli([
      "size",
      "openai/gpt-oss-20b",
      "--kv-cache-dtype",
      "int2",
    ]);
    strictEqual(dtype.code, 2);
    ok(
      dtype.stderr.endsWith(
        'kvbench size: error: --kv-cache-dtype: invalid value "int2" (expected one of auto, bf16, bfloat16, fp16, float16, half, float32, fp8, fp8_e4m3, fp8_e5m2, fp8_ds_mla, nvfp4)\n',
      ),
      dtype.stderr,
    );
    const none = await runCli(["size"]);
    strictEqual(none.code, 2);
    ok(
      none.stderr.includes("the following arguments are required: MODEL|PATH"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kvbench size --endpoint: the simulator's capacity sizes and checks the workload", async () => {
  await using sim = await startSimulator({ model: "openai/gpt-oss-20b" });
  const path = `${CONFIGS}gpt-oss-20b.json`;
  const fromServer = await runCli(["size", path, "--endpoint", sim.url]);
  strictEqual(fromServer.code, 0, fromServer.stderr);
  const lines = fromServer.stdout.split("\n");
  for (
    const line of [
      "Server (vllm, /metrics): GPU KV 174,752 tokens, offload 2,184,528 tokens",
      "The offload size is the server's: 2,184,528 tokens × 49,152 B over all ranks",
      // 2,184,528 × 49,152 B = 99.99976 GiB; 0.9 × that / 1.464844 GiB = 61.4.
      "Number of Contexts: 61",
    ]
  ) ok(lines.includes(line), `${line}\n---\n${fromServer.stdout}`);
  // 40 GiB / 49,152 B = 873,813 tokens, not the server's 2,184,528.
  const disagree = await runCli([
    "size",
    path,
    "--endpoint",
    sim.url,
    "--offload-size",
    "40",
  ]);
  strictEqual(disagree.code, 0, disagree.stderr);
  ok(
    disagree.stdout.split("\n").includes(
      "[WARN] The server reports 2,184,528 offload tokens (/metrics), the sizing computed 873,813: check the offload size, TP and KV dtype given",
    ),
    disagree.stdout,
  );
});

Deno.test("kvbench size --endpoint of llama.cpp: sized from the GGUF metadata of /props", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) =>
      new URL(request.url).pathname === "/props"
        ? Response.json({
          default_generation_settings: { n_ctx: 8192 },
          total_slots: 4,
          metadata: {
            "general.architecture": "llama",
            "llama.block_count": 32,
            "llama.embedding_length": 4096,
            "llama.attention.head_count": 32,
            "llama.attention.head_count_kv": 8,
          },
        })
        : new Response("not found", { status: 404 }),
  );
  const origin = `http://127.0.0.1:${server.addr.port}`;
  try {
    const { code, stdout, stderr } = await runCli([
      "size",
      "--endpoint",
      origin,
      "--gpu-kv-gb",
      "2",
      "--input-length",
      "8192",
    ]);
    strictEqual(code, 0, stderr);
    const lines = stdout.split("\n");
    for (
      const line of [
        `Model: ${origin}/props (GGUF metadata from the server)`,
        "TP 1; KV dtype float16 (model dtype, llama.cpp's default f16 KV cache)",
        // 2 × 32 × 8 × (4096 / 32 = 128) × 2 B = 131,072.
        "KV bytes per token: 131,072 per rank; 131,072 over 1 rank(s); 131,072 for the model at TP 1",
        // 8,192 tokens × 4 slots.
        "Server (llamacpp, /props): GPU KV 32,768 tokens, 4 slots",
        // 2 GiB / 131,072 B = 16,384 tokens.
        "[WARN] The server reports 32,768 GPU KV tokens (/props), the sizing computed 16,384: check the GPU KV size, TP and KV dtype given",
        "Offload: size unknown (give --offload-size GB, over all ranks)",
      ]
    ) ok(lines.includes(line), `${line}\n---\n${stdout}`);
  } finally {
    await server.shutdown();
  }
});

Deno.test("benchmark without --hf-config finds the served model's config.json in the local Hugging Face cache", async () => {
  await using sim = await startSimulator({
    model: "meta-llama/Llama-3.1-8B-Instruct",
    timeScale: 0.01,
  });
  const cache = await Deno.makeTempDir();
  try {
    const snapshot =
      `${cache}/models--meta-llama--Llama-3.1-8B-Instruct/snapshots/0e9e39f`;
    await Deno.mkdir(snapshot, { recursive: true });
    await Deno.copyFile(
      `${CONFIGS}llama-3.1-8b-instruct.json`,
      `${snapshot}/config.json`,
    );
    const { code, stdout, stderr } = await runCli([
      "benchmark",
      "--force",
      "--endpoint",
      sim.url,
      "--offload-size",
      "4",
      "--input-length",
      "2000",
      "--output-length",
      "2",
      "--num-prompts",
      "1",
      "--no-artifacts",
    ], {
      env: {
        HF_HUB_CACHE: cache,
        HF_HUB_OFFLINE: "1",
        KVBENCH_CONFIG_CACHE: `${cache}/kvbench`,
      },
    });
    strictEqual(code, 0, stderr);
    ok(
      stdout.includes(
        `KV 131,072 B per token per rank (2 × 32 × 8 × 128 × 2 B; bfloat16 from model dtype, torch_dtype bfloat16) × TP 1 = 131,072 B per token over all ranks (layout from ${snapshot}/config.json)`,
      ),
      stdout,
    );
    // 0.9 × 4 GiB / (131,072 × 2,000 / 1024³ = 0.2441 GiB) = 14.7 → 14.
    ok(stdout.includes("Number of Contexts: 14\n"), stdout);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("benchmark pre-flight: a server with less offload than the table's says so, and the run is refused with the size that fits", async () => {
  // The table sizes Qwen3-30B-A3B for 100 GiB; the server has 40.
  await using sim = await startSimulator({
    model: "Qwen/Qwen3-30B-A3B-Instruct-2507",
    offloadGb: 40,
    timeScale: 0.01,
  });
  const { code, stderr } = await runCli([
    "benchmark",
    "--endpoint",
    sim.url,
    "--num-prompts",
    "1",
    "--output-length",
    "2",
    "--no-artifacts",
  ]);
  // Issue 24's first hour: sized for 100 GiB against a 40 GiB tier, every
  // reuse would be recomputed: refused before anything is sent, with the fix.
  strictEqual(code, 1, stderr);
  strictEqual(sim.stats().requests, 0);
  // 436,896 tokens × 98,304 B = 39.9997 GiB, rounded down to 39.99.
  ok(
    stderr.includes(
      "[ERROR] Refusing the run: the working set exceeds the server's offload tier (40.00 GiB): every reuse would be recomputed and the run would measure no offload hit; size the run for the server's tier with --offload-size 39.99 (or pass --force to run anyway)\n",
    ),
    stderr,
  );
  // 100 GiB / 98,304 B = 1,092,266 tokens sized for; the simulator reports
  // its 40 GiB as whole 16-token blocks of 98,304 B.
  const served = sim.stats().offloadTokens;
  ok(
    stderr.includes(
      `[WARN] The server reports ${
        served.toLocaleString("en-US")
      } offload tokens (/metrics), the sizing computed 1,092,266: check the offload size, TP and KV dtype given\n`,
    ),
    stderr,
  );
});

Deno.test("kvbench size NAME --endpoint: the server's offload beats the table's, and the gap is said", async () => {
  await using sim = await startSimulator({
    model: "openai/gpt-oss-20b",
    offloadGb: 40,
  });
  const { code, stdout, stderr } = await runCli([
    "size",
    "openai/gpt-oss-20b",
    "--endpoint",
    sim.url,
  ]);
  strictEqual(code, 0, stderr);
  const served = sim.stats().offloadTokens.toLocaleString("en-US");
  const lines = stdout.split("\n");
  for (
    const line of [
      `The offload size is the server's: ${served} tokens × 49,152 B over all ranks`,
      // 100 GiB / 49,152 B = 2,184,533 tokens by the table.
      `[WARN] model_configs.json's 100 GiB of offload would hold 2,184,533 tokens per rank, the server has ${served}: benchmark without --offload-size, --tp, --kv-cache-dtype or --hf-config sizes for the table's`,
    ]
  ) ok(lines.includes(line), `${line}\n---\n${stdout}`);
});
