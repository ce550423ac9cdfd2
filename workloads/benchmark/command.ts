/**
 * `kvbench benchmark`: the command line of the KV-offload stress workload.
 *
 * @module
 */
import {
  discoverModels,
  maskKey,
  normalizeEndpoint,
} from "../../lib/openai/endpoint.ts";
import {
  BUNDLED_MODEL_CONFIGS,
  bytesPerToken,
  findModelConfig,
  loadModelConfigs,
  type ModelConfig,
  offloadSizeGib,
} from "../../lib/models/model_config.ts";
import {
  openRecordsFile,
  type RecordsFile,
} from "../../lib/run/records_file.ts";
import { benchmarkSummaryJson, renderBenchmarkBlock } from "./report.ts";
import { runBenchmark } from "./run.ts";
import { renderBenchmarkSpec, sizeBenchmark } from "./sizing.ts";
import {
  type ApiName,
  checkOutputPath,
  chooseTransport,
  type Command,
  err,
  LiveLine,
  numberFlag,
  numberListFlag,
  out,
  parseApi,
  parseFlags,
  parseHeaders,
  parseJsonObject,
  parseTransport,
  ReportedError,
  secondsFlag,
  type TransportName,
  UsageError,
} from "../../lib/cli/common.ts";
import {
  parsePercentiles,
  parseSlos,
  renderDistributions,
  type Slos,
} from "../../lib/metrics/distributions.ts";
import {
  gamma,
  type LoadPolicy,
  openLoop,
  poisson,
} from "../../lib/run/load.ts";
import type { EndpointConfig } from "../../lib/openai/request.ts";
import { preflight } from "../../lib/server/preflight.ts";
import { benchmarkVerdict, ReuseTracker } from "../../lib/server/verdict.ts";
import { metricsPathFor, RunMetrics } from "../../lib/cli/server_metrics.ts";
import {
  createRunDir,
  startLevel,
  writeRunInfo,
} from "../../lib/cli/run_dir.ts";
import { writeReport } from "../../lib/cli/report_command.ts";
import { RunProgress } from "../../lib/cli/progress.ts";
import { renderTable } from "../../lib/format/table.ts";
import type { DistributionSummary } from "../../lib/metrics/distributions.ts";
import type { Transport } from "../../lib/transport/transport.ts";
import type { BenchmarkSizing } from "./sizing.ts";
import type { RecordSource, RunPart } from "../../lib/run/runner.ts";
import {
  describeClock,
  dropFlags,
  parseStartAt,
  parseWorkers,
  prepareStart,
  resolveShard,
  runAsWorker,
  withWorkers,
  WorkerPool,
} from "../../lib/cli/scale.ts";
import { partConcurrency } from "../../lib/run/part.ts";

const USAGE =
  `usage: kvbench benchmark --endpoint URL [--api-key KEY] [--model NAME] [options]

KV-offload stress (successor of tmesh-cli benchmark): long contexts sized to
fill the offload tier, cycled in tile order so every reuse must come from it.
Runs until Ctrl+C / SIGTERM (or --duration), then prints a final report.

options:
  --endpoint URL          OpenAI-compatible server (http://host:8000, …/v1, host:8000)
  --api-key KEY           bearer key (default: $OPENAI_API_KEY; none is fine)
  --model NAME            model to send (default: the first id of GET /v1/models)
  --model-configs FILE    model_configs.json to use instead of the bundled one
  --offload-size GB       offload capacity in GiB (overrides the model's config)
  --bytes-per-token N     KV bytes per token (overrides the model's config)
  --input-length N        tokens per context (default 32000)
  --output-length N       max_tokens per request (default 100)
  --max-inflight N        requests in flight at most (default: contexts / 3); a list
                          (8,16,32) sweeps: one level after another, then a table
  --concurrency N         the same as --max-inflight
  --request-rate R        open loop: R requests per second (Poisson), still at most
                          --max-inflight in flight (default: closed loop); a list
                          (1,2,4) sweeps
  --burstiness B          gamma-distributed arrivals of shape B (1 = Poisson, < 1 burstier)
  --num-prompts N         stop after N requests (after the warm-up)
  --warmup N              the first N requests are sent and recorded, left out of the figures
  --ignore-eos            send ignore_eos so every request generates --output-length tokens
  --no-ignore-eos         do not (the default, as tmesh-cli)
  --api API               completions (default, as tmesh-cli) or chat
  --extra-body JSON       fields merged into every request body, e.g. '{"temperature":0}'
                          (stream_options is merged: usage is always asked for)
  --header NAME:VALUE     an extra request header (repeatable)
  --duration S            stop after S seconds (default: run until interrupted)
  --interval S            seconds between reports (default 5)
  --seed N                seed of the question draw (default: random; run.json and the
                          summary JSON record it, so --seed N repeats the draw)
  --percentiles LIST      percentiles of the distributions (default 50,90,99)
  --goodput SLOS          count requests meeting SLOs in ms, e.g. ttft:500,tpot:50 (keys
                          ttft, tpot, e2el)
  --output-dir DIR        write the run's files here (default: kvbench-runs/<time>-
                          benchmark, or under $KVBENCH_RUNS_DIR): run.json,
                          records.jsonl, metrics.jsonl, summary.json, report.html
  --no-artifacts          write no run directory
  --records FILE          also append every finished request to FILE as JSON lines
  --output FILE           also write the JSON summary of the run to FILE
  --max-retries N         retry failed requests N times (default 0: failures are counted)
  --timeout S             total timeout of one request (default 600)
  --connect-timeout S     time to open a connection (default 10; not applied by fetch)
  --first-token-timeout S time from the send to the first generated token (default: none)
  --idle-timeout S        time without any byte of a response (default: none)
  --transport NAME        auto (default: http1 unless a proxy applies), http1 or fetch
  --workers N             split the run over N worker processes on this host (auto: one
                          per core, at most one per request in flight): worker k sends
                          requests k, k+N, … of the tile order with its share of the
                          in-flight cap; one run directory, one report from all records
  --shard K/N             run part K (from 0) of N of this workload (every N-th request
                          from K; give every shard the same --seed); merge the parts
                          with kvbench merge
  --shards N              the same, K read from $JOB_COMPLETION_INDEX (a Kubernetes
                          Indexed Job: see kvbench k8s)
  --start-at TIME         start at this wall-clock time (ISO 8601 or Unix seconds), so
                          shards start together
  --metrics-url URL       the server's Prometheus /metrics (repeatable; default: the
                          endpoint's origin + /metrics), scraped at the start, every
                          report and the end, for the KV source split and the verdict
  --no-metrics            do not scrape the server's metrics
  --metrics-out FILE      write every scrape as a JSON line to FILE (default: beside
                          --records, as NAME.metrics.jsonl)
  --device-kv-gb GB       the GPU KV capacity, for the pre-flight, when the server
                          does not report it
  --require-offload-hits F
                          exit 1 unless the offload tier served at least the fraction
                          F (0-1) of the reusable prompt tokens (CI of a serving stack)
  -h, --help              show this help
`;

function number(
  value: string | undefined,
  flag: string,
  check: (n: number) => boolean,
): number | undefined {
  return numberFlag(value, flag, { check, usage: USAGE });
}

function seconds(value: string | undefined, flag: string): number | undefined {
  return secondsFlag(value, flag, { usage: USAGE });
}

const positive = (n: number): boolean => n > 0;
const positiveInt = (n: number): boolean => Number.isInteger(n) && n > 0;
const nonNegativeInt = (n: number): boolean => Number.isInteger(n) && n >= 0;

/** The parsed command line. */
type Options = NonNullable<ReturnType<typeof parse>>;

/**
 * Refuse, with the {@linkcode UsageError} `kvbench benchmark` would give,
 * arguments it would refuse; runs nothing (for `kvbench k8s`).
 */
export function checkBenchmarkArgs(args: string[]): void {
  const opts = parse(args);
  if (opts === undefined) return;
  try {
    normalizeEndpoint(opts.endpoint);
  } catch (error) {
    throw new UsageError((error as Error).message, USAGE);
  }
}

function parse(args: string[]) {
  const values = parseFlags(args, {
    endpoint: { type: "string" },
    "api-key": { type: "string" },
    model: { type: "string" },
    "model-configs": { type: "string" },
    "offload-size": { type: "string" },
    "bytes-per-token": { type: "string" },
    "input-length": { type: "string" },
    "output-length": { type: "string" },
    "max-inflight": { type: "string" },
    concurrency: { type: "string" },
    "output-dir": { type: "string" },
    "no-artifacts": { type: "boolean" },
    "ignore-eos": { type: "boolean" },
    "no-ignore-eos": { type: "boolean" },
    "request-rate": { type: "string" },
    burstiness: { type: "string" },
    "num-prompts": { type: "string" },
    warmup: { type: "string" },
    api: { type: "string" },
    "extra-body": { type: "string" },
    header: { type: "string", multiple: true },
    percentiles: { type: "string" },
    goodput: { type: "string" },
    "connect-timeout": { type: "string" },
    "first-token-timeout": { type: "string" },
    "idle-timeout": { type: "string" },
    transport: { type: "string" },
    "metrics-url": { type: "string", multiple: true },
    "no-metrics": { type: "boolean" },
    "metrics-out": { type: "string" },
    "device-kv-gb": { type: "string" },
    "require-offload-hits": { type: "string" },
    duration: { type: "string" },
    interval: { type: "string" },
    seed: { type: "string" },
    records: { type: "string" },
    output: { type: "string" },
    "max-retries": { type: "string" },
    timeout: { type: "string" },
    workers: { type: "string" },
    shard: { type: "string" },
    shards: { type: "string" },
    "start-at": { type: "string" },
    worker: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  }, USAGE);
  if (values.help) return undefined;
  if (values.endpoint === undefined) {
    throw new UsageError(
      "the following arguments are required: --endpoint",
      USAGE,
    );
  }
  if (values["ignore-eos"] && values["no-ignore-eos"]) {
    throw new UsageError(
      "--ignore-eos and --no-ignore-eos exclude each other",
      USAGE,
    );
  }
  const shaped = (fn: () => void): void => {
    try {
      fn();
    } catch (error) {
      throw new UsageError((error as Error).message, USAGE);
    }
  };
  let api: ApiName = "completions";
  let transport: TransportName = "auto";
  let extraBody: Record<string, unknown> | undefined;
  let headers: Record<string, string> | undefined;
  let percentiles: number[] | undefined;
  let slos: Slos | undefined;
  let workers = 1;
  let part: RunPart | undefined;
  let startAt: number | undefined;
  shaped(() => {
    if (values.workers !== undefined) workers = parseWorkers(values.workers);
    part = resolveShard(values.shard, values.shards);
    if (values["start-at"] !== undefined) {
      startAt = parseStartAt(values["start-at"]);
    }
    if (values.api !== undefined) api = parseApi(values.api);
    if (values.transport !== undefined) {
      transport = parseTransport(values.transport);
    }
    if (values["extra-body"] !== undefined) {
      extraBody = parseJsonObject(values["extra-body"], "--extra-body");
    }
    if (values.header !== undefined) headers = parseHeaders(values.header);
    if (values.percentiles !== undefined) {
      percentiles = parsePercentiles(values.percentiles);
    }
    if (values.goodput !== undefined) slos = parseSlos(values.goodput);
  });
  const burstiness = number(values.burstiness, "--burstiness", positive);
  const requestRates = numberListFlag(
    values["request-rate"],
    "--request-rate",
    {
      check: positive,
      usage: USAGE,
    },
  );
  if (
    values["max-inflight"] !== undefined && values.concurrency !== undefined
  ) {
    throw new UsageError(
      "--concurrency is --max-inflight: give one of them",
      USAGE,
    );
  }
  const maxInFlight = numberListFlag(
    values["max-inflight"] ?? values.concurrency,
    values.concurrency === undefined ? "--max-inflight" : "--concurrency",
    { check: positiveInt, usage: USAGE },
  );
  const split = workers * (part?.count ?? 1);
  const short = values.workers === "auto" || values.worker
    ? undefined
    : maxInFlight?.find((n) => n < split);
  if (short !== undefined) {
    throw new UsageError(
      `--max-inflight ${short} cannot be split over ${split} processes: each needs at least 1 request in flight`,
      USAGE,
    );
  }
  if (requestRates !== undefined && (maxInFlight?.length ?? 0) > 1) {
    throw new UsageError(
      "sweep one load at a time: a list of --request-rate or of --max-inflight, not both",
      USAGE,
    );
  }
  if (values["output-dir"] !== undefined && values["no-artifacts"]) {
    throw new UsageError(
      "--output-dir and --no-artifacts exclude each other",
      USAGE,
    );
  }
  if (burstiness !== undefined && requestRates === undefined) {
    throw new UsageError("--burstiness needs --request-rate", USAGE);
  }
  const requireOffload = number(
    values["require-offload-hits"],
    "--require-offload-hits",
    (x) => x >= 0 && x <= 1,
  );
  if (values["no-metrics"] && requireOffload !== undefined) {
    throw new UsageError(
      "--require-offload-hits needs the server's metrics (not --no-metrics)",
      USAGE,
    );
  }
  if (
    part !== undefined && !values.worker &&
    ((requestRates?.length ?? 0) > 1 || (maxInFlight?.length ?? 0) > 1)
  ) {
    throw new UsageError(
      "a shard runs one load level: run one job per level of a sweep",
      USAGE,
    );
  }
  if (part !== undefined && !values.worker && values.seed === undefined) {
    throw new UsageError(
      "a shard needs --seed: every shard must draw the same questions and arrivals",
      USAGE,
    );
  }
  if (values.worker && (values.model === undefined || part === undefined)) {
    throw new UsageError("--worker is started by --workers", USAGE);
  }
  return {
    endpoint: values.endpoint,
    api,
    workers,
    workersAuto: values.workers === "auto",
    part,
    startAt,
    worker: values.worker ?? false,
    metricsUrls: values["metrics-url"],
    metrics: !values["no-metrics"],
    metricsOut: values["metrics-out"],
    deviceKvGb: number(values["device-kv-gb"], "--device-kv-gb", positive),
    requireOffload,
    transport,
    extraBody,
    headers,
    percentiles,
    slos,
    requestRates,
    burstiness: burstiness ?? 1,
    outputDir: values["output-dir"],
    artifacts: !values["no-artifacts"],
    numPrompts: number(values["num-prompts"], "--num-prompts", positiveInt),
    warmup: number(values.warmup, "--warmup", nonNegativeInt) ?? 0,
    connectTimeout: seconds(
      values["connect-timeout"],
      "--connect-timeout",
    ),
    firstTokenTimeout: seconds(
      values["first-token-timeout"],
      "--first-token-timeout",
    ),
    idleTimeout: seconds(values["idle-timeout"], "--idle-timeout"),
    apiKey: values["api-key"] ?? Deno.env.get("OPENAI_API_KEY"),
    model: values.model,
    modelConfigs: values["model-configs"],
    offloadSize: number(values["offload-size"], "--offload-size", positive),
    bytesPerToken: number(
      values["bytes-per-token"],
      "--bytes-per-token",
      positiveInt,
    ),
    inputLength:
      number(values["input-length"], "--input-length", positiveInt) ?? 32000,
    outputLength:
      number(values["output-length"], "--output-length", positiveInt) ?? 100,
    maxInFlight,
    ignoreEos: values["ignore-eos"] ?? false,
    duration: seconds(values.duration, "--duration"),
    interval: seconds(values.interval, "--interval") ?? 5,
    seed: number(values.seed, "--seed", Number.isSafeInteger),
    records: values.records,
    output: values.output,
    maxRetries:
      number(values["max-retries"], "--max-retries", nonNegativeInt) ?? 0,
    timeout: seconds(values.timeout, "--timeout") ?? 600,
  };
}

function fail(lines: string): never {
  err(lines);
  throw new ReportedError(lines.trim());
}

async function resolveModel(
  baseUrl: string,
  opts: NonNullable<ReturnType<typeof parse>>,
  signal: AbortSignal,
): Promise<string> {
  let ids: string[];
  try {
    ids = await discoverModels(baseUrl, { apiKey: opts.apiKey, signal });
  } catch (error) {
    const kind = ((error as Error).cause as { kind?: string } | undefined)
      ?.kind;
    if (kind === "connect") {
      fail(
        `\n[ERROR] Could not connect to endpoint: ${baseUrl}\n` +
          `Make sure a model server is running and accessible.\n` +
          `Try: curl ${baseUrl}models\n`,
      );
    }
    if (kind === "auth") {
      fail(
        `\n[ERROR] ${
          (error as Error).message
        }: check --api-key (or $OPENAI_API_KEY)\n`,
      );
    }
    fail(
      `\n[ERROR] Failed to query models from ${baseUrl}: ${
        (error as Error).message
      }\n`,
    );
  }
  if (opts.model === undefined) {
    out(`found model: ${ids[0]}\n`);
    return ids[0];
  }
  out(`model: ${opts.model} (--model)\n`);
  if (!ids.includes(opts.model)) {
    err(
      `[WARN] ${baseUrl}models does not list "${opts.model}" (it lists: ${
        ids.join(", ")
      })\n`,
    );
  }
  return opts.model;
}

function sizeFor(
  model: string,
  configs: readonly ModelConfig[],
  opts: NonNullable<ReturnType<typeof parse>>,
) {
  const config = findModelConfig(model, configs);
  if (
    config === undefined &&
    (opts.offloadSize === undefined || opts.bytesPerToken === undefined)
  ) {
    fail(
      `\n[ERROR] model ${model} not found in model_configs.json\n` +
        `Known models:\n${
          configs.map((c) => `  ${c.model_name}`).join("\n")
        }\n` +
        `Add it with --model-configs FILE, or size it with --offload-size GB --bytes-per-token N.\n`,
    );
  }
  try {
    return sizeBenchmark(model, {
      offloadSizeGib: opts.offloadSize ?? offloadSizeGib(config!),
      bytesPerToken: opts.bytesPerToken ?? bytesPerToken(config!),
      inputLength: opts.inputLength,
      outputLength: opts.outputLength,
    });
  } catch (error) {
    fail(`\n[ERROR] ${(error as Error).message}\n`);
  }
}

/** One level of a run: the load it runs at. */
interface Level {
  /** How the sweep table and the headers name it. */
  label: string;
  /** Requests in flight at most. */
  maxInFlight: number;
  /** Open loop at this rate (requests per second), or a closed loop. */
  requestRate?: number;
}

/** What a level's row of the sweep table shows. */
interface LevelRow {
  level: Level;
  summary: Record<string, unknown>;
  code: number;
}

/** `NAME.jsonl` → `NAME.level-2.jsonl` for the second level of a sweep. */
function levelPath(path: string, i: number, levels: number): string {
  if (levels === 1) return path;
  const dot = path.lastIndexOf(".");
  return dot > path.lastIndexOf("/")
    ? `${path.slice(0, dot)}.level-${i + 1}${path.slice(dot)}`
    : `${path}.level-${i + 1}`;
}

function renderSweep(rows: LevelRow[]): string {
  const f = (x: unknown, digits: number): string =>
    typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "-";
  return "\n" + renderTable(
    [
      { header: "Level" },
      { header: "req/s" },
      { header: "output\ntok/s" },
      { header: "TTFT p50\n(ms)" },
      { header: "TTFT p99\n(ms)" },
      { header: "TPOT p50\n(ms)" },
      { header: "E2E p50\n(ms)" },
      { header: "cache\nhits" },
      { header: "offload\nshare" },
      { header: "failed" },
    ],
    rows.map(({ level, summary }) => {
      const d = summary.distributions as DistributionSummary;
      const server = summary.server as { offload_share?: number } | null;
      const hit = summary.cache_hit_rate as number | null;
      return [
        level.label,
        f(summary.qps, 2),
        f(d.outputTokensPerS, 1),
        f(d.ttftMs?.percentiles["50"], 1),
        f(d.ttftMs?.percentiles["99"], 1),
        f(d.tpotMs?.percentiles["50"], 2),
        f(d.e2eMs?.percentiles["50"], 1),
        hit === null ? "-" : `${(hit * 100).toFixed(1)}%`,
        typeof server?.offload_share === "number"
          ? `${(server.offload_share * 100).toFixed(1)}%`
          : "-",
        String((summary.requests as { failed: number }).failed),
      ];
    }),
    { title: "Sweep: throughput against latency, level by level" },
  );
}

/** `kvbench benchmark`. */
export const benchmarkCommand: Command = {
  name: "benchmark",
  summary:
    "KV-offload stress: long contexts in tile order (successor of tmesh-cli benchmark)",
  async run(args: string[], signal: AbortSignal): Promise<number> {
    const opts = parse(args);
    if (opts === undefined) {
      out(USAGE);
      return 0;
    }
    let baseUrl: string;
    try {
      baseUrl = normalizeEndpoint(opts.endpoint);
    } catch (error) {
      throw new UsageError((error as Error).message, USAGE);
    }
    for (
      const [path, flag] of [
        [opts.output, "--output"],
        [opts.records, "--records"],
        [opts.metricsOut, "--metrics-out"],
      ]
    ) {
      if (path !== undefined) await checkOutputPath(path, flag!);
    }
    const configs = opts.modelConfigs
      ? await loadModelConfigs(opts.modelConfigs)
      : BUNDLED_MODEL_CONFIGS;
    if (opts.worker) {
      return await runWorker(opts, { baseUrl, configs, args, signal });
    }
    out(`endpoint: ${opts.endpoint}\n`);
    out(`api_key: ${opts.apiKey ? maskKey(opts.apiKey) : "(none)"}\n`);
    out(`normalized endpoint: ${baseUrl}\n`);
    const model = await resolveModel(baseUrl, opts, signal);
    const sizing = sizeFor(model, configs, opts);
    const levels: Level[] = opts.requestRates !== undefined
      ? opts.requestRates.map((rate) => ({
        label: `--request-rate ${rate}`,
        maxInFlight: opts.maxInFlight?.[0] ?? sizing.maxInFlight,
        requestRate: rate,
      }))
      : (opts.maxInFlight ?? [sizing.maxInFlight]).map((n) => ({
        label: `--max-inflight ${n}`,
        maxInFlight: n,
      }));
    sizing.maxInFlight = levels[0].maxInFlight;
    const seed = opts.seed ?? crypto.getRandomValues(new Uint32Array(1))[0];
    out(`offload_size: ${sizing.offloadSizeGib}\n`);
    const stops = [
      opts.numPrompts === undefined ? "" : `send ${opts.numPrompts} requests`,
      opts.duration === undefined ? "" : `run for ${opts.duration} s`,
    ].filter(Boolean);
    const runs = stops.length === 0
      ? "will run forever until you interrupt the process."
      : `will ${stops.join(" or ")}${
        stops.length > 1 ? ", whichever comes first" : ""
      } (or until you interrupt the process).`;
    out(
      `\n\n\nNOTE: kvbench benchmark ${runs}\n\n\n${
        renderBenchmarkSpec(sizing)
      }\n`,
    );
    if (signal.aborted) return 0;
    const dir = opts.artifacts
      ? await createRunDir(
        opts.part === undefined
          ? "benchmark"
          : `benchmark-shard-${opts.part.index}-of-${opts.part.count}`,
        opts.outputDir,
      )
      : undefined;
    let stopping = false;
    const onStop = (): void => {
      stopping = true;
      live.clear();
      out("\n[INFO] Received termination signal. Stopping benchmark...\n");
    };
    signal.addEventListener("abort", onStop, { once: true });
    const { transport, label } = chooseTransport(opts.transport, baseUrl);
    const live = new LiveLine();
    const rows: LevelRow[] = [];
    const written: string[] = [];
    let code = 0;
    try {
      for (const [i, level] of levels.entries()) {
        if (signal.aborted) break;
        const levelDir = await startLevel(dir, {
          index: i,
          levels: levels.length,
          label: level.label,
        });
        const row = await runLevel({
          opts,
          level,
          index: i,
          levels: levels.length,
          sizing: { ...sizing, maxInFlight: level.maxInFlight },
          baseUrl,
          model,
          seed,
          dir: levelDir,
          transport,
          label,
          signal,
          live,
          isStopping: () => stopping,
          written,
          argv: args,
        });
        rows.push(row);
        if (row.code !== 0) code = row.code;
      }
      if (rows.length > 1) {
        out(renderSweep(rows));
        if (dir !== undefined) {
          await Deno.writeTextFile(
            `${dir}/sweep.json`,
            JSON.stringify(
              rows.map((r) => ({ level: r.level, summary: r.summary })),
              null,
              2,
            ) + "\n",
          );
        }
      }
      for (const line of written) out(line);
      if (dir !== undefined) {
        const report = await writeReport(dir, opts.percentiles);
        out(
          `[INFO] Run written to ${dir}${
            report ? ` (report: ${report})` : ""
          }\n`,
        );
      }
      out("[INFO] Benchmark stopped gracefully.\n");
      return code;
    } finally {
      live.clear();
      signal.removeEventListener("abort", onStop);
      transport.close();
    }
  },
};

/** Everything one level needs. */
interface LevelContext {
  opts: Options;
  level: Level;
  index: number;
  levels: number;
  sizing: BenchmarkSizing;
  baseUrl: string;
  model: string;
  seed: number;
  dir?: string;
  transport: Transport;
  label: string;
  signal: AbortSignal;
  live: LiveLine;
  isStopping: () => boolean;
  /** Lines saying which files were written, printed at the very end. */
  written: string[];
  argv: string[];
  /** The level's worker processes (`--workers`). */
  pool?: WorkerPool;
}

/**
 * Run one level: with `--workers`, start them first (they load while
 * nothing is timed), and stop them whatever happens.
 */
async function runLevel(c: LevelContext): Promise<LevelRow> {
  if (c.opts.workers <= 1) return await runLevelIn(c);
  return await withWorkers((pool) => runLevelIn({ ...c, pool }), {
    dir: c.dir,
    spawn: (dir) => spawnWorkers(c, dir),
    onStarted: (pool, dir) =>
      out(
        `[INFO] ${pool.pids.length} workers (pids ${
          pool.pids.join(", ")
        }) writing into ${dir}\n`,
      ),
  });
}

/** Run one level: its requests, its reports, its files. */
async function runLevelIn(c: LevelContext): Promise<LevelRow> {
  const { opts, sizing, level, live } = c;
  const at = (path: string) => levelPath(path, c.index, c.levels);
  const records: RecordsFile[] = [];
  if (c.dir !== undefined) {
    records.push(openRecordsFile(`${c.dir}/records.jsonl`));
  }
  if (opts.records) records.push(openRecordsFile(at(opts.records)));
  const metricsPaths: string[] = [];
  if (c.dir !== undefined) metricsPaths.push(`${c.dir}/metrics.jsonl`);
  if (opts.metricsOut) metricsPaths.push(at(opts.metricsOut));
  else if (opts.records) metricsPaths.push(metricsPathFor(at(opts.records)));
  // The server's view: engine, capacities, counters before the first request.
  const serverMetrics = opts.metrics
    ? await RunMetrics.start({
      baseUrl: c.baseUrl,
      urls: opts.metricsUrls,
      apiKey: opts.apiKey,
      paths: metricsPaths,
      startedAt: performance.now(),
      warn: err,
    })
    : undefined;
  if (serverMetrics !== undefined && c.index === 0) {
    printPreflight(serverMetrics, sizing, opts);
  }
  const reuse = new ReuseTracker();
  const progress = new RunProgress();
  // Workers (this host's cores), or this process as one shard of several.
  const pool = c.pool;
  const { startedAt, clock } = await prepareStart({
    part: opts.part,
    pooled: pool !== undefined,
    startAt: opts.startAt,
    baseUrl: c.baseUrl,
    apiKey: opts.apiKey,
    signal: c.signal,
    onClock: (clock) =>
      out(
        `[INFO] shard ${opts.part!.index}/${opts.part!.count}: ${
          describeClock(clock)
        }\n`,
      ),
    onWait: (ms) =>
      out(
        `[INFO] starting at ${new Date(opts.startAt!).toISOString()}${
          opts.part === undefined ? "" : " on the server's clock"
        }, in ${(ms / 1000).toFixed(1)} s\n`,
      ),
    onLate: (ms) =>
      err(
        `[WARN] --start-at ${new Date(opts.startAt!).toISOString()} passed ${
          (ms / 1000).toFixed(1)
        } s ago: starting now\n`,
      ),
  });
  const source: RecordSource | undefined = pool === undefined
    ? undefined
    : async (handlers) => {
      await pool.start(startedAt);
      return await pool.follow(handlers, {
        startedAt,
        signal: c.signal,
        onLines: (text, n) => {
          for (const file of records) file.writeLines(text, n);
        },
      });
    };
  const startedWall = new Date(performance.timeOrigin + startedAt)
    .toISOString();
  const params = {
    endpoint: c.baseUrl,
    model: c.model,
    seed: c.seed,
    started_at: startedWall,
    duration_s: opts.duration ?? null,
    ignore_eos: opts.ignoreEos,
    api: opts.api,
    max_inflight: level.maxInFlight,
    request_rate: level.requestRate ?? null,
    burstiness: level.requestRate === undefined ? null : opts.burstiness,
    num_prompts: opts.numPrompts ?? null,
    warmup: opts.warmup,
    extra_body: opts.extraBody ?? null,
    headers: opts.headers ?? null,
    max_retries: opts.maxRetries,
    timeout_s: opts.timeout,
    percentiles: opts.percentiles ?? null,
    slos: opts.slos ?? null,
    interval_s: opts.interval,
    transport: c.label,
  };
  if (c.dir !== undefined) {
    await writeRunInfo(c.dir, {
      command: "benchmark",
      argv: c.argv,
      params,
      workload: sizing,
      server: serverMetrics?.server,
      startedAt,
      part: {
        level: c.levels > 1 ? { index: c.index + 1, of: c.levels } : null,
        shard: opts.part ?? null,
        workers: opts.workers > 1 ? opts.workers : null,
      },
      clock,
    });
  }
  let code = 0;
  const drawStatus = () =>
    live.update(
      progress.line(
        Math.max(0, performance.now() - startedAt) / 1000,
        opts.duration,
      ),
    );
  if (live.active) drawStatus();
  const liveTimer = live.active ? setInterval(drawStatus, 1000) : undefined;
  let pending: Promise<void> | undefined;
  try {
    const result = await runBenchmark(sizing, {
      endpoint: endpointConfig(opts, c),
      seed: c.seed,
      ignoreEos: opts.ignoreEos,
      api: opts.api,
      load: levelLoad(opts, level, c.seed),
      part: opts.part,
      source,
      maxRequests: opts.numPrompts,
      warmupRequests: opts.warmup,
      slos: opts.slos,
      durationMs: opts.duration === undefined
        ? undefined
        : opts.duration * 1000,
      signal: c.signal,
      intervalMs: opts.interval * 1000,
      startedAt,
      write: (text) => live.print(text),
      warn: err,
      onSend: () => progress.sent(),
      onRecord: (record) => {
        // Workers' records are copied as they wrote them (onLines).
        if (pool === undefined) {
          for (const file of records) file.write(record);
        }
        serverMetrics?.add(record);
        reuse.add(record);
        progress.add(record);
      },
      onReport: (ms) => {
        for (const file of records) file.report(ms);
        // The server's split at this report, printed when the scrape is in
        // (not once stopping: tmesh-cli's closing lines come as they did).
        if (serverMetrics !== undefined) {
          pending = serverMetrics.scrape().then(() => {
            if (!c.isStopping() && serverMetrics.split() !== undefined) {
              live.print(serverMetrics.render() + "\n");
            }
          });
        }
      },
    });
    clearInterval(liveTimer);
    live.clear();
    await pending;
    await serverMetrics?.scrape();
    if ((pool?.failures.length ?? 0) > 0) code = 1;
    const { ok, failed } = result.summary.requests;
    if (
      !c.isStopping() && opts.duration !== undefined &&
      result.summary.stopReason === "duration"
    ) {
      out(
        `\n[INFO] Duration of ${opts.duration} s reached. Stopping benchmark...\n`,
      );
    }
    out("\n[INFO] Cancelled benchmark tasks.\n");
    out("\nFinal metrics:\n");
    out(renderBenchmarkBlock(result.final, { intervalSeconds: opts.interval }));
    out(
      renderDistributions(
        result.distributions.summary({
          percentiles: opts.percentiles,
          elapsedMs: result.final.elapsed * 1000,
        }),
        { transport: c.label },
      ),
    );
    const split = serverMetrics?.split();
    if (serverMetrics !== undefined) out(serverMetrics.render());
    const verdict = benchmarkVerdict(reuse.figures(), {
      split,
      noSplitReason: serverMetrics?.noSplitReason() ??
        "--no-metrics: the server's metrics were not read",
    });
    out(`\n${verdict.text}\n\n`);
    if (ok === 0 && failed > 0) {
      err(
        `[ERROR] every request failed (${failed}): nothing was measured\n`,
      );
      code = 1;
    }
    if (opts.requireOffload !== undefined) {
      const share = verdict.offloadShare;
      if (share === undefined || share < opts.requireOffload) {
        err(
          `[ERROR] --require-offload-hits ${opts.requireOffload}: the offload tier served ${
            share === undefined
              ? "an unknown share (the server's counters do not name the tier)"
              : `${(share * 100).toFixed(1)}%`
          } of the reusable prompt tokens\n`,
        );
        code = 1;
      }
    }
    const summary = benchmarkSummaryJson(sizing, result, {
      params,
      percentiles: opts.percentiles,
      transport: c.label,
      server: serverMetrics === undefined ? undefined : {
        ...serverMetrics.server,
        split: split ?? null,
        resets: serverMetrics.last?.resets ?? 0,
        scrape_failures: Object.fromEntries(serverMetrics.failures),
        offload_share: verdict.offloadShare ?? null,
        verdict: verdict.text,
      },
    });
    const json = JSON.stringify(summary, null, 2) + "\n";
    if (c.dir !== undefined) {
      await Deno.writeTextFile(`${c.dir}/summary.json`, json);
    }
    if (opts.output) {
      await Deno.writeTextFile(at(opts.output), json);
      c.written.push(`[INFO] Summary written to ${at(opts.output)}\n`);
    }
    for (const file of records) {
      file.end({
        startedAt,
        elapsedMs: result.final.elapsed * 1000,
        stopReason: result.summary.stopReason,
      });
    }
    if (opts.records) {
      const file = records[records.length - 1];
      c.written.push(`[INFO] ${file.count} records written to ${file.path}\n`);
    }
    return { level, summary, code };
  } finally {
    clearInterval(liveTimer);
    for (const file of records) file.close();
    serverMetrics?.close();
  }
}

function endpointConfig(
  opts: Options,
  c: { baseUrl: string; model: string; transport: Transport },
): EndpointConfig {
  const ms = (s: number | undefined) => s === undefined ? undefined : s * 1000;
  return {
    baseUrl: c.baseUrl,
    model: c.model,
    apiKey: opts.apiKey,
    transport: c.transport,
    maxRetries: opts.maxRetries,
    timeoutMs: opts.timeout * 1000,
    connectTimeoutMs: ms(opts.connectTimeout),
    firstTokenTimeoutMs: ms(opts.firstTokenTimeout),
    idleTimeoutMs: ms(opts.idleTimeout),
    extraBody: opts.extraBody,
    headers: opts.headers,
  };
}

/** The load of a level: a closed loop, or arrivals at its rate. */
function levelLoad(
  opts: Options,
  level: Level,
  seed: number,
): LoadPolicy | undefined {
  if (level.requestRate === undefined) return undefined;
  return openLoop(
    opts.burstiness === 1
      ? poisson(level.requestRate, { seed })
      : gamma(level.requestRate, opts.burstiness, { seed }),
  );
}

/** The flags a worker does not inherit: the parent re-states or owns them. */
const PARENT_FLAGS = {
  values: [
    "--workers",
    "--output-dir",
    "--records",
    "--output",
    "--metrics-url",
    "--metrics-out",
    "--require-offload-hits",
    "--device-kv-gb",
    "--max-inflight",
    "--concurrency",
    "--request-rate",
    "--seed",
    "--model",
    "--shard",
    "--shards",
    "--start-at",
  ],
  booleans: ["--no-artifacts", "--no-metrics", "--worker"],
};

/** Start this level's workers, each on its part, writing into `DIR/worker-K`. */
function spawnWorkers(c: LevelContext, dir: string): Promise<WorkerPool> {
  const { opts, level } = c;
  const shard = opts.part ?? { index: 0, count: 1 };
  // Every worker needs a request in flight: auto takes at most that many.
  const count = opts.workersAuto
    ? Math.max(
      1,
      Math.min(opts.workers, Math.floor(level.maxInFlight / shard.count)),
    )
    : opts.workers;
  partConcurrency(level.maxInFlight, { index: 0, count: shard.count * count });
  return WorkerPool.spawn({
    count,
    signal: c.signal,
    args: (k) => [
      "benchmark",
      ...dropFlags(c.argv, PARENT_FLAGS),
      "--model",
      c.model,
      "--seed",
      String(c.seed),
      "--max-inflight",
      String(level.maxInFlight),
      ...(level.requestRate === undefined
        ? []
        : ["--request-rate", String(level.requestRate)]),
      "--shard",
      `${shard.index + shard.count * k}/${shard.count * count}`,
      "--output-dir",
      `${dir}/worker-${k}`,
      "--worker",
    ],
    records: (k) => `${dir}/worker-${k}/records.jsonl`,
    warn: err,
  });
}

/**
 * A worker (`--worker`, started by `--workers`): runs its part when the
 * parent says, writing its records, and prints nothing else.
 */
async function runWorker(
  opts: Options,
  c: {
    baseUrl: string;
    configs: readonly ModelConfig[];
    args: string[];
    signal: AbortSignal;
  },
): Promise<number> {
  const model = opts.model!;
  const part = opts.part!;
  const sizing = sizeFor(model, c.configs, opts);
  const level: Level = {
    label: "",
    maxInFlight: opts.maxInFlight?.[0] ?? sizing.maxInFlight,
    requestRate: opts.requestRates?.[0],
  };
  sizing.maxInFlight = level.maxInFlight;
  const { transport } = chooseTransport(opts.transport, c.baseUrl);
  try {
    return await runAsWorker({
      dir: opts.outputDir!,
      command: "benchmark",
      argv: c.args,
      params: { model, seed: opts.seed, max_inflight: level.maxInFlight },
      workload: sizing,
      part,
      signal: c.signal,
    }, async (run) => {
      const result = await runBenchmark(sizing, {
        endpoint: endpointConfig(opts, {
          baseUrl: c.baseUrl,
          model,
          transport,
        }),
        seed: opts.seed,
        ignoreEos: opts.ignoreEos,
        api: opts.api,
        load: levelLoad(opts, level, opts.seed!),
        part,
        maxRequests: opts.numPrompts,
        warmupRequests: opts.warmup,
        durationMs: opts.duration === undefined
          ? undefined
          : opts.duration * 1000,
        signal: run.signal,
        // The parent reports; the worker only records.
        intervalMs: 2 ** 31 - 1,
        startedAt: run.startedAt,
        onSend: run.sent,
        onRecord: run.record,
      });
      return {
        elapsedMs: result.final.elapsed * 1000,
        stopReason: result.summary.stopReason,
      };
    });
  } finally {
    transport.close();
  }
}

function printPreflight(
  serverMetrics: RunMetrics,
  sizing: BenchmarkSizing,
  opts: Options,
): void {
  const { engine, version } = serverMetrics.server;
  if (engine !== undefined) {
    err(`[INFO] server: ${engine}${version ? ` ${version}` : ""}\n`);
  }
  const gauges = serverMetrics.last?.gauges ?? {};
  const bpt = sizing.bytesPerToken;
  const userDevice = opts.deviceKvGb === undefined
    ? undefined
    : Math.floor(opts.deviceKvGb * 1024 ** 3 / bpt);
  const check = preflight({
    workingSetTokens: sizing.contexts * (sizing.inputLength + 8),
    items: sizing.contexts,
    bytesPerToken: bpt,
    deviceKvTokens: gauges.deviceKvTokens ?? userDevice,
    deviceFrom: gauges.deviceKvTokens !== undefined
      ? "server"
      : userDevice !== undefined
      ? "--device-kv-gb"
      : undefined,
    offloadKvTokens: gauges.offloadKvTokens ??
      Math.floor(sizing.offloadSizeGib * 1024 ** 3 / bpt),
    offloadFrom: gauges.offloadKvTokens !== undefined
      ? "server"
      : "the sizing's offload size",
  });
  err(
    check.lines.map((l) => l.startsWith("[") ? l : `[INFO] ${l}`).join("\n") +
      "\n",
  );
}
