/**
 * The HTML report: one self-contained document for one run, or several
 * overlaid to compare them (one colour per run). Everything is inside the
 * file — the chart library (uPlot, from `vendor/uplot.ts`, with its licence),
 * the styles, the script and the data as JSON in a
 * `<script type="application/json" id="kvbench-data">` — so it opens from
 * disk, offline, forever; nothing in it names a URL to load.
 *
 * Plots (each a `<figure>` with an id, a title and axis labels with units):
 * TTFT over time (coloured by context for `benchmark`, so the rotation
 * through the offload tier shows, by turn for `trie`), ITL over time, CDFs of
 * TTFT, TPOT, ITL and E2E, the client's cache hit rate over time, the
 * server's prompt tokens by tier over time (when metrics were scraped),
 * per-turn TTFT and hit rate (`trie`), output throughput, requests in flight
 * and client lag over time. Then the percentile table, the verdict and the
 * KV split, and each run's parameters, engine and machine.
 *
 * The page publishes `window.__kvbenchReport = { plots, drawn, errors,
 * ready }`: the plot ids, how many of them have something drawn, the errors
 * met, and whether it finished — what a test in a browser reads.
 *
 * @module
 */
import type { Distribution, Slos } from "../metrics/distributions.ts";
import { FIGURE_TABLE } from "../metrics/figure_table.ts";
import type { RunData } from "./data.ts";
import {
  UPLOT_CSS,
  UPLOT_JS,
  UPLOT_LICENSE,
  UPLOT_VERSION,
} from "./vendor/uplot.ts";

/** Options of {@linkcode renderReport}. */
export interface RenderReportOptions {
  /** The page's title (default: `kvbench report: NAME`, or `kvbench compare: A vs B`). */
  title?: string;
  /** A line under the title, e.g. when and how the report was made. */
  subtitle?: string;
  /** HTML sections placed under the runs' headlines (e.g. `kvbench compare`'s table); inserted as given. */
  sections?: string[];
}

/** Colours of runs (compare) and of few groups. */
const PALETTE = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#17becf",
  "#bcbd22",
  "#7f7f7f",
];

/** Colours of the server's tiers. */
const TIERS = [
  { key: "computed", label: "computed", color: "#d62728" },
  { key: "device", label: "GPU prefix cache", color: "#1f77b4" },
  { key: "offload", label: "offload tier", color: "#ff7f0e" },
  { key: "cached", label: "cached (tier not named)", color: "#9467bd" },
] as const;

/** A reference to an array of the embedded data: run index, then keys. */
type DataPath = [number, ...string[]];

interface SeriesSpec {
  label: string;
  color: string;
  x: DataPath;
  y: DataPath;
  dash?: number[];
  /** Multiply y by 100 (fractions shown as %). */
  percent?: boolean;
  /** Colour each point by this array's group index. */
  colorBy?: DataPath;
  points?: boolean;
}

interface PlotSpec {
  id: string;
  title: string;
  note?: string;
  xLabel: string;
  yLabel: string;
  kind: "scatter" | "line";
  series: SeriesSpec[];
  /** For `colorBy`: how groups are named and coloured. */
  groups?: { label: string; count: number; ramp: "hue" | "sequential" };
  /** Y axis from 0. */
  zero?: boolean;
  /** Y axis 0–100 %. */
  percentAxis?: boolean;
  /** X is a count (turns): whole-number ticks. */
  integerX?: boolean;
}

/** Escape text for HTML; `://` is written `&#58;//` so the file names no URL. */
function esc(text: unknown): string {
  return String(text).replaceAll("&", "&amp;").replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;").replaceAll('"', "&quot;").replaceAll(
      "'",
      "&#39;",
    ).replaceAll("://", "&#58;//");
}

/** JSON safe inside `<script>`: no `<`, no line separators, no `://`. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replaceAll("<", "\\u003c").replaceAll(
    "\u2028",
    "\\u2028",
  ).replaceAll("\u2029", "\\u2029").replaceAll("://", "\\u003a//");
}

const num = (x: number | undefined, digits = 2): string =>
  x === undefined || !Number.isFinite(x) ? "-" : x.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
const int = (x: number): string => Math.round(x).toLocaleString("en-US");
const pct = (x: number | undefined, digits = 1): string =>
  x === undefined || !Number.isFinite(x)
    ? "-"
    : `${(x * 100).toFixed(digits)}%`;

function runColor(i: number): string {
  return PALETTE[i % PALETTE.length];
}

function swatch(color: string): string {
  return `<span class="swatch" style="background:${color}"></span>`;
}

/** The plots the runs have data for. */
function plotSpecs(runs: RunData[]): PlotSpec[] {
  const compare = runs.length > 1;
  const specs: PlotSpec[] = [];
  const each = (
    make: (run: RunData, i: number) => Omit<SeriesSpec, "label" | "color">[],
  ): SeriesSpec[] =>
    runs.flatMap((run, i) =>
      make(run, i).map((s) => ({ label: run.name, color: runColor(i), ...s }))
    );
  const has = (pred: (run: RunData) => boolean) => runs.some(pred);
  const trie = runs.every((r) => r.groupBy === "turn");
  const groupBy = runs[0].groupBy;

  // TTFT over time.
  if (has((r) => r.requests.ttftMs.some((v) => v !== null))) {
    const single = !compare && groupBy !== undefined && runs[0].groups > 1;
    specs.push({
      id: "plot-ttft",
      title: "TTFT over time",
      note: single
        ? groupBy === "context"
          ? "Coloured by context. Contexts are sent in tile order: a context's first request is a cold prefill, and each later one comes back after every other context passed through the GPU, so its KV has to come from the offload tier."
          : "Coloured by turn: later turns of a trace reuse the prefix of the earlier ones."
        : "One point per completed request, at the time it was sent.",
      xLabel: "request sent (s since run start)",
      yLabel: "TTFT (ms)",
      kind: "scatter",
      zero: true,
      series: runs.map((run, i) => ({
        label: run.name,
        color: runColor(i),
        x: [i, "requests", "t"],
        y: [i, "requests", "ttftMs"],
        colorBy: single ? [i, "requests", "group"] : undefined,
      })),
      groups: single
        ? {
          label: groupBy!,
          count: runs[0].groups,
          ramp: groupBy === "turn" ? "sequential" : "hue",
        }
        : undefined,
    });
  }
  // ITL over time.
  if (has((r) => r.itl.t.length > 0)) {
    const decimated = runs.some((r) => r.itl.decimated);
    specs.push({
      id: "plot-itl",
      title: "Inter-token latency over time",
      note:
        `One point per output read after a request's first (its gap over the tokens it carried)${
          decimated
            ? "; above 200,000 reads, the lowest and highest of each time slice"
            : ""
        }.`,
      xLabel: "output read (s since run start)",
      yLabel: "ITL (ms)",
      kind: "scatter",
      zero: true,
      series: each((_, i) => [{ x: [i, "itl", "t"], y: [i, "itl", "ms"] }]),
    });
  }
  // CDFs.
  const cdfs = [
    ["ttftMs", "TTFT", "requests"],
    ["tpotMs", "TPOT", "requests"],
    ["itlMs", "ITL", "tokens"],
    ["e2eMs", "E2E latency", "requests"],
  ] as const;
  for (const [key, name, of] of cdfs) {
    if (!has((r) => r.cdf[key] !== undefined)) continue;
    specs.push({
      id: `plot-cdf-${key.replace(/Ms$/, "")}`,
      title: `CDF of ${name}`,
      xLabel: `${name} (ms)`,
      yLabel: `${of} at or below (%)`,
      kind: "line",
      percentAxis: true,
      series: each((run, i) =>
        run.cdf[key] === undefined ? [] : [{
          x: [i, "cdf", key, "x"],
          y: [i, "cdf", key, "p"],
          percent: true,
        }]
      ),
    });
  }
  // Cache hit rate over time, client.
  if (has((r) => r.timeline.hit.some((v) => v !== null))) {
    specs.push({
      id: "plot-cache-client",
      title: "Cache hit rate over time (client)",
      note:
        "Σ cached_tokens / Σ prompt_tokens of the requests that ended in each bin, as the server reported them in usage.",
      xLabel: `request end (s since run start), ${binText(runs)} bins`,
      yLabel: "cached prompt tokens (%)",
      kind: "line",
      percentAxis: true,
      series: each((_, i) => [{
        x: [i, "timeline", "t"],
        y: [i, "timeline", "hit"],
        percent: true,
      }]),
    });
  }
  // Server, by tier.
  if (has((r) => r.serverCache !== undefined)) {
    const series: SeriesSpec[] = [];
    runs.forEach((run, i) => {
      const sc = run.serverCache;
      if (sc === undefined) return;
      TIERS.forEach((tier, j) => {
        if (sc[tier.key] === undefined) return;
        series.push({
          label: compare ? `${run.name}: ${tier.label}` : tier.label,
          color: compare ? runColor(i) : tier.color,
          dash: compare && j > 0
            ? [[], [8, 4], [2, 3], [12, 3, 2, 3]][j]
            : undefined,
          x: [i, "serverCache", "t"],
          y: [i, "serverCache", tier.key],
          percent: true,
          points: sc.t.length < 60,
        });
      });
      if (sc.kvUsage !== undefined) {
        series.push({
          label: compare ? `${run.name}: GPU KV usage` : "GPU KV usage",
          color: compare ? runColor(i) : "#2ca02c",
          dash: [1, 3],
          x: [i, "serverCache", "t"],
          y: [i, "serverCache", "kvUsage"],
          percent: true,
        });
      }
    });
    specs.push({
      id: "plot-cache-server",
      title: "Prompt tokens by KV tier over time (server)",
      note:
        "From the server's counters: the share of the prompt tokens it processed between two scrapes that it computed, or served from the GPU prefix cache or the offload tier; the GPU KV usage gauge at each scrape.",
      xLabel: "scrape (s since run start)",
      yLabel: "share of prompt tokens (%)",
      kind: "line",
      percentAxis: true,
      series,
    });
  }
  // Per turn.
  if (has((r) => r.perTurn !== undefined)) {
    specs.push({
      id: "plot-turn-ttft",
      title: "TTFT by turn",
      note: "Mean TTFT of each turn's completed requests.",
      xLabel: "turn",
      integerX: true,
      yLabel: "mean TTFT (ms)",
      kind: "line",
      zero: true,
      series: each((run, i) =>
        run.perTurn === undefined ? [] : [{
          x: [i, "perTurn", "turn"],
          y: [i, "perTurn", "ttftMs"],
          points: true,
        }]
      ),
    });
    if (has((r) => r.perTurn?.hit.some((v) => v !== null) ?? false)) {
      specs.push({
        id: "plot-turn-hit",
        title: "Cache hit rate by turn",
        note: "Mean of cached / prompt tokens of each turn's requests.",
        xLabel: "turn",
        integerX: true,
        yLabel: "mean cache hit rate (%)",
        kind: "line",
        percentAxis: true,
        series: each((run, i) =>
          run.perTurn === undefined ? [] : [{
            x: [i, "perTurn", "turn"],
            y: [i, "perTurn", "hit"],
            percent: true,
            points: true,
          }]
        ),
      });
    }
  }
  if (!has((r) => r.records.total > 0)) return specs;
  // Throughput and requests in flight.
  specs.push({
    id: "plot-throughput",
    title: "Output throughput over time",
    note:
      "Output tokens by when they arrived (each read's share of its request's tokens).",
    xLabel: `time (s since run start), ${binText(runs)} bins`,
    yLabel: "output tokens per second (tok/s)",
    kind: "line",
    zero: true,
    series: each((
      _,
      i,
    ) => [{ x: [i, "timeline", "t"], y: [i, "timeline", "outputTokS"] }]),
  });
  specs.push({
    id: "plot-inflight",
    title: "Requests in flight over time",
    note:
      "Mean number of requests between send and end over each bin (warm-up and failed ones included).",
    xLabel: `time (s since run start), ${binText(runs)} bins`,
    yLabel: "requests in flight",
    kind: "line",
    zero: true,
    series: each((
      _,
      i,
    ) => [{ x: [i, "timeline", "t"], y: [i, "timeline", "inFlight"] }]),
  });
  // Client lag.
  if (has((r) => r.requests.t.length > 0)) {
    specs.push({
      id: "plot-lag",
      title: "Client lag over time",
      note:
        "Sent − scheduled: how late the client sent each request (a late timer, prompt synthesis, or a --max-inflight queue).",
      xLabel: "request sent (s since run start)",
      yLabel: "client lag (ms)",
      kind: "scatter",
      zero: true,
      series: each((
        _,
        i,
      ) => [{ x: [i, "requests", "t"], y: [i, "requests", "lagMs"] }]),
    });
  }
  if (trie) {
    // Per-turn plots first after TTFT: they say the most about a trace replay.
    const order = ["plot-ttft", "plot-turn-ttft", "plot-turn-hit"];
    specs.sort((a, b) => {
      const ia = order.indexOf(a.id), ib = order.indexOf(b.id);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    });
  }
  return specs;
}

function binText(runs: RunData[]): string {
  const widths = [...new Set(runs.map((r) => r.binS))];
  return widths.length === 1 ? `${widths[0]} s` : "per-run";
}

function figure(spec: PlotSpec): string {
  return `<figure class="plot${
    spec.kind === "line" && spec.id.startsWith("plot-cdf") ? " half" : ""
  }" id="${spec.id}">
<figcaption><h3>${esc(spec.title)}</h3>${
    spec.note ? `<p class="note">${esc(spec.note)}</p>` : ""
  }</figcaption>
<div class="chart" role="img" aria-label="${esc(spec.title)}: ${
    esc(spec.yLabel)
  } against ${esc(spec.xLabel)}"></div>
<div class="groups"></div>
</figure>`;
}

function distributionRows(runs: RunData[]): string {
  const percentiles = runs[0].percentiles;
  const compare = runs.length > 1;
  // The figure table's rows, as the terminal prints them.
  const metrics: [string, (r: RunData) => Distribution | undefined][] =
    FIGURE_TABLE.map((row) => [
      row.label,
      (r) =>
        row.onlyWithReasoning && r.distributions.reasoning.requests === 0
          ? undefined
          : r.distributions[row.field],
    ]);
  const head = `<tr><th>metric</th>${
    compare ? "<th>run</th>" : ""
  }<th>mean</th>${
    percentiles.map((p) => `<th>p${esc(p)}</th>`).join("")
  }<th>max</th><th>count</th></tr>`;
  const rows: string[] = [];
  for (const [label, get] of metrics) {
    runs.forEach((run, i) => {
      const d = get(run);
      if (d === undefined) return;
      rows.push(
        `<tr><th>${esc(label)}</th>${
          compare
            ? `<td class="run">${swatch(runColor(i))}${esc(run.name)}</td>`
            : ""
        }<td>${num(d.mean)}</td>${
          percentiles.map((p) => `<td>${num(d.percentiles[String(p)])}</td>`)
            .join("")
        }<td>${num(d.max)}</td><td>${int(d.count)}</td></tr>`,
      );
    });
  }
  if (rows.length === 0) return `<p class="note">No completed request.</p>`;
  return `<table class="numbers" id="percentiles"><thead>${head}</thead><tbody>${
    rows.join("\n")
  }</tbody></table>`;
}

function splitBar(run: RunData): string {
  const s = run.split;
  if (s === undefined || !(s.prompt > 0)) return "";
  if (s.problem !== undefined) return ""; // counters that disagree: no bar
  // The offload tier by the tiers the engine names (lib/server/attribution.ts).
  const offload: [string, number | undefined, string][] = s.host === undefined
    ? [["offload tier", s.offload, TIERS[2].color]]
    : [
      ["offload: host memory", s.host, TIERS[2].color],
      ["offload: disk", s.disk || undefined, "#d62728"],
      ["offload: remote", s.remote || undefined, "#9467bd"],
      ["offload: tier not named", s.external || undefined, "#8c564b"],
    ];
  const parts: [string, number | undefined, string][] = [
    ["computed", s.computed, TIERS[0].color],
    ["GPU prefix cache", s.device, TIERS[1].color],
    ...offload,
    [
      run.run.engine === "llamacpp"
        ? "cached (slot KV or the host-RAM prompt cache, --cache-ram: llama.cpp does not say which)"
        : "cached (tier not named)",
      s.cached,
      TIERS[3].color,
    ],
  ];
  const shown = parts.filter(([, v]) => v !== undefined) as [
    string,
    number,
    string,
  ][];
  return `<div class="split" title="server counters"><div class="bar">${
    shown.map(([label, v, color]) =>
      `<span style="width:${
        (v / s.prompt * 100).toFixed(2)
      }%;background:${color}" title="${esc(label)} ${
        pct(v / s.prompt)
      }"></span>`
    ).join("")
  }</div><p class="legend">KV source (server counters): ${
    int(s.prompt)
  } prompt tokens: ${
    shown.map(([label, v, color]) =>
      `${swatch(color)}${pct(v / s.prompt)} ${esc(label)}`
    ).join(", ")
  }</p></div>`;
}

function sloText(slos: Slos): string {
  const parts: string[] = [];
  if (slos.ttftMs !== undefined) parts.push(`TTFT ≤ ${slos.ttftMs} ms`);
  if (slos.tpotMs !== undefined) parts.push(`TPOT ≤ ${slos.tpotMs} ms`);
  if (slos.e2eMs !== undefined) parts.push(`E2E ≤ ${slos.e2eMs} ms`);
  return parts.join(", ");
}

function headline(run: RunData, i: number, compare: boolean): string {
  const d = run.distributions;
  const elapsed = run.run.elapsedS;
  const qps = run.run.requestsPerS;
  const facts: [string, string][] = [
    ["requests", `${int(d.completed)} completed, ${int(d.failed)} failed`],
    ["QPS", qps !== undefined ? num(qps) : "-"],
    ["mean TTFT", d.ttftMs ? `${num(d.ttftMs.mean)} ms` : "-"],
    [
      "p99 TTFT",
      d.ttftMs?.percentiles["99"] !== undefined
        ? `${num(d.ttftMs.percentiles["99"])} ms`
        : "-",
    ],
    [
      "output",
      d.outputTokensPerS !== undefined
        ? `${num(d.outputTokensPerS, 1)} tok/s`
        : "-",
    ],
    [
      "cache hit rate (client)",
      run.cache ? pct(run.cache.hitRate) : "not reported",
    ],
  ];
  const where = [
    run.command,
    run.run.engine
      ? `${run.run.engine}${
        run.run.engineVersion ? ` ${run.run.engineVersion}` : ""
      }`
      : undefined,
    run.run.startedAt,
    `${num(elapsed, 1)} s`,
    run.run.stopReason ? `stopped: ${run.run.stopReason}` : undefined,
  ].filter((x) => x !== undefined);
  const notes: string[] = [];
  if (run.records.warmup > 0) {
    notes.push(`${int(run.records.warmup)} warm-up requests left out`);
  }
  if (run.records.aborted > 0) {
    notes.push(`${int(run.records.aborted)} aborted at the stop left out`);
  }
  if (d.lagMs) {
    notes.push(
      `client lag p50 ${num(d.lagMs.p50)} ms, p99 ${num(d.lagMs.p99)} ms, max ${
        num(d.lagMs.max)
      } ms`,
    );
  }
  if (d.goodput) {
    const g = d.goodput;
    notes.push(
      `goodput (${sloText(g.slos)}) ${int(g.requests)} of ${
        int(g.measured)
      } requests (${pct(g.fraction)})${
        g.perS === undefined ? "" : `, ${num(g.perS)} req/s`
      }`,
    );
  }
  if (d.decodeUnmeasured > 0) {
    notes.push(
      `decode not measurable for ${
        int(d.decodeUnmeasured)
      } requests (their output after the first token arrived in one burst)`,
    );
  }
  if (d.withoutUsage > 0) {
    notes.push(`${int(d.withoutUsage)} responses without usage`);
  }
  return `<section class="run" id="run-${i}">
<h2>${compare ? swatch(runColor(i)) : ""}${esc(run.name)}</h2>
<p class="where">${where.map(esc).join(" · ")}</p>
<dl class="facts">${
    facts.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`)
      .join("")
  }</dl>
${
    run.verdict
      ? `<p class="verdict"><strong>Verdict.</strong> ${
        esc(run.verdict.replace(/^Verdict:\s*/, ""))
      }</p>`
      : ""
  }
${splitBar(run)}
${notes.length ? `<p class="note">${notes.map(esc).join("; ")}.</p>` : ""}
</section>`;
}

function valueText(v: unknown): string {
  if (v === null || v === undefined) return "-";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

function keyValues(title: string, entries: [string, unknown][]): string {
  const shown = entries.filter(([, v]) => v !== undefined);
  if (shown.length === 0) return "";
  return `<h4>${esc(title)}</h4><table class="kv">${
    shown.map(([k, v]) =>
      `<tr><th>${esc(k)}</th><td>${esc(valueText(v))}</td></tr>`
    )
      .join("")
  }</table>`;
}

function objectEntries(v: unknown): [string, unknown][] {
  return v !== null && typeof v === "object" && !Array.isArray(v)
    ? Object.entries(v as Record<string, unknown>)
    : [];
}

function parameters(run: RunData, i: number, compare: boolean): string {
  const r = run.run;
  return `<details class="params" id="params-${i}"${compare ? "" : " open"}>
<summary>${compare ? swatch(runColor(i)) : ""}${
    esc(run.name)
  }: parameters, engine, machine</summary>
${
    keyValues("Run", [
      ["command", run.command],
      ["command line", r.argv ? r.argv.join(" ") : undefined],
      ["started", r.startedAt],
      ["elapsed (s)", r.elapsedS],
      ["stop reason", r.stopReason],
      ["kvbench", r.kvbench],
      ["deno", r.deno],
      ["source", run.source],
      ["records", run.records.total],
    ])
  }
${keyValues("Parameters", objectEntries(r.params))}
${keyValues("Workload", objectEntries(r.workload))}
${
    keyValues("Engine", [
      ["engine", r.engine ?? "not known"],
      ["version", r.engineVersion],
    ])
  }
${keyValues("Machine", objectEntries(r.machine))}
</details>`;
}

const CSS = `
:root { --fg: #1d2125; --muted: #5f6b76; --line: #dde2e6; --bg: #ffffff; --panel: #f6f8f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 1240px; margin: 0 auto; padding: 16px 20px 40px; }
header h1 { font-size: 20px; margin: 0 0 2px; }
header p { margin: 0; color: var(--muted); }
h2 { font-size: 17px; margin: 0 0 2px; }
h3 { font-size: 15px; margin: 0; }
h4 { font-size: 13px; margin: 12px 0 4px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.runs { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 12px; margin: 12px 0; }
.run { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; }
.where { margin: 0 0 6px; color: var(--muted); font-size: 12.5px; }
.facts { display: flex; flex-wrap: wrap; gap: 4px 22px; margin: 0; }
.facts div { min-width: 90px; }
.facts dt { font-size: 11.5px; color: var(--muted); }
.facts dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; }
.verdict { margin: 8px 0 4px; padding: 6px 10px; background: #fff8e6; border-left: 3px solid #ff7f0e; }
.split .bar { display: flex; height: 10px; border-radius: 3px; overflow: hidden; background: var(--line); margin-top: 6px; }
.split .bar span { display: block; height: 100%; }
.split .legend { margin: 3px 0 0; font-size: 12.5px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin: 0 4px 0 0; vertical-align: -1px; }
.note { color: var(--muted); margin: 2px 0 0; font-size: 12.5px; }
.plots { display: flex; flex-wrap: wrap; gap: 8px 16px; }
figure.plot { margin: 8px 0; flex: 1 1 100%; min-width: 0; }
figure.plot.half { flex: 1 1 calc(50% - 8px); }
figure.plot .chart { min-height: 60px; }
.groups { font-size: 12px; color: var(--muted); display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
.groups .ramp { display: inline-block; width: 180px; height: 10px; border-radius: 2px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.numbers th, table.numbers td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: right; }
table.numbers th:first-child, table.numbers td.run { text-align: left; }
table.numbers thead th { color: var(--muted); font-weight: 600; }
table.kv th { text-align: left; font-weight: 500; color: var(--muted); padding: 2px 14px 2px 0; vertical-align: top; }
table.kv td { padding: 2px 0; word-break: break-all; }
details.params { margin: 8px 0; padding: 6px 12px; border: 1px solid var(--line); border-radius: 6px; }
details.params summary { cursor: pointer; font-weight: 600; }
section.block { margin-top: 18px; }
.u-legend { font-size: 12px; }
`;

/** The page's script (plain JS, run once the data and uPlot are in). */
const CLIENT_JS = String.raw`(function () {
  "use strict";
  var report = { plots: [], drawn: 0, errors: [], ready: false };
  window.__kvbenchReport = report;
  window.addEventListener("error", function (e) { report.errors.push(String(e.message || e)); });
  var data = JSON.parse(document.getElementById("kvbench-data").textContent);
  var runs = data.runs;
  var PALETTE = data.palette;
  var made = [];

  function get(path) {
    var v = runs[path[0]];
    for (var i = 1; i < path.length; i++) v = v == null ? undefined : v[path[i]];
    return v || [];
  }
  function scaled(ys, percent) {
    if (!percent) return ys;
    return ys.map(function (v) { return v == null ? null : Math.round(v * 1e6) / 1e4; });
  }
  // Group colours: a categorical palette for few groups, else a ramp.
  function rampColor(kind, f) {
    if (kind === "sequential") {
      // dark blue → teal → green → yellow (viridis-like)
      var stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
      var x = Math.max(0, Math.min(1, f)) * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(x)), t = x - i;
      var c = stops[i].map(function (a, k) { return Math.round(a + (stops[i + 1][k] - a) * t); });
      return "rgb(" + c.join(",") + ")";
    }
    return "hsl(" + Math.round(f * 300) + ",75%,45%)";
  }
  // Up to 24 categories past the palette: hues a golden angle apart, in
  // three lightnesses, so neighbours differ (a rainbow ramp of 12+ does not).
  function categorical(i) {
    return "hsl(" + Math.round((i * 137.508) % 360) + "," + (i % 2 ? 62 : 78) + "%," + [42, 30, 55][i % 3] + "%)";
  }
  function groupColors(groups) {
    var n = groups.count, hue = groups.ramp === "hue", levels = hue && n <= 24 ? n : Math.min(n, 24);
    var colors = [];
    for (var i = 0; i < levels; i++) {
      colors.push(hue && n <= PALETTE.length ? PALETTE[i] : hue && n <= 24 ? categorical(i) : rampColor(groups.ramp, levels > 1 ? i / (levels - 1) : 0));
    }
    return { levels: levels, colors: colors, of: function (g) { return levels === n ? g % levels : Math.min(levels - 1, Math.floor(g / n * levels)); } };
  }
  function groupLegend(el, groups, gc) {
    var html = "";
    if (gc.levels === groups.count && (groups.count <= PALETTE.length || groups.ramp === "hue")) {
      for (var i = 0; i < groups.count; i++) {
        html += '<span><span class="swatch" style="background:' + gc.colors[i] + '"></span>' + groups.label + " " + i + "</span>";
      }
    } else {
      html = "<span>" + groups.label + " 0</span><span class=\"ramp\" style=\"background:linear-gradient(90deg," + gc.colors.join(",") + ')"></span><span>' + groups.label + " " + (groups.count - 1) + "</span>";
    }
    el.innerHTML = html;
  }
  function extent(arrays) {
    var lo = Infinity, hi = -Infinity;
    arrays.forEach(function (a) {
      for (var i = 0; i < a.length; i++) { var v = a[i]; if (v != null) { if (v < lo) lo = v; if (v > hi) hi = v; } }
    });
    if (lo === Infinity) { lo = 0; hi = 1; }
    if (lo === hi) { hi = lo + 1; }
    return [lo, hi];
  }
  function lowerBound(a, v) {
    var lo = 0, hi = a.length;
    while (lo < hi) { var m = (lo + hi) >> 1; if (a[m] < v) lo = m + 1; else hi = m; }
    return lo;
  }

  // Points as small squares, in the order of x (later points on top), one
  // fill colour change per change of group.
  function scatterDraw(sets) {
    return function (u) {
      var ctx = u.ctx, bb = u.bbox, sx = u.scales.x, sy = u.scales.y;
      if (sx.min == null || sy.min == null) return;
      var kx = bb.width / (sx.max - sx.min), ky = bb.height / (sy.max - sy.min);
      var r = Math.max(1, Math.round(1.5 * devicePixelRatio)), d = 2 * r;
      var left = bb.left - r, bottom = bb.top + bb.height - r;
      ctx.save();
      ctx.beginPath();
      ctx.rect(bb.left, bb.top, bb.width, bb.height);
      ctx.clip();
      sets.forEach(function (set, si) {
        if (!u.series[si + 1].show) return;
        var xs = set.x, ys = set.y, classOf = set.classOf, colors = set.colors, current = -1;
        var i0 = lowerBound(xs, sx.min), i1 = Math.min(xs.length, lowerBound(xs, sx.max + 1e-9));
        if (!classOf) ctx.fillStyle = colors[0];
        for (var i = i0; i < i1; i++) {
          var y = ys[i];
          if (y == null) continue;
          if (classOf) {
            var c = classOf(i);
            if (c !== current) { ctx.fillStyle = colors[c]; current = c; }
          }
          ctx.fillRect(left + (xs[i] - sx.min) * kx, bottom - (y - sy.min) * ky, d, d);
        }
      });
      ctx.restore();
    };
  }

  function width(el) { return Math.max(280, Math.floor(el.clientWidth || 600)); }

  function build(spec) {
    var fig = document.getElementById(spec.id), target = fig.querySelector(".chart");
    var axisFont = "12px system-ui, sans-serif";
    var axes = [
      { label: spec.xLabel, labelSize: 22, font: axisFont, labelFont: axisFont, stroke: "#444", grid: { stroke: "#eceff1" }, ticks: { stroke: "#ccd" } },
      { label: spec.yLabel, labelSize: 22, font: axisFont, labelFont: axisFont, stroke: "#444", size: 60, grid: { stroke: "#eceff1" }, ticks: { stroke: "#ccd" } }
    ];
    if (spec.integerX) axes[0].incrs = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
    var opts = {
      width: width(target), height: spec.kind === "scatter" ? 300 : 260,
      scales: { x: { time: false } },
      axes: axes,
      cursor: { drag: { x: true, y: false } },
      legend: { live: spec.kind === "line" },
      series: [{ label: spec.xLabel }],
      hooks: {}
    };
    var table;
    if (spec.kind === "scatter") {
      var sets = spec.series.map(function (s) {
        var set = { x: get(s.x), y: scaled(get(s.y), s.percent), colors: [s.color] };
        if (s.colorBy && spec.groups) {
          var groups = get(s.colorBy), gc = groupColors(spec.groups);
          set.colors = gc.colors;
          set.classOf = function (i) { var g = groups[i]; return g == null ? 0 : gc.of(g); };
          groupLegend(fig.querySelector(".groups"), spec.groups, gc);
        }
        return set;
      });
      var xr = extent(sets.map(function (s) { return s.x; }));
      var yr = extent(sets.map(function (s) { return s.y; }));
      if (spec.zero) yr[0] = Math.min(0, yr[0]);
      var pad = (yr[1] - yr[0]) * 0.04;
      opts.scales.y = { auto: false, range: [spec.zero ? yr[0] : yr[0] - pad, yr[1] + pad] };
      opts.scales.x = { time: false, auto: false, range: [xr[0], xr[1] === xr[0] ? xr[0] + 1 : xr[1]] };
      spec.series.forEach(function (s) {
        opts.series.push({ label: s.label, stroke: s.color, fill: s.color, width: 0, paths: function () { return null; }, points: { show: false } });
      });
      table = [[xr[0], xr[1]]].concat(spec.series.map(function () { return [null, null]; }));
      opts.hooks.draw = [scatterDraw(sets)];
      opts.legend.show = spec.series.length > 1;
    } else {
      var tables = spec.series.map(function (s) { return [get(s.x), scaled(get(s.y), s.percent)]; });
      table = tables.length === 1 ? tables[0] : uPlot.join(tables);
      opts.legend.show = spec.series.length > 1;
      spec.series.forEach(function (s) {
        opts.series.push({
          label: s.label, stroke: s.color, width: 1.6, dash: s.dash, spanGaps: false,
          points: { show: !!s.points, size: 5, fill: s.color }
        });
      });
      if (spec.percentAxis) opts.scales.y = { auto: false, range: [0, 100] };
      else if (spec.zero) opts.scales.y = { range: function (u, lo, hi) { return [Math.min(0, lo), hi > 0 ? hi * 1.05 : 1]; } };
    }
    // A line plot's legend shows each series' last value until the cursor
    // picks a point (a screenshot reads values, not "--").
    if (spec.kind !== "scatter" && opts.legend.show) {
      var atLast = function (u) {
        if (u.cursor.idx != null) return;
        var idxs = u.data.map(function (ys) {
          for (var j = ys.length - 1; j >= 0; j--) if (ys[j] != null) return j;
          return null;
        });
        if (idxs[0] != null) u.setLegend({ idxs: idxs });
      };
      opts.hooks.ready = [atLast];
      opts.hooks.setCursor = [atLast];
    }
    var u = new uPlot(opts, table, target);
    made.push({ id: spec.id, u: u, target: target });
  }

  data.plots.forEach(function (spec) {
    report.plots.push(spec.id);
    try { build(spec); } catch (e) { report.errors.push(spec.id + ": " + (e && e.message || e)); }
  });

  // Pixels of a series colour (not grey: grid, axes) inside the plot area,
  // read through one scratch canvas made for reading.
  var scratch = document.createElement("canvas");
  var scratchCtx = scratch.getContext("2d", { willReadFrequently: true });
  function inked(u) {
    var bb = u.bbox;
    if (bb.width <= 0 || bb.height <= 0) return 0;
    scratch.width = bb.width;
    scratch.height = bb.height;
    scratchCtx.clearRect(0, 0, bb.width, bb.height);
    scratchCtx.drawImage(u.ctx.canvas, bb.left, bb.top, bb.width, bb.height, 0, 0, bb.width, bb.height);
    var px = scratchCtx.getImageData(0, 0, bb.width, bb.height).data, n = 0;
    for (var i = 0; i < px.length; i += 4) {
      if (px[i + 3] < 100) continue;
      var hi = Math.max(px[i], px[i + 1], px[i + 2]), lo = Math.min(px[i], px[i + 1], px[i + 2]);
      if (hi - lo > 50) n++;
    }
    return n;
  }
  requestAnimationFrame(function () {
    made.forEach(function (m) {
      try { if (inked(m.u) >= 10) report.drawn++; else report.errors.push(m.id + ": nothing drawn"); }
      catch (e) { report.errors.push(m.id + ": " + (e && e.message || e)); }
    });
    report.ms = Math.round(performance.now());
    report.ready = true;
  });
  var timer = 0;
  window.addEventListener("resize", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      made.forEach(function (m) { m.u.setSize({ width: width(m.target), height: m.u.height }); });
    }, 100);
  });
})();`;

/**
 * What the page embeds of a run: what its plots draw, and the table and
 * figures shown (the request columns no plot draws are left out, to keep the
 * file small).
 */
function embedded(run: RunData): Record<string, unknown> {
  const { t, ttftMs, group, lagMs } = run.requests;
  return {
    name: run.name,
    command: run.command,
    groupBy: run.groupBy,
    groups: run.groups,
    binS: run.binS,
    requests: { t, ttftMs, group, lagMs },
    itl: run.itl,
    cdf: run.cdf,
    timeline: run.timeline,
    serverCache: run.serverCache,
    perTurn: run.perTurn,
    distributions: run.distributions,
    cache: run.cache,
    split: run.split,
  };
}

/**
 * One self-contained HTML document for one run, or several overlaid.
 *
 * @example One run, from records in memory
 * ```ts
 * import { runData } from "./data.ts";
 * import { renderReport } from "./html.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const records = [0, 1, 2, 3].map((i) => testRecord({
 *   session: i, sentAt: i * 400, firstTokenAt: i * 400 + 80, endAt: i * 400 + 300,
 *   chunks: 3, completionTokens: 3, readGaps: [1000, 1100], promptTokens: 1000,
 *   cachedTokens: i > 1 ? 990 : 0, tags: { context: i % 2 }, runStartedAt: 0,
 * }));
 * const run = runData({ source: "run", records: { records, reports: [] } }, { name: "sim" });
 * const html = renderReport([run]);
 * assert.ok(html.startsWith("<!doctype html>"));
 * assert.ok(html.includes('id="plot-ttft"'));
 * assert.ok(html.includes('<script type="application/json" id="kvbench-data">'));
 * assert.ok(!/src=|<link/i.test(html)); // nothing to load
 * ```
 *
 * @example Two runs compared
 * ```ts
 * import { runData } from "./data.ts";
 * import { renderReport } from "./html.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const run = (name: string, ttft: number) => runData({
 *   source: name,
 *   records: { records: [testRecord({ firstTokenAt: ttft, endAt: ttft + 50, chunks: 2, completionTokens: 2 })], reports: [] },
 * }, { name });
 * const html = renderReport([run("offload on", 80), run("offload off", 900)]);
 * assert.ok(html.includes("<title>kvbench compare: offload on vs offload off</title>"));
 * ```
 */
export function renderReport(
  runs: RunData[],
  options: RenderReportOptions = {},
): string {
  if (runs.length === 0) {
    throw new RangeError("Cannot render a report of no run");
  }
  const compare = runs.length > 1;
  const title = options.title ??
    (compare
      ? `kvbench compare: ${runs.map((r) => r.name).join(" vs ")}`
      : `kvbench report: ${runs[0].name}`);
  const specs = plotSpecs(runs);
  const payload = {
    version: 1,
    palette: PALETTE,
    plots: specs,
    runs: runs.map(embedded),
  };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="kvbench report (uPlot ${esc(UPLOT_VERSION)})">
<title>${esc(title)}</title>
<style>
${UPLOT_CSS}
${CSS}
</style>
</head>
<body>
<main>
<header>
<h1>${esc(title)}</h1>
${options.subtitle ? `<p>${esc(options.subtitle)}</p>` : ""}
</header>
<div class="runs">
${runs.map((run, i) => headline(run, i, compare)).join("\n")}
</div>
${(options.sections ?? []).join("\n")}
<section class="plots" id="plots">
${
    specs.length > 0
      ? specs.map(figure).join("\n")
      : `<p class="note">No request was recorded: nothing to plot.</p>`
  }
</section>
<section class="block" id="distributions">
<h2>Latency distributions</h2>
<p class="note">Completed requests, warm-up left out; ITL has one sample per output token after the first read.</p>
${distributionRows(runs)}
</section>
<section class="block" id="parameters">
<h2>Runs</h2>
${runs.map((run, i) => parameters(run, i, compare)).join("\n")}
</section>
</main>
<script type="application/json" id="kvbench-data">${
    scriptJson(payload)
  }</script>
<script id="kvbench-uplot">
/*! uPlot ${UPLOT_VERSION}, inlined from the npm package uplot. Its licence:

${UPLOT_LICENSE.replaceAll("*/", "* /").trim()}
*/
${UPLOT_JS.replaceAll("</script", "<\\/script")}
</script>
<script>
${CLIENT_JS}
</script>
</body>
</html>
`;
}
