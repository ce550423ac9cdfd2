/**
 * The options of `kvbench benchmark`: its schema (the shared options and
 * its own), its usage text and its parser.
 *
 * @module
 */
import {
  checkEndpointFlag,
  type FlagsRunOptions,
} from "../../lib/cli/flags_workload.ts";
import { parseHeaders, UsageError } from "../../lib/cli/common.ts";
import {
  flagsHelp,
  NON_NEGATIVE_INT,
  type OptionSchema,
  parseFlagOptions,
  POSITIVE,
  POSITIVE_INT,
} from "../../lib/cli/options.ts";
import { SHARED_OPTIONS as S } from "../../lib/cli/shared_options.ts";
import { scaleOf } from "../../lib/cli/scale_options.ts";
import { shapingOf } from "../../lib/cli/shaping.ts";
import { type CacheOptions, cacheOptionsOf } from "./verify.ts";
import { checkContextSalt, type ContextSaltMode } from "./context_salt.ts";

/** Every option of `kvbench benchmark`, in the order its help lists them. */
export const BENCHMARK_OPTIONS: OptionSchema = {
  endpoint: S.endpoint,
  apiKey: S.apiKey,
  model: S.model,
  modelConfigs: {
    flag: "model-configs",
    type: "string",
    arg: "FILE",
    help: "model_configs.json to use instead of the bundled one",
  },
  offloadSize: {
    flag: "offload-size",
    type: "size",
    arg: "GB",
    check: POSITIVE,
    help: "offload capacity (overrides the model's config)",
  },
  bytesPerToken: {
    flag: "bytes-per-token",
    type: "int",
    arg: "N",
    check: POSITIVE_INT,
    help: "KV bytes per token (overrides the model's config)",
  },
  hfConfig: S.hfConfig,
  tp: S.tp,
  kvCacheDtype: S.kvCacheDtype,
  inputLength: {
    flag: "input-length",
    type: "int",
    arg: "N",
    check: POSITIVE_INT,
    default: 32000,
    help: "tokens per context",
  },
  outputLength: {
    flag: "output-length",
    type: "int",
    arg: "N",
    check: POSITIVE_INT,
    default: 100,
    help: "max_tokens per request",
  },
  maxInFlight: {
    flag: "max-inflight",
    aliases: ["concurrency"],
    type: "numbers",
    arg: "N",
    check: POSITIVE_INT,
    inherit: false,
    help:
      "requests in flight at most (default: contexts / 3); a list (8,16,32) sweeps: one level after another, then a table",
  },
  requestRates: {
    flag: "request-rate",
    type: "numbers",
    arg: "R",
    check: POSITIVE,
    inherit: false,
    help:
      "open loop: R requests per second (Poisson), still at most --max-inflight in flight (default: closed loop); a list (1,2,4) sweeps",
  },
  burstiness: {
    flag: "burstiness",
    type: "number",
    arg: "B",
    check: POSITIVE,
    help: "gamma-distributed arrivals of shape B (1 = Poisson, < 1 burstier)",
  },
  numPrompts: {
    param: "num_prompts",
    flag: "num-prompts",
    type: "int",
    arg: "N",
    check: POSITIVE_INT,
    help: "stop after N requests (after the warm-up)",
  },
  warmup: {
    param: "warmup",
    flag: "warmup",
    type: "int",
    arg: "N",
    check: NON_NEGATIVE_INT,
    default: 0,
    help: "the first N requests are sent and recorded, left out of the figures",
  },
  ignoreEos: {
    ...S.ignoreEos,
    help:
      "send ignore_eos so every request generates --output-length tokens (--no-ignore-eos: not, the default, as tmesh-cli)",
  },
  api: { ...S.api, help: "completions (the default, as tmesh-cli) or chat" },
  extraBody: S.extraBody,
  headers: {
    flag: "header",
    param: "headers",
    type: "strings",
    arg: "NAME:VALUE",
    help: "an extra request header (repeatable)",
  },
  duration: S.duration,
  interval: {
    flag: "interval",
    type: "duration",
    arg: "S",
    default: 5,
    help: "time between reports",
  },
  seed: {
    ...S.seed,
    help:
      "seed of the question draw (default: random; run.json and the summary JSON record it, so --seed N repeats the draw)",
  },
  percentiles: S.percentiles,
  goodput: S.goodput,
  outputDir: S.outputDir,
  artifacts: S.artifacts,
  records: S.records,
  output: S.output,
  maxRetries: {
    ...S.maxRetries,
    help: "retry failed requests N times (0: failures are counted)",
  },
  timeout: S.timeout,
  connectTimeout: S.connectTimeout,
  firstTokenTimeout: S.firstTokenTimeout,
  idleTimeout: S.idleTimeout,
  transport: S.transport,
  workers: S.workers,
  shard: S.shard,
  shards: S.shards,
  startAt: S.startAt,
  metrics: S.metrics,
  metricsUrls: S.metricsUrls,
  metricsOut: S.metricsOut,
  scrapeInterval: S.scrapeInterval,
  deviceKvGb: {
    flag: "device-kv-gb",
    type: "size",
    arg: "GB",
    check: POSITIVE,
    inherit: false,
    help:
      "the GPU KV capacity, for the pre-flight, when the server does not report it",
  },
  requireOffload: {
    flag: "require-offload-hits",
    type: "number",
    arg: "F",
    check: { test: (x) => x >= 0 && x <= 1, says: "from 0 to 1" },
    inherit: false,
    help:
      "exit 1 unless the offload tier served at least the fraction F (0-1) of the reusable prompt tokens (CI of a serving stack)",
  },
  force: {
    flag: "force",
    type: "bool",
    default: false,
    inherit: false,
    param: "force",
    help:
      "run even when the pre-flight says, by the server's own capacities, that the run cannot measure the offload tier (the working set fits in GPU KV or exceeds the offload tier)",
  },
  verify: {
    ...S.verify,
    help:
      "after the run, check N reused contexts (the least recently used) against cold compute: a greedy request served from the cache, a cold reference and a cold-vs-cold control, compared token by token; exit 1 on a divergence beyond the control; the pairs go to verify.jsonl in the run directory",
  },
  coldMethod: S.coldMethod,
  resetCache: S.resetCache,
  contextSalt: {
    flag: "context-salt",
    type: "string",
    arg: "SALT",
    default: "run",
    inherit: false,
    param: "context_salt",
    help:
      "run: a new 6-digit tag at the start of every context, so a rerun starts cold on every engine (a shard derives it from --seed, so all shards agree); none: tmesh-cli's texts, the same every run, so a rerun starts warm; DIGITS: this tag, to repeat a run's namespace. The tag and its '-' add 7 prompt tokens (Qwen3)",
  },
  runTag: {
    flag: "run-tag",
    type: "string",
    arg: "TAG",
    hidden: true,
    inherit: false,
    help: "internal: the parent's tag, which its workers share",
  },
  cacheSalt: {
    flag: "cache-salt",
    type: "string",
    arg: "MODE",
    default: "none",
    inherit: false,
    param: "cache_salt",
    help:
      "run: one cache_salt for the whole run (derived from the run's tag, see --context-salt); session: one per context; none: no salt. Sent to vLLM-family servers (not to SGLang or llama.cpp); --context-salt starts a rerun cold on every engine",
  },
  controls: {
    flag: "controls",
    type: "number",
    arg: "F",
    check: { test: (x) => x > 0 && x < 1, says: "a fraction between 0 and 1" },
    inherit: false,
    param: "controls",
    help:
      "make a fraction F (0-1) of the requests cold controls (a cache_salt of their own), interleaved with the rest, and compare warm and cold TTFT at the same load",
  },
  worker: S.worker,
};

/** The usage text of `kvbench benchmark`. */
export const USAGE: string =
  `usage: kvbench benchmark --endpoint URL [--api-key KEY] [--model NAME] [options]

KV-offload stress (successor of tmesh-cli benchmark): long contexts sized to
fill the offload tier, cycled in tile order so every reuse must come from it.
Runs until Ctrl+C / SIGTERM (or --duration), then prints a final report.

options:
${flagsHelp(BENCHMARK_OPTIONS)}`;

/** The parsed command line of `kvbench benchmark`. */
export interface Options extends FlagsRunOptions {
  modelConfigs?: string;
  offloadSize?: number;
  bytesPerToken?: number;
  hfConfig?: string;
  tp?: number;
  kvCacheDtype?: string;
  inputLength: number;
  outputLength: number;
  maxInFlight?: number[];
  requestRates?: number[];
  burstiness: number;
  numPrompts?: number;
  warmup: number;
  interval: number;
  seed?: number;
  deviceKvGb?: number;
  requireOffload?: number;
  force: boolean;
  verify?: number;
  coldMethod?: string;
  resetCache: boolean;
  contextSalt: ContextSaltMode;
  runTag?: string;
  cacheSalt: string;
  controls?: number;
  /** `--verify`, `--cold-method`, `--reset-cache`, `--cache-salt`, `--controls`, checked. */
  cache: CacheOptions;
}

/** Refuse an endpoint that is not a URL it can use (a usage error). */
export function checkEndpoint(opts: Options): void {
  checkEndpointFlag(opts.endpoint, USAGE);
}

/**
 * Parse the command line of `kvbench benchmark`; undefined for `--help`.
 *
 * @example Usage
 * ```ts
 * import { parse } from "./options.ts";
 * import assert from "node:assert/strict";
 *
 * const opts = parse(["--endpoint", "x", "--duration", "2m", "--offload-size", "512MiB"]);
 * assert.equal(opts?.duration, 120);
 * assert.equal(opts?.offloadSize, 0.5);
 * assert.equal(opts?.timeout, 600);
 * assert.equal(parse(["--help"]), undefined);
 * ```
 */
export function parse(args: string[]): Options | undefined {
  const values = parseFlagOptions(args, BENCHMARK_OPTIONS, { usage: USAGE });
  if (values === undefined) return undefined;
  const v = values as Record<string, never>;
  const refuse = (message: string): never => {
    throw new UsageError(message, USAGE);
  };
  let opts: Options;
  try {
    opts = {
      ...(values as unknown as Options),
      ...scaleOf(v),
      apiKey: v.apiKey ?? Deno.env.get("OPENAI_API_KEY"),
      ...shapingOf(v, "--extra-body"),
      headers: v.headers === undefined ? undefined : parseHeaders(v.headers),
      burstiness: v.burstiness ?? 1,
      metricsUrls: (v.metricsUrls as string[] | undefined)?.flatMap((u) =>
        u.split(",").map((p) => p.trim())
      ),
    };
  } catch (error) {
    return refuse((error as Error).message);
  }
  const { maxInFlight, requestRates, part } = opts;
  const split = opts.workers * (part?.count ?? 1);
  const short = opts.workersAuto || opts.worker
    ? undefined
    : maxInFlight?.find((n) => n < split);
  if (short !== undefined) {
    refuse(
      `--max-inflight ${short} cannot be split over ${split} processes: each needs at least 1 request in flight`,
    );
  }
  if (requestRates !== undefined && (maxInFlight?.length ?? 0) > 1) {
    refuse(
      "sweep one load at a time: a list of --request-rate or of --max-inflight, not both",
    );
  }
  if (opts.outputDir !== undefined && !opts.artifacts) {
    refuse("--output-dir and --no-artifacts exclude each other");
  }
  if (v.burstiness !== undefined && requestRates === undefined) {
    refuse("--burstiness needs --request-rate");
  }
  if (!opts.metrics && opts.requireOffload !== undefined) {
    refuse(
      "--require-offload-hits needs the server's metrics (not --no-metrics)",
    );
  }
  if (
    part !== undefined && !opts.worker &&
    ((requestRates?.length ?? 0) > 1 || (maxInFlight?.length ?? 0) > 1)
  ) {
    refuse("a shard runs one load level: run one job per level of a sweep");
  }
  if (part !== undefined && !opts.worker && opts.seed === undefined) {
    refuse(
      "a shard needs --seed: every shard must draw the same questions and arrivals",
    );
  }
  if (
    opts.bytesPerToken !== undefined &&
    [opts.hfConfig, opts.tp, opts.kvCacheDtype].some((x) => x !== undefined)
  ) {
    refuse("--bytes-per-token excludes --hf-config, --tp and --kv-cache-dtype");
  }
  try {
    opts.cache = cacheOptionsOf(opts);
    checkContextSalt(opts.contextSalt);
  } catch (error) {
    refuse((error as Error).message);
  }
  if (
    opts.worker !== (opts.runTag !== undefined) ||
    (opts.worker && (opts.model === undefined || part === undefined))
  ) {
    refuse("--worker is started by --workers");
  }
  return opts;
}
