/**
 * Runs bigger than one process, end to end through `cli.ts` against the
 * simulator: `--workers`, shards started as a Kubernetes Indexed Job starts
 * them (the manifest's own arguments, `JOB_COMPLETION_INDEX` set), and
 * `kvbench merge` — the same requests, tile order and cache hits as one
 * process, and merged percentiles equal to those of the union of the
 * records.
 */
import assert from "node:assert/strict";
import { parse } from "npm:yaml@2.9.1";
import { Job } from "npm:kubernetes-models@5.1.0/batch/v1/Job";
import { runCli, RUNS_DIR, startCli } from "./cli_process.ts";
import { LatencyDistributions } from "../lib/metrics/distributions.ts";
import { readRecordsFile } from "../lib/run/records_file.ts";
import type { RequestRecord } from "../lib/types.ts";
import { startSimulator } from "../lib/sim/mod.ts";
import { qwen3TokenizerDir } from "../lib/testing/tokenizers.ts";
import { loadTraceFile } from "../workloads/trie/trace_file.ts";

const TRACES =
  new URL("./testdata/traces_small.jsonl", import.meta.url).pathname;

/** Nine contexts of 2000 tokens, three in GPU KV, all in the offload tier. */
const SIM = {
  seed: 3,
  timeScale: 0.01,
  gpuKvTokens: 6000,
  offloadTokens: 100_000,
};

const BENCHMARK = [
  ...["--offload-size", "2", "--input-length", "2000"],
  ...["--output-length", "16", "--ignore-eos", "--num-prompts", "36"],
  ...["--seed", "5", "--duration", "120", "--percentiles", "50,90,99"],
];

/** What must not change when the run is split: which requests, in which order per lap, and the cache hits. */
function shape(records: readonly RequestRecord[], contexts: number) {
  const ok = records.filter((r) => r.ok);
  const indices = ok.map((r) => r.tags!.index as number).sort((a, b) => a - b);
  // Every request of the tile order once, each on its context.
  for (const r of ok) {
    assert.equal(r.tags!.context, (r.tags!.index as number) % contexts);
  }
  let prompt = 0, cached = 0;
  for (const r of ok) {
    prompt += r.promptTokens!;
    cached += r.cachedTokens!;
  }
  return {
    requests: ok.length,
    indices,
    prompt,
    cached,
    hitRate: cached / prompt,
  };
}

/**
 * The same run: the same requests (so the same prompt tokens) and the same
 * cache hits. Hits may differ by one context's reuse (2000 tokens): two
 * processes can send a context's first and second request at once, where
 * one process sends them in order; on an idle machine they are equal.
 */
function assertSameRun(
  got: ReturnType<typeof shape>,
  want: ReturnType<typeof shape>,
): void {
  assert.equal(got.requests, want.requests);
  assert.deepEqual(got.indices, want.indices);
  assert.equal(got.prompt, want.prompt);
  assert.ok(
    Math.abs(got.cached - want.cached) <= 2000,
    `cached tokens ${got.cached} against ${want.cached} for one process`,
  );
}

async function records(dir: string): Promise<RequestRecord[]> {
  return (await readRecordsFile(`${dir}/records.jsonl`)).records;
}

async function oneProcess(): Promise<RequestRecord[]> {
  await using sim = await startSimulator(SIM);
  const dir = `${RUNS_DIR}/one-${crypto.randomUUID()}`;
  const { code, stderr } = await runCli([
    "benchmark",
    "--force",
    ...["--endpoint", sim.url, ...BENCHMARK, "--output-dir", dir],
  ]);
  assert.equal(code, 0, stderr);
  return await records(dir);
}

Deno.test("benchmark --workers 2: the same requests, tile order and cache hits as one process, in one run directory", async () => {
  const one = shape(await oneProcess(), 9);
  assert.equal(one.requests, 36);
  assert.deepEqual(one.indices, [...Array(36).keys()]);
  assert.ok(one.hitRate > 0.5, `hit rate ${one.hitRate}`);
  await using sim = await startSimulator(SIM);
  const dir = `${RUNS_DIR}/workers-${crypto.randomUUID()}`;
  const { code, stdout, stderr } = await runCli([
    "benchmark",
    "--force",
    ...["--endpoint", sim.url, ...BENCHMARK, "--output-dir", dir],
    ...["--workers", "2"],
  ]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /\[INFO\] 2 workers \(pids \d+, \d+\)/);
  const merged = await records(dir);
  assertSameRun(shape(merged, 9), one);
  // Each worker wrote its own part: even and odd requests of the tile order.
  const parts = await Promise.all(
    [0, 1].map((k) => records(`${dir}/worker-${k}`)),
  );
  assert.deepEqual(
    parts.map((p) =>
      p.every((r) => (r.tags!.index as number) % 2 === parts.indexOf(p))
    ),
    [true, true],
  );
  assert.equal(parts[0].length + parts[1].length, merged.length);
  // The parent's figures are those of the union, on its clock.
  const summary = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`));
  assert.equal(summary.requests.completed, 36);
  assert.ok(stdout.includes("Total Number of Requests Processed: 36"), stdout);
  const mine = shape(merged, 9);
  assert.deepEqual(
    [summary.cache_report_prompt_tokens, summary.cache_report_cached_tokens],
    [mine.prompt, mine.cached],
  );
  const run = JSON.parse(await Deno.readTextFile(`${dir}/run.json`));
  assert.equal(run.part.workers, 2);
});

Deno.test("benchmark shards run as a Kubernetes Indexed Job runs them, merged: the same run as one process, percentiles of the union", async () => {
  const one = shape(await oneProcess(), 9);
  await using sim = await startSimulator(SIM);
  // The manifest kvbench k8s prints, validated against the Job schema.
  const printed = await runCli([
    "k8s",
    ...["--shards", "2", "--name", "kvb-test", "--start-delay", "3"],
    "--",
    "benchmark",
    "--force",
    ...["--endpoint", sim.url, ...BENCHMARK],
  ]);
  assert.equal(printed.code, 0, printed.stderr);
  const manifest = parse(printed.stdout);
  new Job(manifest).validate();
  const spec = manifest.spec;
  assert.deepEqual(
    [spec.completionMode, spec.completions, spec.parallelism],
    ["Indexed", 2, 2],
  );
  const container = spec.template.spec.containers[0];
  const args: string[] = container.args;
  const sub = args.indexOf("benchmark");
  assert.deepEqual(args.slice(sub - 3, sub), [
    "run",
    "-A",
    "jsr:@kvbench/cli@0.1.0",
  ]);
  assert.deepEqual(args.slice(args.indexOf("--shard"), -2), [
    "--shard",
    "$(JOB_COMPLETION_INDEX)/2",
  ]);
  assert.deepEqual(container.env[0], {
    name: "JOB_COMPLETION_INDEX",
    valueFrom: {
      fieldRef: {
        fieldPath:
          "metadata.annotations['batch.kubernetes.io/job-completion-index']",
      },
    },
  });
  // Run the pods' command here, as the kubelet would: index in the
  // environment, $(JOB_COMPLETION_INDEX) in the args expanded from it.
  const runs = `${RUNS_DIR}/job-${crypto.randomUUID()}`;
  const shards = await Promise.all([0, 1].map((k) =>
    runCli(
      args.slice(sub).map((a) =>
        a.replaceAll("$(JOB_COMPLETION_INDEX)", String(k))
      ),
      { env: { JOB_COMPLETION_INDEX: String(k), KVBENCH_RUNS_DIR: runs } },
    )
  ));
  for (const shard of shards) assert.equal(shard.code, 0, shard.stderr);
  assert.match(
    shards[1].stdout,
    /\[INFO\] shard 1\/2: clock offset -?\d+\.\d ms ± \d+\.\d ms against the server's Date header/,
  );
  const dirs = [];
  for await (const entry of Deno.readDir(runs)) {
    dirs.push(`${runs}/${entry.name}`);
  }
  dirs.sort();
  assert.equal(dirs.length, 2);
  assert.match(dirs[0], /benchmark-shard-0-of-2$/);
  const out = `${RUNS_DIR}/merged-${crypto.randomUUID()}`;
  const merged = await runCli(["merge", ...dirs, "--output-dir", out]);
  assert.equal(merged.code, 0, merged.stderr);
  assert.match(
    merged.stdout,
    /Merged 2 runs \(36 records, clocks aligned to ±\d+\.\d ms by the server's Date header\)/,
  );
  const union = (await Promise.all(dirs.map(records))).flat();
  assertSameRun(shape(await records(out), 9), one);
  // Percentiles from the raw samples of both shards, not averaged.
  const distributions = new LatencyDistributions();
  for (const r of union) distributions.add(r);
  const want = distributions.summary({ percentiles: [50, 90, 99] });
  const summary = JSON.parse(await Deno.readTextFile(`${out}/summary.json`));
  for (
    const [key, json] of [
      ["ttftMs", "ttft_ms"],
      ["tpotMs", "tpot_ms"],
      ["itlMs", "itl_ms"],
      ["e2eMs", "e2e_ms"],
    ] as const
  ) {
    for (const p of ["50", "90", "99"]) {
      assert.equal(
        summary.distributions[json][`p${p}`],
        want[key]!.percentiles[p],
        key,
      );
    }
    assert.equal(summary.distributions[json].count, want[key]!.count, key);
  }
  assert.ok(merged.stdout.includes("Total Number of Requests Processed: 36"));
});

Deno.test("trie workers=2: the traces partitioned, every turn replayed once, as one process does", async () => {
  const tok = await qwen3TokenizerDir();
  const rows = await loadTraceFile(TRACES);
  const base = (url: string, model: string) => [
    "trie",
    `workload_path=${TRACES}`,
    `endpoint=${url}`,
    `model=${model}`,
    `tokenizer_model=${tok}`,
    "concurrency=2",
    "max_traces=8",
    "duration=120",
    "stream=True",
  ];
  const turns = (records: RequestRecord[]) =>
    records.filter((r) => r.ok).map((r) => `${r.session}:${r.turn}`).sort();
  try {
    const results = [];
    for (const extra of [[], ["workers=2"]]) {
      await using sim = await startSimulator({ timeScale: 0.01, seed: 2 });
      const dir = `${RUNS_DIR}/trie-${crypto.randomUUID()}`;
      const { code, stdout, stderr } = await runCli([
        ...base(sim.url, sim.model),
        `output_dir=${dir}`,
        ...extra,
      ]);
      assert.equal(code, 0, stderr);
      assert.match(stdout, /completed=8\/8/);
      results.push(await records(dir));
    }
    const [one, two] = results;
    // Traces 0..7, each with all its turns (num_turns + 1 requests).
    const expected = [...Array(8).keys()].flatMap((t) =>
      [...Array(rows[t % rows.length].num_turns + 1).keys()].map((turn) =>
        `${t}:${turn}`
      )
    ).sort();
    assert.deepEqual(turns(one), expected);
    assert.deepEqual(turns(two), expected);
  } finally {
    await Deno.remove(tok, { recursive: true });
  }
});

Deno.test("a worker that dies is reported, its completed records kept, and the run exits 1", async () => {
  await using sim = await startSimulator({ timeScale: 0.2, seed: 1 });
  const dir = `${RUNS_DIR}/dies-${crypto.randomUUID()}`;
  const p = startCli([
    "benchmark",
    "--force",
    ...["--endpoint", sim.url, "--offload-size", "2", "--input-length", "2000"],
    ...["--output-length", "32", "--duration", "6", "--max-inflight", "4"],
    ...["--workers", "2", "--output-dir", dir],
  ]);
  const m = await p.waitFor(/\[INFO\] 2 workers \(pids (\d+), (\d+)\)/);
  const victim = Number(m[2]);
  // Once worker 1 has written some records, kill it.
  const deadline = performance.now() + 60_000;
  while (
    (await readRecordsFile(`${dir}/worker-1/records.jsonl`).catch(() => ({
      records: [],
    }))).records.length < 3
  ) {
    assert.ok(performance.now() < deadline, "worker 1 wrote no records");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  Deno.kill(victim, "SIGKILL");
  const { code, stdout, stderr } = await p.done();
  assert.equal(code, 1, stdout + stderr);
  assert.match(
    stderr,
    new RegExp(
      `\\[WARN\\] worker 1 \\(pid ${victim}\\) died \\(SIGKILL\\): its (\\d+) completed records are kept`,
    ),
  );
  const kept = (await readRecordsFile(`${dir}/worker-1/records.jsonl`)).records;
  const survivor =
    (await readRecordsFile(`${dir}/worker-0/records.jsonl`)).records;
  const all = (await readRecordsFile(`${dir}/records.jsonl`)).records;
  assert.ok(kept.length >= 3);
  assert.equal(all.length, kept.length + survivor.length);
  assert.equal(
    Number(stderr.match(/its (\d+) completed records are kept/)![1]),
    kept.length,
  );
});

Deno.test("scale-out refusals and defaults: a shard needs a seed, workers need requests in flight, auto takes at most that many, the Job pins one seed", async () => {
  await using sim = await startSimulator({ timeScale: 0.01 });
  const base = [
    ...["benchmark", "--force", "--endpoint", sim.url, "--offload-size", "2"],
    ...["--input-length", "2000", "--output-length", "8"],
  ];
  const unseeded = await runCli([...base, "--shard", "0/2"]);
  assert.equal(unseeded.code, 2);
  assert.match(
    unseeded.stderr,
    /error: a shard needs --seed: every shard must draw the same questions and arrivals/,
  );
  const crowded = await runCli([
    ...base,
    ...["--max-inflight", "2", "--workers", "3", "--no-artifacts"],
  ]);
  assert.equal(crowded.code, 2);
  assert.match(
    crowded.stderr,
    /^kvbench benchmark: error: --max-inflight 2 cannot be split over 3 processes: each needs at least 1 request in flight\n$/m,
  );
  // The same when the sizing gives the in-flight count: floor(0.9 × 1.5 /
  // 0.183 GiB) = 7 contexts, 2 in flight, known only once the model is.
  const tmp = await Deno.makeTempDir();
  const sized = await runCli([
    ...["benchmark", "--force", "--endpoint", sim.url, "--offload-size", "1.5"],
    ...["--input-length", "2000", "--workers", "3", "--no-artifacts"],
  ], { env: { TMPDIR: tmp } });
  assert.equal(sized.code, 1);
  assert.match(
    sized.stderr,
    /^kvbench benchmark: error: Cannot split a concurrency of 2 over 3 parts: each needs at least 1\n$/m,
  );
  assert.ok(!sized.stdout.includes("workers (pids"), "no worker started");
  assert.deepEqual(
    await Array.fromAsync(Deno.readDir(tmp)),
    [],
    "no folder left behind",
  );
  await Deno.remove(tmp);
  // auto: one worker per core, but never more than requests in flight.
  const auto = await runCli([
    ...base,
    ...["--max-inflight", "1", "--workers", "auto", "--num-prompts", "4"],
    "--no-artifacts",
  ]);
  assert.equal(auto.code, 0, auto.stderr);
  assert.match(auto.stdout, /\[INFO\] 1 workers \(pids \d+\)/);
  assert.ok(auto.stdout.includes("Total Number of Requests Processed: 4"));
  // The Job gives every shard one seed unless the arguments do.
  const job = await runCli([
    "k8s",
    "--",
    "trie",
    "workload_path=agentic",
    "endpoint=http://vllm:8000/v1",
    "model=m",
    "concurrency=8",
  ]);
  assert.equal(job.code, 0, job.stderr);
  const args: string[] = parse(job.stdout).spec.template.spec.containers[0]
    .args;
  assert.equal(args.filter((a) => /^seed=\d+$/.test(a)).length, 1);
  assert.deepEqual(args.slice(-2).map((a) => a.replace(/=\d.*/, "")), [
    "shard=$(JOB_COMPLETION_INDEX)/2",
    "start_at",
  ]);
  // No manifest for a run every pod would refuse: the pods' arguments are
  // parsed as shard 0 gets them.
  for (
    const [run, message] of [
      [
        ["benchmark", "--force", "--duration", "60"],
        "kvbench benchmark: the following arguments are required: --endpoint",
      ],
      [
        ["benchmark", "--endpoint", "http://vllm:8000", "--max-inflight", "1"],
        "kvbench benchmark: --max-inflight 1 cannot be split over 2 processes: each needs at least 1 request in flight",
      ],
      [
        ["trie", "workload_path=agentic", "endpoint=h", "model=m"],
        "kvbench trie: specify exactly one of concurrency or arrival_rate",
      ],
    ]
  ) {
    const refused = await runCli(["k8s", "--", ...run]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.equal(refused.stdout, "");
    assert.ok(
      refused.stderr.endsWith(
        `kvbench k8s: error: the pods would refuse the run: ${message}\n`,
      ),
      refused.stderr,
    );
  }
});

Deno.test("trie shards merged: every trace once, the trie tables and distributions of the union", async () => {
  const tok = await qwen3TokenizerDir();
  await using sim = await startSimulator({ timeScale: 0.01, seed: 2 });
  const root = `${RUNS_DIR}/trie-shards-${crypto.randomUUID()}`;
  try {
    const shards = await Promise.all([0, 1].map((k) =>
      runCli([
        "trie",
        `workload_path=${TRACES}`,
        `endpoint=${sim.url}`,
        `model=${sim.model}`,
        `tokenizer_model=${tok}`,
        "concurrency=2",
        "max_traces=8",
        "duration=120",
        "stream=True",
        "seed=4",
        `shard=${k}/2`,
        `output_dir=${root}/s${k}`,
      ])
    ));
    for (const shard of shards) assert.equal(shard.code, 0, shard.stderr);
    assert.match(shards[0].stdout, /completed=4\/4/);
    const merged = await runCli([
      "merge",
      `${root}/s0`,
      `${root}/s1`,
      "--output-dir",
      `${root}/m`,
    ]);
    assert.equal(merged.code, 0, merged.stderr);
    assert.match(merged.stdout, /completed=8\/8/);
    const union = (await Promise.all([`${root}/s0`, `${root}/s1`].map(records)))
      .flat();
    assert.deepEqual(
      [...new Set(union.map((r) => r.session))].sort((a, b) => a - b),
      [...Array(8).keys()],
    );
    const distributions = new LatencyDistributions();
    for (const r of union) distributions.add(r);
    const summary = JSON.parse(
      await Deno.readTextFile(`${root}/m/summary.json`),
    );
    const ttft = distributions.summary({ percentiles: [50, 90, 99] }).ttftMs!;
    for (const p of ["50", "90", "99"]) {
      assert.equal(summary.distributions.ttft_ms[`p${p}`], ttft.percentiles[p]);
    }
  } finally {
    await Deno.remove(tok, { recursive: true });
  }
});
