/**
 * Frictions a newcomer met in `kvbench benchmark`, end to end through cli.ts
 * against the simulator: a size that holds no context says which would, an
 * offload size given in GB prints as GiB with at most two decimals.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { runCli } from "./cli_process.ts";
import { startSimulator } from "../lib/sim/server.ts";

Deno.test("benchmark --offload-size 2 with 32k contexts: refused before any request, with the smallest size that fits one and the longest input length", async () => {
  await using sim = await startSimulator({ timeScale: 0.01 });
  const { code, stdout, stderr } = await runCli([
    "benchmark",
    ...["--endpoint", sim.url, "--offload-size", "2"],
    ...["--bytes-per-token", "98304", "--no-artifacts"],
  ]);
  strictEqual(code, 1, stdout + stderr);
  // One context: 98,304 B × 32,000 / 1024³ = 2.93 GiB; / 0.9 = 3.2553 GiB.
  // The longest that fits: 0.9 × 2 × 1024³ / 98,304 = 19,660.8 tokens.
  ok(
    stderr.endsWith(
      "\n[ERROR] Cannot size the workload: one 32000-token context (2.93 GiB) does not fit in 0.9 × 2 GiB: give --offload-size 3.26 or more, or --input-length 19660 or less\n",
    ),
    stderr,
  );
  strictEqual(sim.stats().requests, 0);
  // Both fixes size a workload of one context.
  for (const fix of [["--offload-size", "3.26"], ["--input-length", "19660"]]) {
    const r = await runCli([
      "benchmark",
      ...["--endpoint", sim.url, "--offload-size", "2", ...fix],
      ...["--bytes-per-token", "98304", "--no-artifacts", "--no-metrics"],
      ...["--num-prompts", "1", "--output-length", "2"],
    ]);
    strictEqual(r.code, 0, r.stdout + r.stderr);
    ok(r.stdout.includes("Number of Contexts: 1\n"), r.stdout);
  }
});

Deno.test("benchmark --offload-size 20GB prints offload_size in GiB with at most two decimals", async () => {
  await using sim = await startSimulator({ timeScale: 0.01 });
  const { code, stdout, stderr } = await runCli([
    "benchmark",
    ...["--endpoint", sim.url, "--offload-size", "20GB"],
    ...["--bytes-per-token", "1000000", "--input-length", "10000"],
    ...["--no-artifacts", "--no-metrics", "--num-prompts", "1"],
    ...["--output-length", "2"],
  ]);
  strictEqual(code, 0, stdout + stderr);
  // 20 × 10⁹ B / 1024³ = 18.6264… GiB.
  ok(stdout.includes("\noffload_size: 18.63\n"), stdout);
  // 0.9 × 18.6264 / (10⁶ × 10,000 / 1024³ = 9.313 GiB) = 1.8: 1 context.
  ok(stdout.includes("Number of Contexts: 1\n"), stdout);
});

/** The names in `dir`, sorted. */
async function names(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

Deno.test("benchmark refused by the pre-flight leaves nothing it created: no run directory, no parents, no records file; a user's directory keeps its files", async () => {
  // The offload tier holds 6,000 tokens; the working set is 5 × 2,008.
  await using sim = await startSimulator({
    prefillTokensPerS: 5_000,
    gpuKvTokens: 4_000,
    offloadTokens: 6_000,
  });
  const tmp = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${tmp}/mine`);
    await Deno.writeTextFile(`${tmp}/mine/notes.txt`, "kept");
    await Deno.mkdir(`${tmp}/empty`);
    await Deno.mkdir(`${tmp}/runs`);
    const refused = (extra: string[], env?: Record<string, string>) =>
      runCli([
        "benchmark",
        ...["--endpoint", sim.url, "--offload-size", "1.1"],
        ...["--bytes-per-token", "98304", "--input-length", "2000"],
        ...["--duration", "1", ...extra],
      ], { env });
    const runs = [
      // A new directory under new parents, and a records file beside them.
      await refused([
        ...["--output-dir", `${tmp}/mine/runs/a`],
        ...["--records", `${tmp}/mine/r.jsonl`],
      ]),
      // An empty directory the user made: kept, left empty.
      await refused(["--output-dir", `${tmp}/empty`]),
      // The default runs directory, with workers (their folders inside).
      await refused(["--workers", "2", "--max-inflight", "2"], {
        KVBENCH_RUNS_DIR: `${tmp}/runs`,
      }),
    ];
    for (const r of runs) {
      strictEqual(r.code, 1, r.stdout + r.stderr);
      ok(r.stderr.includes("[ERROR] Refusing the run: "), r.stderr);
      ok(!r.stdout.includes("Run written to"), r.stdout);
    }
    deepStrictEqual(await names(`${tmp}/mine`), ["notes.txt"]);
    deepStrictEqual(await names(`${tmp}/empty`), []);
    deepStrictEqual(await names(`${tmp}/runs`), []);
    deepStrictEqual(await names(tmp), ["empty", "mine", "runs"]);
    strictEqual(sim.stats().requests, 0);
    // Run with --force, the same directory gets the run's files.
    const forced = await refused([
      ...["--output-dir", `${tmp}/mine/runs/a`, "--force"],
    ]);
    strictEqual(forced.code, 0, forced.stdout + forced.stderr);
    ok((await names(`${tmp}/mine/runs/a`)).includes("run.json"));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("benchmark whose workers cannot split the load leaves no run directory", async () => {
  await using sim = await startSimulator({ timeScale: 0.01 });
  const tmp = await Deno.makeTempDir();
  try {
    const r = await runCli([
      "benchmark",
      // 5 contexts of 2,000 tokens: 1 in flight, which 2 workers cannot split.
      ...["--endpoint", sim.url, "--offload-size", "1.1"],
      ...["--bytes-per-token", "98304", "--input-length", "2000"],
      ...["--workers", "2", "--no-metrics"],
      ...["--output-dir", `${tmp}/runs/a`],
    ]);
    strictEqual(r.code, 1, r.stdout + r.stderr);
    ok(r.stderr.includes("Cannot split a concurrency of 1 over 2 parts"));
    deepStrictEqual(await names(tmp), []);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
