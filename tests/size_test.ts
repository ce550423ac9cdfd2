/**
 * Sizing end to end through cli.ts: `kvbench size` (a model_configs.json
 * name, a config.json path, a Hugging Face id from a local Hub, --json) and
 * `benchmark --hf-config` against the simulator.
 */
import { ok, strictEqual } from "node:assert/strict";
import { startSimulator } from "../lib/sim/server.ts";
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
  // Without an offload size the table cannot give, it says what to add.
  const missing = await runCli([
    "benchmark",
    "--endpoint",
    sim.url,
    "--hf-config",
    `${CONFIGS}llama-3.1-70b-instruct.json`,
    "--no-artifacts",
  ]);
  strictEqual(missing.code, 1);
  ok(
    missing.stderr.includes(
      "[ERROR] Cannot size the workload: model_configs.json has no offload size for meta-llama/Llama-3.1-70B-Instruct: give --offload-size GB",
    ),
    missing.stderr,
  );
  const both = await runCli([
    "benchmark",
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
