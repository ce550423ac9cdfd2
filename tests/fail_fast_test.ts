/**
 * Fail fast end to end: `benchmark` and `trie` through cli.ts against the
 * simulator stop after a burst of permanent errors and end on the first
 * error with exit 1.
 */
import { ok, strictEqual } from "node:assert/strict";
import { runCli, RUNS_DIR } from "./cli_process.ts";
import { startSimulator } from "../lib/sim/server.ts";
import { qwen3TokenizerDir } from "../lib/testing/tokenizers.ts";
import { startScriptedServer } from "../lib/testing/scripted_server.ts";

const TRACES =
  new URL("./testdata/traces_small.jsonl", import.meta.url).pathname;

Deno.test("benchmark: a model the server lists but does not serve stops after 5 refusals, exit 1", async () => {
  // A router that still lists the model (its backend went away): the
  // pre-flight goes on, every request is refused.
  await using sim = await startSimulator({
    timeScale: 0.01,
    unservedModels: ["not-served"],
  });
  const { code, stderr } = await runCli([
    "benchmark",
    "--endpoint",
    sim.url,
    "--model",
    "not-served",
    "--offload-size",
    "1",
    "--bytes-per-token",
    "1000",
    "--max-inflight",
    "4",
    "--duration",
    "60",
    "--no-metrics",
    "--output",
    `${RUNS_DIR}/fail-fast-summary.json`,
  ]);
  strictEqual(code, 1, stderr);
  const summary = JSON.parse(
    await Deno.readTextFile(`${RUNS_DIR}/fail-fast-summary.json`),
  );
  strictEqual(summary.stop_reason, "fail_fast");
  strictEqual(
    summary.failure,
    "stopped early: 5 permanent errors in a row (HTTP 404): every further request would fail the same way; first error: HTTP 404: The model `not-served` does not exist.",
  );
  // 5 refusals in a row stop it; at most the 3 others in flight follow.
  const refused = sim.stats().rejected;
  ok(refused >= 5 && refused <= 8, `${refused} requests refused`);
  ok(
    stderr.includes(
      "[ERROR] stopped early: 5 permanent errors in a row (HTTP 404): every further request would fail the same way; first error: HTTP 404: The model `not-served` does not exist.\n",
    ),
    stderr,
  );
});

Deno.test("trie: a model the server lists but does not serve stops after 5 refusals, exit 1", async () => {
  // A router that still lists the model (its backend went away): the
  // pre-flight goes on, every request is refused.
  await using sim = await startSimulator({
    timeScale: 0.01,
    unservedModels: ["not-served"],
  });
  const tok = await qwen3TokenizerDir();
  const { code, stdout, stderr } = await runCli([
    "trie",
    `workload_path=${TRACES}`,
    `endpoint=${sim.url}`,
    "model=not-served",
    `tokenizer_model=${tok}`,
    "concurrency=2",
    "duration=60",
    "metrics=False",
    "artifacts=False",
    `output_json=${RUNS_DIR}/fail-fast-trie.json`,
  ]);
  strictEqual(code, 1, stdout + stderr);
  const summary = JSON.parse(
    await Deno.readTextFile(`${RUNS_DIR}/fail-fast-trie.json`),
  );
  strictEqual(summary.stop_reason, "fail_fast");
  ok(summary.failure.startsWith("stopped early: 5 permanent errors"));
  const refused = sim.stats().rejected;
  ok(refused >= 5 && refused <= 6, `${refused} requests refused`);
  // The run ends on its first error: the last line.
  ok(
    stderr.endsWith(
      "stopped early: 5 permanent errors in a row (HTTP 404): every further request would fail the same way; first error: HTTP 404: The model `not-served` does not exist.\n",
    ),
    stderr,
  );
});

Deno.test("benchmark: an engine failing every request stops once 50 failed in the first seconds, exit 1", async () => {
  await using sim = await startSimulator({
    timeScale: 0.01,
    faults: { errorRate500: 1 },
  });
  const { code, stderr } = await runCli([
    "benchmark",
    "--endpoint",
    sim.url,
    ...["--offload-size", "1", "--bytes-per-token", "1000"],
    ...["--max-inflight", "4", "--duration", "60", "--no-metrics"],
  ]);
  strictEqual(code, 1, stderr);
  const served = sim.stats().faults.status500;
  ok(served >= 50 && served <= 53, `${served} requests answered 500`);
  ok(
    /\[ERROR\] stopped early: 50 of the first 50 requests failed within 10 s of the start; first error: HTTP 500: .+\n/
      .test(stderr),
    stderr,
  );
});

Deno.test("benchmark and trie: a model the server neither lists nor serves is refused before the run, one line, exit 1", async () => {
  await using sim = await startSimulator({ timeScale: 0.01 });
  const bench = await runCli([
    "benchmark",
    ...["--endpoint", sim.url, "--model", "gpt-4o"],
    ...["--offload-size", "1", "--bytes-per-token", "1000", "--no-artifacts"],
  ]);
  strictEqual(bench.code, 1, bench.stdout + bench.stderr);
  strictEqual(
    bench.stderr,
    `\n[ERROR] The server does not serve "gpt-4o" (HTTP 404: The model \`gpt-4o\` does not exist.); it serves ${sim.model}: name one with --model, or leave --model out\n`,
  );
  // One request asked: the probe, refused; no run.
  strictEqual(sim.stats().rejected, 1);
  ok(!bench.stdout.includes("Workload Specifications"), bench.stdout);

  const tok = await qwen3TokenizerDir();
  const trie = await runCli([
    "trie",
    ...[`workload_path=${TRACES}`, `endpoint=${sim.url}`, "model=gpt-4o"],
    ...[`tokenizer_model=${tok}`, "concurrency=2", "artifacts=False"],
  ]);
  strictEqual(trie.code, 1, trie.stdout + trie.stderr);
  strictEqual(
    trie.stderr.trimEnd().split("\n").at(-1),
    `kvbench trie: error: The server does not serve "gpt-4o" (HTTP 404: The model \`gpt-4o\` does not exist.); it serves ${sim.model}: name one with model=, or leave it out`,
  );
  strictEqual(sim.stats().rejected, 2);
});

Deno.test("benchmark: a server that answers a model it does not list (llama.cpp, SGLang, a proxy): warned, and the run goes on", async () => {
  const server = startScriptedServer({ models: ["listed"] });
  try {
    const { code, stdout, stderr } = await runCli([
      "benchmark",
      ...["--endpoint", server.origin, "--model", "alias", "--force"],
      ...["--offload-size", "0.001", "--bytes-per-token", "1000"],
      ...["--input-length", "100", "--num-prompts", "4", "--no-artifacts"],
    ]);
    strictEqual(code, 0, stdout + stderr);
    ok(
      stderr.includes(
        `[WARN] ${server.origin}/v1/models does not list "alias" (it lists: listed), but it answered a request for it: going on\n`,
      ),
      stderr,
    );
    // The probe, then the run's 4 requests, all for "alias".
    const posts = server.received.filter((r) => r.method === "POST");
    strictEqual(posts.length, 5);
    ok(posts.every((r) => r.body?.model === "alias"));
    strictEqual(posts[0].body?.max_tokens, 1);
  } finally {
    await server.close();
  }
});
