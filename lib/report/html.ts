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
 * and client lag over time; of a replay, its fidelity (theoretical against
 * reported cached tokens, intended against reported prompt length) and the
 * mismatch table; of `--verify`, each reused context's warm answer against
 * its cold reference. Each run's headline shows its pre-flight (and whether
 * `--force` ran it past a refusal), its verdict and KV split. Then the
 * percentile table, and each run's parameters, engine and machine.
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
import { CLIENT_JS, CSS } from "./page_script.ts";
import { fidelityTable } from "./fidelity.ts";
import { preflightBlock, preflightOf } from "./preflight.ts";
import { verifyTable } from "./verify.ts";
import {
  GROUP_PALETTE,
  PALETTE,
  type PlotSpec,
  plotSpecs,
  runColor,
  TIERS,
} from "./plots.ts";
import { escapeHtml } from "./_escape.ts";

/** Options of {@linkcode renderReport}. */
export interface RenderReportOptions {
  /** The page's title (default: `kvbench report: NAME`, or `kvbench compare: A vs B`). */
  title?: string;
  /** A line under the title, e.g. when and how the report was made. */
  subtitle?: string;
  /** HTML sections placed under the runs' headlines (e.g. `kvbench compare`'s table); inserted as given. */
  sections?: string[];
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

function swatch(color: string): string {
  return `<span class="swatch" style="background:${color}"></span>`;
}

function figure(spec: PlotSpec): string {
  return `<figure class="plot${
    spec.kind === "line" && spec.id.startsWith("plot-cdf") ? " half" : ""
  }" id="${spec.id}">
<figcaption><h3>${escapeHtml(spec.title)}</h3>${
    spec.note ? `<p class="note">${escapeHtml(spec.note)}</p>` : ""
  }</figcaption>
<div class="chart" role="img" aria-label="${escapeHtml(spec.title)}: ${
    escapeHtml(spec.yLabel)
  } against ${escapeHtml(spec.xLabel)}"></div>
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
    percentiles.map((p) => `<th>p${escapeHtml(p)}</th>`).join("")
  }<th>max</th><th>count</th></tr>`;
  const rows: string[] = [];
  for (const [label, get] of metrics) {
    runs.forEach((run, i) => {
      const d = get(run);
      if (d === undefined) return;
      rows.push(
        `<tr><th>${escapeHtml(label)}</th>${
          compare
            ? `<td class="run">${swatch(runColor(i))}${
              escapeHtml(run.name)
            }</td>`
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
      }%;background:${color}" title="${escapeHtml(label)} ${
        pct(v / s.prompt)
      }"></span>`
    ).join("")
  }</div><p class="legend">KV source (server counters): ${
    int(s.prompt)
  } prompt tokens: ${
    shown.map(([label, v, color]) =>
      `${swatch(color)}${pct(v / s.prompt)} ${escapeHtml(label)}`
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
<h2>${compare ? swatch(runColor(i)) : ""}${escapeHtml(run.name)}</h2>
<p class="where">${where.map(escapeHtml).join(" · ")}</p>
${preflightBlock(run.preflight, i)}
<dl class="facts">${
    facts.map(([k, v]) =>
      `<div><dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd></div>`
    )
      .join("")
  }</dl>
${
    run.verdict
      ? `<p class="verdict"><strong>Verdict.</strong> ${
        escapeHtml(run.verdict.replace(/^Verdict:\s*/, ""))
      }</p>`
      : ""
  }
${splitBar(run)}
${
    notes.length
      ? `<p class="note">${notes.map(escapeHtml).join("; ")}.</p>`
      : ""
  }
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
  return `<h4>${escapeHtml(title)}</h4><table class="kv">${
    shown.map(([k, v]) =>
      `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(valueText(v))}</td></tr>`
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
    escapeHtml(run.name)
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
${
    keyValues(
      "Parameters",
      // The pre-flight has its own block under the headline.
      objectEntries(r.params).filter(([k]) =>
        k !== "preflight" || preflightOf(r.params) === undefined
      ),
    )
  }
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
    fidelity: run.fidelity,
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
    groupPalette: GROUP_PALETTE,
    plots: specs,
    runs: runs.map(embedded),
  };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="kvbench report (uPlot ${
    escapeHtml(UPLOT_VERSION)
  })">
<title>${escapeHtml(title)}</title>
<style>
${UPLOT_CSS}
${CSS}
</style>
</head>
<body>
<main>
<header>
<h1>${escapeHtml(title)}</h1>
${options.subtitle ? `<p>${escapeHtml(options.subtitle)}</p>` : ""}
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
${fidelityTable(runs)}
${verifyTable(runs)}
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
