/**
 * Latency distributions of a run, as `vllm bench serve` and AIPerf users
 * read them: percentiles of TTFT, time to first answer token, TPOT, ITL, E2E
 * and per-request decode rate; client lag; goodput against SLOs; whether the
 * server reported usage and cached tokens, and counted the prompts as meant.
 * Fed record by record (constant work per record), so a run of any length
 * can report them; every figure comes from {@linkcode requestFigures}, one
 * distribution per row of the figure table (`figure_table.ts`). The
 * per-second rates divide by the measured time (from the first measured
 * send: `measured_clock.ts`); goodput counts every measured request,
 * completed or failed ({@linkcode meetsSlos} states the rule).
 *
 * @module
 */
import { renderTable } from "../format/table.ts";
import type { RequestRecord } from "../types.ts";
import { type RequestFigures, requestFigures } from "./figures.ts";
import { MeasuredClock } from "./measured_clock.ts";
import { FIGURE_TABLE } from "./figure_table.ts";
import { CountedSamples, Samples } from "./samples.ts";

/** Service-level objectives a request must meet to count as goodput (ms). */
export interface Slos {
  /** Time to first token at most this. */
  ttftMs?: number;
  /** Time per output token at most this. */
  tpotMs?: number;
  /** End-to-end latency at most this. */
  e2eMs?: number;
}

/** The default percentiles (vLLM's `--metric-percentiles` default is 99; these add the median and p90). */
export const DEFAULT_PERCENTILES: readonly number[] = [50, 90, 99];

/** One distribution: count, mean, the percentiles asked for, max. */
export interface Distribution {
  /** Samples. */
  count: number;
  /** Arithmetic mean. */
  mean: number;
  /** Percentile → value, e.g. `{ "50": 12.5, "99": 40 }`. */
  percentiles: Record<string, number>;
  /** Largest sample. */
  max: number;
}

/** What {@linkcode LatencyDistributions.summary} reports. */
export interface DistributionSummary {
  /** Completed requests counted (warm-up excluded). */
  completed: number;
  /** Failed requests (aborted ones excluded), warm-up excluded. */
  failed: number;
  /** Warm-up requests left out. */
  warmup: number;
  /** Time to first token, ms (the figure table's `ttft_ms`). */
  ttftMs?: Distribution;
  /** Time to the first answer token (after any reasoning), ms. */
  firstAnswerMs?: Distribution;
  /** Time per output token, ms. */
  tpotMs?: Distribution;
  /** Inter-token latencies, ms (one per output event after the first read). */
  itlMs?: Distribution;
  /** End-to-end latency, ms. */
  e2eMs?: Distribution;
  /** Per-request decode rate, tokens per second. */
  decodeTps?: Distribution;
  /** Client lag (sent − scheduled), ms: p50, p99 and max. */
  lagMs?: { p50: number; p99: number; max: number };
  /** Output tokens of the completed requests. */
  outputTokens: number;
  /** Output tokens per second of the measured time, when the elapsed time was given. */
  outputTokensPerS?: number;
  /**
   * The measured time the per-second rates divide by, ms: the run's elapsed
   * time from the first measured send (a warm-up's time left out).
   */
  measuredMs?: number;
  /** Requests whose decode window could not be measured (all output after the first in one read). */
  decodeUnmeasured: number;
  /** Requests that streamed reasoning, and their reasoning events. */
  reasoning: { requests: number; events: number };
  /** Completed requests whose server sent no `usage`. */
  withoutUsage: number;
  /** Completed requests whose usage had no `cached_tokens`. */
  cachedNotReported: number;
  /** Σ prompt tokens the server counted, and Σ meant, over requests with both. */
  promptTokens?: { reported: number; expected: number; requests: number };
  /**
   * Goodput against the SLOs, when given: `requests` met every SLO, of
   * `measured` (completed and failed, warm-up and aborted ones left out);
   * `fraction` = requests / measured; `perS` over the measured time.
   */
  goodput?: {
    slos: Slos;
    requests: number;
    measured: number;
    fraction: number;
    perS?: number;
  };
  /** Requests re-sent on a fresh connection after a dead kept-alive one. */
  resent: number;
}

/** Options of {@linkcode LatencyDistributions}. */
export interface LatencyDistributionsOptions {
  /** SLOs for goodput, checked as records arrive (default: none, no goodput). */
  slos?: Slos;
}

/** Options of {@linkcode LatencyDistributions.summary}. */
export interface SummaryOptions {
  /** Percentiles to report (default {@linkcode DEFAULT_PERCENTILES}). */
  percentiles?: readonly number[];
  /**
   * The run's elapsed time, ms, for the per-second rates (which divide by
   * its measured part: from the first measured send, see
   * {@linkcode MeasuredClock}).
   */
  elapsedMs?: number;
}

/**
 * The distributions of a run, fed every record as it completes.
 *
 * @example Two requests, summarised
 * ```ts
 * import { LatencyDistributions } from "./distributions.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const d = new LatencyDistributions({ slos: { ttftMs: 200 } });
 * d.add(testRecord({ firstTokenAt: 100, endAt: 300, chunks: 3, completionTokens: 3, readGaps: [1000, 1000] }));
 * d.add(testRecord({ firstTokenAt: 300, endAt: 700, chunks: 3, completionTokens: 3, readGaps: [2000, 2000] }));
 * const s = d.summary({ percentiles: [50], elapsedMs: 1000 });
 * assert.equal(s.ttftMs!.percentiles["50"], 200); // between 100 and 300
 * assert.equal(s.tpotMs!.mean, 150); // (100 + 200) / 2
 * assert.deepEqual(s.itlMs!.percentiles, { "50": 150 }); // 100 100 200 200
 * assert.equal(s.outputTokensPerS, 6); // 6 tokens in 1 s
 * assert.equal(s.goodput!.requests, 1); // only the first has TTFT ≤ 200 ms
 * ```
 */
export class LatencyDistributions {
  #samples = FIGURE_TABLE.map((row) =>
    row.perEvent ? new CountedSamples() : new Samples()
  );
  #lag = new Samples();
  #completed = 0;
  #failed = 0;
  #warmup = 0;
  #outputTokens = 0;
  #decodeUnmeasured = 0;
  #reasoningRequests = 0;
  #reasoningEvents = 0;
  #withoutUsage = 0;
  #cachedNotReported = 0;
  #promptReported = 0;
  #promptExpected = 0;
  #promptRequests = 0;
  #resent = 0;
  #slos: Slos | undefined;
  #good = 0;
  #clock = new MeasuredClock();

  /** Empty distributions; `slos` are what goodput counts against. */
  constructor(options: LatencyDistributionsOptions = {}) {
    const slos = options.slos;
    this.#slos = slos !== undefined && Object.keys(slos).length > 0
      ? slos
      : undefined;
  }

  /** Count one record (warm-up and aborted ones are only counted as such). */
  add(record: RequestRecord): void {
    this.#clock.add(record);
    const f = requestFigures(record);
    if (f.warmup) {
      this.#warmup++;
      return;
    }
    if (record.error?.kind === "aborted") return;
    this.#resent += record.resent ?? 0;
    if (!f.ok) {
      this.#failed++;
      return;
    }
    this.#completed++;
    this.#lag.add(f.lagMs);
    this.#outputTokens += f.outputTokens ?? 0;
    FIGURE_TABLE.forEach((row, i) => {
      const v = row.samples(f, record);
      if (v === undefined) return;
      const samples = this.#samples[i];
      if (typeof v === "number") samples.add(v);
      else for (const x of v) samples.add(x);
    });
    if (f.decodeUnmeasured) this.#decodeUnmeasured++;
    if (f.reasoningEvents > 0) {
      this.#reasoningRequests++;
      this.#reasoningEvents += f.reasoningEvents;
    }
    if (f.outputTokensFrom !== "usage") this.#withoutUsage++;
    else if (f.cachedTokens === undefined) this.#cachedNotReported++;
    if (
      f.promptTokens !== undefined && record.expectedPromptTokens !== undefined
    ) {
      this.#promptReported += f.promptTokens;
      this.#promptExpected += record.expectedPromptTokens;
      this.#promptRequests++;
    }
    if (this.#slos !== undefined && meetsSlos(f, this.#slos)) this.#good++;
  }

  /** The figures so far. */
  summary(options: SummaryOptions = {}): DistributionSummary {
    const ps = options.percentiles ?? DEFAULT_PERCENTILES;
    const dist = (s: Samples | CountedSamples): Distribution | undefined => {
      if (s.count === 0) return undefined;
      const percentiles: Record<string, number> = {};
      for (const p of ps) percentiles[String(p)] = s.percentile(p);
      return { count: s.count, mean: s.mean(), percentiles, max: s.max() };
    };
    const measuredMs = options.elapsedMs === undefined
      ? undefined
      : this.#clock.measuredMs(options.elapsedMs);
    const seconds = measuredMs === undefined ? undefined : measuredMs / 1000;
    const summary: DistributionSummary = {
      completed: this.#completed,
      failed: this.#failed,
      warmup: this.#warmup,
      outputTokens: this.#outputTokens,
      decodeUnmeasured: this.#decodeUnmeasured,
      reasoning: {
        requests: this.#reasoningRequests,
        events: this.#reasoningEvents,
      },
      withoutUsage: this.#withoutUsage,
      cachedNotReported: this.#cachedNotReported,
      resent: this.#resent,
    };
    FIGURE_TABLE.forEach((row, i) => {
      summary[row.field] = dist(this.#samples[i]);
    });
    if (measuredMs !== undefined) summary.measuredMs = measuredMs;
    if (this.#lag.count > 0) {
      summary.lagMs = {
        p50: this.#lag.percentile(50),
        p99: this.#lag.percentile(99),
        max: this.#lag.max(),
      };
    }
    if (seconds !== undefined && seconds > 0) {
      summary.outputTokensPerS = this.#outputTokens / seconds;
    }
    if (this.#promptRequests > 0) {
      summary.promptTokens = {
        reported: this.#promptReported,
        expected: this.#promptExpected,
        requests: this.#promptRequests,
      };
    }
    const slos = this.#slos;
    if (slos !== undefined) {
      const good = this.#good;
      const measured = this.#completed + this.#failed;
      summary.goodput = {
        slos,
        requests: good,
        measured,
        fraction: measured > 0 ? good / measured : 0,
      };
      if (seconds !== undefined && seconds > 0) {
        summary.goodput.perS = good / seconds;
      }
    }
    return summary;
  }
}

/**
 * Whether one request meets every SLO given (the goodput rule): a failed
 * request meets none; a TTFT target needs a TTFT; a TPOT target needs a
 * measured TPOT, except for a response of at most one output token, which
 * had no decode to judge and is judged on its other targets (as vLLM's
 * `--goodput` does, whose TPOT of a one-token output is 0); a burst whose
 * decode window could not be measured fails it.
 *
 * @example Usage
 * ```ts
 * import { meetsSlos } from "./distributions.ts";
 * import { requestFigures } from "./figures.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const one = requestFigures(testRecord({ firstTokenAt: 80, endAt: 90, completionTokens: 1 }));
 * assert.equal(meetsSlos(one, { ttftMs: 100, tpotMs: 5 }), true);
 * assert.equal(meetsSlos(one, { ttftMs: 50 }), false);
 * const failed = requestFigures(testRecord({ ok: false, endAt: 10 }));
 * assert.equal(meetsSlos(failed, { e2eMs: 1000 }), false);
 * ```
 */
export function meetsSlos(f: RequestFigures, slos: Slos): boolean {
  if (!f.ok) return false;
  if (slos.ttftMs !== undefined && !((f.ttftMs ?? NaN) <= slos.ttftMs)) {
    return false;
  }
  if (slos.tpotMs !== undefined && (f.outputTokens ?? 0) > 1) {
    if (!((f.tpotMs ?? NaN) <= slos.tpotMs)) return false;
  }
  return slos.e2eMs === undefined || f.e2eMs <= slos.e2eMs;
}

/**
 * Parse SLOs as vLLM's `--goodput` takes them: `ttft:500,tpot:50` (spaces
 * work too), milliseconds; keys `ttft`, `tpot`, `e2el` (or `e2e`).
 *
 * @example Usage
 * ```ts
 * import { parseSlos } from "./distributions.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseSlos("ttft:500,tpot:50"), { ttftMs: 500, tpotMs: 50 });
 * assert.deepEqual(parseSlos("e2el:2000"), { e2eMs: 2000 });
 * assert.throws(() => parseSlos("ttft=500"), /Cannot read SLO "ttft=500"/);
 * ```
 */
export function parseSlos(text: string): Slos {
  const slos: Slos = {};
  for (const part of text.split(/[,\s]+/).filter((p) => p !== "")) {
    const m = /^(ttft|tpot|e2el|e2e):(\d+(?:\.\d+)?)$/.exec(part);
    if (m === null) {
      throw new RangeError(
        `Cannot read SLO "${part}": expected KEY:MILLISECONDS with KEY one of ttft, tpot, e2el`,
      );
    }
    const ms = Number(m[2]);
    if (m[1] === "ttft") slos.ttftMs = ms;
    else if (m[1] === "tpot") slos.tpotMs = ms;
    else slos.e2eMs = ms;
  }
  if (Object.keys(slos).length === 0) {
    throw new RangeError(`Cannot read SLOs "${text}": none given`);
  }
  return slos;
}

/**
 * The SLOs a run wrote in its parameters, in either form the commands write
 * them: `slos: { ttftMs, tpotMs, e2eMs }` (benchmark) or `goodput:
 * "ttft:500,tpot:50"` (trie); undefined when it had none.
 *
 * @example Usage
 * ```ts
 * import { slosOfParams } from "./distributions.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(slosOfParams({ slos: { ttftMs: 500 } }), { ttftMs: 500 });
 * assert.deepEqual(slosOfParams({ goodput: "tpot:50" }), { tpotMs: 50 });
 * assert.equal(slosOfParams({ slos: null }), undefined);
 * ```
 */
export function slosOfParams(
  params: Record<string, unknown> | undefined,
): Slos | undefined {
  const g = params?.slos ?? params?.goodput;
  if (typeof g === "string") return parseSlos(g);
  if (g === null || typeof g !== "object") return undefined;
  const slos: Slos = {};
  for (const key of ["ttftMs", "tpotMs", "e2eMs"] as const) {
    const v = (g as Record<string, unknown>)[key];
    if (typeof v === "number") slos[key] = v;
  }
  return Object.keys(slos).length > 0 ? slos : undefined;
}

/**
 * Parse a list of percentiles: `50,90,99` (or `p50,p99.9`).
 *
 * @example Usage
 * ```ts
 * import { parsePercentiles } from "./distributions.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parsePercentiles("50,90,99.9"), [50, 90, 99.9]);
 * assert.throws(() => parsePercentiles("50,101"), /Cannot use percentile "101"/);
 * ```
 */
export function parsePercentiles(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(/[,\s]+/).filter((p) => p !== "")) {
    const p = Number(part.replace(/^p/i, ""));
    if (part.trim() === "" || !Number.isFinite(p) || p < 0 || p > 100) {
      throw new RangeError(
        `Cannot use percentile "${part}": expected a number in [0, 100]`,
      );
    }
    out.push(p);
  }
  if (out.length === 0) {
    throw new RangeError("Cannot use an empty percentile list");
  }
  return out;
}

/** Options of {@linkcode renderDistributions}. */
export interface RenderDistributionsOptions {
  /** The transport the run used, printed last (e.g. `http1`). */
  transport?: string;
}

const fmt = (x: number, digits = 2): string =>
  Number.isFinite(x)
    ? x.toLocaleString("en-US", {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    })
    : "-";

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

function sloText(slos: Slos): string {
  const parts: string[] = [];
  if (slos.ttftMs !== undefined) parts.push(`TTFT ≤ ${slos.ttftMs} ms`);
  if (slos.tpotMs !== undefined) parts.push(`TPOT ≤ ${slos.tpotMs} ms`);
  if (slos.e2eMs !== undefined) parts.push(`E2E ≤ ${slos.e2eMs} ms`);
  return parts.join(", ");
}

/**
 * The distributions as text: a table (mean, the percentiles, max, count per
 * metric), then one line each for output throughput, client lag, goodput,
 * reasoning, what the server did not report, and the transport.
 *
 * @example Usage
 * ```ts
 * import { LatencyDistributions, renderDistributions } from "./distributions.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const d = new LatencyDistributions();
 * d.add(testRecord({ firstTokenAt: 100, endAt: 300, chunks: 3, completionTokens: 3 }));
 * const text = renderDistributions(d.summary({ percentiles: [50] }), { transport: "http1" });
 * assert.ok(text.includes("Latency distributions"));
 * assert.ok(text.includes("Transport: http1"));
 * assert.ok(text.includes("Cache hits: not reported by the server"));
 * ```
 */
export function renderDistributions(
  summary: DistributionSummary,
  options: RenderDistributionsOptions = {},
): string {
  const rows: string[][] = [];
  let percentiles: string[] = [];
  const row = (label: string, d: Distribution | undefined): void => {
    if (d === undefined) return;
    percentiles = Object.keys(d.percentiles);
    rows.push([
      label,
      fmt(d.mean),
      ...percentiles.map((p) => fmt(d.percentiles[p])),
      fmt(d.max),
      String(d.count),
    ]);
  };
  for (const figure of FIGURE_TABLE) {
    if (figure.onlyWithReasoning && summary.reasoning.requests === 0) continue;
    row(figure.label, summary[figure.field]);
  }
  const lines: string[] = [""];
  if (rows.length > 0) {
    lines.push(
      renderTable(
        [
          { header: "Metric" },
          { header: "mean" },
          ...percentiles.map((p) => ({ header: `p${p}` })),
          { header: "max" },
          { header: "count" },
        ],
        rows,
        { title: "Latency distributions" },
      ).trimEnd(),
    );
  }
  const group = (n: number): string => n.toLocaleString("en-US");
  const out = [
    `Requests: ${group(summary.completed)} completed, ${
      group(summary.failed)
    } failed`,
  ];
  if (summary.warmup > 0) {
    out[0] += ` (${group(summary.warmup)} warm-up left out)`;
  }
  out.push(
    `Output tokens: ${summary.outputTokens.toLocaleString("en-US")}` +
      (summary.outputTokensPerS === undefined
        ? ""
        : ` (${fmt(summary.outputTokensPerS)} tok/s)`),
  );
  if (summary.lagMs !== undefined) {
    out.push(
      `Client lag (sent − scheduled, ms): p50 ${fmt(summary.lagMs.p50)}, p99 ${
        fmt(summary.lagMs.p99)
      }, max ${fmt(summary.lagMs.max)}`,
    );
  }
  if (summary.goodput !== undefined) {
    const g = summary.goodput;
    out.push(
      `Goodput (${sloText(g.slos)}): ${g.requests} of ${g.measured} requests (${
        pct(g.fraction)
      })` +
        (g.perS === undefined ? "" : `, ${fmt(g.perS)} req/s`),
    );
  }
  if (summary.decodeUnmeasured > 0) {
    out.push(
      `Decode rate not measurable for ${summary.decodeUnmeasured} requests: their output after the first token arrived in one burst`,
    );
  }
  if (summary.reasoning.requests > 0) {
    out.push(
      `Reasoning: ${summary.reasoning.requests} requests streamed ${summary.reasoning.events} reasoning events (counted as output; TTFT at the first token of any kind)`,
    );
  }
  if (summary.withoutUsage > 0) {
    out.push(
      `Usage: not sent for ${summary.withoutUsage} requests (output tokens estimated: max_tokens at finish_reason length, else one per event)`,
    );
  }
  const reportedUsage = summary.completed - summary.withoutUsage;
  if (reportedUsage > 0 && summary.cachedNotReported === reportedUsage) {
    out.push(
      "Cache hits: not reported by the server (no usage.prompt_tokens_details.cached_tokens; vLLM needs --enable-prompt-tokens-details, SGLang --enable-cache-report)",
    );
  }
  const p = summary.promptTokens;
  if (p !== undefined && p.expected > 0) {
    const off = p.reported / p.expected - 1;
    if (Math.abs(off) > 0.01) {
      out.push(
        `Prompt tokens: the server counted ${
          fmt(p.reported / p.requests, 0)
        } per request where ${fmt(p.expected / p.requests, 0)} were meant (${
          off > 0 ? "+" : ""
        }${
          (off * 100).toFixed(1)
        }%): its tokenizer or template is not the one the workload was sized with`,
      );
    }
  }
  if (summary.resent > 0) {
    out.push(
      `Re-sent on a fresh connection (a kept-alive one was closed by the server): ${summary.resent}`,
    );
  }
  if (options.transport !== undefined) {
    out.push(`Transport: ${options.transport}`);
  }
  return [...lines, ...out].join("\n") + "\n";
}
