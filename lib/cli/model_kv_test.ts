/**
 * The KV size of trie's and replay's pre-flight, from each source, with the
 * figures computed by hand, and the pre-flight's lines from them.
 */
import assert from "node:assert/strict";
import { modelKv } from "./model_kv.ts";
import { tracePreflight } from "./trace_preflight.ts";
import { BENCHMARK_WORDING } from "../server/preflight.ts";

const CONFIGS = new URL("../../tests/testdata/configs/", import.meta.url)
  .pathname;
const NO_CACHE = { hfCacheDir: "/nonexistent", cacheDir: "/nonexistent" };

function serve(
  handler: (path: string) => Response,
): { url: string; close: () => Promise<void> } {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => handler(new URL(req.url).pathname),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/v1/`,
    close: () => server.shutdown(),
  };
}

Deno.test("modelKv: a config file, at the table's TP or the given one, in the given KV dtype", async () => {
  // Llama-3.1-70B: 80 layers, 8 KV heads of 128, bf16.
  const config = `${CONFIGS}llama-3.1-70b-instruct.json`;
  const { kv } = await modelKv("any/name", { hfConfig: config });
  assert.equal(kv?.from, "config file");
  assert.equal(kv?.source, config);
  assert.equal(kv?.bytesPerToken, 327_680); // 2 × 80 × 8 × 128 × 2
  // TP 8 in fp8: 1 head per rank, 2 × 80 × 1 × 128 × 1 = 20,480 B per rank.
  const tp8 = await modelKv("any/name", {
    hfConfig: config,
    tp: 8,
    kvCacheDtype: "fp8",
  });
  assert.equal(tp8.kv?.bytesPerTokenPerRank, 20_480);
  assert.equal(tp8.kv?.bytesPerToken, 163_840);
  assert.match(tp8.kv!.note, /^KV 20,480 B per token per rank \(/);
  assert.match(tp8.kv!.note, /× TP 8 = 163,840 B per token over all ranks, /);
  // The table's TP: Qwen3-235B-FP8 runs on 8 ranks with an fp8 KV cache:
  // 2 × 94 × (4 heads / 8 → 1) × 128 × 1 = 24,064 B per rank.
  const table = await modelKv("Qwen/Qwen3-235B-A22B-Instruct-2507-FP8");
  assert.equal(table.kv?.from, "model_configs.json");
  assert.equal(table.kv?.tp, 8);
  assert.equal(table.kv?.bytesPerTokenPerRank, 24_064);
  assert.equal(table.kv?.bytesPerToken, 192_512);
});

Deno.test("modelKv: a table entry of bytes_per_tok only is taken as it is", async () => {
  const { kv } = await modelKv("my/model", {
    configs: [{
      model_name: "my/model",
      tensorParallelSize: 2,
      bytes_per_tok: 65_536,
      cpuOffloadingBufferSize: "50Gi",
      diskOffloadingBufferSize: 0,
      remoteOffloadingBufferSize: 0,
    }],
  });
  assert.equal(kv?.bytesPerToken, 65_536);
  assert.equal(kv?.from, "model_configs.json");
});

Deno.test("modelKv: the server describes the model: llama.cpp's GGUF metadata in /props, a /v1/models root on this host", async () => {
  const props = serve((path) =>
    path === "/props"
      ? Response.json({
        default_generation_settings: { n_ctx: 4096 },
        total_slots: 1,
        "general.architecture": "qwen3",
        "qwen3.block_count": 36,
        "qwen3.attention.head_count": 32,
        "qwen3.attention.head_count_kv": 8,
        "qwen3.attention.key_length": 128,
        "qwen3.attention.value_length": 128,
      })
      : new Response("not found", { status: 404 })
  );
  try {
    const { kv } = await modelKv("qwen3-8b.gguf", {
      baseUrl: props.url,
      ...NO_CACHE,
    });
    assert.equal(kv?.from, "server");
    assert.equal(kv?.source, `${new URL(props.url).origin}/props`);
    assert.equal(kv?.bytesPerToken, 147_456); // 2 × 36 × 8 × 128 × 2 (f16)
  } finally {
    await props.close();
  }
  const dir = await Deno.makeTempDir();
  await Deno.copyFile(`${CONFIGS}qwen3-8b.json`, `${dir}/config.json`);
  const models = serve((path) =>
    path === "/v1/models"
      ? Response.json({ data: [{ id: "served", root: dir }] })
      : new Response("not found", { status: 404 })
  );
  try {
    const { kv } = await modelKv("served", {
      baseUrl: models.url,
      ...NO_CACHE,
    });
    assert.equal(kv?.from, "config file");
    assert.equal(kv?.source, `${dir}/config.json`);
    assert.equal(kv?.bytesPerToken, 147_456); // Qwen3-8B: the same layout
  } finally {
    await models.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("modelKv: unknown without a source, never guessed; a bad dtype or an unreadable config is an error", async () => {
  const server = serve(() => new Response("not found", { status: 404 }));
  try {
    const none = await modelKv("acme/unknown-7b", {
      baseUrl: server.url,
      ...NO_CACHE,
    });
    assert.equal(none.kv, undefined);
    assert.match(
      none.unknown!,
      /^KV bytes per token unknown: "acme\/unknown-7b"/,
    );
  } finally {
    await server.close();
  }
  await assert.rejects(
    modelKv("Qwen/Qwen3-30B-A3B-Instruct-2507", { kvCacheDtype: "int3" }),
    { name: "RangeError", message: /kv cache dtype "int3" is not one of/ },
  );
  await assert.rejects(
    modelKv("m", { hfConfig: "/nonexistent/config.json" }),
    /Cannot find model "\/nonexistent\/config\.json": not in model_configs.json, not a file or folder/,
  );
});

Deno.test("tracePreflight: the size line first, GiB from the bytes per token, the record", async () => {
  const { kv } = await modelKv("m", {
    hfConfig: `${CONFIGS}llama-3.1-8b-instruct.json`,
  });
  // 131,072 B per token: 8,192 tokens = 1 GiB exactly.
  const p = tracePreflight({ tokens: 16_384, items: 4 }, {
    kv: { kv: kv! },
    capacities: { deviceKvTokens: 8_192, offloadKvTokens: 12_288 },
    wording: BENCHMARK_WORDING,
  });
  assert.equal(p.lines[0], kv!.note);
  assert.equal(
    p.lines[1],
    "Pre-flight: working set 16,384 tokens (4 contexts, 2.00 GiB); GPU KV 8,192 tokens, 1.00 GiB (server); offload 12,288 tokens, 1.50 GiB (server)",
  );
  assert.equal(p.verdict, "exceeds_offload");
  assert.deepEqual({ ...p.record, lines: [] }, {
    verdict: "exceeds_offload",
    lines: [],
    working_set_tokens: 16_384,
    gpu_kv_tokens: 8_192,
    offload_kv_tokens: 12_288,
    bytes_per_token: 131_072,
    bytes_per_token_from: "config file",
    bytes_per_token_source: `${CONFIGS}llama-3.1-8b-instruct.json`,
    tp: 1,
    kv_cache_dtype: "bfloat16",
  });
  // Unknown working set (an open loop): said, with the capacities.
  const open = tracePreflight({ unknown: "arrival_rate" }, {
    kv: { kv: kv! },
    capacities: { deviceKvTokens: 8_192 },
    deviceKvTokens: { tokens: 1, from: "--capacity-tokens" },
    wording: BENCHMARK_WORDING,
  });
  assert.equal(open.verdict, "unknown");
  assert.equal(
    open.lines[1],
    "Pre-flight: working set unknown (arrival_rate); GPU KV 8,192 tokens, 1.00 GiB (server); offload unknown",
  );
});

Deno.test("k8s: a local hf_config= / --hf-config file goes into the pods' inputs; a Hub id is left as it is", async () => {
  const { mountInputs } = await import("./k8s_inputs.ts");
  const config = `${CONFIGS}qwen3-8b.json`;
  const trie = await mountInputs(["trie", `hf_config=${config}`], {
    name: "kvb-inputs",
  });
  assert.deepEqual(trie.args, [
    "trie",
    "hf_config=/inputs/hf_config/qwen3-8b.json",
  ]);
  const replay = await mountInputs(
    ["replay", "t.jsonl", "--hf-config", config],
    { name: "kvb-inputs" },
  );
  assert.deepEqual(replay.args, [
    "replay",
    "t.jsonl",
    "--hf-config",
    "/inputs/hf_config/qwen3-8b.json",
  ]);
  const hub = await mountInputs(["trie", "hf_config=Qwen/Qwen3-8B"], {
    name: "kvb-inputs",
  });
  assert.deepEqual(hub.args, ["trie", "hf_config=Qwen/Qwen3-8B"]);
});

Deno.test("k8s: a model folder as hf_config carries its config.json only, through the links of a Hugging Face snapshot; weights are never read", async () => {
  const { mountInputs } = await import("./k8s_inputs.ts");
  const root = await Deno.makeTempDir();
  try {
    // A snapshot: links into blobs; a 2 MB "weights" file beside the config.
    await Deno.mkdir(`${root}/blobs`);
    await Deno.mkdir(`${root}/snapshot`);
    await Deno.copyFile(`${CONFIGS}qwen3-8b.json`, `${root}/blobs/a1`);
    await Deno.writeFile(`${root}/blobs/b2`, new Uint8Array(2_000_000));
    await Deno.symlink(`${root}/blobs/a1`, `${root}/snapshot/config.json`);
    await Deno.symlink(
      `${root}/blobs/b2`,
      `${root}/snapshot/model.safetensors`,
    );
    const mounted = await mountInputs(
      ["benchmark", "--hf-config", `${root}/snapshot`],
      { name: "kvb-inputs" },
    );
    assert.deepEqual(mounted.args, [
      "benchmark",
      "--hf-config",
      "/inputs/hf_config",
    ]);
    assert.deepEqual(mounted.items, [
      { key: "hf_config.config.json", path: "hf_config/config.json" },
    ]);
    const data = mounted.configMap!.data as Record<string, string>;
    assert.equal(
      data["hf_config.config.json"],
      await Deno.readTextFile(`${CONFIGS}qwen3-8b.json`),
    );
    // A folder without a config.json is refused in one line.
    await Deno.mkdir(`${root}/empty`);
    await assert.rejects(
      () => mountInputs(["trie", `hf_config=${root}/empty`], { name: "x" }),
      /^Error: Cannot carry hf_config ".*\/empty" into the pods: the folder has no config\.json$/,
    );
    // A tokenizer folder of links is carried, link targets' contents.
    const tok = await mountInputs(
      ["trie", `tokenizer_model=${root}/snapshot`],
      { name: "x", limitBytes: 10_000_000 },
    );
    assert.deepEqual(tok.items.map((i) => i.path), [
      "tokenizer_model/config.json",
      "tokenizer_model/model.safetensors",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
