/**
 * The shapes of what the HTML report shows of a run ({@linkcode RunData}) and
 * of the run files it is derived from ({@linkcode RunInfo},
 * {@linkcode MetricsFileContents}, {@linkcode RunInput}).
 *
 * @module
 */
import type {
  Distribution,
  DistributionSummary,
  Slos,
} from "../metrics/distributions.ts";
import type { RecordsFileContents, RunEnd } from "../run/records_file.ts";
import type { PromptSplit } from "../server/attribution.ts";
import type { CacheGauges, TierCounters } from "../server/engines.ts";
import type { RequestErrorKind, RequestRecord } from "../types.ts";
import type { FidelityData, FidelityRow } from "./fidelity.ts";
import type { PreflightData } from "./preflight.ts";
import type { VerifyData } from "./verify.ts";

export type {
  CacheGauges,
  Distribution,
  DistributionSummary,
  FidelityData,
  FidelityRow,
  PreflightData,
  PromptSplit,
  RecordsFileContents,
  RequestErrorKind,
  RequestRecord,
  RunEnd,
  Slos,
  TierCounters,
  VerifyData,
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
  /** A replay's fidelity (from fidelity.jsonl). */
  fidelity?: FidelityData;
  /** The verdict paragraph (summary.json `server.verdict`). */
  verdict?: string;
  /** The pre-flight before the first request (run.json `params.preflight`, `params.force`). */
  preflight?: PreflightData;
  /** `--verify`: the check's result line and its pairs (verify.json, verify.jsonl). */
  verify?: VerifyData;
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
    /** The GPU prefix cache's share of them, beside the offload tier's (the rest was recomputed). */
    deviceShare?: number;
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
  /** fidelity.jsonl (a replay's run directory). */
  fidelity?: FidelityRow[];
  /** verify.json and verify.jsonl, read (`--verify`). */
  verify?: VerifyData;
}
