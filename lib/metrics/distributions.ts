/**
 * Latency distributions of a run, as `vllm bench serve` and AIPerf users
 * read them: percentiles of TTFT, time to first answer token, TPOT, ITL, E2E
 * and per-request decode rate; client lag; goodput against SLOs; whether the
 * server reported usage and cached tokens, and counted the prompts as meant.
 * Fed record by record (constant work per record), so a run of any length
 * can report them; every figure comes from {@linkcode requestFigures}.
 *
 * @module
 */
import { renderTable } from "../format/table.ts";
import type { RequestRecord } from "../types.ts";
import { interTokenLatencies, requestFigures } from "./figures.ts";
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
  /** Time to first token, ms. */
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
  /** Output tokens per second of the elapsed time, when it was given. */
  outputTokensPerS?: number;
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
  /** Goodput against the SLOs, when given. */
  goodput?: { slos: Slos; requests: number; fraction: number; perS?: number };
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
  /** The run's elapsed time, ms, for the per-second rates. */
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
  #ttft = new Samples();
  #firstAnswer = new Samples();
  #tpot = new Samples();
  #e2e = new Samples();
  #decode = new Samples();
  #lag = new Samples();
  #itl = new CountedSamples();
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

  /** Empty distributions; `slos` are what goodput counts against. */
  constructor(options: LatencyDistributionsOptions = {}) {
    const slos = options.slos;
    this.#slos = slos !== undefined && Object.keys(slos).length > 0
      ? slos
      : undefined;
  }

  /** Count one record (warm-up and aborted ones are only counted as such). */
  add(record: RequestRecord): void {
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
    this.#e2e.add(f.e2eMs);
    this.#outputTokens += f.outputTokens ?? 0;
    if (f.ttftMs !== undefined) this.#ttft.add(f.ttftMs);
    if (f.firstAnswerMs !== undefined) this.#firstAnswer.add(f.firstAnswerMs);
    if (f.tpotMs !== undefined) this.#tpot.add(f.tpotMs);
    if (f.decodeTps !== undefined) this.#decode.add(f.decodeTps);
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
    for (const gap of interTokenLatencies(record)) this.#itl.add(gap);
    const slos = this.#slos;
    if (slos !== undefined) {
      // No TTFT, or an unmeasured decode, meets no SLO on it.
      const ttft = f.ttftMs ?? NaN;
      const tpot = f.decodeUnmeasured ? NaN : f.tpotMs ?? 0;
      if (
        (slos.ttftMs === undefined || ttft <= slos.ttftMs) &&
        (slos.tpotMs === undefined || tpot <= slos.tpotMs) &&
        (slos.e2eMs === undefined || f.e2eMs <= slos.e2eMs)
      ) this.#good++;
    }
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
    const seconds = options.elapsedMs === undefined
      ? undefined
      : options.elapsedMs / 1000;
    const summary: DistributionSummary = {
      completed: this.#completed,
      failed: this.#failed,
      warmup: this.#warmup,
      ttftMs: dist(this.#ttft),
      firstAnswerMs: dist(this.#firstAnswer),
      tpotMs: dist(this.#tpot),
      itlMs: dist(this.#itl),
      e2eMs: dist(this.#e2e),
      decodeTps: dist(this.#decode),
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
      summary.goodput = {
        slos,
        requests: good,
        fraction: this.#completed > 0 ? good / this.#completed : 0,
      };
      if (seconds !== undefined && seconds > 0) {
        summary.goodput.perS = good / seconds;
      }
    }
    return summary;
  }
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
  row("TTFT (ms)", summary.ttftMs);
  if (summary.reasoning.requests > 0) {
    row("First answer token (ms)", summary.firstAnswerMs);
  }
  row("TPOT (ms)", summary.tpotMs);
  row("ITL (ms)", summary.itlMs);
  row("E2E (ms)", summary.e2eMs);
  row("Decode rate (tok/s)", summary.decodeTps);
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
  const out = [
    `Requests: ${summary.completed} completed, ${summary.failed} failed`,
  ];
  if (summary.warmup > 0) out[0] += ` (${summary.warmup} warm-up left out)`;
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
      `Goodput (${
        sloText(g.slos)
      }): ${g.requests} of ${summary.completed} requests (${pct(g.fraction)})` +
        (g.perS === undefined ? "" : `, ${fmt(g.perS)} req/s`),
    );
  }
  if (summary.decodeUnmeasured > 0) {
    out.push(
      `Decode rate not measurable for ${summary.decodeUnmeasured} requests: their output after the first token arrived in one read`,
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
