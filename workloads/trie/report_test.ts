import assert from "node:assert/strict";
import { logLine } from "./log_line.ts";
import { type CompletionPoint, ServerMetrics, TrieResult } from "./metrics.ts";
import {
  completeLogFields,
  progressLine,
  renderProgress,
  renderTrieReport,
  trieSummaryJson,
} from "./report.ts";

// The expected log lines and tables below are what trie's own reporting
// (numpy percentiles, structlog, rich) prints for the same figures; the
// workload rates and the statistics are also worked out by hand in
// trace_metrics_test.ts and stats_test.ts.

const lines = (...ls: string[]): string => ls.map((l) => l + "\n").join("");

function server(prompt: number, cached: number, eligible: number) {
  const m = new ServerMetrics();
  m.promptTokens = prompt;
  m.cachedTokens = cached;
  m.eligiblePromptTokens = eligible;
  m.cachedReported = true; // a server that reports cached_tokens
  return m;
}

const pt = (
  t: number,
  completionTokens: number,
  newPromptTokens: number,
  cachedPromptTokens: number,
): CompletionPoint => ({
  t,
  completionTokens,
  newPromptTokens,
  cachedPromptTokens,
});

// Four streamed traces, one failed (the trace_metrics_test.ts scenario).
function streamResult(): TrieResult {
  const r = new TrieResult({ stream: true, startedAt: 0 });
  r.points.push(
    pt(1, 16, 32, 0),
    pt(2, 36, 40, 48),
    pt(3, 52, 72, 48),
    pt(4, 116, 84, 124),
    pt(5, 126, 184, 124),
    pt(6, 127, 194, 124),
    pt(7, 131, 199, 135),
    pt(8, 136, 219, 135),
    pt(9, 141, 222, 160),
    pt(9, 157, 254, 160),
    pt(10, 164, 257, 193),
  );
  r.latencies.push(4.25, 1.5, 1.75, 3);
  r.ttfts.push(0.25, 0.25, 0.125, 0.125);
  r.ttfats.push(2.25, 0.5, 1.75, 2.5);
  r.tpsValues.push((30 + 38 + 31.5) / 3, 9, 0, 12);
  // cache hit 124/176, 16/26, 25/56; eligible 1, 16/11 (> 100 %), 1
  r.serverMetrics.push(
    server(176, 124, 124),
    server(26, 16, 11),
    server(56, 25, 25),
  );
  r.completedTraces = 4;
  r.failedTraces = 1;
  r.wallTime = 12.5;
  return r;
}

// One non-streamed trace.
function plainResult(): TrieResult {
  const r = new TrieResult({ startedAt: 0 });
  r.points.push(pt(0.5, 100, 50, 0), pt(2.5, 300, 60, 40));
  r.latencies.push(2);
  r.serverMetrics.push(server(80, 40, 0));
  r.completedTraces = 1;
  r.wallTime = 4;
  return r;
}

const S1_LOG_PAIRS = [
  "cache_hit_rate_pct_max=70.45454545454545",
  "cache_hit_rate_pct_mean=58.878621378621375",
  "cache_hit_rate_pct_min=44.642857142857146",
  "cache_hit_rate_pct_p50=61.53846153846154",
  "cache_hit_rate_pct_p90=68.67132867132867",
  "cache_hit_rate_pct_p95=69.56293706293707",
  "cache_hit_rate_pct_p99=70.27622377622377",
  "cached_prompt_tok_per_s=15.44",
  "completed_requests=4",
  "completion_tok_per_s=13.12",
  "eligible_cache_hit_rate_pct_max=145.45454545454547",
  "eligible_cache_hit_rate_pct_mean=115.15151515151517",
  "eligible_cache_hit_rate_pct_min=100.0",
  "eligible_cache_hit_rate_pct_p50=100.0",
  "eligible_cache_hit_rate_pct_p90=136.36363636363637",
  "eligible_cache_hit_rate_pct_p95=140.9090909090909",
  "eligible_cache_hit_rate_pct_p99=144.54545454545456",
  "failed_requests=1",
  "last_30s_window_cached_prompt_tok_per_s=21.444444444444443",
  "last_30s_window_completion_tok_per_s=16.444444444444443",
  "last_30s_window_new_prompt_tok_per_s=25.0",
  "last_30s_window_prompt_tok_per_s=46.44444444444444",
  "latency_s_max=4.25",
  "latency_s_mean=2.625",
  "latency_s_min=1.5",
  "latency_s_p50=2.375",
  "latency_s_p90=3.875",
  "latency_s_p95=4.0625",
  "latency_s_p99=4.2124999999999995",
  "mean_turn_decode_tps_tok_s_max=33.166666666666664",
  "mean_turn_decode_tps_tok_s_mean=13.541666666666666",
  "mean_turn_decode_tps_tok_s_min=0.0",
  "mean_turn_decode_tps_tok_s_p50=10.5",
  "mean_turn_decode_tps_tok_s_p90=26.81666666666667",
  "mean_turn_decode_tps_tok_s_p95=29.991666666666656",
  "mean_turn_decode_tps_tok_s_p99=32.53166666666666",
  "new_prompt_tok_per_s=20.56",
  "prompt_tok_per_s=36.0",
  "steady_state_cached_prompt_tok_per_s=18.125",
  "steady_state_completion_tok_per_s=16.0",
  "steady_state_new_prompt_tok_per_s=27.125",
  "steady_state_prompt_tok_per_s=45.25",
  "trace_per_s=0.32",
  "ttfat_s_max=2.5",
  "ttfat_s_mean=1.75",
  "ttfat_s_min=0.5",
  "ttfat_s_p50=2.0",
  "ttfat_s_p90=2.425",
  "ttfat_s_p95=2.4625",
  "ttfat_s_p99=2.4924999999999997",
  "ttft_s_max=0.25",
  "ttft_s_mean=0.1875",
  "ttft_s_min=0.125",
  "ttft_s_p50=0.1875",
  "ttft_s_p90=0.25",
  "ttft_s_p95=0.25",
  "ttft_s_p99=0.25",
  "wall_time_s=12.5",
];
const S1_REPORT = lines(
  "",
  "                                                   Per-trace metrics                                                   ",
  "┏━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓",
  "┃ Metric ┃ Latency (s) ┃ TTFT (s) ┃ TTFAT (s) ┃ Decode TPS (tok/s) ┃ Cache hit rate (%) ┃ Eligible cache hit rate (%) ┃",
  "┡━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩",
  "│ mean   │       2.625 │    0.188 │     1.750 │              13.54 │               58.9 │                       115.2 │",
  "│ min    │       1.500 │    0.125 │     0.500 │               0.00 │               44.6 │                       100.0 │",
  "│ p50    │       2.375 │    0.188 │     2.000 │              10.50 │               61.5 │                       100.0 │",
  "│ p90    │       3.875 │    0.250 │     2.425 │              26.82 │               68.7 │                       136.4 │",
  "│ p95    │       4.062 │    0.250 │     2.462 │              29.99 │               69.6 │                       140.9 │",
  "│ p99    │       4.212 │    0.250 │     2.492 │              32.53 │               70.3 │                       144.5 │",
  "│ max    │       4.250 │    0.250 │     2.500 │              33.17 │               70.5 │                       145.5 │",
  "└────────┴─────────────┴──────────┴───────────┴────────────────────┴────────────────────┴─────────────────────────────┘",
  "",
  "                                    Workload metrics                                     ",
  "                               completed=4/5  trace/s=0.32                               ",
  "┏━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━┓",
  "┃ Metric                ┃ Overall ┃ Last 30s Window ┃ Steady State ┃ Steady State / GPU ┃",
  "┡━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━┩",
  "│ total prompt tok/s    │   36.00 │           46.44 │        45.25 │              22.62 │",
  "│ cached prompt tok/s   │   15.44 │           21.44 │        18.12 │               9.06 │",
  "│ uncached prompt tok/s │   20.56 │           25.00 │        27.12 │              13.56 │",
  "│ completion tok/s      │   13.12 │           16.44 │        16.00 │               8.00 │",
  "└───────────────────────┴─────────┴─────────────────┴──────────────┴────────────────────┘",
);
const S2_LOG_PAIRS = [
  "cache_hit_rate_pct_max=50.0",
  "cache_hit_rate_pct_mean=50.0",
  "cache_hit_rate_pct_min=50.0",
  "cache_hit_rate_pct_p50=50.0",
  "cache_hit_rate_pct_p90=50.0",
  "cache_hit_rate_pct_p95=50.0",
  "cache_hit_rate_pct_p99=50.0",
  "cached_prompt_tok_per_s=10.0",
  "completed_requests=1",
  "completion_tok_per_s=75.0",
  "eligible_cache_hit_rate_pct_max=0.0",
  "eligible_cache_hit_rate_pct_mean=0.0",
  "eligible_cache_hit_rate_pct_min=0.0",
  "eligible_cache_hit_rate_pct_p50=0.0",
  "eligible_cache_hit_rate_pct_p90=0.0",
  "eligible_cache_hit_rate_pct_p95=0.0",
  "eligible_cache_hit_rate_pct_p99=0.0",
  "failed_requests=0",
  "last_30s_window_cached_prompt_tok_per_s=20.0",
  "last_30s_window_completion_tok_per_s=100.0",
  "last_30s_window_new_prompt_tok_per_s=5.0",
  "last_30s_window_prompt_tok_per_s=25.0",
  "latency_s_max=2.0",
  "latency_s_mean=2.0",
  "latency_s_min=2.0",
  "latency_s_p50=2.0",
  "latency_s_p90=2.0",
  "latency_s_p95=2.0",
  "latency_s_p99=2.0",
  "new_prompt_tok_per_s=15.0",
  "prompt_tok_per_s=25.0",
  "steady_state_cached_prompt_tok_per_s=20.0",
  "steady_state_completion_tok_per_s=100.0",
  "steady_state_new_prompt_tok_per_s=5.0",
  "steady_state_prompt_tok_per_s=25.0",
  "trace_per_s=0.25",
  "wall_time_s=4.0",
];
const S2_REPORT = lines(
  "",
  "                             Per-trace metrics                             ",
  "┏━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓",
  "┃ Metric ┃ Latency (s) ┃ Cache hit rate (%) ┃ Eligible cache hit rate (%) ┃",
  "┡━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩",
  "│ mean   │       2.000 │               50.0 │                         0.0 │",
  "│ min    │       2.000 │               50.0 │                         0.0 │",
  "│ p50    │       2.000 │               50.0 │                         0.0 │",
  "│ p90    │       2.000 │               50.0 │                         0.0 │",
  "│ p95    │       2.000 │               50.0 │                         0.0 │",
  "│ p99    │       2.000 │               50.0 │                         0.0 │",
  "│ max    │       2.000 │               50.0 │                         0.0 │",
  "└────────┴─────────────┴────────────────────┴─────────────────────────────┘",
  "",
  "                          Workload metrics                          ",
  "                    completed=1/1  trace/s=0.25                     ",
  "┏━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━┓",
  "┃ Metric                ┃ Overall ┃ Last 30s Window ┃ Steady State ┃",
  "┡━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━┩",
  "│ total prompt tok/s    │   25.00 │           25.00 │        25.00 │",
  "│ cached prompt tok/s   │   10.00 │           20.00 │        20.00 │",
  "│ uncached prompt tok/s │   15.00 │            5.00 │         5.00 │",
  "│ completion tok/s      │   75.00 │          100.00 │       100.00 │",
  "└───────────────────────┴─────────┴─────────────────┴──────────────┘",
);

const COMPLETE = "[info     ] benchmark complete             ";

Deno.test("renderTrieReport(): both tables of a streamed run, with GPUs", () => {
  assert.equal(renderTrieReport(streamResult(), { numGpus: 2 }), S1_REPORT);
});

Deno.test("renderTrieReport(): non-stream run shows latency and cache only", () => {
  assert.equal(renderTrieReport(plainResult()), S2_REPORT);
});

Deno.test("completeLogFields(): the benchmark complete line as trie logs it", () => {
  assert.equal(
    logLine(
      "info",
      "benchmark complete",
      completeLogFields(streamResult(), { numGpus: 2 }),
    ),
    COMPLETE + S1_LOG_PAIRS.join(" "),
  );
  assert.equal(
    logLine("info", "benchmark complete", completeLogFields(plainResult())),
    COMPLETE + S2_LOG_PAIRS.join(" "),
  );
});

Deno.test("renderTrieReport(): tables only with data", () => {
  const empty = new TrieResult();
  assert.equal(renderTrieReport(empty), "");
  assert.equal(
    logLine("info", "benchmark complete", completeLogFields(empty)),
    COMPLETE +
      "completed_requests=0 failed_requests=0 trace_per_s=0.0 wall_time_s=0.0",
  );
  // no wall time yet → no workload table, the per-trace table stays
  const r = plainResult();
  r.wallTime = 0;
  const text = renderTrieReport(r);
  assert.ok(text.includes("Per-trace metrics"));
  assert.ok(!text.includes("Workload metrics"));
  assert.equal(Object.keys(completeLogFields(r)).length, 4 + 3 * 7);
  // turn points without completion tokens → no workload table either
  const zero = plainResult();
  zero.points.length = 0;
  zero.points.push(pt(1, 0, 10, 0));
  assert.ok(!renderTrieReport(zero).includes("Workload metrics"));
  // stream: false hides the stream columns even when they hold data
  const hidden = renderTrieReport(streamResult(), { stream: false });
  assert.ok(!hidden.includes("TTFT"));
  assert.ok(hidden.includes("Eligible cache hit rate (%)"));
});

Deno.test("trieSummaryJson(): every figure, params without API keys", () => {
  const json = trieSummaryJson(
    streamResult(),
    { concurrency: 8, api_key: "sk-1", nested: { apiKey: "sk-2", a: [1] } },
    { numGpus: 2 },
  );
  assert.deepEqual(json.params, { concurrency: 8, nested: { a: [1] } });
  assert.ok(!JSON.stringify(json).includes("sk-"));
  assert.equal(json.wall_time_s, 12.5);
  assert.equal(json.completed_requests, 4);
  assert.equal(json.failed_requests, 1);
  assert.equal(json.trace_per_s, 0.32);
  assert.deepEqual(json.tokens, {
    prompt: 450,
    cached_prompt: 193,
    new_prompt: 257,
    completion: 164,
  });
  assert.deepEqual(Object.keys(json.per_trace), [
    "latency_s",
    "ttft_s",
    "ttfat_s",
    "mean_turn_decode_tps_tok_s",
    "cache_hit_rate_pct",
    "eligible_cache_hit_rate_pct",
  ]);
  assert.deepEqual(json.per_trace.latency_s, {
    mean: 2.625,
    min: 1.5,
    p50: 2.375,
    p90: 3.875,
    p95: 4.0625,
    p99: 4.2124999999999995, // numpy's value for 3 + 0.97·1.25
    max: 4.25,
  });
  assert.equal(json.per_trace.eligible_cache_hit_rate_pct.max, 1600 / 11);
  assert.deepEqual(json.workload, {
    overall: {
      prompt_tok_per_s: 36,
      cached_prompt_tok_per_s: 15.44,
      new_prompt_tok_per_s: 20.56,
      completion_tok_per_s: 13.12,
    },
    last_30s_window: {
      prompt_tok_per_s: 418 / 9,
      cached_prompt_tok_per_s: 193 / 9,
      new_prompt_tok_per_s: 25,
      completion_tok_per_s: 148 / 9,
    },
    steady_state: {
      prompt_tok_per_s: 45.25,
      cached_prompt_tok_per_s: 18.125,
      new_prompt_tok_per_s: 27.125,
      completion_tok_per_s: 16,
    },
    steady_state_per_gpu: {
      prompt_tok_per_s: 22.625,
      cached_prompt_tok_per_s: 9.0625,
      new_prompt_tok_per_s: 13.5625,
      completion_tok_per_s: 8,
    },
  });
  assert.equal(json.schema_version, 2);
  assert.equal(json.command, "trie");
  assert.equal(json.decode_tps_undefined_traces, 0);
  const plain = trieSummaryJson(new TrieResult(), {});
  assert.equal(plain.workload, null);
  assert.deepEqual(plain.per_trace, {});
});

Deno.test("renderProgress(): trie's three status lines", () => {
  const r = streamResult();
  assert.deepEqual(renderProgress(r, { elapsedS: 12.5, durationS: 300 }), [
    "Running benchmark  elapsed=00:12/05:00  completed=4  trace/s=0.32",
    // 450/12.5 = 36, 193/12.5 = 15.44, 257/12.5 = 20.56, 164/12.5 = 13.12
    "overall:  total_prompt_t/s=36  cached_prompt_t/s=15  uncached_prompt_t/s=21  compl_t/s=13",
    // 418/9 = 46.4, 193/9 = 21.4, 25, 148/9 = 16.4
    "last30:   total_prompt_t/s=46  cached_prompt_t/s=21  uncached_prompt_t/s=25  compl_t/s=16",
  ]);
  // 450/8 = 56.25, 193/8 = 24.125, 257/8 = 32.125, 164/8 = 20.5 → half-even 20
  assert.equal(
    renderProgress(r, { elapsedS: 8, durationS: 60 })[1],
    "overall:  total_prompt_t/s=56  cached_prompt_t/s=24  uncached_prompt_t/s=32  compl_t/s=20",
  );
  assert.equal(
    renderProgress(r, { elapsedS: 3725.9, durationS: 7200 })[0],
    "Running benchmark  elapsed=1:02:05/2:00:00  completed=4  trace/s=0.00",
  );
  assert.deepEqual(
    renderProgress(new TrieResult(), { elapsedS: 0, durationS: 180 }),
    [
      "Running benchmark  elapsed=00:00/03:00  completed=0  trace/s=0.00",
      "overall:  total_prompt_t/s=0  cached_prompt_t/s=0  uncached_prompt_t/s=0  compl_t/s=0",
      "last30:   total_prompt_t/s=0  cached_prompt_t/s=0  uncached_prompt_t/s=0  compl_t/s=0",
    ],
  );
});

Deno.test("progressLine(): one greppable key=value line", () => {
  assert.equal(
    progressLine(streamResult(), { elapsedS: 8, durationS: 60 }),
    "progress elapsed=00:08/01:00 completed=4 failed=1 trace/s=0.50" +
      " total_prompt_t/s=56 cached_prompt_t/s=24 uncached_prompt_t/s=32 compl_t/s=20" +
      " last30_total_prompt_t/s=46 last30_cached_prompt_t/s=21" +
      " last30_uncached_prompt_t/s=25 last30_compl_t/s=16",
  );
});

Deno.test("renderTrieReport: without cached_tokens from the server, no cache columns (not a column of zeros)", () => {
  const result = new TrieResult({ stream: false, startedAt: 0 });
  const m = new ServerMetrics();
  m.recordUsage({ promptTokens: 100, completionTokens: 10 });
  result.serverMetrics.push(m);
  result.latencies.push(2);
  result.completedTraces = 1;
  const text = renderTrieReport(result);
  assert.ok(text.includes("Latency (s)"), text);
  assert.ok(!text.includes("Cache hit rate"), text);
  m.recordUsage({ promptTokens: 100, completionTokens: 10, cachedTokens: 0 });
  assert.ok(renderTrieReport(result).includes("Cache hit rate (%)"));
});

Deno.test("renderTrieReport and trieSummaryJson: traces without a decode rate are counted and said, not averaged as 0", () => {
  const r = streamResult();
  r.tpsValues.splice(2, 1); // the trace whose requests had no rate
  r.decodeUndefinedTraces = 1;
  const text = renderTrieReport(r);
  assert.ok(
    text.includes(
      "Decode TPS: undefined for 1 traces (no request with a measurable decode), left out\n",
    ),
    text,
  );
  const json = trieSummaryJson(r, {});
  assert.equal(json.decode_tps_undefined_traces, 1);
  assert.equal(json.per_trace.mean_turn_decode_tps_tok_s.min, 9);
  // mean of 33.17, 9 and 12 = 18.06, not 13.54 with a 0
  assert.equal(
    json.per_trace.mean_turn_decode_tps_tok_s.mean,
    ((30 + 38 + 31.5) / 3 + 9 + 12) / 3,
  );
});
