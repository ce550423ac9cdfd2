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
import { startScriptedServer } from "../lib/testing/scripted_server.ts";
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
      "--force",
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

// ---------------------------------------------------------------------------
// An independent recomputation: plain loops over the records file's lines,
// none of the library's figure code, against what benchmark printed and
// wrote. The definitions are the documented ones (docs/summary_json.md).

/** numpy's pairwise summation (what `np.mean` adds with). */
function pairwise(a: number[], lo: number, n: number): number {
  if (n < 8) {
    let s = 0;
    for (let i = lo; i < lo + n; i++) s += a[i];
    return s;
  }
  if (n <= 128) {
    const r = a.slice(lo, lo + 8);
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] += a[lo + i + j];
    }
    let s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) s += a[lo + i];
    return s;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return pairwise(a, lo, half) + pairwise(a, lo + half, n - half);
}

/** numpy's default (linear) percentile of `sorted`. */
function numpyPercentile(sorted: number[], p: number): number {
  const rank = (sorted.length - 1) * (p / 100);
  if (rank >= sorted.length - 1) return sorted[sorted.length - 1];
  const lo = Math.floor(rank), t = rank - lo;
  const a = sorted[lo], b = sorted[lo + 1];
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

/** What plain loops over a benchmark records file give. */
interface PlainFigures {
  measuredS: number;
  completed: number;
  failed: number;
  warmup: number;
  outputTokens: number;
  ttftSumS: number;
  ttfts: number[];
  decodeSum: number;
  decodeN: number;
  bursts: number;
  good: number;
}

function plainFigures(
  text: string,
  slo: { ttftMs: number; tpotMs: number },
): PlainFigures {
  // deno-lint-ignore no-explicit-any
  const records: any[] = [];
  let elapsedMs = NaN;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const value = JSON.parse(line);
    if (value.run !== undefined) elapsedMs = value.run.elapsedMs;
    else if (value.report === undefined) records.push(value);
  }
  // The measured clock: from the first measured send.
  // (each send from its own run's start: shards' clocks need not agree).
  let firstSend = Infinity, warmup = 0;
  for (const r of records) {
    if (r.warmup) {
      warmup++;
      continue;
    }
    const since = r.sentAt - r.runStartedAt;
    if (since < firstSend) firstSend = since;
  }
  const f: PlainFigures = {
    measuredS: (elapsedMs - (warmup > 0 ? firstSend : 0)) / 1000,
    completed: 0,
    failed: 0,
    warmup,
    outputTokens: 0,
    ttftSumS: 0,
    ttfts: [],
    decodeSum: 0,
    decodeN: 0,
    bursts: 0,
    good: 0,
  };
  for (const r of records) {
    if (r.warmup) continue;
    if (!r.ok) {
      f.failed++;
      continue;
    }
    f.completed++;
    f.outputTokens += r.completionTokens;
    const ttft = r.firstTokenAt - r.sentAt;
    f.ttfts.push(ttft);
    f.ttftSumS += ttft / 1000;
    // Measurable: two reads after the first with a positive gap between
    // them, or one event alone in the second read after a positive gap.
    const gaps: number[] = r.readGaps ?? [];
    const events: number[] = r.readEvents ?? gaps.map(() => 1).concat(1);
    let spread = false;
    for (let i = 1; i < gaps.length; i++) if (gaps[i] > 0) spread = true;
    if (
      gaps.length === 1 && gaps[0] > 0 && events[0] === 1 && events[1] === 1
    ) spread = true;
    let tpot: number | undefined;
    if (r.completionTokens > 1) {
      if (spread) {
        const decodeMs = r.endAt - r.firstTokenAt;
        tpot = decodeMs / (r.completionTokens - 1);
        f.decodeSum += (r.completionTokens - 1) / (decodeMs / 1000);
        f.decodeN++;
      } else f.bursts++;
    }
    if (
      ttft <= slo.ttftMs &&
      (r.completionTokens <= 1 || (tpot ?? NaN) <= slo.tpotMs)
    ) f.good++;
  }
  f.ttfts.sort((a, b) => a - b);
  return f;
}

const fmt2 = (x: number) =>
  x.toLocaleString("en-US", {
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  });

/**
 * Every figure of the final block, the distributions and summary.json
 * against the plain figures; sums added in another order (a parent adds
 * its workers' records as it reads them), and times a merge moved onto one
 * clock, are compared to 1e-12.
 */
function checkBenchmark(
  // deno-lint-ignore no-explicit-any
  c: { stdout: string; summary: any; f: PlainFigures; exactSums: boolean },
): void {
  const { stdout, summary, f } = c;
  const same = (a: number, b: number, what: string) =>
    c.exactSums
      ? assert.equal(a, b, what)
      : assert.ok(Math.abs(a - b) <= 1e-12 * Math.abs(b), `${what}: ${a} ${b}`);
  const final = stdout.slice(stdout.indexOf("Final metrics:"));
  const printed = (label: string): string =>
    final.split("\n").find((l) => l.startsWith(label))!.slice(label.length);
  assert.equal(summary.schema_version, 2);
  // A merge moves each part's times onto one clock (offsets added), so the
  // first measured send, and the measured time, can differ in the last bit.
  same(summary.measured_s, f.measuredS, "measured_s");
  // The block.
  const qps = f.completed / f.measuredS;
  assert.equal(printed("QPS: "), qps.toFixed(2));
  same(summary.qps, qps, "qps");
  assert.equal(
    printed("Global Average TTFT: "),
    (f.ttftSumS / f.completed).toFixed(2),
  );
  assert.equal(
    printed("Global Average Decode Throughput: "),
    (f.decodeSum / f.decodeN).toFixed(2),
  );
  same(summary.mean_decode_tokens_per_s, f.decodeSum / f.decodeN, "decode");
  assert.match(
    printed("Decode Throughput Not Measurable: "),
    new RegExp(`^${f.bursts} \\(\\d+ in interval\\)$`),
  );
  assert.equal(summary.requests.decode_unmeasured, f.bursts);
  // The distributions.
  const d = summary.distributions;
  assert.deepEqual([d.completed, d.failed, d.warmup], [
    f.completed,
    f.failed,
    f.warmup,
  ]);
  assert.equal(d.decode_unmeasured, f.bursts);
  same(d.output_tokens_per_s, f.outputTokens / f.measuredS, "output tok/s");
  const t = f.ttfts;
  assert.deepEqual(d.ttft_ms, {
    count: t.length,
    mean: pairwise(t, 0, t.length) / t.length,
    p50: numpyPercentile(t, 50),
    p90: numpyPercentile(t, 90),
    p99: numpyPercentile(t, 99),
    max: t[t.length - 1],
  });
  const ttftRow = stdout.split("\n").find((l) => l.includes("TTFT (ms)"))!;
  assert.deepEqual(
    ttftRow.split("│").slice(2, 7).map((cell) => cell.trim()),
    [d.ttft_ms.mean, d.ttft_ms.p50, d.ttft_ms.p90, d.ttft_ms.p99, d.ttft_ms.max]
      .map(fmt2),
  );
  // Goodput over every measured request, per second of the measured time.
  const measured = f.completed + f.failed;
  const { requests_per_s: goodPerS, ...goodput } = d.goodput;
  assert.deepEqual(goodput, {
    slos: { ttft_ms: 15, tpot_ms: 3 },
    requests: f.good,
    measured_requests: measured,
    fraction: f.good / measured,
  });
  same(goodPerS, f.good / f.measuredS, "goodput requests/s");
  assert.ok(
    stdout.includes(
      `Goodput (TTFT ≤ 15 ms, TPOT ≤ 3 ms): ${f.good} of ${measured} requests (${
        (f.good / measured * 100).toFixed(1)
      }%), ${fmt2(f.good / f.measuredS)} req/s\n`,
    ),
    stdout,
  );
}

// Every 4th request fails (500); of the rest, every 3rd is held back whole
// (all 10 events in one write, as a buffering proxy does); the others
// stream a token every 2 ms.
function bufferingServer() {
  return startScriptedServer({
    models: ["Qwen/Qwen3-30B-A3B-Instruct-2507"],
    script: (_b, i) =>
      i % 4 === 1 ? { status: 500, message: "engine overloaded" } : {
        firstTokenMs: 5 + (i % 5) * 4,
        gapMs: i % 3 === 2 ? undefined : 2,
        together: i % 3 === 2 ? 10 : 1,
        tokens: Array(10).fill("x"),
        usage: {
          prompt_tokens: 2000,
          completion_tokens: 10,
          cached_tokens: (i % 2) * 1000,
        },
      },
  });
}

const BUFFERED_RUN = [
  ...["--no-metrics", "--offload-size", "2", "--input-length", "2000"],
  ...["--output-length", "10", "--max-inflight", "4", "--duration", "120"],
  ...[
    "--seed",
    "5",
    "--goodput",
    "ttft:15,tpot:3",
    "--percentiles",
    "50,90,99",
  ],
];

Deno.test("benchmark: every printed and written figure recomputed by plain loops over records.jsonl (warm-up, failures, goodput, a buffering server)", async () => {
  const server = bufferingServer();
  const dir = await Deno.makeTempDir();
  try {
    const { code, stdout, stderr } = await runCli([
      "benchmark",
      "--force",
      ...["--endpoint", server.origin, ...BUFFERED_RUN],
      ...["--num-prompts", "30", "--warmup", "9", "--interval", "60"],
      ...["--records", `${dir}/r.jsonl`, "--output", `${dir}/summary.json`],
      ...["--output-dir", `${dir}/run`],
    ]);
    assert.equal(code, 0, stderr);
    const f = plainFigures(await Deno.readTextFile(`${dir}/r.jsonl`), {
      ttftMs: 15,
      tpotMs: 3,
    });
    assert.equal(f.completed + f.failed + f.warmup, 39);
    // Server indices 1, 5, …: 8 of the 30 after the 9 warm-up ones.
    assert.equal(f.failed, 8);
    assert.ok(f.bursts > 0 && f.decodeN > 0, `${f.bursts}, ${f.decodeN}`);
    const summary = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`));
    checkBenchmark({ stdout, summary, f, exactSums: true });
    // The report says what the terminal says: goodput, and QPS over the
    // exact measured time.
    const html = await Deno.readTextFile(`${dir}/run/report.html`);
    const measured = f.completed + f.failed;
    assert.ok(
      html.includes(
        `goodput (TTFT ≤ 15 ms, TPOT ≤ 3 ms) ${f.good} of ${measured} requests (${
          (f.good / measured * 100).toFixed(1)
        }%), ${fmt2(f.good / f.measuredS)} req/s`,
      ),
    );
    assert.ok(
      html.includes(
        `<dt>QPS</dt><dd>${fmt2(f.completed / f.measuredS)}</dd>`,
      ),
    );
    const data = JSON.parse(
      /<script type="application\/json" id="kvbench-data">([^]*?)<\/script>/
        .exec(html)![1],
    );
    assert.equal(data.runs[0].distributions.measuredMs / 1000, f.measuredS);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("benchmark --workers 2: every final figure recomputed by plain loops over the parent's records.jsonl", async () => {
  const server = bufferingServer();
  const dir = await Deno.makeTempDir();
  try {
    const { code, stdout, stderr } = await runCli([
      "benchmark",
      "--force",
      ...["--endpoint", server.origin, ...BUFFERED_RUN],
      ...["--num-prompts", "32", "--workers", "2", "--interval", "60"],
      ...["--records", `${dir}/r.jsonl`, "--output", `${dir}/summary.json`],
    ]);
    assert.equal(code, 0, stderr);
    const f = plainFigures(await Deno.readTextFile(`${dir}/r.jsonl`), {
      ttftMs: 15,
      tpotMs: 3,
    });
    assert.equal(f.completed + f.failed, 32);
    assert.equal(f.failed, 8);
    const summary = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`));
    checkBenchmark({ stdout, summary, f, exactSums: false });
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trie: the per-trace Decode TPS and eligible cache hit rate recomputed by plain loops over records.jsonl (bursts left out, never 0)", async () => {
  // Requests of 4, 10 and 20 tokens are held back whole (a burst: no decode
  // rate): the zero-turn trace's only request (10), one of each other trace's;
  // the others stream a token a millisecond. Keyed on the request, not on
  // the order requests reach the server (which the two in flight race for).
  const burst = (b: Record<string, unknown>) =>
    [4, 10, 20].includes(Number(b.max_tokens));
  const server = startScriptedServer({
    models: ["m"],
    script: (b, i) => ({
      firstTokenMs: 5,
      gapMs: burst(b) ? undefined : 1,
      together: burst(b) ? Number(b.max_tokens) : 1,
      usage: {
        prompt_tokens: 100 + i,
        completion_tokens: Number(b.max_tokens),
        cached_tokens: 40,
      },
    }),
  });
  const tok = await qwen3TokenizerDir();
  const dir = await Deno.makeTempDir();
  try {
    const { code, stdout, stderr } = await runCli([
      "trie",
      `workload_path=${TRACES}`,
      `endpoint=${server.origin}/v1`,
      "model=m",
      `tokenizer_model=${tok}`,
      "concurrency=2",
      "max_traces=8",
      "duration=120",
      "stream=True",
      `output_json=${dir}/summary.json`,
      `records=${dir}/r.jsonl`,
    ]);
    assert.equal(code, 0, stderr);
    const rows = (await Deno.readTextFile(TRACES)).split("\n")
      .filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
    // deno-lint-ignore no-explicit-any
    const bySession = new Map<number, any[]>();
    const finals: number[] = []; // sessions, in the order their traces completed
    for (
      const line of (await Deno.readTextFile(`${dir}/r.jsonl`)).split("\n")
    ) {
      if (line === "") continue;
      const r = JSON.parse(line);
      if (r.run !== undefined || r.report !== undefined || !r.ok) continue;
      const list = bySession.get(r.session) ?? [];
      list.push(r);
      bySession.set(r.session, list);
      if (r.turn === rows[r.session % rows.length].num_turns) {
        finals.push(r.session);
      }
    }
    const rates: number[] = [];
    const eligible: number[] = [];
    let undefinedTraces = 0;
    for (const session of finals) {
      let sum = 0, n = 0, carry = 0, cached = 0, elig = 0;
      for (const r of bySession.get(session)!) {
        const gaps: number[] = r.readGaps ?? [];
        const events: number[] = r.readEvents ?? gaps.map(() => 1).concat(1);
        let spread = gaps.length === 1 && gaps[0] > 0 && events[0] === 1 &&
          events[1] === 1;
        for (let i = 1; i < gaps.length; i++) if (gaps[i] > 0) spread = true;
        if (r.completionTokens > 1 && spread) {
          sum += (r.completionTokens - 1) / ((r.endAt - r.firstTokenAt) / 1000);
          n++;
        }
        elig += carry;
        cached += r.cachedTokens;
        carry = r.promptTokens + r.completionTokens;
      }
      if (n > 0) rates.push(sum / n);
      else undefinedTraces++;
      eligible.push(elig > 0 ? cached / elig * 100 : 0);
    }
    assert.equal(finals.length, 8);
    assert.ok(undefinedTraces > 0 && rates.length > 0, `${undefinedTraces}`);
    const summary = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`));
    assert.equal(summary.decode_tps_undefined_traces, undefinedTraces);
    const tps = summary.per_trace.mean_turn_decode_tps_tok_s;
    const sorted = [...rates].sort((a, b) => a - b);
    assert.deepEqual(tps, {
      mean: pairwise(rates, 0, rates.length) / rates.length,
      min: sorted[0],
      p50: numpyPercentile(sorted, 50),
      p90: numpyPercentile(sorted, 90),
      p95: numpyPercentile(sorted, 95),
      p99: numpyPercentile(sorted, 99),
      max: sorted[sorted.length - 1],
    });
    assert.ok(tps.min > 100, `no 0 among the rates: ${tps.min}`);
    assert.ok(
      stdout.includes(
        `Decode TPS: undefined for ${undefinedTraces} traces (no request with a measurable decode), left out\n`,
      ),
      stdout,
    );
    const e = [...eligible].sort((a, b) => a - b);
    assert.equal(summary.per_trace.eligible_cache_hit_rate_pct.max, e.at(-1));
    assert.equal(summary.per_trace.eligible_cache_hit_rate_pct.min, e[0]);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(tok, { recursive: true });
  }
});

Deno.test("merge of two benchmark shards: every final figure recomputed by plain loops over the merged records.jsonl", async () => {
  const server = bufferingServer();
  const root = await Deno.makeTempDir();
  try {
    const shards = await Promise.all([0, 1].map((k) =>
      runCli([
        "benchmark",
        "--force",
        ...["--endpoint", server.origin, ...BUFFERED_RUN],
        ...["--num-prompts", "32", "--warmup", "4", "--interval", "60"],
        ...["--shard", `${k}/2`, "--output-dir", `${root}/${k}`],
      ])
    ));
    for (const shard of shards) assert.equal(shard.code, 0, shard.stderr);
    const { code, stdout, stderr } = await runCli([
      "merge",
      ...[`${root}/0`, `${root}/1`, "--output-dir", `${root}/m`],
    ]);
    assert.equal(code, 0, stderr);
    const f = plainFigures(await Deno.readTextFile(`${root}/m/records.jsonl`), {
      ttftMs: 15,
      tpotMs: 3,
    });
    assert.equal(f.completed + f.failed, 32);
    const summary = JSON.parse(
      await Deno.readTextFile(`${root}/m/summary.json`),
    );
    checkBenchmark({ stdout, summary, f, exactSums: false });
  } finally {
    await server.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("trie api=chat with a reasoning model: the eligible carry is the answer the next turn re-sends, recomputed by plain loops", async () => {
  // Every answer streams 3 reasoning events first; usage counts them in
  // completion_tokens, as servers do.
  const server = startScriptedServer({
    models: ["m"],
    script: (b) => {
      const max = Number(b.max_tokens);
      return {
        firstTokenMs: 2,
        reasoning: ["a ", "b ", "c "],
        tokens: Array(max).fill("x "),
        usage: {
          prompt_tokens: 100,
          completion_tokens: max + 3,
          cached_tokens: 40,
        },
      };
    },
  });
  const tok = await qwen3TokenizerDir();
  const dir = await Deno.makeTempDir();
  try {
    const { code, stderr } = await runCli([
      "trie",
      `workload_path=${TRACES}`,
      `endpoint=${server.origin}/v1`,
      "model=m",
      "api=chat",
      `tokenizer_model=${tok}`,
      "concurrency=2",
      "max_traces=4",
      "duration=120",
      "stream=True",
      `output_json=${dir}/summary.json`,
      `records=${dir}/r.jsonl`,
    ]);
    assert.equal(code, 0, stderr);
    const rows = (await Deno.readTextFile(TRACES)).split("\n")
      .filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
    // deno-lint-ignore no-explicit-any
    const bySession = new Map<number, any[]>();
    const rates: number[] = [];
    for (
      const line of (await Deno.readTextFile(`${dir}/r.jsonl`)).split("\n")
    ) {
      if (line === "") continue;
      const r = JSON.parse(line);
      if (r.run !== undefined || r.report !== undefined || !r.ok) continue;
      const list = bySession.get(r.session) ?? [];
      list.push(r);
      bySession.set(r.session, list);
      if (r.turn !== rows[r.session % rows.length].num_turns) continue;
      // The trace is complete: Σ cached / Σ what each request re-sends of
      // the previous one (its prompt and its answer, not its reasoning).
      let carry = 0, eligible = 0, cached = 0;
      for (const q of list) {
        assert.equal(q.reasoningChunks, 3);
        eligible += carry;
        cached += q.cachedTokens;
        carry = q.promptTokens + q.completionTokens - q.reasoningChunks;
      }
      rates.push(eligible > 0 ? cached / eligible * 100 : 0);
    }
    assert.equal(rates.length, 4);
    const summary = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`));
    const sorted = [...rates].sort((a, b) => a - b);
    assert.equal(summary.per_trace.eligible_cache_hit_rate_pct.max, sorted[3]);
    assert.equal(summary.per_trace.eligible_cache_hit_rate_pct.min, sorted[0]);
    // A two-turn trace (prompt 100, answers of 16 and 20 tokens): cached
    // 120 of eligible (100 + 16) + (100 + 20) = 236, not 242 with reasoning.
    assert.ok(rates.includes(120 / 236 * 100), `${rates}`);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(tok, { recursive: true });
  }
});
