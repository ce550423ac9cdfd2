/**
 * The pre-flight of `kvbench trie` and `kvbench replay` end to end: cli.ts
 * against the simulator, which reports its GPU KV and offload capacities in
 * its `/metrics` as vLLM and SGLang do. The KV bytes per token come from
 * `model_configs.json`, a config.json (`hf_config=`, `--hf-config`), or are
 * unknown; the working set against the capacities gives the verdict, printed
 * and recorded in run.json's `params.preflight`; the run goes on whatever it
 * says.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { runCli } from "./cli_process.ts";
import { startSimulator } from "../lib/sim/mod.ts";

const TRACES =
  new URL("./testdata/traces_small.jsonl", import.meta.url).pathname;
const CONFIGS = new URL("./testdata/configs/", import.meta.url).pathname;
// No config.json of an unknown model in this host's caches, whatever it holds.
const NO_CACHES = {
  env: {
    HF_HUB_CACHE: "/nonexistent/hf",
    KVBENCH_CONFIG_CACHE: "/nonexistent/kvbench",
  },
};

async function trie(
  sim: Parameters<typeof startSimulator>[0],
  extra: string[],
): Promise<
  { code: number; stderr: string; preflight: Record<string, unknown> }
> {
  await using server = await startSimulator({ timeScale: 0.01, ...sim });
  const dir = await Deno.makeTempDir();
  try {
    const { code, stderr } = await runCli([
      "trie",
      `workload_path=${TRACES}`,
      `endpoint=${server.url}`,
      "tokenizer_model=server",
      "max_traces=3",
      "duration=60",
      `output_dir=${dir}`,
      ...extra,
    ], NO_CACHES);
    const info = JSON.parse(
      await Deno.readTextFile(`${dir}/run.json`).catch(() => "{}"),
    );
    return { code, stderr, preflight: info.params?.preflight };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const lines = (stderr: string): string[] =>
  stderr.split("\n").filter((l) => /Pre-flight|KV |working set/.test(l));

Deno.test("trie pre-flight: the table's bytes per token, two traces in flight (404 tokens) past 336 tokens of GPU KV: needs the offload tier", async () => {
  // The fixture's traces hold 88, 100 and 304 unique prefix tokens; two in
  // flight are at most 100 + 304 = 404 tokens.
  const r = await trie(
    { gpuKvTokens: 336, offloadTokens: 4096 },
    ["concurrency=2"],
  );
  strictEqual(r.code, 0, r.stderr);
  ok(!r.stderr.includes("request failed"), r.stderr);
  // Qwen3-30B-A3B (the simulator's model): 2 × 48 × 4 × 128 × 2 = 98,304 B.
  deepStrictEqual(lines(r.stderr).slice(0, 2), [
    "[info     ] KV 98,304 B per token per rank (2 × 48 × 4 × 128 × 2 B; bfloat16 from model dtype, model_configs.json dtype_size 2) × TP 1 = 98,304 B per token over all ranks, from model_configs.json (Qwen/Qwen3-30B-A3B-Instruct-2507)",
    // 404 × 98,304 B = 0.037 GiB; 336 → 0.031; 4,096 → 0.375
    "[info     ] Pre-flight: working set 404 tokens (2 traces in flight, 0.04 GiB); GPU KV 336 tokens, 0.03 GiB (server); offload 4,096 tokens, 0.38 GiB (server)",
  ]);
  ok(r.stderr.includes("Assumed: the offload tier holds a copy"), r.stderr);
  deepStrictEqual(r.preflight, {
    verdict: "needs_offload",
    lines: r.preflight.lines,
    working_set_tokens: 404,
    gpu_kv_tokens: 336,
    offload_kv_tokens: 4096,
    bytes_per_token: 98_304,
    bytes_per_token_from: "model_configs.json",
    bytes_per_token_source: "Qwen/Qwen3-30B-A3B-Instruct-2507",
    tp: 1,
    kv_cache_dtype: "bfloat16",
  });
});

Deno.test("trie pre-flight: hf_config= and tp= size from the config file; a working set inside GPU KV is said, and the run goes on", async () => {
  // Llama-3.1-8B: 2 × 32 layers × 8 KV heads × 128 × 2 B = 131,072 B per
  // token; at TP 2, 4 heads per rank: 65,536 B per rank, 131,072 over both.
  const config = `${CONFIGS}llama-3.1-8b-instruct.json`;
  const r = await trie(
    { gpuKvTokens: 4096, offloadTokens: 8192, metricsFlavor: "sglang" },
    ["concurrency=1", `hf_config=${config}`, "tp=2"],
  );
  strictEqual(r.code, 0, r.stderr);
  const [size, check] = lines(r.stderr);
  ok(
    size.endsWith(
      `× TP 2 = 131,072 B per token over all ranks, from config file ${config}`,
    ),
    size,
  );
  ok(size.includes("KV 65,536 B per token per rank"), size);
  // One trace in flight: at most the 304-token trace.
  ok(
    check.startsWith(
      "[info     ] Pre-flight: working set 304 tokens (1 trace in flight, 0.04 GiB); GPU KV 4,096 tokens",
    ),
    check,
  );
  ok(
    r.stderr.includes(
      "[warning  ] The working set fits in GPU KV: every reuse can be served from GPU memory, so this run does not stress the offload tier. Raise concurrency=",
    ),
    r.stderr,
  );
  strictEqual(r.preflight.verdict, "fits_device");
  strictEqual(r.preflight.bytes_per_token, 131_072);
  strictEqual(r.preflight.bytes_per_token_from, "config file");
});

Deno.test("trie pre-flight: a model outside the table without a config has an unknown size; a working set past the offload tier is said", async () => {
  const r = await trie(
    // The GPU holds the longest request (304 + 16 tokens), not three traces.
    { model: "acme/unknown-7b", gpuKvTokens: 336, offloadTokens: 400 },
    ["concurrency=3"],
  );
  strictEqual(r.code, 0, r.stderr);
  const [size, check] = lines(r.stderr);
  strictEqual(
    size,
    '[info     ] KV bytes per token unknown: "acme/unknown-7b" is not in model_configs.json, its config.json is not on this host and the server does not describe it (give the config with --hf-config / hf_config=)',
  );
  // 88 + 100 + 304 = 492 tokens, no GiB without bytes per token.
  strictEqual(
    check,
    "[info     ] Pre-flight: working set 492 tokens (3 traces in flight); GPU KV 336 tokens (server); offload 400 tokens (server)",
  );
  ok(r.stderr.includes("[warning  ] The working set exceeds the offload tier"));
  strictEqual(r.preflight.verdict, "exceeds_offload");
  strictEqual(r.preflight.bytes_per_token, null);
});

Deno.test("trie: a bad kv_cache_dtype= is refused with the command line (exit 2), before any request", async () => {
  await using server = await startSimulator({ timeScale: 0.01 });
  const { code, stdout, stderr } = await runCli([
    "trie",
    `workload_path=${TRACES}`,
    `endpoint=${server.url}`,
    "tokenizer_model=server",
    "concurrency=1",
    "kv_cache_dtype=fp7",
    "artifacts=False",
  ]);
  strictEqual(code, 2, stderr);
  strictEqual(stdout, "");
  strictEqual(
    stderr.trimEnd().split("\n").at(-1),
    "kvbench trie: error: kv_cache_dtype=fp7: expected one of auto, bf16, bfloat16, fp16, float16, half, float32, fp8, fp8_e4m3, fp8_e5m2, fp8_ds_mla, nvfp4",
  );
  strictEqual(server.stats().requests, 0);
});

// Blocks of 16 tokens: [1 2 3 4], then [1 2 5 6 | 7 partial], then [1 2 3 4]
// again: 4 + 2 new full blocks, 96 unique prefix tokens (the partial block
// is never cached, so never counted).
const REPLAY_TRACE = [
  { timestamp: 0, input_length: 64, output_length: 1, hash_ids: [1, 2, 3, 4] },
  {
    timestamp: 100,
    input_length: 70,
    output_length: 1,
    hash_ids: [1, 2, 5, 6, 7],
  },
  {
    timestamp: 200,
    input_length: 64,
    output_length: 1,
    hash_ids: [1, 2, 3, 4],
  },
].map((r) => JSON.stringify(r)).join("\n") + "\n";

async function replay(
  sim: Parameters<typeof startSimulator>[0],
  extra: string[],
): Promise<
  { code: number; stderr: string; preflight: Record<string, unknown> }
> {
  await using server = await startSimulator({ timeScale: 0.01, ...sim });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/trace.jsonl`, REPLAY_TRACE);
    const { code, stderr } = await runCli([
      "replay",
      `${dir}/trace.jsonl`,
      ...["--endpoint", server.url, "--format", "mooncake"],
      ...["--block-size", "16", "--speed", "10", "--context-salt", "s"],
      ...["--output-dir", `${dir}/run`],
      ...extra,
    ], NO_CACHES);
    const info = JSON.parse(
      await Deno.readTextFile(`${dir}/run/run.json`).catch(() => "{}"),
    );
    return { code, stderr, preflight: info.params?.preflight };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("replay pre-flight: the table's bytes per token; 96 unique prefix tokens past 80 tokens of GPU KV need the offload tier", async () => {
  const r = await replay({ gpuKvTokens: 80, offloadTokens: 1024 }, []);
  strictEqual(r.code, 0, r.stderr);
  const [size, check] = lines(r.stderr);
  strictEqual(
    size,
    "[INFO] KV 98,304 B per token per rank (2 × 48 × 4 × 128 × 2 B; bfloat16 from model dtype, model_configs.json dtype_size 2) × TP 1 = 98,304 B per token over all ranks, from model_configs.json (Qwen/Qwen3-30B-A3B-Instruct-2507)",
  );
  // 96 × 98,304 B = 0.0088 GiB; 80 → 0.0073; 1,024 → 0.094
  strictEqual(
    check,
    "[INFO] Pre-flight: working set 96 tokens (0.01 GiB); GPU KV 80 tokens, 0.01 GiB (server); offload 1,024 tokens, 0.09 GiB (server)",
  );
  strictEqual(r.preflight.verdict, "needs_offload");
  strictEqual(r.preflight.working_set_tokens, 96);
  strictEqual(r.preflight.bytes_per_token, 98_304);
  strictEqual(r.preflight.bytes_per_token_from, "model_configs.json");
});

Deno.test("replay pre-flight: --hf-config and --kv-cache-dtype fp8 size from the config; a model the table lacks without one is unknown; a trace inside GPU KV is said", async () => {
  // Llama-3.1-8B in fp8: 2 × 32 × 8 × 128 × 1 = 65,536 B per token.
  const config = `${CONFIGS}llama-3.1-8b-instruct.json`;
  const sized = await replay(
    {
      model: "acme/unknown-8b",
      gpuKvTokens: 4096,
      offloadTokens: 0,
      metricsFlavor: "sglang",
    },
    ["--hf-config", config, "--kv-cache-dtype", "fp8"],
  );
  strictEqual(sized.code, 0, sized.stderr);
  const [size, check] = lines(sized.stderr);
  ok(size.startsWith("[INFO] KV 65,536 B per token per rank"), size);
  ok(size.endsWith(`from config file ${config}`), size);
  ok(
    check.startsWith("[INFO] Pre-flight: working set 96 tokens (0.01 GiB)"),
    check,
  );
  ok(
    sized.stderr.includes(
      "[WARN] The working set fits in GPU KV: every reuse can be served from GPU memory, so this run does not stress the offload tier. The trace measures the GPU's prefix cache",
    ),
    sized.stderr,
  );
  strictEqual(sized.preflight.verdict, "fits_device");
  strictEqual(sized.preflight.bytes_per_token, 65_536);
  const unknown = await replay(
    { model: "acme/unknown-8b", gpuKvTokens: 4096 },
    [],
  );
  strictEqual(unknown.code, 0, unknown.stderr);
  ok(
    unknown.stderr.includes(
      '[INFO] KV bytes per token unknown: "acme/unknown-8b" is not in model_configs.json',
    ),
    unknown.stderr,
  );
  ok(
    unknown.stderr.includes(
      "[INFO] Pre-flight: working set 96 tokens; GPU KV 4,096 tokens (server)",
    ),
    unknown.stderr,
  );
  strictEqual(unknown.preflight.bytes_per_token, null);
});

Deno.test("replay: a bad --kv-cache-dtype is refused with the command line (exit 2), before any request", async () => {
  await using server = await startSimulator({ timeScale: 0.01 });
  const file = await Deno.makeTempFile({ suffix: ".jsonl" });
  try {
    await Deno.writeTextFile(file, REPLAY_TRACE);
    const { code, stderr } = await runCli([
      "replay",
      file,
      ...["--endpoint", server.url, "--block-size", "16"],
      ...["--kv-cache-dtype", "fp7"],
      "--no-artifacts",
    ]);
    strictEqual(code, 2, stderr);
    strictEqual(
      stderr.trimEnd().split("\n").at(-1),
      'kvbench replay: error: --kv-cache-dtype: invalid value "fp7" (expected one of auto, bf16, bfloat16, fp16, float16, half, float32, fp8, fp8_e4m3, fp8_e5m2, fp8_ds_mla, nvfp4)',
    );
    strictEqual(server.stats().requests, 0);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("trie pre-flight: a sweep says the KV size once and each level's working set", async () => {
  await using server = await startSimulator({
    timeScale: 0.01,
    gpuKvTokens: 336,
    offloadTokens: 4096,
  });
  const { code, stderr } = await runCli([
    "trie",
    `workload_path=${TRACES}`,
    `endpoint=${server.url}`,
    "tokenizer_model=server",
    "concurrency=1,3",
    "max_traces=3",
    "artifacts=False",
  ]);
  strictEqual(code, 0, stderr);
  strictEqual(stderr.split("\n").filter((l) => l.includes("] KV ")).length, 1);
  // One trace in flight: at most 304 tokens; three: 88 + 100 + 304.
  deepStrictEqual(
    stderr.split("\n").filter((l) => l.includes("Pre-flight")).map((l) =>
      l.split(" (")[0]
    ),
    [
      "[info     ] Pre-flight: working set 304 tokens",
      "[info     ] Pre-flight: working set 492 tokens",
    ],
  );
});
