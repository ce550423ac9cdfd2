/**
 * `kvbench report` and `kvbench compare` name runs the same way: `--names
 * A,B` (comma-separated or repeatable), and `--name NAME` (one name each,
 * report's spelling before) as its alias, without a warning; one name per
 * run. cli.ts in a subprocess, on a run it made against the simulator.
 */
import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { runCli, RUNS_DIR } from "./cli_process.ts";
import { startSimulator } from "../lib/sim/server.ts";

function namesIn(html: string): string[] {
  const data = JSON.parse(
    /<script type="application\/json" id="kvbench-data">([^]*?)<\/script>/
      .exec(html)![1],
  );
  return data.runs.map((r: { name: string }) => r.name);
}

Deno.test("report and compare: --names A,B in both, --name as its alias, one name per run", async () => {
  await using sim = await startSimulator({ timeScale: 0.001, seed: 1 });
  const run = `${RUNS_DIR}/names-run`;
  const made = await runCli([
    "benchmark",
    ...["--endpoint", sim.url, "--force", "--offload-size", "0.1"],
    ...["--input-length", "200", "--output-length", "4"],
    ...["--num-prompts", "4", "--seed", "1", "--output-dir", run],
  ]);
  strictEqual(made.code, 0, made.stderr);
  const out = `${RUNS_DIR}/names-out`;
  await Deno.mkdir(out, { recursive: true });
  const cases: [string, string[], string[]][] = [
    ["report", ["--names", "on,off"], ["on", "off"]],
    ["report", ["--names", "on", "--names", "off"], ["on", "off"]],
    ["report", ["--name", "on, warm", "--name", "off"], ["on, warm", "off"]],
    ["compare", ["--names", "on,off"], ["on", "off"]],
    ["compare", ["--name", "on", "--name", "off"], ["on", "off"]],
  ];
  for (const [i, [command, flags, names]] of cases.entries()) {
    const output = `${out}/${i}.html`;
    const r = await runCli([command, run, run, ...flags, "--output", output]);
    strictEqual(r.code, 0, r.stderr);
    strictEqual(r.stderr, "", `${command} ${flags.join(" ")}: no warning`);
    deepStrictEqual(namesIn(await Deno.readTextFile(output)), names);
  }
  // compare's table is headed by the names, whichever spelling.
  const table = await runCli([
    "compare",
    run,
    run,
    ...["--name", "on", "--name", "off", "--no-html"],
  ]);
  strictEqual(table.code, 0, table.stderr);
  ok(/┃ +on ┃ +off ┃ off \/ on ┃/.test(table.stdout), table.stdout);
  for (const command of ["report", "compare"]) {
    const few = await runCli([command, run, run, "--names", "x"]);
    strictEqual(few.code, 2);
    match(few.stderr, /error: --names gives 1 names for 2 runs/);
    const both = await runCli([
      command,
      run,
      run,
      ...["--names", "x,y", "--name", "z"],
    ]);
    strictEqual(both.code, 2);
    match(
      both.stderr,
      /error: give the names with --names or --name, not both/,
    );
    const help = await runCli([command, "--help"]);
    ok(
      help.stdout.includes("  --names A,B     the runs' names in the legends"),
    );
  }
});
