/**
 * The server's metrics are scraped on their own cadence (`--scrape-interval`,
 * never coarser than the report interval), so the report's tier-over-time
 * plot has that resolution whatever `--interval` is; the printed report
 * lines stay at `--interval`; one GET per /metrics URL per scrape, the next
 * one waiting its interval after the last. cli.ts in a subprocess against
 * the simulator on 127.0.0.1.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { runCli, RUNS_DIR } from "./cli_process.ts";
import { startSimulator } from "../lib/sim/server.ts";
import { readMetricsFile } from "../lib/report/data.ts";
import { readRecordsFile } from "../lib/run/records_file.ts";
import { qwen3TokenizerDir } from "../lib/testing/tokenizers.ts";
import { parse } from "../workloads/benchmark/options.ts";
import { parse as parseTrie } from "../workloads/trie/options.ts";

function reportData(html: string): {
  runs: { serverCache?: { t: number[]; computed: (number | null)[] } }[];
} {
  return JSON.parse(
    /<script type="application\/json" id="kvbench-data">([^]*?)<\/script>/
      .exec(html)![1],
  );
}

Deno.test("benchmark --scrape-interval: the tier plot at the scrape cadence, not at --interval's", async () => {
  await using sim = await startSimulator({
    timeScale: 0.05,
    seed: 1,
    gpuKvTokens: 4096,
    offloadTokens: 16384,
  });
  const dir = `${RUNS_DIR}/scrape-cadence`;
  const { code, stdout, stderr } = await runCli([
    "benchmark",
    ...["--endpoint", sim.url, "--bytes-per-token", "98304"],
    ...["--offload-size", "1.5", "--input-length", "1000"],
    ...["--output-length", "8", "--max-inflight", "2", "--seed", "3"],
    // One report interval longer than the run: no periodic line at all.
    ...["--duration", "2", "--interval", "60", "--scrape-interval", "0.1"],
    ...["--output-dir", dir],
  ]);
  strictEqual(code, 0, stderr + stdout.slice(-2000));
  const info = JSON.parse(await Deno.readTextFile(`${dir}/run.json`));
  strictEqual(info.params.scrape_interval_s, 0.1);
  strictEqual(info.params.interval_s, 60);
  const { records } = await readRecordsFile(`${dir}/records.jsonl`);
  ok(records.length > 0);
  const { scrapes } = await readMetricsFile(`${dir}/metrics.jsonl`);
  // Before the first request, ~20 on the cadence over 2 s, the last at the
  // end: many more than the 2 that the reports alone (start, end) give.
  ok(scrapes.length >= 5, `${scrapes.length} scrapes`);
  // One GET to the one URL per scrape, each answered.
  for (const s of scrapes) strictEqual(s.ok, 1);
  // The cadence waits its interval after each scrape (none piles up); the
  // first (before the start) and the last (the run's end) are the
  // workload's own.
  const at = scrapes.map((s) => s.at);
  for (let i = 2; i < at.length - 1; i++) {
    ok(
      at[i] - at[i - 1] >= 99,
      `scrapes ${i - 1}, ${i}: ${at[i] - at[i - 1]} ms apart`,
    );
  }
  // The report's tier plot has a point per interval between scrapes.
  const data = reportData(await Deno.readTextFile(`${dir}/report.html`));
  strictEqual(data.runs[0].serverCache?.t.length, scrapes.length - 1);
  deepStrictEqual(
    data.runs[0].serverCache!.t,
    [...data.runs[0].serverCache!.t].sort((a, b) => a - b),
  );
});

Deno.test("--scrape-interval: 2 s by default, in both syntaxes; a bad value is a usage error", async () => {
  strictEqual(parse(["--endpoint", "x"])?.scrapeInterval, 2);
  strictEqual(
    parse(["--endpoint", "x", "--scrape-interval", "500ms"])?.scrapeInterval,
    0.5,
  );
  const trie = [
    "workload_path=t.jsonl",
    "endpoint=h:8000",
    "model=m",
    "concurrency=1",
  ];
  strictEqual(parseTrie(trie)?.v.scrape_interval, 2);
  strictEqual(parseTrie([...trie, "scrape_interval=5"])?.v.scrape_interval, 5);
  const bad = await runCli([
    "benchmark",
    ...["--endpoint", "http://127.0.0.1:9", "--scrape-interval", "0"],
  ]);
  strictEqual(bad.code, 2);
  ok(bad.stderr.includes("--scrape-interval"), bad.stderr);
  const help = await runCli(["benchmark", "--help"]);
  ok(help.stdout.includes("--scrape-interval S"), help.stdout);
  const trieHelp = await runCli(["trie", "--help"]);
  ok(trieHelp.stdout.includes("scrape_interval"), trieHelp.stdout);
});

Deno.test("trie scrape_interval=: the metrics time series at the scrape cadence", async () => {
  await using sim = await startSimulator({ timeScale: 0.05, seed: 1 });
  const dir = `${RUNS_DIR}/scrape-cadence-trie`;
  const traces = new URL("./testdata/traces_small.jsonl", import.meta.url)
    .pathname;
  const { code, stdout, stderr } = await runCli([
    "trie",
    `workload_path=${traces}`,
    `endpoint=${sim.url}`,
    `model=${sim.model}`,
    `tokenizer_model=${await qwen3TokenizerDir()}`,
    ...["concurrency=2", "duration=2", "stream=True"],
    ...["scrape_interval=0.1", `output_dir=${dir}`],
  ]);
  strictEqual(code, 0, stderr + stdout.slice(-2000));
  const info = JSON.parse(await Deno.readTextFile(`${dir}/run.json`));
  strictEqual(info.params.scrape_interval, 0.1);
  const { scrapes } = await readMetricsFile(`${dir}/metrics.jsonl`);
  // 5 s between scrapes before: at most 2 in a 2 s run.
  ok(scrapes.length >= 5, `${scrapes.length} scrapes`);
  const at = scrapes.map((s) => s.at);
  for (let i = 2; i < at.length - 1; i++) {
    ok(at[i] - at[i - 1] >= 99, `${at[i] - at[i - 1]} ms apart`);
  }
});

Deno.test("replay --scrape-interval: the metrics time series at the scrape cadence", async () => {
  await using sim = await startSimulator({ timeScale: 0.001 });
  const dir = `${RUNS_DIR}/scrape-cadence-replay`;
  // The trace's last request at 27.482 s, at speed 20: a run of ≥ 1.37 s.
  const trace = new URL("./testdata/traces/mooncake.jsonl", import.meta.url)
    .pathname;
  const { code, stdout, stderr } = await runCli([
    "replay",
    trace,
    ...["--endpoint", sim.url, "--speed", "20"],
    ...["--scrape-interval", "0.1", "--output-dir", dir],
  ]);
  strictEqual(code, 0, stderr + stdout.slice(-2000));
  const info = JSON.parse(await Deno.readTextFile(`${dir}/run.json`));
  strictEqual(info.params.scrape_interval_s, 0.1);
  const { scrapes } = await readMetricsFile(`${dir}/metrics.jsonl`);
  // Before: only the first and the last scrape.
  ok(scrapes.length >= 5, `${scrapes.length} scrapes`);
  const data = reportData(await Deno.readTextFile(`${dir}/report.html`));
  strictEqual(data.runs[0].serverCache?.t.length, scrapes.length - 1);
});
