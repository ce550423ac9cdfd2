/**
 * The HTML report's plots: which plots the runs have data for, each a spec
 * (id, title, note, axes, series as references into the embedded data) that
 * the page's script draws. One builder per plot, in the page's order.
 *
 * @module
 */
import type { RunData } from "./run_types.ts";

/**
 * Colours of runs (compare) and of few groups.
 *
 * @example Usage
 * ```ts
 * import { PALETTE } from "./plots.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(PALETTE.length, 10);
 * ```
 */
export const PALETTE: readonly string[] = [
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

/**
 * Colours of 11 to 24 groups (contexts, turns): the first nine of
 * {@linkcode PALETTE} (its grey left out: the axes' colour), then colours
 * picked greedily, each the farthest in CIELAB from those before it (sRGB
 * candidates of lightness 28-78 and chroma ≥ 30, readable on white): no two
 * closer than ΔE 27 (a 24-step hue ramp has neighbours ΔE 6 apart).
 *
 * @example Usage
 * ```ts
 * import { GROUP_PALETTE, PALETTE } from "./plots.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(GROUP_PALETTE.length, 24);
 * assert.equal(new Set(GROUP_PALETTE).size, 24);
 * assert.deepEqual(GROUP_PALETTE.slice(0, 9), PALETTE.slice(0, 9));
 * ```
 */
export const GROUP_PALETTE: readonly string[] = [
  ...PALETTE.slice(0, 9),
  "#0000ff",
  "#ff22ff",
  "#115533",
  "#6600aa",
  "#99bb88",
  "#ff0077",
  "#886600",
  "#00dd00",
  "#ffaa77",
  "#0066ff",
  "#880044",
  "#dd00aa",
  "#00cc99",
  "#ff7788",
  "#dd77ff",
];

/**
 * Colours of the server's tiers.
 *
 * @example Usage
 * ```ts
 * import { TIERS } from "./plots.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(TIERS.map((t) => t.key), ["computed", "device", "offload", "cached"]);
 * ```
 */
export const TIERS = [
  { key: "computed", label: "computed", color: "#d62728" },
  { key: "device", label: "GPU prefix cache", color: "#1f77b4" },
  { key: "offload", label: "offload tier", color: "#ff7f0e" },
  { key: "cached", label: "cached (tier not named)", color: "#9467bd" },
] as const;

/** A reference to an array of the embedded data: run index, then keys. */
export type DataPath = [number, ...string[]];

/** One series of a plot. */
export interface SeriesSpec {
  /** Its legend. */
  label: string;
  /** Its colour. */
  color: string;
  /** Its x values. */
  x: DataPath;
  /** Its y values. */
  y: DataPath;
  /** Its line's dash pattern. */
  dash?: number[];
  /** Multiply y by 100 (fractions shown as %). */
  percent?: boolean;
  /** Colour each point by this array's group index. */
  colorBy?: DataPath;
  /** Draw its points. */
  points?: boolean;
  /** In a scatter plot: a line through its points instead of points. */
  joined?: boolean;
}

/** One plot of the page. */
export interface PlotSpec {
  /** Its `<figure>`'s id. */
  id: string;
  /** Its title. */
  title: string;
  /** What it shows, under the title. */
  note?: string;
  /** The x axis' label, with its unit. */
  xLabel: string;
  /** The y axis' label, with its unit. */
  yLabel: string;
  /** Points or lines. */
  kind: "scatter" | "line";
  /** Its series. */
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

/**
 * The colour of run `i` (the palette's, cycled).
 *
 * @example Usage
 * ```ts
 * import { PALETTE, runColor } from "./plots.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(runColor(0), PALETTE[0]);
 * assert.equal(runColor(PALETTE.length + 1), PALETTE[1]);
 * ```
 */
export function runColor(i: number): string {
  return PALETTE[i % PALETTE.length];
}

/** The time bins' width of the runs: `1 s` when they share one, else per-run. */
function binText(runs: RunData[]): string {
  const widths = [...new Set(runs.map((r) => r.binS))];
  return widths.length === 1 ? `${widths[0]} s` : "per-run";
}

/** What every plot builder works from. */
interface PlotContext {
  runs: RunData[];
  compare: boolean;
  /** One series per run, labelled and coloured by run. */
  each: (
    make: (run: RunData, i: number) => Omit<SeriesSpec, "label" | "color">[],
  ) => SeriesSpec[];
  /** Whether a run has it. */
  has: (pred: (run: RunData) => boolean) => boolean;
}

/** TTFT over time, coloured by context or turn for one run. */
function ttftPlots(ctx: PlotContext): PlotSpec[] {
  const { runs, compare, has } = ctx;
  const specs: PlotSpec[] = [];
  if (has((r) => r.requests.ttftMs.some((v) => v !== null))) {
    const groupBy = runs[0].groupBy;
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
  return specs;
}

/** ITL over time: one point per output read after the first. */
function itlPlots(ctx: PlotContext): PlotSpec[] {
  const { runs, each, has } = ctx;
  const specs: PlotSpec[] = [];
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
  return specs;
}

/** The CDFs of TTFT, TPOT, ITL and E2E. */
function cdfPlots(ctx: PlotContext): PlotSpec[] {
  const { each, has } = ctx;
  const specs: PlotSpec[] = [];
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
  return specs;
}

/** The client's cache hit rate over time. */
function clientCachePlots(ctx: PlotContext): PlotSpec[] {
  const { runs, each, has } = ctx;
  const specs: PlotSpec[] = [];
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
  return specs;
}

/** The server's prompt tokens by KV tier over time. */
function serverCachePlots(ctx: PlotContext): PlotSpec[] {
  const { runs, compare, has } = ctx;
  const specs: PlotSpec[] = [];
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
  return specs;
}

/** Mean TTFT and hit rate by turn (trie). */
function turnPlots(ctx: PlotContext): PlotSpec[] {
  const { each, has } = ctx;
  const specs: PlotSpec[] = [];
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
  return specs;
}

/** Throughput, requests in flight and client lag over time, when a run has records. */
function timelinePlots(ctx: PlotContext): PlotSpec[] {
  const { runs, each, has } = ctx;
  const specs: PlotSpec[] = [];
  if (!has((r) => r.records.total > 0)) return specs;
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
  return specs;
}

/** A replay's fidelity: theory against server, each with its y = x line. */
function fidelityPlots(ctx: PlotContext): PlotSpec[] {
  const { runs, compare, has } = ctx;
  const specs: PlotSpec[] = [];
  const plots = [
    {
      key: "cached",
      x: "theory",
      y: "server",
      id: "plot-fidelity-cached",
      title: "Cached tokens: theory against server",
      note:
        "One point per completed request of the trace that reported cached_tokens: the trace's theoretical cached tokens (its hash ids, unbounded cache) against the server's cached_tokens. Points off the y = x line differ from the theory.",
      xLabel: "theoretical cached tokens (tokens)",
      yLabel: "reported cached_tokens (tokens)",
    },
    {
      key: "length",
      x: "intended",
      y: "prompt",
      id: "plot-fidelity-length",
      title: "Prompt length: trace against server",
      note:
        "One point per completed request of the trace that reported prompt_tokens: the trace's input_length against the server's prompt_tokens. Points off the y = x line drifted.",
      xLabel: "intended prompt length, input_length (tokens)",
      yLabel: "reported prompt_tokens (tokens)",
    },
  ] as const;
  for (const p of plots) {
    const points = (r: RunData): number =>
      r.fidelity === undefined
        ? 0
        : (r.fidelity[p.key] as Record<string, number[]>)[p.x].length;
    if (!has((r) => points(r) > 0)) continue;
    const series: SeriesSpec[] = [];
    runs.forEach((run, i) => {
      if (run.fidelity === undefined) return;
      series.push({
        label: run.name,
        color: runColor(i),
        x: [i, "fidelity", p.key, p.x],
        y: [i, "fidelity", p.key, p.y],
      });
    });
    runs.forEach((run, i) => {
      if (run.fidelity === undefined) return;
      series.push({
        label: compare ? `${run.name}: y = x` : "y = x",
        color: compare ? runColor(i) : "#7f7f7f",
        dash: [6, 4],
        x: [i, "fidelity", "diagonal", p.key],
        y: [i, "fidelity", "diagonal", p.key],
        joined: true,
      });
    });
    const { key: _k, x: _x, y: _y, ...text } = p;
    specs.push({ ...text, kind: "scatter", zero: true, series });
  }
  return specs;
}

/** The plot builders, in the page's order. */
const PLOTS: readonly ((ctx: PlotContext) => PlotSpec[])[] = [
  ttftPlots,
  itlPlots,
  cdfPlots,
  clientCachePlots,
  serverCachePlots,
  turnPlots,
  fidelityPlots,
  timelinePlots,
];

/**
 * The plots the runs have data for, in the page's order (a trie run's
 * per-turn plots right after TTFT).
 *
 * @example Usage
 * ```ts
 * import { plotSpecs } from "./plots.ts";
 * import { runData } from "./run_data.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const records = [0, 1].map((i) => testRecord({
 *   session: i, sentAt: i * 400, firstTokenAt: i * 400 + 80, endAt: i * 400 + 300,
 *   chunks: 3, completionTokens: 3, readGaps: [1000, 1100], runStartedAt: 0,
 * }));
 * const run = runData({ source: "run", records: { records, reports: [] } });
 * assert.deepEqual(plotSpecs([run]).map((s) => s.id), [
 *   "plot-ttft", "plot-itl", "plot-cdf-ttft", "plot-cdf-tpot", "plot-cdf-itl",
 *   "plot-cdf-e2e", "plot-throughput", "plot-inflight", "plot-lag",
 * ]);
 * ```
 */
export function plotSpecs(runs: RunData[]): PlotSpec[] {
  const compare = runs.length > 1;
  const each: PlotContext["each"] = (make) =>
    runs.flatMap((run, i) =>
      make(run, i).map((s) => ({ label: run.name, color: runColor(i), ...s }))
    );
  const has: PlotContext["has"] = (pred) => runs.some(pred);
  const ctx: PlotContext = { runs, compare, each, has };
  const specs = PLOTS.flatMap((plot) => plot(ctx));
  if (runs.every((r) => r.groupBy === "turn")) {
    // Per-turn plots first after TTFT: they say the most about a trace replay.
    const order = ["plot-ttft", "plot-turn-ttft", "plot-turn-hit"];
    specs.sort((a, b) => {
      const ia = order.indexOf(a.id), ib = order.indexOf(b.id);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    });
  }
  return specs;
}
