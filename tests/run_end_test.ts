/**
 * The end of a benchmark run end to end through cli.ts against the
 * simulator: workers that stop early for their failures, the verdict of a
 * forced run, the lap time, and what to do next.
 */
import { ok, strictEqual } from "node:assert/strict";
import { runCli, RUNS_DIR } from "./cli_process.ts";
import { startSimulator } from "../lib/sim/server.ts";
import { qwen3TokenizerDir } from "../lib/testing/tokenizers.ts";

const TRACES =
  new URL("./testdata/traces_small.jsonl", import.meta.url).pathname;

const NOT_SERVED_FAILURE =
  "stopped early: 5 permanent errors in a row (HTTP 404): every further request would fail the same way; first error: HTTP 404: The model `not-served` does not exist.";

Deno.test("benchmark --workers 2: a model the server does not serve stops the workers early; the parent says why, names the first error, exit 1", async () => {
  await using sim = await startSimulator({ timeScale: 0.01 });
  const dir = `${RUNS_DIR}/workers-fail-${crypto.randomUUID()}`;
  const { code, stdout, stderr } = await runCli([
    "benchmark",
    ...["--endpoint", sim.url, "--model", "not-served"],
    ...["--offload-size", "1", "--bytes-per-token", "1000"],
    ...["--max-inflight", "4", "--duration", "60", "--no-metrics"],
    ...["--workers", "2", "--output-dir", dir],
  ]);
  strictEqual(code, 1, stdout + stderr);
  ok(stderr.includes(`[ERROR] ${NOT_SERVED_FAILURE}\n`), stderr);
  // Each worker stops after its own burst: at most 2 × (5 + 1 in flight).
  const refused = sim.stats().rejected;
  ok(refused >= 5 && refused <= 12, `${refused} requests refused`);
  const summary = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`));
  strictEqual(summary.stop_reason, "fail_fast");
  strictEqual(summary.failure, NOT_SERVED_FAILURE);
  // No lap advice for a run where everything failed.
  ok(!/one lap|Verdict|Next:/.test(stdout + stderr), stdout);
});

Deno.test("trie workers=2: a model the server does not serve stops the workers early; the parent says why, exit 1", async () => {
  await using sim = await startSimulator({ timeScale: 0.01 });
  const tok = await qwen3TokenizerDir();
  const { code, stdout, stderr } = await runCli([
    "trie",
    `workload_path=${TRACES}`,
    `endpoint=${sim.url}`,
    "model=not-served",
    `tokenizer_model=${tok}`,
    "concurrency=4",
    "workers=2",
    "duration=60",
    "metrics=False",
    "artifacts=False",
    `output_json=${RUNS_DIR}/workers-fail-trie.json`,
  ]);
  strictEqual(code, 1, stdout + stderr);
  ok(stderr.includes(NOT_SERVED_FAILURE), stderr);
  const summary = JSON.parse(
    await Deno.readTextFile(`${RUNS_DIR}/workers-fail-trie.json`),
  );
  strictEqual(summary.stop_reason, "fail_fast");
  strictEqual(summary.failure, NOT_SERVED_FAILURE);
});
