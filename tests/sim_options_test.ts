/**
 * `kvbench sim`'s options as a newcomer types them, end to end through
 * cli.ts: sizes and times with units (as benchmark's `--offload-size 40GB`),
 * a model sized from the same sources as the client's, and a model nobody
 * knows refused in one line.
 */
import assert from "node:assert/strict";
import { modelKv } from "../lib/cli/model_kv.ts";
import { runCli, startCli } from "./cli_process.ts";

const CONFIGS = new URL("./testdata/configs/", import.meta.url).pathname;
/** No Hugging Face cache, no config cache: only the table and the flags size a model. */
const NO_CACHES = {
  HF_HUB_CACHE: "/nonexistent/hf",
  KVBENCH_CONFIG_CACHE: "/nonexistent/configs",
  HF_HUB_OFFLINE: "1",
};
const SERVING = /at (http:\/\/127\.0\.0\.1:\d+\/v1\/) \(/;

Deno.test("kvbench sim: sizes take 40GB / 40GiB, times take units, a bad one names the forms", async () => {
  const p = startCli([
    "sim",
    ...["--port", "0", "--gpu-kv-gb", "4GiB", "--offload-gb", "20GB"],
    ...["--error-rate-429", "1", "--retry-after", "2m", "--stall-ms", "1.5s"],
  ]);
  try {
    const [, url] = await p.waitFor(SERVING);
    // 4 GiB / 98,304 B per token = 43,690.7 → 43,680 (whole 16-token blocks);
    // 20 GB = 20e9 B / 98,304 = 203,450.5 → 203,440.
    assert.ok(
      p.stdout().includes(
        "(GPU KV 43,680 tokens, offload 203,440 tokens, approximate token counts)",
      ),
      p.stdout(),
    );
    const answer = await fetch(url + "completions", {
      method: "POST",
      body: JSON.stringify({ prompt: [1, 2], max_tokens: 1 }),
    });
    await answer.body?.cancel();
    assert.equal(answer.status, 429);
    assert.equal(answer.headers.get("retry-after"), "120"); // 2m
  } finally {
    p.kill("SIGTERM");
    await p.done();
  }
  for (
    const [flag, value, expected] of [
      ["--offload-gb", "lots", "a size in GiB: 40, 40GB or 40GiB"],
      ["--gpu-kv-gb", "0GB", "a size in GiB: 40, 40GB or 40GiB"],
      ["--retry-after", "soon", "seconds: 2, 500ms or 2m"],
      ["--stall-ms", "2x", "milliseconds: 250, 250ms or 1.5s"],
    ]
  ) {
    const bad = await runCli(["sim", "--port", "0", flag, value]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.ok(
      bad.stderr.endsWith(
        `kvbench sim: error: ${flag}: invalid value "${value}" (expected ${expected})\n`,
      ),
      bad.stderr,
    );
  }
});

Deno.test("kvbench sim: --stall-ms 1.5s stalls the first token 1,500 ms", async () => {
  const p = startCli(["sim", "--port", "0", "--stall-ms", "1.5s"]);
  try {
    const [, url] = await p.waitFor(SERVING);
    const started = performance.now();
    const answer = await fetch(url + "completions", {
      method: "POST",
      body: JSON.stringify({ prompt: [1, 2], max_tokens: 1 }),
    });
    await answer.json();
    // At least the stall (read as 1.5 ms it would answer in a few ms).
    assert.ok(performance.now() - started >= 1500);
  } finally {
    p.kill("SIGTERM");
    await p.done();
  }
});

Deno.test("kvbench sim --model: refused in one line when nothing sizes it; --hf-config sizes it and /v1/models points clients at the file", async () => {
  const refused = await runCli(["sim", "--port", "0", "--model", "Qwen3-8B"], {
    env: NO_CACHES,
  });
  assert.equal(refused.code, 1);
  assert.equal(refused.stdout, "");
  assert.equal(
    refused.stderr,
    'kvbench sim: error: Cannot serve model "Qwen3-8B": it is not in model_configs.json (known: openai/gpt-oss-120b, openai/gpt-oss-20b, Qwen/Qwen3-235B-A22B-Instruct-2507-FP8, Qwen/Qwen3-Coder-480B-A35B-Instruct-FP8, Qwen/Qwen3-30B-A3B-Instruct-2507) and its config.json is not on this host; give it with --hf-config PATH|ID, or a --model-configs FILE that lists the model\n',
  );
  // A table name without its owner: the name it may mean.
  const short = await runCli(
    ["sim", "--port", "0", "--model", "qwen3-30b-a3b-instruct-2507"],
    { env: NO_CACHES },
  );
  assert.equal(short.code, 1);
  assert.match(
    short.stderr,
    /; did you mean --model Qwen\/Qwen3-30B-A3B-Instruct-2507\? Or give it with --hf-config PATH\|ID, or a --model-configs FILE that lists the model\n$/,
  );
  const config = `${CONFIGS}qwen3-8b.json`;
  const p = startCli(
    [
      ...["sim", "--port", "0", "--model", "Qwen3-8B", "--hf-config", config],
      ...["--time-scale", "0.01"],
    ],
    { env: NO_CACHES },
  );
  try {
    const [, url] = await p.waitFor(SERVING);
    // Qwen3-8B: 2 × 36 layers × 8 KV heads × 128 × 2 B = 147,456 B per
    // token; 8 GiB / 147,456 = 58,254.2 → 58,240 tokens (16-token blocks);
    // the default model's 100 GiB → 728,177.8 → 728,176.
    assert.equal(
      p.stdout(),
      `kvbench sim: Qwen3-8B: KV 147,456 B per token per rank (2 × 36 × 8 × 128 × 2 B; bfloat16 from model dtype, torch_dtype bfloat16) × TP 1 = 147,456 B per token over all ranks, from config file ${config}; clients size it alike with --hf-config ${config}\n` +
        `kvbench sim: serving Qwen3-8B at ${url} (GPU KV 58,240 tokens, offload 728,176 tokens (100 GiB, the default model's; --offload-gb sets it), approximate token counts)\n`,
    );
    const models = await (await fetch(url + "models")).json();
    assert.equal(models.data[0].root, config);
    // A client that asks the server (trie's and replay's pre-flight) sizes
    // the model alike, with no table entry and no cache.
    const { kv } = await modelKv("Qwen3-8B", {
      baseUrl: url,
      hfCacheDir: "/nonexistent/hf",
      cacheDir: "/nonexistent/configs",
    });
    assert.equal(kv?.bytesPerToken, 147_456);
    assert.equal(kv?.source, config);
    // benchmark with the same config sees the server's capacities in the
    // same GiB as the simulator's flags: 8 GiB and 100 GiB.
    const bench = await runCli([
      ...["benchmark", "--endpoint", url, "--hf-config", config],
      ...["--input-length", "2000", "--output-length", "1", "--num-prompts"],
      ...["2", "--no-artifacts", "--force"],
    ], { env: NO_CACHES });
    assert.equal(bench.code, 0, bench.stderr);
    assert.ok(
      (bench.stdout + bench.stderr).includes(
        "GPU KV 58,240 tokens, 8.00 GiB (server); offload 728,176 tokens, 100.00 GiB (server)",
      ),
      bench.stdout + bench.stderr,
    );
  } finally {
    p.kill("SIGTERM");
    await p.done();
  }
});
