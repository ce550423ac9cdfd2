/**
 * What the HTML report shows of a run, derived once from its files and ready
 * to embed as JSON: per-request points, inter-token latencies over time,
 * CDFs, cache hit rates over time (the client's `cached_tokens` and the
 * server's counters by tier), per-turn figures, throughput, requests in
 * flight, client lag, the percentile table, the verdict and the run's
 * parameters.
 *
 * Every per-request figure comes from {@linkcode requestFigures},
 * {@linkcode interTokenLatencies} and {@linkcode outputReads}, the percentile
 * table from {@linkcode LatencyDistributions}: a report shows the numbers the
 * commands printed. Warm-up requests are left out of every figure, as the
 * commands leave them out, and so are requests aborted by the run's stop;
 * requests in flight count every request that was.
 *
 * Times are seconds since the run started (on the records' clock, merged
 * through `timeOrigin` when records come from several processes); latencies
 * are milliseconds. Numbers are rounded to what a plot can show (times to
 * 1 ms, latencies to 0.01 ms, fractions to 0.01 %); the percentile table
 * keeps full precision. Above `itlPoints` output reads, the ITL plot keeps
 * the lowest and the highest ITL of each time slice (spikes stay visible);
 * the CDFs are exact quantiles of every sample.
 *
 * A run is a directory (`run.json`, `records.jsonl`, optional
 * `metrics.jsonl` and `summary.json`) or a records file alone.
 *
 * @module
 */
import { basename } from "node:path";
import {
  DEFAULT_PERCENTILES,
  type Distribution,
  type DistributionSummary,
  LatencyDistributions,
  type Slos,
  slosOfParams,
} from "../metrics/distributions.ts";
import {
  interTokenLatencies,
  outputReads,
  requestFigures,
} from "../metrics/figures.ts";
import {
  readRecordsFile,
  type RecordsFileContents,
  type RunEnd,
} from "../run/records_file.ts";
import { type PromptSplit, promptSplit } from "../server/attribution.ts";
import type { CacheGauges, TierCounters } from "../server/engines.ts";
import type { RequestErrorKind, RequestRecord } from "../types.ts";
import { sortedQuantile } from "../metrics/stats.ts";
import { benchmarkVerdict, ReuseTracker } from "../server/verdict.ts";
import { readTextOr } from "../io/read_text.ts";

export type {
  CacheGauges,
  Distribution,
  DistributionSummary,
  PromptSplit,
  RecordsFileContents,
  RequestErrorKind,
  RequestRecord,
  RunEnd,
  Slos,
  TierCounters,
};

/** `run.json` of a run directory, as read: everything but `command` may be missing. */
export interface RunInfo {
  /** `benchmark` or `trie`. */
  command?: string;
  /** The command line (credentials masked). */
  argv?: string[];
  /** kvbench's version. */
  kvbench?: string;
  /** Deno's version. */
  deno?: string;
  /** Wall-clock start, ISO 8601. */
  startedAt?: string;
  /** Unix time (ms) of the records' clock zero. */
  timeOrigin?: number;
  /** The run's start on the records' clock, ms. */
  runStartedAt?: number;
  /** The run's parameters. */
  params?: Record<string, unknown>;
  /** The sized workload. */
  workload?: unknown;
  /** The engine and its version. */
  server?: { engine?: string; version?: string; [key: string]: unknown } | null;
  /** The machine the client ran on. */
  machine?: Record<string, unknown> | null;
  /** Anything else run.json holds. */
  [key: string]: unknown;
}

/** The first line of a metrics JSONL file. */
export interface MetricsHeader {
  /** The engine and its version. */
  server?: { engine?: string; version?: string; [key: string]: unknown };
  /** The `/metrics` URLs scraped. */
  urls?: string[];
  /** Unix time (ms) of the scrapes' clock zero. */
  timeOrigin?: number;
  /** The run's start on that clock, ms. */
  startedAt?: number;
}

/** One scrape line of a metrics JSONL file. */
export interface MetricsScrape {
  /** When it was taken, ms of the scrapes' clock. */
  at: number;
  /** Ms since the run's start. */
  elapsedMs: number;
  /** URLs that answered. */
  ok?: number;
  /** URLs that failed. */
  failed?: { url: string; error: string }[];
  /** Engines seen. */
  engines?: string[];
  /** Counter deltas over the run so far. */
  counters: TierCounters;
  /** Gauges of this scrape. */
  gauges: CacheGauges;
  /** Counter resets so far. */
  resets?: number;
}

/** What {@linkcode readMetricsFile} read. */
export interface MetricsFileContents {
  /** The first line, when it is a header. */
  header?: MetricsHeader;
  /** The scrapes, in file order. */
  scrapes: MetricsScrape[];
}

/** A CDF as plotted: latency `x` (ms, ascending, distinct) reached by fraction `p` of the samples. */
export interface Cdf {
  /** Values, ms, ascending, distinct. */
  x: number[];
  /** Fraction of samples at or below (0–1), as numpy's linear quantile places them. */
  p: number[];
  /** Samples. */
  count: number;
}

/** Per-request points, one entry per request (warm-up and aborted left out), by send time. */
export interface RequestPoints {
  /** Sent, s since the run's start. */
  t: number[];
  /** Time to first token, ms (null: failed or no token). */
  ttftMs: (number | null)[];
  /** End to end, ms. */
  e2eMs: number[];
  /** Time per output token, ms (null when not measurable). */
  tpotMs: (number | null)[];
  /** The context (benchmark) or turn (trie) index; null when unknown. */
  group: (number | null)[];
  /** Cached / prompt tokens (null when not reported). */
  hit: (number | null)[];
  /** 1 when the response was complete, else 0. */
  ok: (0 | 1)[];
  /** Client lag, sent − scheduled, ms. */
  lagMs: number[];
}

/** Inter-token latencies over time: one point per output read after a request's first. */
export interface ItlPoints {
  /** The read's time, s since the run's start. */
  t: number[];
  /** Its inter-token latency, ms (the gap since the previous read over its events). */
  ms: number[];
  /** Output reads in the run (points before decimation). */
  reads: number;
  /** True when the points are the low and high of each time slice, not every read. */
  decimated: boolean;
}

/** Figures per time bin. */
export interface Timeline {
  /** Bin start, s since the run's start. */
  t: number[];
  /** Output tokens per second arriving in the bin. */
  outputTokS: number[];
  /** Mean requests in flight over the bin (sent to end). */
  inFlight: number[];
  /** Σ cached / Σ prompt tokens of the requests that ended in the bin (null: none reported). */
  hit: (number | null)[];
}

/** The server's split of prompt tokens between consecutive scrapes, as fractions of its prompt tokens. */
export interface ServerCacheTimeline {
  /** Scrape time, s since the run's start (the end of the interval). */
  t: number[];
  /** Computed (prefilled). */
  computed: (number | null)[];
  /** GPU prefix cache, when the engine names the tier. */
  device?: (number | null)[];
  /** Offload tier, when the engine names the tier. */
  offload?: (number | null)[];
  /** A cache of unnamed tier. */
  cached?: (number | null)[];
  /** GPU KV usage (0–1) at the scrape, when reported. */
  kvUsage?: (number | null)[];
}

/** Per-turn means (trie). */
export interface TurnFigures {
  /** Turn index. */
  turn: number[];
  /** Mean TTFT of the turn's completed requests, ms. */
  ttftMs: (number | null)[];
  /** Mean cache hit fraction of the turn's requests that reported one. */
  hit: (number | null)[];
  /** Completed requests of the turn. */
  requests: number[];
}

/** A run as the report shows it: every figure derived, JSON-ready. */
export interface RunData {
  /** The run's name in legends (the directory's or the file's name). */
  name: string;
  /** The path it was read from. */
  source: string;
  /** `benchmark`, `trie`, or undefined when nothing says. */
  command?: string;
  /** What `group` of the request points is: `context` (benchmark), `turn` (trie). */
  groupBy?: "context" | "turn";
  /** Group indices in use: the highest `group` + 1 (0 when none). */
  groups: number;
  /** What run.json and the records say of the run. */
  run: {
    /** Wall-clock start, ISO 8601. */
    startedAt?: string;
    /** Elapsed time, s (the run's line, else the last request's end), to the ms. */
    elapsedS: number;
    /**
     * Completed requests per second of the measured time (from the first
     * measured send to the end, exactly as the terminal's QPS); undefined
     * when no time was measured.
     */
    requestsPerS?: number;
    /** Why the run stopped (its last line). */
    stopReason?: string;
    /** The command line. */
    argv?: string[];
    /** kvbench's version. */
    kvbench?: string;
    /** Deno's version. */
    deno?: string;
    /** The run's parameters (run.json, else summary.json). */
    params?: Record<string, unknown>;
    /** The sized workload. */
    workload?: unknown;
    /** The engine. */
    engine?: string;
    /** The engine's version. */
    engineVersion?: string;
    /** The machine the client ran on. */
    machine?: Record<string, unknown>;
  };
  /** Records read: all, warm-up, aborted by the run's stop. */
  records: { total: number; warmup: number; aborted: number };
  /** The client's cache hits over the run: Σ prompt and Σ cached tokens of the completed requests that reported both. */
  cache?: { promptTokens: number; cachedTokens: number; hitRate: number };
  /** Per-request points. */
  requests: RequestPoints;
  /** ITL points. */
  itl: ItlPoints;
  /** CDFs from every sample. */
  cdf: { ttftMs?: Cdf; tpotMs?: Cdf; itlMs?: Cdf; e2eMs?: Cdf };
  /** Width of the timeline's bins, s. */
  binS: number;
  /** Throughput, in flight and client cache hits per bin. */
  timeline: Timeline;
  /** The server's split by tier per scrape interval, when metrics were read. */
  serverCache?: ServerCacheTimeline;
  /** Per-turn means (trie runs). */
  perTurn?: TurnFigures;
  /** The percentile table (full precision). */
  distributions: DistributionSummary;
  /** The percentiles of the table. */
  percentiles: number[];
  /** The verdict paragraph (summary.json `server.verdict`). */
  verdict?: string;
  /** The server's split of the run's prompt tokens (summary.json `server.split`, else the last scrape). */
  split?: PromptSplit;
  /** `benchmark`: the reuses of contexts, and their TTFTs (ms). */
  reuse?: {
    /** Completed reuses (a context's requests after its first). */
    reuses: number;
    /** Mean TTFT of every reuse. */
    meanReuseTtftMs?: number;
    /** Mean TTFT of the reuses served from cache. */
    meanHitTtftMs?: number;
    /** Mean TTFT of the cold prefills. */
    meanColdTtftMs?: number;
    /** The offload tier's share of the reusable prompt tokens (server counters), when they name it. */
    offloadShare?: number;
  };
}

/** Options of {@linkcode runData} and {@linkcode loadRun}. */
export interface RunDataOptions {
  /** The name in legends (default: the directory's or file's name). */
  name?: string;
  /** Percentiles of the table (default 50, 90, 95, 99). */
  percentiles?: readonly number[];
  /** Most ITL points plotted before decimation (default 200 000). */
  itlPoints?: number;
  /** Quantiles per CDF (default 1 000). */
  cdfPoints?: number;
  /** Told what was read but not used (a last records line cut short). */
  onWarning?: (message: string) => void;
}

/** What a run is made from (the files' contents). */
export interface RunInput {
  /** Where it was read from. */
  source: string;
  /** The records file's contents. */
  records: RecordsFileContents;
  /** run.json. */
  info?: RunInfo;
  /** metrics.jsonl. */
  metrics?: MetricsFileContents;
  /** summary.json. */
  summary?: Record<string, unknown>;
}

const DEFAULT_REPORT_PERCENTILES: readonly number[] = [
  ...DEFAULT_PERCENTILES.slice(0, 2),
  95,
  ...DEFAULT_PERCENTILES.slice(2),
];

const round = (x: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
const ms = (x: number): number => round(x, 2);
const sec = (x: number): number => round(x, 3);
const frac = (x: number): number => round(x, 4);
const orNull = (x: number | undefined, f: (x: number) => number) =>
  x === undefined || !Number.isFinite(x) ? null : f(x);

/** A growable pair of Float64Arrays. */
class Pairs {
  a = new Float64Array(1024);
  b = new Float64Array(1024);
  n = 0;
  push(a: number, b: number): void {
    if (this.n === this.a.length) {
      const grow = (old: Float64Array) => {
        const next = new Float64Array(old.length * 2);
        next.set(old);
        return next;
      };
      this.a = grow(this.a);
      this.b = grow(this.b);
    }
    this.a[this.n] = a;
    this.b[this.n++] = b;
  }
}

/** Growable samples. */
class Values {
  v = new Float64Array(1024);
  n = 0;
  push(x: number): void {
    if (this.n === this.v.length) {
      const next = new Float64Array(this.v.length * 2);
      next.set(this.v);
      this.v = next;
    }
    this.v[this.n++] = x;
  }
}

/**
 * The CDF of samples as the report plots it: every sample when there are at
 * most `points` + 1, else `points` + 1 evenly spaced quantiles (numpy's
 * linear method); values rounded to 0.01 ms and made distinct (a repeated
 * value keeps its highest fraction).
 *
 * @example Usage
 * ```ts
 * import { cdf } from "./data.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(cdf([30, 10, 20, 20, 40]), {
 *   x: [10, 20, 30, 40], p: [0, 0.5, 0.75, 1], count: 5,
 * });
 * assert.deepEqual(cdf(Array.from({ length: 1001 }, (_, i) => i), 4)?.x, [0, 250, 500, 750, 1000]);
 * assert.equal(cdf([]), undefined);
 * ```
 */
export function cdf(
  samples: ArrayLike<number>,
  points = 1000,
): Cdf | undefined {
  const n = samples.length;
  if (n === 0) return undefined;
  const sorted = Float64Array.from(samples).sort();
  const x: number[] = [];
  const p: number[] = [];
  const add = (value: number, q: number): void => {
    const v = ms(value);
    if (x.length > 0 && x[x.length - 1] === v) p[p.length - 1] = frac(q);
    else {
      x.push(v);
      p.push(frac(q));
    }
  };
  if (n <= points + 1) {
    for (let i = 0; i < n; i++) add(sorted[i], n === 1 ? 1 : i / (n - 1));
  } else {
    for (let i = 0; i <= points; i++) {
      add(sortedQuantile(sorted, i / points), i / points);
    }
  }
  return { x, p, count: n };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * Read a metrics JSONL file (`metrics.jsonl` of a run, or the
 * `NAME.metrics.jsonl` beside a records file): the header line, then one
 * scrape per line.
 *
 * @example Usage
 * ```ts
 * import { readMetricsFile } from "./data.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * await Deno.writeTextFile(path, [
 *   { server: { engine: "vllm" }, urls: [], timeOrigin: 1e12, startedAt: 5 },
 *   { at: 5, elapsedMs: 0, counters: {}, gauges: {} },
 *   { at: 1005, elapsedMs: 1000, counters: { promptTokens: 10 }, gauges: {} },
 * ].map((l) => JSON.stringify(l)).join("\n") + "\n");
 * const { header, scrapes } = await readMetricsFile(path);
 * assert.equal(header?.server?.engine, "vllm");
 * assert.equal(scrapes[1].counters.promptTokens, 10);
 * await Deno.remove(path);
 * ```
 */
export async function readMetricsFile(
  path: string,
): Promise<MetricsFileContents> {
  const text = await readTextOr(path, `Cannot read metrics file "${path}"`);
  const out: MetricsFileContents = { scrapes: [] };
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(lines[i]);
    } catch {
      throw new SyntaxError(
        `Cannot read metrics file "${path}": line ${i + 1} is not JSON`,
      );
    }
    if (!isObject(value)) {
      throw new TypeError(
        `Cannot read metrics file "${path}": line ${i + 1} is not an object`,
      );
    }
    if (typeof value.at === "number") {
      out.scrapes.push({
        ...value,
        at: value.at,
        elapsedMs: typeof value.elapsedMs === "number" ? value.elapsedMs : NaN,
        counters: isObject(value.counters) ? value.counters : {},
        gauges: isObject(value.gauges) ? value.gauges : {},
      } as MetricsScrape);
    } else if (out.scrapes.length === 0 && out.header === undefined) {
      out.header = value as MetricsHeader;
    }
  }
  return out;
}

async function readJson(
  path: string,
  what: string,
): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`${what}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SyntaxError(`${what} is not JSON`);
  }
  if (!isObject(value)) throw new TypeError(`${what} is not a JSON object`);
  return value;
}

/**
 * Read a run — a run directory (`records.jsonl`, and `run.json`,
 * `metrics.jsonl`, `summary.json` when there) or a records file alone — and
 * derive what the report shows.
 *
 * @example A records file alone
 * ```ts
 * import { loadRun } from "./data.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * const records = [0, 1, 2].map((i) => testRecord({
 *   session: i, sentAt: i * 1000, firstTokenAt: i * 1000 + 50, endAt: i * 1000 + 250,
 *   chunks: 3, completionTokens: 3, readGaps: [1000, 1000], promptTokens: 100,
 *   cachedTokens: 50 * i, tags: { context: i % 2 }, runStartedAt: 0,
 * }));
 * await Deno.writeTextFile(path, records.map((r) => JSON.stringify(r) + "\n").join(""));
 * const run = await loadRun(path, { name: "demo" });
 * assert.equal(run.command, "benchmark"); // its records carry contexts
 * assert.deepEqual(run.requests.t, [0, 1, 2]);
 * assert.deepEqual(run.requests.ttftMs, [50, 50, 50]);
 * assert.deepEqual(run.requests.group, [0, 1, 0]);
 * assert.equal(run.distributions.completed, 3);
 * assert.equal(run.verdict, undefined); // a records file has no summary
 * await Deno.remove(path);
 * ```
 *
 * @example A directory without records
 * ```ts
 * import { loadRun } from "./data.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await assert.rejects(loadRun(dir), /Cannot read run ".*": no records\.jsonl/);
 * await Deno.remove(dir);
 * ```
 */
export async function loadRun(
  pathOrDir: string,
  options: RunDataOptions = {},
): Promise<RunData> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(pathOrDir);
  } catch {
    throw new Error(
      `Cannot read run "${pathOrDir}": no such file or directory`,
    );
  }
  const name = options.name ??
    basename(pathOrDir.replace(/\/+$/, "")).replace(/\.jsonl$/, "");
  const cut = (file: string, contents: RecordsFileContents): void => {
    if (contents.cutLine === undefined) return;
    options.onWarning?.(
      `${file}: line ${contents.cutLine} was cut short (the run was killed while writing it): skipped`,
    );
  };
  if (!stat.isDirectory) {
    const records = await readRecordsFile(pathOrDir);
    cut(pathOrDir, records);
    return runData({ source: pathOrDir, records }, { ...options, name });
  }
  const dir = pathOrDir.replace(/\/+$/, "");
  const what = (file: string) => `Cannot read run "${pathOrDir}": ${file}`;
  let records: RecordsFileContents;
  try {
    await Deno.stat(`${dir}/records.jsonl`);
  } catch {
    throw new Error(`Cannot read run "${pathOrDir}": no records.jsonl`);
  }
  try {
    records = await readRecordsFile(`${dir}/records.jsonl`);
  } catch (error) {
    throw new Error(
      `Cannot read run "${pathOrDir}": ${(error as Error).message}`,
    );
  }
  cut(`${dir}/records.jsonl`, records);
  const info = await readJson(`${dir}/run.json`, what("run.json")) as
    | RunInfo
    | undefined;
  const summary = await readJson(`${dir}/summary.json`, what("summary.json"));
  let metrics: MetricsFileContents | undefined;
  try {
    metrics = await readMetricsFile(`${dir}/metrics.jsonl`);
  } catch (error) {
    if (!/no such file/.test((error as Error).message)) {
      throw new Error(
        `Cannot read run "${pathOrDir}": ${(error as Error).message}`,
      );
    }
  }
  return runData({ source: pathOrDir, records, info, metrics, summary }, {
    ...options,
    name,
  });
}

/** Offsets that put every record on one clock (the first record's). */
function clockOf(records: readonly RequestRecord[]): {
  origin: number | undefined;
  shift: (r: RequestRecord) => number;
} {
  const origin = records.find((r) => r.timeOrigin !== undefined)?.timeOrigin;
  return {
    origin,
    shift: (r) =>
      origin === undefined || r.timeOrigin === undefined
        ? 0
        : r.timeOrigin - origin,
  };
}

function groupOf(
  record: RequestRecord,
  groupBy: "context" | "turn" | undefined,
  ids: Map<string | number, number>,
): number | null {
  if (groupBy === "turn") return record.turn;
  if (groupBy !== "context") return null;
  const context = record.tags?.context;
  if (context === undefined) return null;
  if (typeof context === "number") return context;
  let id = ids.get(context);
  if (id === undefined) ids.set(context, id = ids.size);
  return id;
}

/**
 * Derive the report's data from a run's contents (what
 * {@linkcode loadRun} does once the files are read).
 *
 * @example A trie run: points coloured by turn, means per turn
 * ```ts
 * import { runData } from "./data.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const records = [0, 1].flatMap((session) => [0, 1].map((turn) => testRecord({
 *   session, turn, sentAt: turn * 500, firstTokenAt: turn * 500 + 100 + turn * 20,
 *   endAt: turn * 500 + 300, chunks: 2, completionTokens: 2, readGaps: [500],
 *   promptTokens: 1000, cachedTokens: turn * 900, runStartedAt: 0,
 * })));
 * const run = runData(
 *   { source: "x", records: { records, reports: [] }, info: { command: "trie" } },
 *   { name: "trie run" },
 * );
 * assert.equal(run.groupBy, "turn");
 * assert.deepEqual(run.perTurn, {
 *   turn: [0, 1], ttftMs: [100, 120], hit: [0, 0.9], requests: [2, 2],
 * });
 * assert.deepEqual(run.cdf.itlMs, { x: [50], p: [1], count: 4 });
 * ```
 */
export function runData(
  input: RunInput,
  options: RunDataOptions = {},
): RunData {
  const all = input.records.records;
  const info = input.info ?? {};
  const summary = input.summary;
  const end = input.records.run;
  const percentiles = [...(options.percentiles ?? DEFAULT_REPORT_PERCENTILES)];

  let command = typeof info.command === "string" ? info.command : undefined;
  if (command === undefined && typeof summary?.command === "string") {
    command = summary.command;
  }
  if (command === undefined) {
    if (all.some((r) => r.tags?.context !== undefined)) command = "benchmark";
    else if (all.some((r) => r.turn > 0)) command = "trie";
  }
  const groupBy = command === "trie"
    ? "turn"
    : all.some((r) => r.tags?.context !== undefined)
    ? "context"
    : undefined;

  // One clock for every record; the run's start on it.
  const clock = clockOf(all);
  let startMs: number | undefined;
  if (
    typeof info.runStartedAt === "number" &&
    (info.timeOrigin === undefined || clock.origin !== undefined)
  ) {
    startMs = info.runStartedAt +
      (typeof info.timeOrigin === "number" && clock.origin !== undefined
        ? info.timeOrigin - clock.origin
        : 0);
  }
  if (startMs === undefined) {
    for (const r of all) {
      if (r.runStartedAt === undefined) continue;
      const at = r.runStartedAt + clock.shift(r);
      if (startMs === undefined || at < startMs) startMs = at;
    }
  }
  if (startMs === undefined && end !== undefined) {
    // The run's line, on its own clock when it names one.
    const origin = (end as { timeOrigin?: number }).timeOrigin;
    startMs = end.startedAt +
      (origin !== undefined && clock.origin !== undefined
        ? origin - clock.origin
        : 0);
  }
  if (startMs === undefined) {
    for (const r of all) {
      const at = Math.min(r.scheduledAt, r.sentAt) + clock.shift(r);
      if (startMs === undefined || at < startMs) startMs = at;
    }
  }
  const start = startMs ?? 0;
  const rel = (r: RequestRecord, t: number): number =>
    (t + clock.shift(r) - start) / 1000;

  // Which records the figures count, as LatencyDistributions counts them;
  // goodput against the SLOs the run was given.
  const runParams = isObject(info.params)
    ? info.params
    : isObject(summary?.params)
    ? summary.params
    : undefined;
  const distributions = new LatencyDistributions({
    slos: slosOfParams(runParams),
  });
  const counted: RequestRecord[] = [];
  let warmup = 0, aborted = 0, lastEnd = 0;
  for (const r of all) {
    distributions.add(r);
    lastEnd = Math.max(lastEnd, rel(r, r.endAt));
    if (r.warmup === true) warmup++;
    else if (r.error?.kind === "aborted") aborted++;
    else counted.push(r);
  }
  // Exact: the per-second figures divide by it as the terminal did.
  const elapsedMs = end?.elapsedMs !== undefined
    ? end.elapsedMs
    : lastEnd * 1000;
  const elapsedS = elapsedMs / 1000;

  // Per-request points, by send time.
  const ids = new Map<string | number, number>();
  const order = counted.map((r, i) => ({ t: rel(r, r.sentAt), i }))
    .sort((a, b) => a.t - b.t || a.i - b.i);
  const requests: RequestPoints = {
    t: [],
    ttftMs: [],
    e2eMs: [],
    tpotMs: [],
    group: [],
    hit: [],
    ok: [],
    lagMs: [],
  };
  const figures = counted.map((r) => requestFigures(r));
  const groupSet = new Set<number>();
  for (const { t, i } of order) {
    const f = figures[i];
    const group = groupOf(counted[i], groupBy, ids);
    if (group !== null) groupSet.add(group);
    requests.t.push(sec(t));
    requests.ttftMs.push(f.ok ? orNull(f.ttftMs, ms) : null);
    requests.e2eMs.push(ms(f.e2eMs));
    requests.tpotMs.push(f.ok ? orNull(f.tpotMs, ms) : null);
    requests.group.push(group);
    requests.hit.push(orNull(f.cacheHitRate, frac));
    requests.ok.push(f.ok ? 1 : 0);
    requests.lagMs.push(ms(f.lagMs));
  }

  // Samples for the CDFs (completed requests, as the distributions take them).
  const ttft = new Values(), tpot = new Values(), e2e = new Values();
  const itlSamples = new Values();
  const reads = new Pairs();
  for (let i = 0; i < counted.length; i++) {
    const f = figures[i];
    if (!f.ok) continue;
    const r = counted[i];
    e2e.push(f.e2eMs);
    if (f.ttftMs !== undefined) ttft.push(f.ttftMs);
    if (f.tpotMs !== undefined) tpot.push(f.tpotMs);
    const itl = interTokenLatencies(r);
    for (const x of itl) itlSamples.push(x);
    // One point per read after the first: its time, and its events' ITL.
    const outs = outputReads(r);
    let k = 0;
    for (let j = 1; j < outs.length && k < itl.length; j++) {
      reads.push(rel(r, outs[j].at), itl[k]);
      k += outs[j].events;
    }
  }
  const cdfPoints = options.cdfPoints ?? 1000;
  const cdfs: RunData["cdf"] = {};
  const put = (key: keyof RunData["cdf"], v: Values) => {
    const c = cdf(v.v.subarray(0, v.n), cdfPoints);
    if (c !== undefined) cdfs[key] = c;
  };
  put("ttftMs", ttft);
  put("tpotMs", tpot);
  put("itlMs", itlSamples);
  put("e2eMs", e2e);

  const itl = itlPoints(reads, options.itlPoints ?? 200_000);

  // Time bins.
  const spanS = Math.max(elapsedS, lastEnd, 1e-3);
  const binS = spanS > 3600 ? Math.ceil(spanS / 3600) : 1;
  const timeline = timelineOf(all, counted, figures, {
    bins: Math.ceil(spanS / binS),
    binS,
    rel,
  });

  // Per turn (trie).
  let perTurn: TurnFigures | undefined;
  if (groupBy === "turn") {
    const byTurn = new Map<
      number,
      { ttft: number; nt: number; hit: number; nh: number; n: number }
    >();
    for (let i = 0; i < counted.length; i++) {
      const f = figures[i];
      if (!f.ok) continue;
      const turn = counted[i].turn;
      let s = byTurn.get(turn);
      if (s === undefined) {
        byTurn.set(turn, s = { ttft: 0, nt: 0, hit: 0, nh: 0, n: 0 });
      }
      s.n++;
      if (f.ttftMs !== undefined) {
        s.ttft += f.ttftMs;
        s.nt++;
      }
      if (f.cacheHitRate !== undefined) {
        s.hit += f.cacheHitRate;
        s.nh++;
      }
    }
    const turns = [...byTurn.keys()].sort((a, b) => a - b);
    perTurn = {
      turn: turns,
      ttftMs: turns.map((t) => {
        const s = byTurn.get(t)!;
        return s.nt > 0 ? ms(s.ttft / s.nt) : null;
      }),
      hit: turns.map((t) => {
        const s = byTurn.get(t)!;
        return s.nh > 0 ? frac(s.hit / s.nh) : null;
      }),
      requests: turns.map((t) => byTurn.get(t)!.n),
    };
  }

  // The server's view.
  const serverSummary = isObject(summary?.server) ? summary.server : undefined;
  const serverCache = input.metrics === undefined
    ? undefined
    : serverTimeline(input.metrics, clock.origin, start);
  let split = isObject(serverSummary?.split)
    ? serverSummary.split as unknown as PromptSplit
    : undefined;
  const lastScrape = input.metrics?.scrapes.at(-1);
  if (split === undefined && lastScrape !== undefined) {
    split = promptSplit(lastScrape.counters);
  }
  const infoServer = isObject(info.server) ? info.server : undefined;
  const headerServer = input.metrics?.header?.server;
  const engineOf = (key: "engine" | "version"): string | undefined => {
    for (const s of [infoServer, serverSummary, headerServer]) {
      if (typeof s?.[key] === "string") return s[key] as string;
    }
    return undefined;
  };
  const params = runParams;
  const workload = info.workload ?? summary?.workload ?? undefined;

  const distributionSummary = distributions.summary({
    percentiles,
    elapsedMs,
  });
  const data: RunData = {
    name: options.name ?? basename(input.source),
    source: input.source,
    command,
    groupBy,
    groups: groupSet.size === 0 ? 0 : Math.max(...groupSet) + 1,
    run: {
      startedAt: typeof info.startedAt === "string"
        ? info.startedAt
        : clock.origin !== undefined
        ? new Date(clock.origin + start).toISOString()
        : undefined,
      elapsedS: sec(elapsedS),
      stopReason: end?.stopReason,
      argv: Array.isArray(info.argv) ? info.argv : undefined,
      kvbench: info.kvbench,
      deno: info.deno,
      params,
      workload: workload === null ? undefined : workload,
      engine: engineOf("engine"),
      engineVersion: engineOf("version"),
      machine: isObject(info.machine) ? info.machine : undefined,
    },
    records: { total: all.length, warmup, aborted },
    requests,
    itl,
    cdf: cdfs,
    binS,
    timeline,
    distributions: distributionSummary,
    percentiles,
  };
  const measuredMs = distributionSummary.measuredMs ?? 0;
  if (measuredMs > 0) {
    data.run.requestsPerS = distributionSummary.completed / (measuredMs / 1000);
  }
  if (serverCache !== undefined && serverCache.t.length > 0) {
    data.serverCache = serverCache;
  }
  if (perTurn !== undefined) data.perTurn = perTurn;
  let promptTokens = 0, cachedTokens = 0;
  for (const f of figures) {
    if (!f.ok || f.promptTokens === undefined) continue;
    if (f.cachedTokens === undefined) continue;
    promptTokens += f.promptTokens;
    cachedTokens += f.cachedTokens;
  }
  if (promptTokens > 0) {
    data.cache = {
      promptTokens,
      cachedTokens,
      hitRate: cachedTokens / promptTokens,
    };
  }
  if (typeof serverSummary?.verdict === "string") {
    data.verdict = serverSummary.verdict;
  }
  if (split !== undefined) data.split = split;
  if (groupBy === "context") {
    const tracker = new ReuseTracker();
    for (const r of all) tracker.add(r);
    const reuse = tracker.figures();
    const mean = (xs: number[]) =>
      xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length;
    data.reuse = {
      reuses: reuse.reuses,
      meanReuseTtftMs: mean(reuse.reuseTtftMs),
      meanHitTtftMs: mean(reuse.hitTtftMs),
      meanColdTtftMs: mean(reuse.coldTtftMs),
      offloadShare: split === undefined || reuse.reuses === 0
        ? undefined
        : benchmarkVerdict(reuse, { split }).offloadShare,
    };
  }
  return JSON.parse(JSON.stringify(data));
}

/** Every read, or the low and high of each of `limit` / 2 time slices. */
function itlPoints(reads: Pairs, limit: number): ItlPoints {
  const n = reads.n;
  const t = reads.a.subarray(0, n), v = reads.b.subarray(0, n);
  if (n <= limit) {
    const idx = Array.from({ length: n }, (_, i) => i)
      .sort((a, b) => t[a] - t[b]);
    return {
      t: idx.map((i) => sec(t[i])),
      ms: idx.map((i) => ms(v[i])),
      reads: n,
      decimated: false,
    };
  }
  const slices = Math.max(1, Math.floor(limit / 2));
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < n; i++) {
    if (t[i] < lo) lo = t[i];
    if (t[i] > hi) hi = t[i];
  }
  const width = (hi - lo) / slices || 1;
  const minAt = new Int32Array(slices).fill(-1);
  const maxAt = new Int32Array(slices).fill(-1);
  for (let i = 0; i < n; i++) {
    const s = Math.min(slices - 1, Math.floor((t[i] - lo) / width));
    if (minAt[s] < 0 || v[i] < v[minAt[s]]) minAt[s] = i;
    if (maxAt[s] < 0 || v[i] > v[maxAt[s]]) maxAt[s] = i;
  }
  const out: ItlPoints = { t: [], ms: [], reads: n, decimated: true };
  for (let s = 0; s < slices; s++) {
    const a = minAt[s], b = maxAt[s];
    if (a < 0) continue;
    const pair = a === b ? [a] : t[a] <= t[b] ? [a, b] : [b, a];
    for (const i of pair) {
      out.t.push(sec(t[i]));
      out.ms.push(ms(v[i]));
    }
  }
  return out;
}

function timelineOf(
  all: readonly RequestRecord[],
  counted: readonly RequestRecord[],
  figures: ReturnType<typeof requestFigures>[],
  bins: {
    bins: number;
    binS: number;
    rel: (r: RequestRecord, t: number) => number;
  },
): Timeline {
  const { binS, rel } = bins;
  const n = Math.max(1, bins.bins);
  const tokens = new Float64Array(n);
  const busy = new Float64Array(n); // request-seconds in flight per bin
  const prompt = new Float64Array(n);
  const cached = new Float64Array(n);
  const reported = new Uint8Array(n);
  const bin = (s: number) => Math.min(n - 1, Math.max(0, Math.floor(s / binS)));
  for (const r of all) {
    // In flight from sent to end: the seconds it spent in each bin.
    let a = rel(r, r.sentAt), b = rel(r, r.endAt);
    a = Math.max(0, a);
    b = Math.min(n * binS, b);
    while (a < b) {
      const i = bin(a);
      const edge = Math.min(b, (i + 1) * binS);
      busy[i] += edge - a;
      if (edge <= a) break;
      a = edge;
    }
  }
  for (let i = 0; i < counted.length; i++) {
    const f = figures[i];
    if (!f.ok) continue;
    const r = counted[i];
    if (f.promptTokens !== undefined && f.cachedTokens !== undefined) {
      const j = bin(rel(r, r.endAt));
      prompt[j] += f.promptTokens;
      cached[j] += f.cachedTokens;
      reported[j] = 1;
    }
    const total = f.outputTokens ?? 0;
    if (total === 0) continue;
    // Output tokens by when they arrived: each read's share of the events.
    const outs = outputReads(r);
    const events = outs.reduce((s, o) => s + o.events, 0);
    if (events === 0) {
      tokens[bin(rel(r, r.endAt))] += total;
      continue;
    }
    for (const o of outs) {
      tokens[bin(rel(r, o.at))] += total * o.events / events;
    }
  }
  const out: Timeline = { t: [], outputTokS: [], inFlight: [], hit: [] };
  for (let i = 0; i < n; i++) {
    out.t.push(sec(i * binS));
    out.outputTokS.push(round(tokens[i] / binS, 1));
    out.inFlight.push(round(busy[i] / binS, 2));
    out.hit.push(
      reported[i] && prompt[i] > 0 ? frac(cached[i] / prompt[i]) : null,
    );
  }
  return out;
}

const SPLIT_FIELDS = [
  "promptTokens",
  "computedTokens",
  "deviceHitTokens",
  "offloadHitTokens",
  "cachedTokens",
] as const;

function serverTimeline(
  metrics: MetricsFileContents,
  recordsOrigin: number | undefined,
  startMs: number,
): ServerCacheTimeline {
  const header = metrics.header;
  const shift = header?.timeOrigin !== undefined && recordsOrigin !== undefined
    ? header.timeOrigin - recordsOrigin
    : undefined;
  const timeOf = (s: MetricsScrape): number =>
    shift !== undefined
      ? (s.at + shift - startMs) / 1000
      : Number.isFinite(s.elapsedMs)
      ? s.elapsedMs / 1000
      : (s.at - (header?.startedAt ?? startMs)) / 1000;
  const scrapes = [...metrics.scrapes].sort((a, b) => a.at - b.at);
  const out: ServerCacheTimeline = { t: [], computed: [] };
  const device: (number | null)[] = [], offload: (number | null)[] = [];
  const cached: (number | null)[] = [], kvUsage: (number | null)[] = [];
  let named = false, unnamed = false, usage = false;
  for (let i = 1; i < scrapes.length; i++) {
    const before = scrapes[i - 1].counters, after = scrapes[i].counters;
    const delta: TierCounters = {};
    for (const field of SPLIT_FIELDS) {
      if (after[field] !== undefined) {
        delta[field] = Math.max(0, after[field]! - (before[field] ?? 0));
      }
    }
    const split = promptSplit(delta);
    const share = (x: number | undefined): number | null =>
      split !== undefined && split.prompt > 0 && x !== undefined
        ? frac(x / split.prompt)
        : null;
    out.t.push(sec(timeOf(scrapes[i])));
    out.computed.push(share(split?.computed));
    device.push(share(split?.device));
    offload.push(share(split?.offload));
    cached.push(share(split?.cached));
    if (split?.device !== undefined || split?.offload !== undefined) {
      named = true;
    }
    if (split?.cached !== undefined) unnamed = true;
    const u = scrapes[i].gauges.deviceKvUsage;
    kvUsage.push(u === undefined ? null : frac(u));
    if (u !== undefined) usage = true;
  }
  if (named) {
    out.device = device;
    out.offload = offload;
  }
  if (unnamed) out.cached = cached;
  if (usage) out.kvUsage = kvUsage;
  return out;
}
