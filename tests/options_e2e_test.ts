/**
 * The option schema end to end through `cli.ts`: `kvbench help NAME`, "did
 * you mean" in both syntaxes, units of durations and sizes, the hidden
 * internal key.
 */
import assert from "node:assert/strict";
import { runCli } from "./cli_process.ts";
import { startSimulator } from "../lib/sim/mod.ts";

Deno.test("kvbench help NAME prints the command's help; unknown options get a suggestion in both syntaxes", async () => {
  const help = await runCli(["help", "benchmark"]);
  assert.equal(help.code, 0);
  assert.ok(help.stdout.startsWith("usage: kvbench benchmark "), help.stdout);
  assert.ok(help.stdout.includes("--offload-size GB"), help.stdout);
  assert.ok(help.stdout.includes("(GiB, or 40GB, 40GiB)"), help.stdout);
  const flag = await runCli([
    "benchmark",
    "--force",
    "--endpoint",
    "x",
    "--concurency",
    "3",
  ]);
  assert.equal(flag.code, 2);
  assert.ok(
    flag.stderr.endsWith(
      `kvbench benchmark: error: Unknown option '--concurency'; did you mean "--concurrency"?\n`,
    ),
    flag.stderr,
  );
  const trieHelp = await runCli(["help", "trie"]);
  assert.equal(trieHelp.code, 0);
  assert.match(trieHelp.stdout, /^timeout +duration +600s +total timeout/m);
  assert.doesNotMatch(trieHelp.stdout, /^worker /m);
  const badUnit = await runCli([
    "trie",
    "workload_path=x",
    "endpoint=h",
    "model=m",
    "concurrency=1",
    "timeout=2x",
  ]);
  assert.equal(badUnit.code, 2);
  assert.ok(
    badUnit.stderr.endsWith(
      `kvbench trie: error: Invalid value for "timeout": "2x" is not a duration (seconds, or 30s, 2m, 1h)\n`,
    ),
    badUnit.stderr,
  );
  // A value of the wrong form says the form expected.
  const negative = await runCli([
    "benchmark",
    ...["--force", "--endpoint", "x", "--duration", "-5"],
  ]);
  assert.equal(negative.code, 2);
  assert.ok(
    negative.stderr.endsWith(
      `kvbench benchmark: error: --duration: invalid value "-5" (expected seconds > 0, or 30s, 2m, 1h)\n`,
    ),
    negative.stderr,
  );
  // A misspelt command gets a suggestion before the list of commands.
  const command = await runCli(["benchmrk"]);
  assert.equal(command.code, 2);
  assert.ok(
    command.stderr.startsWith(
      'kvbench: unknown command "benchmrk"; did you mean "benchmark"?\n\n',
    ),
    command.stderr,
  );
  const tooLong = await runCli([
    "benchmark",
    "--force",
    "--endpoint",
    "x",
    "--duration",
    "30d",
  ]);
  assert.equal(tooLong.code, 2);
  assert.ok(
    tooLong.stderr.endsWith(
      "kvbench benchmark: error: --duration: 30d is longer than a timer can wait (at most 2147483.647 s, 24.8 days)\n",
    ),
    tooLong.stderr,
  );
});

Deno.test("benchmark: a size and durations with units reach the run (run.json)", async () => {
  await using sim = await startSimulator({ timeScale: 0.05 });
  const dir = await Deno.makeTempDir();
  try {
    const run = await runCli([
      "benchmark",
      "--force",
      ...["--endpoint", sim.url, "--offload-size", "512MiB"],
      ...["--input-length", "2000", "--output-length", "8", "--seed", "1"],
      ...["--duration", "2m", "--timeout", "1.5m", "--num-prompts", "3"],
      ...["--output-dir", `${dir}/run`],
    ]);
    assert.equal(run.code, 0, run.stderr);
    const info = JSON.parse(await Deno.readTextFile(`${dir}/run/run.json`));
    assert.equal(info.workload.offloadSizeGib, 0.5);
    assert.equal(info.params.duration_s, 120);
    assert.equal(info.params.timeout_s, 90);
    assert.equal(info.params.num_prompts, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("benchmark: a --request-rate sweep runs each rate as a level (open loop), one sub-run each, then the table", async () => {
  await using sim = await startSimulator({ timeScale: 0.05 });
  const dir = await Deno.makeTempDir();
  try {
    const run = await runCli([
      "benchmark",
      "--force",
      ...["--endpoint", sim.url, "--offload-size", "2", "--seed", "1"],
      ...["--input-length", "2000", "--output-length", "8"],
      ...["--request-rate", "40,80", "--burstiness", "0.5"],
      ...["--num-prompts", "4", "--output-dir", `${dir}/run`],
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /=== level 2\/2: --request-rate 80 ===/);
    assert.match(run.stdout, /│ --request-rate 40 │/);
    const sweep = JSON.parse(await Deno.readTextFile(`${dir}/run/sweep.json`));
    assert.deepEqual(
      sweep.map((r: { level: { label: string } }) => r.level.label),
      ["--request-rate 40", "--request-rate 80"],
    );
    const info = JSON.parse(
      await Deno.readTextFile(`${dir}/run/level-2/run.json`),
    );
    assert.equal(info.params.request_rate, 80);
    assert.equal(info.params.burstiness, 0.5);
    const summary = JSON.parse(
      await Deno.readTextFile(`${dir}/run/level-1/summary.json`),
    );
    assert.equal(summary.requests.completed, 4);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
