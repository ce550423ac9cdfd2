/**
 * The end of a benchmark run end to end through cli.ts against the
 * simulator: workers that stop early for their failures, the verdict of a
 * forced run, the lap time, and what to do next.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import type { RequestRecord } from "../lib/types.ts";
import { runCli, RUNS_DIR } from "./cli_process.ts";
import { startSimulator } from "../lib/sim/server.ts";
import { qwen3TokenizerDir } from "../lib/testing/tokenizers.ts";

const TRACES =
  new URL("./testdata/traces_small.jsonl", import.meta.url).pathname;

const NOT_SERVED_FAILURE =
  "stopped early: 5 permanent errors in a row (HTTP 404): every further request would fail the same way; first error: HTTP 404: The model `not-served` does not exist.";

Deno.test("benchmark --workers 2: a model the server lists but does not serve stops the workers early; the parent says why, names the first error, exit 1", async () => {
  // A router that still lists the model (its backend went away): the
  // pre-flight goes on, every request is refused.
  await using sim = await startSimulator({
    timeScale: 0.01,
    unservedModels: ["not-served"],
  });
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

Deno.test("benchmark: a server failing every request: the run ends on its first error, with neither lap, verdict nor next step", async () => {
  await using sim = await startSimulator({
    timeScale: 0.01,
    faults: { errorRate500: 1 },
  });
  const { code, stdout, stderr } = await runCli([
    "benchmark",
    ...["--endpoint", sim.url, "--offload-size", "1", "--bytes-per-token"],
    ...["1000", "--max-inflight", "4", "--duration", "60", "--no-metrics"],
    "--no-artifacts",
  ]);
  strictEqual(code, 1, stdout + stderr);
  ok(
    /\[ERROR\] stopped early: 50 of the first 50 requests failed within 10 s of the start; first error: HTTP 500[^\n]*\n$/
      .test(stderr),
    stderr,
  );
  ok(!/Lap 1|one lap|Verdict|Next:/.test(stdout + stderr), stdout);
});

Deno.test("trie workers=2: a model the server lists but does not serve stops the workers early; the parent says why, exit 1", async () => {
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

/** The records of a run directory (the lines with a record). */
async function records(dir: string): Promise<RequestRecord[]> {
  const text = await Deno.readTextFile(`${dir}/records.jsonl`);
  return text.trim().split("\n").map((line) => JSON.parse(line))
    .filter((line) => line.run === undefined && line.report === undefined);
}

/** 5 contexts of 2,000 tokens (0.9 × 1.1 GiB / (98,304 × 2,000 bytes) = 5.4), one in flight. */
const FIVE_CONTEXTS = [
  ...["--offload-size", "1.1", "--bytes-per-token", "98304"],
  ...["--input-length", "2000", "--output-length", "4", "--max-inflight", "1"],
  "--ignore-eos",
];

/** The first lap's requests that settled: tile index below the contexts, not aborted. */
function firstLap(all: RequestRecord[], contexts: number): RequestRecord[] {
  return all.filter((r) =>
    (r.tags!.index as number) < contexts && r.error?.kind !== "aborted"
  );
}

Deno.test("benchmark: --duration shorter than lap 1: the estimate and a warning during the run, lap 1 not completed, the duration that covers two laps next", async () => {
  // Prefills one at a time at 5,000 tokens/s: 0.4 s per context at least,
  // so lap 1 takes 2 s at least; the run stops after 1.5 s.
  await using sim = await startSimulator({
    prefillTokensPerS: 5_000,
    gpuKvTokens: 4_000,
    offloadTokens: 100_000,
  });
  const dir = `${RUNS_DIR}/short-${crypto.randomUUID()}`;
  const { code, stdout, stderr } = await runCli([
    "benchmark",
    ...["--endpoint", sim.url, ...FIVE_CONTEXTS, "--duration", "1.5"],
    ...["--output-dir", dir],
  ]);
  strictEqual(code, 0, stdout + stderr);
  const estimate =
    /\[INFO\] lap 1: ~([\d.]+)s estimated from 2 of 5 contexts \(cold prefills at 1 in flight\)\n\[WARN\] --duration 1.5 ends before lap 1 does: no context will be reused; run at least --duration (\d+) \(two laps: every context reused once\)\n/
      .exec(stderr);
  ok(estimate, stderr);
  // The server cannot prefill faster than it was told: 5 × 0.4 s.
  const lapS = Number(estimate[1]);
  ok(lapS >= 2 && lapS < 60, `lap 1 estimated at ${lapS} s`);
  ok(Number(estimate[2]) >= 2 * lapS, estimate[0]);
  // Lap 1 did not finish: unknown, with how many of its requests settled.
  const summary = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`));
  const lap = firstLap(await records(dir), 5);
  ok(lap.length >= 2 && lap.length < 5, `${lap.length} settled`);
  deepStrictEqual(summary.lap_1, {
    requests: 5,
    settled: lap.length,
    elapsed_s: null,
  });
  ok(
    stdout.includes(
      `Lap 1: not completed within the run (${lap.length} of the 5 contexts' first requests settled)\n`,
    ),
    stdout,
  );
  ok(stdout.includes("run longer than one lap of the contexts."), stdout);
  // Next: two laps at lap 1's pace so far, from the records and the elapsed time.
  const firstSend = Math.min(...lap.map((r) => r.sentAt - r.runStartedAt!));
  const paceMs = (summary.elapsed_s * 1000 - firstSend) * 5 / lap.length;
  const twoLaps = (firstSend + 2 * paceMs) / 1000;
  const least = twoLaps <= 60
    ? Math.ceil(twoLaps)
    : Math.ceil(twoLaps / 10) * 10;
  ok(
    new RegExp(
      `Next: lap 1 did not finish within the run \\(${lap.length} of 5 contexts in [\\d.]+s\\): run at least --duration ${least} \\(two laps at that pace: every context reused once\\)\\.\\n`,
    ).test(stdout),
    stdout,
  );
});

Deno.test("benchmark: offload hits: lap 1 measured from the records, then the A/B recipe, which runs as printed against the server with its tier off", async () => {
  // 0.1 s per cold prefill; the GPU holds 2 of the 5 contexts, the offload
  // tier all of them: in tile order every reuse comes from the offload tier.
  const simOptions = {
    prefillTokensPerS: 20_000,
    gpuKvTokens: 4_000,
    offloadTokens: 100_000,
  };
  const sim = await startSimulator(simOptions);
  const port = sim.port;
  const dir = `${RUNS_DIR}/ab-${crypto.randomUUID()}`;
  let run;
  try {
    run = await runCli([
      "benchmark",
      ...["--endpoint", sim.url, ...FIVE_CONTEXTS, "--duration", "3"],
      ...["--output-dir", dir],
    ]);
  } finally {
    await sim.shutdown();
  }
  const { code, stdout, stderr } = run;
  strictEqual(code, 0, stdout + stderr);
  // Lap 1: the first send to the last end of the 5 first requests.
  const lap = firstLap(await records(dir), 5);
  strictEqual(lap.length, 5);
  const lapMs = Math.max(...lap.map((r) => r.endAt)) -
    Math.min(...lap.map((r) => r.sentAt));
  ok(lapMs >= 500, `lap 1 took ${lapMs} ms`); // 5 × 0.1 s of prefill at least
  const summary = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`));
  deepStrictEqual(summary.lap_1, {
    requests: 5,
    settled: 5,
    elapsed_s: lapMs / 1000,
  });
  ok(
    stdout.includes(
      `Lap 1: ${
        (lapMs / 1000).toFixed(2)
      } s (first send to the last end of the 5 contexts' first requests)\n`,
    ),
    stdout,
  );
  ok(summary.server.offload_share > 0.5, `${summary.server.offload_share}`);
  const steps = stdout.slice(
    stdout.indexOf("Next: what the offload tier buys"),
  );
  ok(steps.startsWith("Next:"), stdout);
  const step = (n: number): string[] =>
    new RegExp(`\\n  ${n}\\. (.*)\\n`).exec(steps)![1].split(" ");
  const second = step(2);
  deepStrictEqual(second.slice(0, 2), ["kvbench", "benchmark"]);
  deepStrictEqual(second.slice(-2), ["--output-dir", `${dir}-offload-off`]);
  deepStrictEqual(step(3), [
    "kvbench",
    "compare",
    dir,
    `${dir}-offload-off`,
  ]);
  // The same server restarted with its offload tier off, on the same port.
  await using off = await startSimulator({
    ...simOptions,
    offloadTokens: 0,
    port,
  });
  strictEqual(off.url, sim.url);
  const b = await runCli(second.slice(1));
  strictEqual(b.code, 0, b.stdout + b.stderr);
  const offSummary = JSON.parse(
    await Deno.readTextFile(`${dir}-offload-off/summary.json`),
  );
  strictEqual(offSummary.server.offload_share, 0);
  // The server has no offload tier: said plainly, not as a size given
  // wrong; its next step is the comparison with the offload-on run.
  ok(
    b.stderr.includes(
      "[INFO] The server has no offload tier (it reports 0 offload tokens): this run measures recompute, the offload-off side of an A/B\n",
    ),
    b.stderr,
  );
  ok(!b.stderr.includes("offload tokens (/metrics)"), b.stderr);
  ok(!b.stderr.includes("exceeds the offload tier"), b.stderr);
  const offRun = JSON.parse(
    await Deno.readTextFile(`${dir}-offload-off/run.json`),
  );
  deepStrictEqual(offRun.params.preflight.lines.slice(1), [
    "[INFO] The server has no offload tier (it reports 0 offload tokens): this run measures recompute, the offload-off side of an A/B",
  ]);
  ok(
    b.stdout.includes(
      `Next: the server has no offload tier, so this run measured recompute: compare it with the same run against the server with its offload tier on: kvbench compare ON_DIR ${dir}-offload-off\n`,
    ),
    b.stdout,
  );
  ok(!b.stdout.includes("served none of the reuse"), b.stdout);
  const cmp = await runCli(step(3).slice(1));
  strictEqual(cmp.code, 0, cmp.stdout + cmp.stderr);
  ok(cmp.stdout.includes("offload-off"), cmp.stdout);
});

Deno.test("benchmark --force past the pre-flight: the verdict says what the pre-flight said and repeats its fix, no lap advice", async () => {
  // The offload tier holds 6,000 tokens; the working set is 5 × 2,008.
  await using sim = await startSimulator({
    prefillTokensPerS: 5_000,
    gpuKvTokens: 4_000,
    offloadTokens: 6_000,
  });
  const args = [
    "benchmark",
    ...["--endpoint", sim.url, ...FIVE_CONTEXTS, "--duration", "1.5"],
    "--no-artifacts",
  ];
  const refused = await runCli(args);
  strictEqual(refused.code, 1, refused.stdout + refused.stderr);
  const { code, stdout, stderr } = await runCli([...args, "--force"]);
  strictEqual(code, 0, stdout + stderr);
  const said =
    /\[WARN\] --force: (the working set exceeds the server's offload tier \(0\.55 GiB\): .*; (size the run for the server's tier with --offload-size 0\.54)) \(or pass --force to run anyway\)\n/
      .exec(stderr);
  ok(said, stderr);
  ok(
    stdout.includes(
      `Verdict: no context came back within the run, and a longer run would not measure the offload tier either: the pre-flight found that ${
        said[1]
      }.\n`,
    ),
    stdout,
  );
  ok(stdout.includes(`Next: ${said[2]}, and run without --force.\n`), stdout);
  ok(!stdout.includes("run longer than one lap"), stdout);
  ok(!/Next: (lap 1|run at least)/.test(stdout), stdout);
  // The lap is estimated, but a longer --duration is not advised.
  ok(
    /\[INFO\] lap 1: ~[\d.]+s estimated from 2 of 5 contexts/.test(stderr),
    stderr,
  );
  ok(!stderr.includes("--duration 1.5 ends before"), stderr);
});

Deno.test("benchmark --num-prompts below one lap: warned before the run, lap 1 not completed, the --num-prompts that covers two laps next", async () => {
  await using sim = await startSimulator({
    gpuKvTokens: 4_000,
    offloadTokens: 100_000,
  });
  const { code, stdout, stderr } = await runCli([
    "benchmark",
    ...["--endpoint", sim.url, ...FIVE_CONTEXTS, "--num-prompts", "3"],
    "--no-artifacts",
  ]);
  strictEqual(code, 0, stdout + stderr);
  ok(
    stderr.includes(
      "[WARN] --num-prompts 3 ends before any context is reused: lap 1 is the first 5 requests (one per context); run at least --num-prompts 10 (two laps: every context reused once)\n",
    ),
    stderr,
  );
  ok(
    stdout.includes(
      "Lap 1: not completed within the run (3 of the 5 contexts' first requests settled)\n",
    ),
    stdout,
  );
  ok(
    stdout.includes(
      "Next: run at least --num-prompts 10 (two laps of 5 contexts: every context reused once).\n",
    ),
    stdout,
  );
});

Deno.test("kvbench merge of shards where every request failed: neither lap nor verdict, as a single run", async () => {
  await using sim = await startSimulator({
    timeScale: 0.01,
    faults: { errorRate500: 1 },
  });
  const root = `${RUNS_DIR}/merge-failed-${crypto.randomUUID()}`;
  for (const shard of ["0/2", "1/2"]) {
    const { code, stderr } = await runCli([
      "benchmark",
      ...["--endpoint", sim.url, "--offload-size", "1", "--bytes-per-token"],
      ...["1000", "--max-inflight", "4", "--duration", "60", "--no-metrics"],
      ...["--shard", shard, "--seed", "7"],
      ...["--output-dir", `${root}/${shard[0]}`],
    ]);
    strictEqual(code, 1, stderr);
  }
  const { code, stdout, stderr } = await runCli([
    "merge",
    `${root}/0`,
    `${root}/1`,
    ...["--output-dir", `${root}/out`],
  ]);
  strictEqual(code, 0, stderr);
  ok(
    stdout.includes(
      "\nNo request of any part completed: nothing to measure.\n",
    ),
    stdout,
  );
  ok(!/Lap 1|Verdict|Next:/.test(stdout), stdout);
});
