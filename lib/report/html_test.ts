/**
 * The HTML document: self-contained (no URL to load, anywhere), every plot
 * with an id, a title and axis labels with units, text escaped, and two runs
 * overlaid in every plot that compares them.
 */
import assert from "node:assert/strict";
import { runData } from "./data.ts";
import { renderReport } from "./html.ts";
import { syntheticRun } from "../../tests/_support/synthetic.ts";
import { UPLOT_JS } from "./vendor/uplot.ts";
import { testRecord } from "../testing/records.ts";

function dataOf(run: ReturnType<typeof syntheticRun>, name: string) {
  return runData({
    source: `/runs/${name}`,
    records: { records: run.records, reports: [], run: run.end },
    info: run.info,
    metrics: run.metrics,
    summary: run.summary,
  }, { name });
}

// deno-lint-ignore no-explicit-any
function embedded(html: string): any {
  const m =
    /<script type="application\/json" id="kvbench-data">([^]*?)<\/script>/
      .exec(html);
  assert.ok(m, "no embedded data");
  return JSON.parse(m[1]);
}

/** The document without the inlined library's script element. */
function withoutLibrary(html: string): string {
  const start = html.indexOf('<script id="kvbench-uplot">');
  const end = html.indexOf("</script>", start);
  assert.ok(start > 0 && end > start, "the library is inlined");
  return html.slice(0, start) + html.slice(end);
}

Deno.test("html: self-contained, no URL anywhere outside the library's comments", () => {
  const html = renderReport([dataOf(syntheticRun({ requests: 50 }), "run")]);
  // The run's endpoint (http://127.0.0.1:8000/v1/) is shown, never as a URL.
  assert.ok(html.includes("127.0.0.1:8000/v1/"));
  const outside = withoutLibrary(html);
  assert.doesNotMatch(outside, /https?:\/\//i);
  // Inside the library, URLs only in comments.
  const library = html.slice(
    html.indexOf('<script id="kvbench-uplot">'),
    html.indexOf("</script>", html.indexOf('<script id="kvbench-uplot">')),
  );
  assert.ok(library.includes(UPLOT_JS.slice(0, 2000)));
  const code = library.replace(/\/\*[^]*?\*\//g, "");
  assert.doesNotMatch(code, /https?:\/\//i);
  // Nothing that loads anything.
  for (
    const loads of [
      /\bsrc\s*=/i,
      /<link\b/i,
      /<iframe\b/i,
      /@import/i,
      /url\(/i,
      /\bfetch\s*\(/,
      /XMLHttpRequest/,
      /\bWebSocket\b/,
      /EventSource/,
      /sendBeacon/,
      /importScripts/,
      /\bimport\s*\(/,
    ]
  ) assert.doesNotMatch(html, loads);
  // One document: every script inline, the data as JSON.
  assert.equal((html.match(/<script\b/g) ?? []).length, 3);
  assert.ok(html.startsWith("<!doctype html>"));
  assert.ok(html.trimEnd().endsWith("</html>"));
});

Deno.test("html: every plot has an id, a title and axis labels with units", () => {
  const html = renderReport([dataOf(syntheticRun({ requests: 80 }), "bench")]);
  const { plots } = embedded(html);
  const ids = plots.map((p: { id: string }) => p.id);
  assert.deepEqual(ids, [
    "plot-ttft",
    "plot-itl",
    "plot-cdf-ttft",
    "plot-cdf-tpot",
    "plot-cdf-itl",
    "plot-cdf-e2e",
    "plot-cache-client",
    "plot-cache-server",
    "plot-throughput",
    "plot-inflight",
    "plot-lag",
  ]);
  for (const plot of plots) {
    assert.ok(
      html.includes(`<figure class="plot`) && html.includes(`id="${plot.id}"`),
      plot.id,
    );
    assert.ok(plot.title.length > 0, plot.id);
    assert.match(
      plot.xLabel,
      /\((s|ms)\b|^turn$/,
      `${plot.id} x: ${plot.xLabel}`,
    );
    assert.match(
      plot.yLabel,
      /\((ms|%|tok\/s)\)|in flight/,
      `${plot.id} y: ${plot.yLabel}`,
    );
    assert.ok(html.includes(`<h3>${plot.title}</h3>`), plot.id);
  }
  // TTFT coloured by context for a benchmark run.
  const ttft = plots[0];
  assert.deepEqual(ttft.series[0].colorBy, [0, "requests", "group"]);
  assert.equal(ttft.groups.label, "context");
  // The table, the verdict, the split and the parameters.
  assert.ok(html.includes('id="percentiles"'));
  assert.ok(html.includes("<strong>Verdict.</strong>"));
  assert.ok(html.includes("KV source (server counters)"));
  assert.ok(html.includes("Qwen/Qwen3-30B-A3B-Instruct-2507"));
  assert.ok(html.includes("kvbench-sim"));
  assert.ok(html.includes("x86_64"));
});

Deno.test("html: a trie run has per-turn plots, coloured by turn", () => {
  const html = renderReport([
    dataOf(syntheticRun({ command: "trie", requests: 60 }), "trie"),
  ]);
  const { plots } = embedded(html);
  const ids = plots.map((p: { id: string }) => p.id);
  assert.deepEqual(ids.slice(0, 3), [
    "plot-ttft",
    "plot-turn-ttft",
    "plot-turn-hit",
  ]);
  assert.equal(plots[0].groups.label, "turn");
});

Deno.test("html: text is escaped, the data cannot close its script", () => {
  const run = dataOf(syntheticRun({ requests: 10 }), "</script><b>x</b>");
  const html = renderReport([run], { subtitle: "a & b" });
  assert.ok(!html.includes("<b>x</b>"));
  assert.ok(html.includes("&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;"));
  assert.ok(html.includes("a &amp; b"));
  assert.equal(embedded(html).runs[0].name, "</script><b>x</b>");
});

Deno.test("html: two runs are overlaid, one colour and one legend entry per run", () => {
  const on = dataOf(syntheticRun({ requests: 120, seed: 1 }), "offload on");
  const off = dataOf(syntheticRun({ requests: 90, seed: 2 }), "offload off");
  const html = renderReport([on, off]);
  const { plots, runs } = embedded(html);
  assert.deepEqual(runs.map((r: { name: string }) => r.name), [
    "offload on",
    "offload off",
  ]);
  assert.ok(
    html.includes("<title>kvbench compare: offload on vs offload off</title>"),
  );
  for (const plot of plots) {
    if (plot.id === "plot-cache-server") {
      // Each tier of each run: both runs there.
      const perRun = [0, 1].map((i) =>
        plot.series.filter((s: { x: unknown[] }) => s.x[0] === i).length
      );
      assert.ok(perRun[0] > 0 && perRun[0] === perRun[1], plot.id);
      continue;
    }
    assert.equal(plot.series.length, 2, plot.id);
    assert.deepEqual(
      plot.series.map((s: { x: unknown[] }) => s.x[0]),
      [0, 1],
      plot.id,
    );
    assert.deepEqual(plot.series.map((s: { label: string }) => s.label), [
      "offload on",
      "offload off",
    ], plot.id);
    assert.notEqual(plot.series[0].color, plot.series[1].color, plot.id);
    assert.equal(plot.series[0].colorBy, undefined, plot.id); // coloured by run
  }
  // Both runs in the table and the summaries.
  assert.equal((html.match(/<td class="run">/g) ?? []).length % 2, 0);
  assert.ok(html.includes('id="run-0"') && html.includes('id="run-1"'));
});

Deno.test("html: no runs is an error", () => {
  assert.throws(() => renderReport([]), RangeError);
});

Deno.test("html: a run without records renders, with nothing to plot", () => {
  const run = runData({
    source: "empty",
    records: { records: [], reports: [] },
  });
  const html = renderReport([run]);
  assert.deepEqual(embedded(html).plots, []);
  assert.ok(html.includes("nothing to plot"));
  assert.ok(html.includes("No completed request."));
});

Deno.test("html: goodput as the terminal says it when the run had SLOs; QPS over the exact measured time", () => {
  const rec = (i: number, ttft: number) =>
    testRecord({
      session: i,
      runStartedAt: 0,
      scheduledAt: 0,
      sentAt: 0,
      firstTokenAt: ttft,
      endAt: 300,
      chunks: 1,
      completionTokens: 1,
    });
  const records = [
    rec(0, 50),
    rec(1, 50),
    rec(2, 200),
    testRecord({
      session: 3,
      runStartedAt: 0,
      endAt: 10,
      ok: false,
      error: { kind: "http", message: "HTTP 500" },
    }),
  ];
  const run = runData({
    source: "/runs/g",
    records: {
      records,
      reports: [],
      run: { startedAt: 0, elapsedMs: 1000.4, stopReason: "duration" },
    },
    info: { command: "benchmark", params: { slos: { ttftMs: 100 } } },
  }, { name: "g" });
  // 3 completed over 1.0004 s (not the 1.000 s the report shows).
  assert.equal(run.run.requestsPerS, 3 / 1.0004);
  // 2 of the 4 measured requests met TTFT ≤ 100 ms; 2 / 1.0004 s.
  assert.deepEqual(
    [run.distributions.goodput?.requests, run.distributions.goodput?.measured],
    [2, 4],
  );
  const html = renderReport([run]);
  assert.ok(
    html.includes(
      "goodput (TTFT ≤ 100 ms) 2 of 4 requests (50.0%), 2.00 req/s",
    ),
    html.slice(html.indexOf("goodput"), html.indexOf("goodput") + 200),
  );
});
