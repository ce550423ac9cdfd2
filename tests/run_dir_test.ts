/**
 * Run directories, sweeps and the live status line, end to end through
 * cli.ts against the simulator.
 */
import assert from "node:assert/strict";
import { LatencyDistributions } from "../lib/metrics/distributions.ts";
import { runCli, RUNS_DIR } from "./cli_process.ts";
import { readRecordsFile } from "../lib/run/records_file.ts";
import { startSimulator } from "../lib/sim/mod.ts";
import { qwen3TokenizerDir } from "../lib/testing/tokenizers.ts";
import { parseTables } from "../lib/testing/tables.ts";

const TRACES =
  new URL("./testdata/traces_small.jsonl", import.meta.url).pathname;
// The simulator's GPU KV holds this small working set: --force runs it all
// the same (the pre-flight's refusal is tested in server_metrics_test.ts).
const SMALL = [
  ...["--offload-size", "2", "--input-length", "2000", "--output-length", "8"],
  ...["--ignore-eos", "--duration", "120", "--seed", "1", "--force"],
];

Deno.test("benchmark: a run directory holds run.json, records, metrics and the summary; --no-artifacts writes none", async () => {
  await using sim = await startSimulator({ timeScale: 0.05 });
  const dir = await Deno.makeTempDir();
  try {
    const { code, stdout, stderr } = await runCli([
      "benchmark",
      ...["--endpoint", sim.url, ...SMALL, "--num-prompts", "12"],
      ...["--api-key", "sk-secret-1234", "--output-dir", `${dir}/run`],
    ]);
    assert.equal(code, 0, stderr);
    assert.ok(
      stdout.includes(
        `[INFO] Run written to ${dir}/run (report: ${dir}/run/report.html)\n`,
      ),
      stdout,
    );
    const files = [...Deno.readDirSync(`${dir}/run`)].map((e) => e.name).sort();
    assert.deepEqual(files, [
      "metrics.jsonl",
      "records.jsonl",
      "report.html",
      "run.json",
      "summary.json",
    ]);
    const run = JSON.parse(await Deno.readTextFile(`${dir}/run/run.json`));
    assert.equal(run.command, "benchmark");
    assert.ok(
      run.argv.includes("***") && !JSON.stringify(run).includes("sk-secret"),
    );
    assert.equal(run.server.engine, "kvbench-sim");
    assert.equal(run.workload.contexts, 9);
    const { records } = await readRecordsFile(`${dir}/run/records.jsonl`);
    assert.equal(records.length, 12);
    const summary = JSON.parse(
      await Deno.readTextFile(`${dir}/run/summary.json`),
    );
    assert.equal(summary.requests.completed, 12);
    // The report's numbers are the records' own: its embedded data against
    // the distributions and cache hits recomputed from records.jsonl.
    const html = await Deno.readTextFile(`${dir}/run/report.html`);
    const data = JSON.parse(
      /<script type="application\/json" id="kvbench-data">([^]*?)<\/script>/
        .exec(html)![1],
    );
    const distributions = new LatencyDistributions();
    let prompt = 0, cached = 0;
    for (const r of records) {
      distributions.add(r);
      prompt += r.promptTokens!;
      cached += r.cachedTokens!;
    }
    const want = distributions.summary({ percentiles: [50, 90, 95, 99] });
    const got = data.runs[0].distributions;
    // (TPOT may have no sample: the fast simulator's decode can be a burst.)
    for (const key of ["ttftMs", "tpotMs", "itlMs", "e2eMs"] as const) {
      assert.deepEqual(got[key]?.percentiles, want[key]?.percentiles, key);
      assert.equal(got[key]?.mean, want[key]?.mean, key);
    }
    assert.deepEqual(data.runs[0].cache, {
      promptTokens: prompt,
      cachedTokens: cached,
      hitRate: cached / prompt,
    });
    assert.equal(data.runs[0].requests.t.length, 12);
    // Nothing in the default place for this run, and nothing at all without artifacts.
    const before = [...Deno.readDirSync(RUNS_DIR)].length;
    const none = await runCli([
      "benchmark",
      ...[
        "--endpoint",
        sim.url,
        ...SMALL,
        "--num-prompts",
        "3",
        "--no-artifacts",
      ],
    ]);
    assert.equal(none.code, 0, none.stderr);
    assert.ok(!none.stdout.includes("Run written"));
    assert.equal([...Deno.readDirSync(RUNS_DIR)].length, before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("benchmark: default run directories are named so they sort by time", async () => {
  await using sim = await startSimulator({ timeScale: 0.05 });
  const made: string[] = [];
  for (let i = 0; i < 2; i++) {
    const { code, stdout, stderr } = await runCli([
      "benchmark",
      ...["--endpoint", sim.url, ...SMALL, "--num-prompts", "3"],
    ]);
    assert.equal(code, 0, stderr);
    made.push(/\[INFO\] Run written to (\S+) \(report: /.exec(stdout)![1]);
  }
  for (const path of made) {
    assert.ok(path.startsWith(`${RUNS_DIR}/`), path);
    assert.match(path, /\/\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-benchmark(-\d+)?$/);
  }
  // Created in order, so sorted the same way.
  assert.deepEqual([...made].sort(), made);
});

Deno.test("benchmark: a list of --max-inflight sweeps level by level, one sub-run each, then a table", async () => {
  await using sim = await startSimulator({ timeScale: 0.05 });
  const dir = await Deno.makeTempDir();
  try {
    const { code, stdout, stderr } = await runCli([
      "benchmark",
      ...["--endpoint", sim.url, ...SMALL, "--num-prompts", "9"],
      ...["--max-inflight", "1,3", "--output-dir", dir],
    ]);
    assert.equal(code, 0, stderr);
    assert.ok(stdout.includes("=== level 1/2: --max-inflight 1 ==="));
    assert.ok(stdout.includes("=== level 2/2: --max-inflight 3 ==="));
    const sweep = parseTables(stdout).at(-1)!;
    assert.equal(
      sweep.title[0],
      "Sweep: throughput against latency, level by level",
    );
    assert.deepEqual(sweep.rows.map((r) => r[0]), [
      "--max-inflight 1",
      "--max-inflight 3",
    ]);
    for (const level of [1, 2]) {
      const { records } = await readRecordsFile(
        `${dir}/level-${level}/records.jsonl`,
      );
      assert.equal(records.length, 9);
      const summary = JSON.parse(
        await Deno.readTextFile(`${dir}/level-${level}/summary.json`),
      );
      assert.equal(summary.params.max_inflight, level === 1 ? 1 : 3);
    }
    const table = JSON.parse(await Deno.readTextFile(`${dir}/sweep.json`));
    assert.equal(table.length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trie: concurrency=1,2 sweeps; each level is a sub-run with its own files", async () => {
  await using sim = await startSimulator({ timeScale: 0.05 });
  const tok = await qwen3TokenizerDir();
  const dir = await Deno.makeTempDir();
  try {
    const { code, stdout, stderr } = await runCli([
      "trie",
      `workload_path=${TRACES}`,
      `endpoint=${sim.url}`,
      `model=${sim.model}`,
      `tokenizer_model=${tok}`,
      "concurrency=1,2",
      "max_traces=3",
      "duration=120",
      "stream=True",
      `output_dir=${dir}`,
    ]);
    assert.equal(code, 0, stderr);
    const starts = stdout.split("\n").filter((l) =>
      l.includes("starting benchmark")
    );
    assert.deepEqual(
      starts.map((l) => /concurrency=(\d+)/.exec(l)![1]),
      ["1", "2"],
    );
    const sweep = parseTables(stdout).at(-1)!;
    assert.deepEqual(sweep.rows.map((r) => r[0]), [
      "concurrency=1",
      "concurrency=2",
    ]);
    for (const level of [1, 2]) {
      const summary = JSON.parse(
        await Deno.readTextFile(`${dir}/level-${level}/summary.json`),
      );
      assert.equal(summary.completed_requests, 3);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(tok, { recursive: true });
  }
});

Deno.test("live status: one line redrawn in place on a terminal, nothing extra in a pipe", async () => {
  await using sim = await startSimulator({ timeScale: 0.05 });
  const args = [
    "benchmark",
    ...[
      "--endpoint",
      sim.url,
      ...SMALL,
      "--num-prompts",
      "12",
      "--no-artifacts",
    ],
  ];
  const piped = await runCli(args);
  assert.equal(piped.code, 0, piped.stderr);
  assert.ok(!piped.stdout.includes("\r") && !piped.stdout.includes("\x1b["));
  // script(1) gives the command a terminal; the status is drawn when the
  // requests start, then every second.
  const cli = new URL("../cli.ts", import.meta.url).pathname;
  const command = [Deno.execPath(), "run", "-A", "--quiet", cli, ...args]
    .map((a) => `'${a}'`).join(" ");
  const tty = await new Deno.Command("script", {
    args: ["-qec", command, "/dev/null"],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(tty.stdout);
  assert.equal(tty.code, 0, text);
  const clear = "\r\x1b[2K";
  assert.ok(
    text.includes(
      `${clear}0/120 s  requests 0 done, 0 failed, 0 in flight  TTFT p50 - (last 0)`,
    ),
    text,
  );
  // Cleared before the closing lines (the lap estimate, printed through the
  // live display, may be the last line it cleared for).
  assert.match(
    text.slice(text.lastIndexOf(clear) + clear.length),
    /^(\[INFO\] lap 1: [^\r\n]*\r?\n)?(\r?\n)+\[INFO\] Cancelled benchmark tasks\./,
  );
});

Deno.test("kvbench report and compare from run directories and records files; bad input in one line", async () => {
  await using sim = await startSimulator({ timeScale: 0.05 });
  const dir = await Deno.makeTempDir();
  try {
    for (const name of ["a", "b"]) {
      const { code, stderr } = await runCli([
        "benchmark",
        ...["--endpoint", sim.url, ...SMALL, "--num-prompts", "6"],
        ...[
          "--output-dir",
          `${dir}/${name}`,
          "--records",
          `${dir}/${name}.jsonl`,
        ],
      ]);
      assert.equal(code, 0, stderr);
    }
    await Deno.writeTextFile(`${dir}/file`, "");
    const onFile = await runCli([
      "benchmark",
      ...["--endpoint", sim.url, ...SMALL, "--output-dir", `${dir}/file`],
    ]);
    assert.equal(onFile.code, 1);
    assert.equal(
      onFile.stderr,
      `kvbench benchmark: error: Cannot write the run into "${dir}/file": a file of that name exists\n`,
    );
    // A records file alone, and two runs overlaid under names given.
    const one = await runCli([
      "report",
      `${dir}/a.jsonl`,
      "--output",
      `${dir}/one.html`,
    ]);
    assert.equal(one.code, 0, one.stderr);
    assert.match(
      one.stdout,
      new RegExp(
        `^\\[INFO\\] Report of 1 run \\(6 records, \\d+ KiB\\) written to ${dir}/one.html\\n$`,
      ),
    );
    const two = await runCli([
      "report",
      `${dir}/a`,
      `${dir}/b`,
      ...["--name", "first", "--name", "second", "--output", `${dir}/two.html`],
    ]);
    assert.equal(two.code, 0, two.stderr);
    assert.match(two.stdout, /Report of 2 runs \(12 records/);
    const data = JSON.parse(
      /<script type="application\/json" id="kvbench-data">([^]*?)<\/script>/
        .exec(await Deno.readTextFile(`${dir}/two.html`))![1],
    );
    assert.deepEqual(data.runs.map((r: { name: string }) => r.name), [
      "first",
      "second",
    ]);
    // compare: the table, and the report unless --no-html.
    const cmp = await runCli(["compare", `${dir}/a`, `${dir}/b`, "--no-html"]);
    assert.equal(cmp.code, 0, cmp.stderr);
    const table = parseTables(cmp.stdout)[0];
    // The runs, then the ratio column of the second over the first (issue 24).
    assert.deepEqual(table.header.slice(1), ["a", "b", "b / a"]);
    assert.deepEqual(
      table.rows.find((r) => r[0] === "requests completed")!.slice(1),
      ["6", "6", "1.00×"],
    );
    assert.ok(!cmp.stdout.includes("Report written"));
    const missing = await runCli(["report", `${dir}/nope`]);
    assert.equal(missing.code, 1);
    assert.equal(
      missing.stderr,
      `kvbench report: error: Cannot read run "${dir}/nope": no such file or directory\n`,
    );
    const names = await runCli([
      "compare",
      `${dir}/a`,
      `${dir}/b`,
      "--names",
      "x",
    ]);
    assert.equal(names.code, 2);
    assert.match(names.stderr, /error: --names gives 1 names for 2 runs/);
    // A run killed while writing a line: that line is skipped, with a word.
    const lines = (await Deno.readTextFile(`${dir}/a.jsonl`)).split("\n");
    await Deno.writeTextFile(
      `${dir}/cut.jsonl`,
      lines.slice(0, 6).join("\n") + "\n" + lines[6].slice(0, 40),
    );
    const cut = await runCli([
      "report",
      `${dir}/cut.jsonl`,
      "--output",
      `${dir}/cut.html`,
    ]);
    assert.equal(cut.code, 0, cut.stderr);
    assert.equal(
      cut.stderr,
      `[WARN] ${dir}/cut.jsonl: line 7 was cut short (the run was killed while writing it): skipped\n`,
    );
    assert.match(cut.stdout, /Report of 1 run \(6 records/);
    // Not the last line, or ended by a newline: it is bad input, not a cut.
    await Deno.writeTextFile(
      `${dir}/bad.jsonl`,
      lines.slice(0, 6).join("\n") + "\n" + lines[6].slice(0, 40) + "\n",
    );
    const bad = await runCli(["report", `${dir}/bad.jsonl`]);
    assert.equal(bad.code, 1);
    assert.equal(
      bad.stderr,
      `kvbench report: error: Cannot read records file "${dir}/bad.jsonl": line 7 is not JSON\n`,
    );
    const toFolder = await runCli([
      "compare",
      `${dir}/a`,
      `${dir}/b`,
      "--output",
      dir,
    ]);
    assert.equal(toFolder.code, 1);
    assert.equal(
      toFolder.stderr,
      `kvbench compare: error: Cannot write --output "${dir}": it is a directory\n`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
