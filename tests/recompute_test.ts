/**
 * Every figure `benchmark` and `trie` print, recomputed from their records
 * file alone (the records, the report marks, the run's last line) with the
 * library's own derivations, equals what they printed.
 */
import assert from "node:assert/strict";
import { runCli } from "./cli_process.ts";
import { readRecordsFile } from "../mod.ts";
import {
  LatencyDistributions,
  renderDistributions,
} from "../lib/report/mod.ts";
import {
  BenchmarkMetrics,
  renderBenchmarkBlock,
} from "../workloads/benchmark/mod.ts";
import {
  loadTraceFile,
  renderTrieReport,
  TrieAccounting,
} from "../workloads/trie/mod.ts";
import { startSimulator } from "../lib/sim/mod.ts";
import { qwen3TokenizerDir } from "../lib/testing/tokenizers.ts";
import { completeLogFields } from "../workloads/trie/report.ts";
import { logLine } from "../workloads/trie/log_line.ts";

const TRACES =
  new URL("./testdata/traces_small.jsonl", import.meta.url).pathname;

Deno.test("benchmark: the final block, every periodic block and the distributions recomputed from --records alone", async () => {
  // Real time: nine cold 2000-token prefills at 20 000 tok/s take 0.9 s of
  // model time, so at least four 0.2 s report blocks are printed, however
  // fast the machine.
  await using sim = await startSimulator({ seed: 4 });
  const dir = await Deno.makeTempDir();
  try {
    const { code, stdout, stderr } = await runCli([
      "benchmark",
      ...["--endpoint", sim.url],
      ...["--offload-size", "2", "--input-length", "2000"],
      ...["--output-length", "16", "--ignore-eos"],
      ...["--num-prompts", "40", "--warmup", "3", "--duration", "120"],
      ...["--interval", "0.2", "--seed", "5"],
      ...["--goodput", "ttft:30,tpot:2", "--percentiles", "50,90,99"],
      ...["--records", `${dir}/r.jsonl`],
    ]);
    assert.equal(code, 0, stderr);
    const { records, reports, run } = await readRecordsFile(`${dir}/r.jsonl`);
    assert.ok(run !== undefined, "the run's last line");
    assert.equal(records.length, 43); // 3 warm-up + 40
    assert.ok(reports.length >= 1, "at least one periodic block");
    // Replay: the same records, in the same order, with the marks.
    const metrics = new BenchmarkMetrics();
    const distributions = new LatencyDistributions({
      slos: { ttftMs: 30, tpotMs: 2 },
    });
    const blocks: string[] = [];
    let next = 0;
    records.forEach((record, i) => {
      while (next < reports.length && reports[next].after === i) {
        blocks.push(renderBenchmarkBlock(
          metrics.report(reports[next++].elapsedMs / 1000),
          { intervalSeconds: 0.2 },
        ));
      }
      metrics.add(record);
      distributions.add(record);
    });
    while (next < reports.length) {
      blocks.push(renderBenchmarkBlock(
        metrics.report(reports[next++].elapsedMs / 1000),
        { intervalSeconds: 0.2 },
      ));
    }
    for (const block of blocks) assert.ok(stdout.includes(block), block);
    const final = renderBenchmarkBlock(metrics.report(run.elapsedMs / 1000), {
      intervalSeconds: 0.2,
    });
    assert.ok(stdout.includes(`Final metrics:\n${final}`), final);
    const printed = renderDistributions(
      distributions.summary({
        percentiles: [50, 90, 99],
        elapsedMs: run.elapsedMs,
      }),
      { transport: "http1" },
    );
    assert.ok(stdout.includes(printed), `${printed}\n---\n${stdout}`);
    assert.ok(printed.includes("(3 warm-up left out)"));
    assert.ok(printed.includes("Goodput (TTFT ≤ 30 ms, TPOT ≤ 2 ms)"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trie: the log line, both tables and the distributions recomputed from records=FILE alone", async () => {
  await using sim = await startSimulator({ timeScale: 0.05, seed: 6 });
  const tok = await qwen3TokenizerDir();
  const dir = await Deno.makeTempDir();
  try {
    const { code, stdout, stderr } = await runCli([
      "trie",
      `workload_path=${TRACES}`,
      `endpoint=${sim.url}`,
      `model=${sim.model}`,
      `tokenizer_model=${tok}`,
      "concurrency=3",
      "max_traces=12",
      "duration=120",
      "stream=True",
      "num_gpus=2",
      "goodput=ttft:50",
      `records=${dir}/r.jsonl`,
    ]);
    assert.equal(code, 0, stderr);
    const { records, run } = await readRecordsFile(`${dir}/r.jsonl`);
    assert.ok(run !== undefined);
    const rows = await loadTraceFile(TRACES);
    const accounting = new TrieAccounting(rows, { stream: true });
    const distributions = new LatencyDistributions({ slos: { ttftMs: 50 } });
    for (const record of records) {
      accounting.add(record);
      distributions.add(record);
    }
    const result = accounting.result;
    result.wallTime = run.elapsedMs / 1000;
    assert.equal(result.completedTraces, 12);
    // Tables and distributions: printed with 1–3 decimals, equal as text.
    const tables = renderTrieReport(result, { numGpus: 2 });
    assert.ok(stdout.includes(tables), `${tables}\n---\n${stdout}`);
    const printed = renderDistributions(
      distributions.summary({ elapsedMs: run.elapsedMs }),
      { transport: "http1" },
    );
    assert.ok(stdout.includes(printed), `${printed}\n---\n${stdout}`);
    // The log line prints full-precision floats: equal fields, numbers
    // within 1e-9 (epoch milliseconds in the file keep ~0.2 µs).
    const line = stdout.split("\n").find((l) =>
      l.includes("benchmark complete")
    )!;
    const fields = (text: string) =>
      Object.fromEntries(
        [...text.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]),
      );
    const want = fields(
      logLine(
        "info",
        "benchmark complete",
        completeLogFields(result, { numGpus: 2 }),
      ),
    );
    const got = fields(line);
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
    for (const [key, value] of Object.entries(want)) {
      const a = Number(value), b = Number(got[key]);
      assert.ok(
        value === got[key] ||
          Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a)),
        `${key}: ${got[key]} vs ${value}`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(tok, { recursive: true });
  }
});
