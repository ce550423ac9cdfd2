/**
 * Frictions a newcomer met in `kvbench benchmark`, end to end through cli.ts
 * against the simulator: a size that holds no context says which would, an
 * offload size given in GB prints as GiB with at most two decimals.
 */
import { ok, strictEqual } from "node:assert/strict";
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
