/**
 * `kvbench trie`: the command line of the multi-turn agentic trace replay,
 * with trie's `key=value` arguments.
 *
 * @module
 */
import { resolveWorkloadPath } from "./dataset.ts";
import { normalizeEndpoint } from "../../lib/openai/endpoint.ts";
import { logLine, pyFloat } from "./log_line.ts";
import {
  openRecordsFile,
  type RecordsFile,
} from "../../lib/run/records_file.ts";
import { createSynthesizer, type Synthesizer } from "../../lib/text/synth.ts";
import { loadTokenizer } from "../../lib/text/tokenizer.ts";
import type { TrieResult } from "./metrics.ts";
import {
  completeLogFields,
  progressLine,
  renderProgress,
  renderTrieReport,
  trieSummaryJson,
} from "./report.ts";
import { loadTraceFile, type TraceRow } from "./trace_file.ts";
import { runTrie, trieLoad, type TrieRunOptions } from "./run.ts";
import type { RunPart } from "../../lib/run/runner.ts";
import { partConcurrency } from "../../lib/run/part.ts";
import {
  describeClock,
  parseStartAt,
  parseWorkers,
  prepareStart,
  resolveShard,
  runAsWorker,
  withWorkers,
  WorkerPool,
} from "../../lib/cli/scale.ts";
import {
  checkOutputPath,
  chooseTransport,
  type Command,
  err,
  isHeaderName,
  MAX_WAIT_S,
  out,
  parseApi,
  parseJsonObject,
  parseTransport,
  UsageError,
} from "../../lib/cli/common.ts";
import {
  type DistributionSummary,
  parsePercentiles,
  parseSlos,
  renderDistributions,
} from "../../lib/metrics/distributions.ts";
import { renderTable } from "../../lib/format/table.ts";
import type { Transport } from "../../lib/transport/transport.ts";
import {
  kvHelp,
  type KvSchema,
  type KvValues,
  parseKvArgs,
} from "../../lib/cli/kv_args.ts";
import {
  createRunDir,
  startLevel,
  writeRunInfo,
} from "../../lib/cli/run_dir.ts";
import { writeReport } from "../../lib/cli/report_command.ts";
import {
  distributionsJson,
  serverJson,
} from "../../lib/metrics/summary_json.ts";
import { metricsPathFor, RunMetrics } from "../../lib/cli/server_metrics.ts";

const SCHEMA: KvSchema = {
  workload_path: {
    type: "str",
    required: true,
    help: "JSONL trace file, or an alias: agentic, qa, office",
  },
  endpoint: {
    type: "str",
    required: true,
    help: "OpenAI-compatible base URL, e.g. http://localhost:8000/v1",
  },
  model: {
    type: "str",
    required: true,
    help: "model name sent to the endpoint",
  },
  concurrency: {
    type: "str",
    display: "int",
    optional: true,
    help:
      "traces in flight (closed loop); a list (8,16,32) sweeps; exclusive with arrival_rate",
  },
  arrival_rate: {
    type: "str",
    display: "float",
    optional: true,
    help: "new traces per second (open loop); a list (1,2,4) sweeps",
  },
  tokenizer_model: {
    type: "str",
    optional: true,
    help: "tokenizer folder or Hugging Face id (default: model)",
  },
  duration: {
    type: "float",
    default: 300,
    help: "seconds; then admit nothing new and abort everything in flight",
  },
  max_traces: {
    type: "int",
    optional: true,
    help: "admit at most this many traces, then let them finish",
  },
  seed: {
    type: "int",
    optional: true,
    help: "seed of the synthesized prompt text",
  },
  api_key: {
    type: "str",
    optional: true,
    help: "bearer key (default: $OPENAI_API_KEY; none is fine)",
  },
  max_retries: {
    type: "int",
    default: 2,
    help: "retries of a failed request before its trace fails",
  },
  timeout: {
    type: "float",
    default: 600,
    help: "total timeout of one request, seconds",
  },
  num_gpus: {
    type: "int",
    optional: true,
    help: "adds the Steady State / GPU column",
  },
  stream: {
    type: "bool",
    default: false,
    help: "stream responses (needed for TTFT, TTFAT, Decode TPS)",
  },
  duration_update_interval: {
    type: "float",
    optional: true,
    help: "seconds between progress lines when the output is not a terminal",
  },
  synthesis: {
    type: "str",
    default: "pool",
    help: "prompt synthesis: pool (fast, exact) or random (trie's algorithm)",
  },
  output_json: {
    type: "str",
    optional: true,
    help: "write a JSON summary (both tables and the parameters) here",
  },
  records: {
    type: "str",
    optional: true,
    help: "append every finished request to this JSONL file",
  },
  api: {
    type: "str",
    default: "completions",
    help:
      "completions (as trie) or chat (the chat template adds prompt tokens)",
  },
  ignore_eos: {
    type: "bool",
    default: true,
    help: "send ignore_eos so each answer is exactly its max_tokens (as trie)",
  },
  extra_body: {
    type: "str",
    optional: true,
    help: 'JSON fields merged into every request body, e.g. {"temperature":0}',
  },
  headers: {
    type: "str",
    optional: true,
    help: 'JSON object of extra request headers, e.g. {"X-Team":"kv"}',
  },
  routing_header: {
    type: "str",
    default: "X-SMG-Routing-Key",
    optional: true,
    help: "header carrying the trace id for session affinity (None: none)",
  },
  percentiles: {
    type: "str",
    default: "50,90,99",
    help: "percentiles of the latency distributions",
  },
  goodput: {
    type: "str",
    optional: true,
    help:
      "SLOs in ms for goodput, e.g. ttft:500,tpot:50 (keys ttft, tpot, e2el)",
  },
  connect_timeout: {
    type: "float",
    default: 10,
    help: "seconds to open a connection (not applied by the fetch transport)",
  },
  first_token_timeout: {
    type: "float",
    optional: true,
    help: "seconds from a send to its first generated token",
  },
  idle_timeout: {
    type: "float",
    optional: true,
    help: "seconds without any byte of a response",
  },
  transport: {
    type: "str",
    default: "auto",
    help: "auto (http1 unless a proxy applies), http1 or fetch",
  },
  metrics: {
    type: "bool",
    default: true,
    help: "scrape the server's Prometheus /metrics for the KV source split",
  },
  metrics_url: {
    type: "str",
    optional: true,
    help:
      "/metrics URLs, comma-separated (default: the endpoint's origin + /metrics)",
  },
  output_dir: {
    type: "str",
    optional: true,
    help: "write the run's files here (default: kvbench-runs/<time>-trie)",
  },
  artifacts: {
    type: "bool",
    default: true,
    help: "write a run directory (run.json, records, metrics, summary, report)",
  },
  metrics_out: {
    type: "str",
    optional: true,
    help: "write every scrape as a JSON line here (default: beside records)",
  },
  workers: {
    type: "str",
    display: "int | auto",
    optional: true,
    help:
      "split the traces over N worker processes on this host (auto: one per core, at most one per trace in flight); one run directory",
  },
  shard: {
    type: "str",
    optional: true,
    help:
      "run part K/N of the traces (every N-th from K); merge the parts with kvbench merge",
  },
  shards: {
    type: "int",
    optional: true,
    help: "the same, K read from $JOB_COMPLETION_INDEX (see kvbench k8s)",
  },
  start_at: {
    type: "str",
    optional: true,
    help:
      "start at this wall-clock time (ISO 8601 or Unix seconds), so shards start together",
  },
  worker: {
    type: "bool",
    default: false,
    help: "internal: this process is one of workers=N",
  },
};

/** Failed requests warned about one by one, per level. */
const FAILURES_SHOWN = 20;

const USAGE =
  `usage: kvbench trie workload_path=… endpoint=… model=… (concurrency=N | arrival_rate=R) [key=value …]

Multi-turn agentic trace replay (successor of trie / tokenspeed-trie).
Arguments are key=value (--key=value works too):

${kvHelp(SCHEMA)}`;

function parse(args: string[]) {
  if (args.includes("--help") || args.includes("-h") || args.includes("help")) {
    return undefined;
  }
  let v: KvValues;
  let levels: TrieLevel[];
  let scale: Scale;
  try {
    v = parseKvArgs(args, SCHEMA);
    const list = (key: string, integer: boolean): number[] | null => {
      if (v[key] === null) return null;
      const parts = String(v[key]).split(",").map((p) => p.trim());
      const numbers = parts.map(Number);
      if (
        numbers.some((n, i) =>
          parts[i] === "" || !(n > 0) || !Number.isFinite(n) ||
          (integer && !Number.isInteger(n))
        )
      ) {
        throw new TypeError(
          `${key} must be ${
            integer ? "an integer" : "a number"
          } > 0, or a comma-separated list of them, not "${v[key]}"`,
        );
      }
      return numbers;
    };
    const concurrency = list("concurrency", true);
    const rates = list("arrival_rate", false);
    trieLoad({
      concurrency: concurrency?.[0] ?? null,
      arrivalRate: rates?.[0] ?? null,
    });
    levels = concurrency !== null
      ? concurrency.map((n) => ({ label: `concurrency=${n}`, concurrency: n }))
      : rates!.map((r) => ({ label: `arrival_rate=${r}`, arrivalRate: r }));
    if (v.output_dir !== null && !v.artifacts) {
      throw new TypeError("output_dir and artifacts=False exclude each other");
    }
    scale = {
      workers: v.workers === null ? 1 : parseWorkers(v.workers as string),
      workersAuto: v.workers === "auto",
      part: resolveShard(
        (v.shard as string | null) ?? undefined,
        v.shards === null ? undefined : String(v.shards),
      ),
      startAt: v.start_at === null
        ? undefined
        : parseStartAt(v.start_at as string),
    };
    const split = scale.workers * (scale.part?.count ?? 1);
    const short = scale.workersAuto || v.worker
      ? undefined
      : concurrency?.find((n) => n < split);
    if (short !== undefined && short !== null) {
      throw new TypeError(
        `concurrency=${short} cannot be split over ${split} processes: each needs at least 1 trace in flight`,
      );
    }
    if (scale.part !== undefined && !v.worker && levels.length > 1) {
      throw new TypeError(
        "a shard runs one load level: run one job per level of a sweep",
      );
    }
    if (v.worker && (scale.part === undefined || v.output_dir === null)) {
      throw new TypeError("worker=True is set by workers=N");
    }
  } catch (error) {
    throw new UsageError((error as Error).message, USAGE);
  }
  const positive = (key: string) => {
    if (v[key] !== null && !((v[key] as number) > 0)) {
      throw new UsageError(`${key} must be > 0`, USAGE);
    }
    if (key !== "max_traces" && (v[key] as number) > MAX_WAIT_S) {
      throw new UsageError(
        `${key} must be at most ${MAX_WAIT_S} seconds (24.8 days): a longer wait would fire at once`,
        USAGE,
      );
    }
  };
  [
    "duration",
    "timeout",
    "duration_update_interval",
    "max_traces",
    "connect_timeout",
    "first_token_timeout",
    "idle_timeout",
  ].forEach(positive);
  if ((v.max_retries as number) < 0) {
    throw new UsageError("max_retries must be >= 0", USAGE);
  }
  if (v.num_gpus !== null && (v.num_gpus as number) < 1) {
    throw new UsageError("num_gpus must be >= 1", USAGE);
  }
  if (v.synthesis !== "pool" && v.synthesis !== "random") {
    throw new UsageError(
      `synthesis must be pool or random, not "${v.synthesis}"`,
      USAGE,
    );
  }
  let baseUrl: string;
  let shaping;
  try {
    baseUrl = normalizeEndpoint(v.endpoint as string);
    shaping = {
      api: parseApi(v.api as string),
      transport: parseTransport(v.transport as string),
      extraBody: v.extra_body === null
        ? undefined
        : parseJsonObject(v.extra_body as string, "extra_body"),
      headers: v.headers === null
        ? undefined
        : stringValues(parseJsonObject(v.headers as string, "headers")),
      percentiles: parsePercentiles(v.percentiles as string),
      slos: v.goodput === null ? undefined : parseSlos(v.goodput as string),
    };
  } catch (error) {
    throw new UsageError((error as Error).message, USAGE);
  }
  return { v, baseUrl, shaping, levels, scale };
}

/**
 * Refuse, with the {@linkcode UsageError} `kvbench trie` would give,
 * arguments it would refuse; runs nothing (for `kvbench k8s`).
 */
export function checkTrieArgs(args: string[]): void {
  parse(args);
}

/** Workers, shard and start time of a run. */
interface Scale {
  workers: number;
  workersAuto?: boolean;
  part?: RunPart;
  startAt?: number;
}

/** The request shaping and reporting options of a parsed command line. */
type Shaping = NonNullable<ReturnType<typeof parse>>["shaping"];

function stringValues(object: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(object)) {
    if (typeof value !== "string") {
      throw new TypeError(`headers: the value of "${k}" must be a string`);
    }
    if (!isHeaderName(k)) {
      throw new TypeError(`headers: "${k}" is not a header name`);
    }
    out[k] = value;
  }
  return out;
}

/** A status display: redrawn in place on a terminal, a plain line every interval otherwise. */
function progressDisplay(
  durationS: number,
  intervalS: number | null,
  startedAt: number,
) {
  const tty = Deno.stdout.isTerminal();
  let drawn = 0;
  let last = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  let current: TrieResult | undefined;
  const elapsed = () => Math.max(0, performance.now() - startedAt) / 1000;
  const draw = () => {
    if (!current) return;
    const lines = renderProgress(current, { elapsedS: elapsed(), durationS });
    out(
      (drawn ? `\x1b[${drawn}F` : "") +
        lines.map((l) => `\x1b[2K${l}`).join("\n") + "\n",
    );
    drawn = lines.length;
  };
  if (tty) timer = setInterval(draw, 1000);
  else if (intervalS !== null) {
    timer = setInterval(
      () =>
        current &&
        out(progressLine(current, { elapsedS: elapsed(), durationS }) + "\n"),
      intervalS * 1000,
    );
  }
  return {
    update(result: TrieResult) {
      current = result;
      // Redraw on progress too, at most 4 times a second.
      if (tty && performance.now() - last > 250) {
        last = performance.now();
        draw();
      }
    },
    clear() {
      clearInterval(timer);
      // The live region disappears at the end, as rich's transient Live.
      if (tty && drawn) out(`\x1b[${drawn}F\x1b[0J`);
    },
  };
}

/** `kvbench trie`. */
export const trieCommand: Command = {
  name: "trie",
  summary:
    "multi-turn agentic trace replay (successor of trie / tokenspeed-trie)",
  async run(args: string[], signal: AbortSignal): Promise<number> {
    const parsed = parse(args);
    if (parsed === undefined) {
      out(USAGE);
      return 0;
    }
    const { v, baseUrl, shaping, levels, scale } = parsed;
    for (const key of ["output_json", "records", "metrics_out"]) {
      if (v[key] !== null) await checkOutputPath(v[key] as string, key);
    }
    const { transport, label } = chooseTransport(shaping.transport, baseUrl);
    const path = await resolveWorkloadPath(v.workload_path as string, {
      progress: true,
      signal,
    });
    const rows = await loadTraceFile(path);
    const tokenizerName = (v.tokenizer_model ?? v.model) as string;
    const tokenizer = await loadTokenizer(tokenizerName, {
      progress: true,
      signal,
    });
    // Every part draws its own text (the same seed would make the parts'
    // traces share prefixes one process never sends).
    const seed = (v.seed as number | null) ??
      crypto.getRandomValues(new Uint32Array(1))[0];
    const synthesizer = createSynthesizer(tokenizer, {
      seed: seed + (scale.part?.index ?? 0),
      method: v.synthesis as "pool" | "random",
      onWarning: (w) => err(logLine("warning", w.message) + "\n"),
    });
    if (v.worker) {
      return await runTrieWorker({
        v,
        baseUrl,
        shaping,
        level: levels[0],
        rows,
        synthesizer,
        part: scale.part!,
        transport,
        signal,
        argv: args,
      });
    }
    const dir = v.artifacts
      ? await createRunDir(
        scale.part === undefined
          ? "trie"
          : `trie-shard-${scale.part.index}-of-${scale.part.count}`,
        (v.output_dir as string | null) ?? undefined,
      )
      : undefined;
    const done: { level: TrieLevel; summary: Record<string, unknown> }[] = [];
    let workersDied = false;
    let allFailed = false;
    try {
      for (const [i, level] of levels.entries()) {
        if (signal.aborted) break;
        const levelDir = await startLevel(dir, {
          index: i,
          levels: levels.length,
          label: level.label,
        });
        const ran = await runTrieLevel({
          v,
          baseUrl,
          shaping,
          level,
          index: i,
          levels: levels.length,
          rows,
          synthesizer,
          tokenizerName,
          workloadPath: path,
          seed,
          scale,
          dir: levelDir,
          transport,
          label,
          signal,
          argv: args,
        });
        done.push({ level, summary: ran.summary });
        workersDied ||= ran.workersDied;
        const { completed_requests: ok, failed_requests: failed } = ran
          .summary as { completed_requests: number; failed_requests: number };
        if (ok === 0 && failed > 0) {
          err(
            logLine(
              "error",
              `every trace failed (${failed}): nothing was measured; exit 1`,
            ) + "\n",
          );
          allFailed = true;
        }
      }
      if (done.length > 1) {
        out(renderTrieSweep(done));
        if (dir !== undefined) {
          await Deno.writeTextFile(
            `${dir}/sweep.json`,
            JSON.stringify(done, null, 2) + "\n",
          );
        }
      }
      if (dir !== undefined) {
        const report = await writeReport(dir, shaping.percentiles);
        out(
          `[INFO] Run written to ${dir}${
            report ? ` (report: ${report})` : ""
          }\n`,
        );
      }
      // A worker that died leaves a partial run, a level where every trace
      // failed measured nothing: said above, and exit 1.
      return workersDied || allFailed ? 1 : 0;
    } finally {
      transport.close();
    }
  },
};

/** One load level of a trie run. */
interface TrieLevel {
  label: string;
  concurrency?: number;
  arrivalRate?: number;
}

/** `NAME.jsonl` → `NAME.level-2.jsonl` for the second level of a sweep. */
function levelPath(path: string, i: number, levels: number): string {
  if (levels === 1) return path;
  const dot = path.lastIndexOf(".");
  return dot > path.lastIndexOf("/")
    ? `${path.slice(0, dot)}.level-${i + 1}${path.slice(dot)}`
    : `${path}.level-${i + 1}`;
}

function renderTrieSweep(
  done: { level: TrieLevel; summary: Record<string, unknown> }[],
): string {
  const f = (x: unknown, digits: number): string =>
    typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "-";
  return "\n" + renderTable(
    [
      { header: "Level" },
      { header: "trace/s" },
      { header: "completion\ntok/s" },
      { header: "TTFT p50\n(ms)" },
      { header: "TTFT p99\n(ms)" },
      { header: "TPOT p50\n(ms)" },
      { header: "E2E p50\n(ms)" },
      { header: "failed\ntraces" },
    ],
    done.map(({ level, summary }) => {
      const d = summary.distributions as DistributionSummary;
      return [
        level.label,
        f(summary.trace_per_s, 2),
        f(d.outputTokensPerS, 1),
        f(d.ttftMs?.percentiles["50"], 1),
        f(d.ttftMs?.percentiles["99"], 1),
        f(d.tpotMs?.percentiles["50"], 2),
        f(d.e2eMs?.percentiles["50"], 1),
        String(summary.failed_requests),
      ];
    }),
    { title: "Sweep: throughput against latency, level by level" },
  );
}

/** Everything one level of a trie run needs. */
interface TrieLevelContext {
  v: KvValues;
  baseUrl: string;
  shaping: Shaping;
  level: TrieLevel;
  index: number;
  levels: number;
  rows: TraceRow[];
  synthesizer: Synthesizer;
  tokenizerName: string;
  workloadPath: string;
  seed: number;
  scale: Scale;
  dir?: string;
  /** The level's worker processes (`workers=N`). */
  pool?: WorkerPool;
  transport: Transport;
  label: string;
  signal: AbortSignal;
  argv: string[];
}

/**
 * Run one level: with `workers=N`, start them first (they load the
 * tokenizer while nothing is timed), and stop them whatever happens; the
 * summary says whether a worker died.
 */
async function runTrieLevel(
  c: TrieLevelContext,
): Promise<{ summary: Record<string, unknown>; workersDied: boolean }> {
  if (c.scale.workers <= 1) {
    return { summary: await runTrieLevelIn(c), workersDied: false };
  }
  return await withWorkers(async (pool) => {
    const summary = await runTrieLevelIn({ ...c, pool });
    return { summary, workersDied: pool.failures.length > 0 };
  }, {
    dir: c.dir,
    spawn: (dir) => spawnTrieWorkers(c, dir),
    onStarted: (pool, dir) =>
      out(
        logLine("info", "workers started", {
          workers: pool.pids.length,
          pids: pool.pids.join(","),
          dir,
        }) + "\n",
      ),
  });
}

/** Run one level: log lines, tables, distributions, files; resolves to its summary. */
async function runTrieLevelIn(
  c: TrieLevelContext,
): Promise<Record<string, unknown>> {
  const { v, shaping, level } = c;
  const at = (path: string) => levelPath(path, c.index, c.levels);
  const durationS = v.duration as number;
  const startFields: Record<string, unknown> = {
    concurrency: level.concurrency ?? null,
    duration: pyFloat(durationS),
    model: v.model,
    num_gpus: v.num_gpus,
    workload_templates: c.rows.length,
  };
  if (level.arrivalRate !== undefined) {
    startFields.arrival_rate = pyFloat(level.arrivalRate);
  }
  if (v.duration_update_interval !== null) {
    startFields.duration_update_interval = pyFloat(
      v.duration_update_interval as number,
    );
  }
  out(logLine("info", "starting benchmark", startFields) + "\n");
  const records: RecordsFile[] = [];
  if (c.dir !== undefined) {
    records.push(openRecordsFile(`${c.dir}/records.jsonl`));
  }
  if (v.records) records.push(openRecordsFile(at(v.records as string)));
  const metricsPaths: string[] = [];
  if (c.dir !== undefined) metricsPaths.push(`${c.dir}/metrics.jsonl`);
  if (v.metrics_out) metricsPaths.push(at(v.metrics_out as string));
  else if (v.records) {
    metricsPaths.push(metricsPathFor(at(v.records as string)));
  }
  const apiKey = (v.api_key as string | null) ?? Deno.env.get("OPENAI_API_KEY");
  const serverMetrics = v.metrics
    ? await RunMetrics.start({
      baseUrl: c.baseUrl,
      urls: v.metrics_url === null
        ? undefined
        : (v.metrics_url as string).split(",").map((u) => u.trim()),
      apiKey,
      paths: metricsPaths,
      startedAt: performance.now(),
      warn: err,
    })
    : undefined;
  // A scrape every progress interval (or 5 s), for the metrics time series.
  const scrapeTimer = serverMetrics === undefined ? undefined : setInterval(
    () => void serverMetrics.scrape(),
    ((v.duration_update_interval as number | null) ?? 5) * 1000,
  );
  const { scale } = c;
  const pool = c.pool;
  const { startedAt, clock } = await prepareStart({
    part: scale.part,
    pooled: pool !== undefined,
    startAt: scale.startAt,
    baseUrl: c.baseUrl,
    apiKey: apiKey ?? undefined,
    signal: c.signal,
    onClock: (clock) =>
      out(
        logLine("info", "shard", {
          shard: `${scale.part!.index}/${scale.part!.count}`,
          clock: describeClock(clock),
        }) + "\n",
      ),
    onWait: (ms) =>
      out(
        logLine("info", "waiting for start_at", {
          start_at: new Date(scale.startAt!).toISOString(),
          wait_s: pyFloat(ms / 1000),
        }) + "\n",
      ),
    onLate: (ms) =>
      err(
        logLine("warning", "start_at has passed: starting now", {
          start_at: new Date(scale.startAt!).toISOString(),
          late_s: pyFloat(ms / 1000),
        }) + "\n",
      ),
  });
  const params = {
    ...v,
    seed: c.seed,
    endpoint: c.baseUrl,
    concurrency: level.concurrency ?? null,
    arrival_rate: level.arrivalRate ?? null,
    tokenizer_model: c.tokenizerName,
    synthesis: c.synthesizer.method,
  };
  if (c.dir !== undefined) {
    await writeRunInfo(c.dir, {
      command: "trie",
      argv: c.argv,
      params,
      server: serverMetrics?.server,
      startedAt,
      part: {
        level: c.levels > 1 ? { index: c.index + 1, of: c.levels } : null,
        shard: scale.part ?? null,
        workers: scale.workers > 1 ? scale.workers : null,
      },
      clock,
    });
  }
  const progress = progressDisplay(
    durationS,
    v.duration_update_interval as number | null,
    startedAt,
  );
  let result: TrieResult;
  let failuresShown = 0;
  try {
    result = await runTrie(c.rows, {
      ...trieRunOptions(c),
      signal: c.signal,
      startedAt,
      part: scale.part,
      source: pool === undefined ? undefined : async (handlers) => {
        await pool.start(startedAt);
        return await pool.follow(handlers, {
          startedAt,
          signal: c.signal,
          onLines: (text, n) => {
            for (const file of records) file.writeLines(text, n);
          },
        });
      },
      onFailure: ({ traceId, turn, record }) => {
        // As trie, one warning per failed trace; a dead endpoint would fail
        // thousands, so after the first FAILURES_SHOWN one line says so.
        if (++failuresShown > FAILURES_SHOWN) {
          if (failuresShown === FAILURES_SHOWN + 1) {
            err(
              logLine(
                "warning",
                `more requests failed: not printed; failed_requests counts them all`,
              ) + "\n",
            );
          }
          return;
        }
        err(
          logLine("warning", "request failed", {
            error: record.error?.message,
            request_id: traceId,
            turn,
          }) + "\n",
        );
      },
      onUsageMissing: () =>
        err(
          logLine(
            "warning",
            "stream response usage missing; omitting server metrics",
          ) + "\n",
        ),
      onRecord: (record) => {
        // Workers' records are copied as they wrote them (onLines).
        if (pool === undefined) {
          for (const file of records) file.write(record);
        }
        serverMetrics?.add(record);
      },
      onProgress: (r) => progress.update(r),
    });
    for (const file of records) {
      file.end({
        startedAt,
        elapsedMs: result.wallTime * 1000,
        stopReason: result.stopReason ?? "exhausted",
      });
    }
  } finally {
    progress.clear();
    for (const file of records) file.close();
    clearInterval(scrapeTimer);
  }
  if (c.signal.aborted) {
    out(logLine("warning", "benchmark interrupted") + "\n");
  }
  const numGpus = (v.num_gpus as number | null) ?? undefined;
  out(
    logLine(
      "info",
      "benchmark complete",
      completeLogFields(result, { numGpus }),
    ) + "\n",
  );
  out(renderTrieReport(result, { numGpus }));
  const distributions = result.distributions.summary({
    percentiles: shaping.percentiles,
    elapsedMs: result.wallTime * 1000,
  });
  out(renderDistributions(distributions, { transport: c.label }));
  if (serverMetrics !== undefined) {
    await serverMetrics.scrape();
    out(serverMetrics.render());
    serverMetrics.close();
  }
  const json = {
    server: serverMetrics === undefined ? null : serverJson({
      ...serverMetrics.server,
      split: serverMetrics.split() ?? null,
      resets: serverMetrics.last?.resets ?? 0,
      scrape_failures: Object.fromEntries(serverMetrics.failures),
    }),
    ...trieSummaryJson(result, params, { numGpus }),
    transport: c.label,
    distributions: distributionsJson(distributions),
  };
  const text = JSON.stringify(json, null, 2) + "\n";
  if (c.dir !== undefined) {
    await Deno.writeTextFile(`${c.dir}/summary.json`, text);
  }
  if (v.output_json) {
    await Deno.writeTextFile(at(v.output_json as string), text);
  }
  return json;
}

/** What a trie run's options are, from the command line: everything but its clock and its source. */
function trieRunOptions(
  c: Pick<
    TrieLevelContext,
    "v" | "baseUrl" | "shaping" | "level" | "synthesizer" | "transport"
  >,
): TrieRunOptions {
  const { v, shaping, level } = c;
  const ms = (key: string) =>
    v[key] === null ? undefined : (v[key] as number) * 1000;
  return {
    endpoint: {
      baseUrl: c.baseUrl,
      model: v.model as string,
      apiKey: (v.api_key as string | null) ?? Deno.env.get("OPENAI_API_KEY"),
      maxRetries: v.max_retries as number,
      timeoutMs: (v.timeout as number) * 1000,
      connectTimeoutMs: ms("connect_timeout"),
      firstTokenTimeoutMs: ms("first_token_timeout"),
      idleTimeoutMs: ms("idle_timeout"),
      transport: c.transport,
      extraBody: shaping.extraBody,
      headers: shaping.headers,
    },
    api: shaping.api,
    ignoreEos: v.ignore_eos as boolean,
    routingHeader: v.routing_header as string | null,
    slos: shaping.slos,
    synthesizer: c.synthesizer,
    concurrency: level.concurrency,
    arrivalRate: level.arrivalRate,
    duration: v.duration as number,
    maxTraces: (v.max_traces as number | null) ?? undefined,
    stream: v.stream as boolean,
  };
}

/** The keys a worker does not inherit: the parent re-states or owns them. */
const PARENT_KEYS = new Set([
  "workers",
  "output_dir",
  "records",
  "output_json",
  "metrics",
  "metrics_url",
  "metrics_out",
  "artifacts",
  "concurrency",
  "arrival_rate",
  "shard",
  "shards",
  "start_at",
  "seed",
  "workload_path",
  "worker",
]);

/** Start this level's workers, each on its part, writing into `DIR/worker-K`. */
function spawnTrieWorkers(
  c: TrieLevelContext,
  dir: string,
): Promise<WorkerPool> {
  const shard = c.scale.part ?? { index: 0, count: 1 };
  // Every worker needs a trace in flight: auto takes at most that many.
  const concurrency = c.level.concurrency;
  const count = c.scale.workersAuto && concurrency !== undefined
    ? Math.max(
      1,
      Math.min(c.scale.workers, Math.floor(concurrency / shard.count)),
    )
    : c.scale.workers;
  if (concurrency !== undefined) {
    partConcurrency(concurrency, { index: 0, count: shard.count * count });
  }
  const kept = c.argv.filter((a) =>
    !PARENT_KEYS.has(a.replace(/^--/, "").replace(/=.*/, ""))
  );
  return WorkerPool.spawn({
    count,
    signal: c.signal,
    args: (k) => [
      "trie",
      ...kept,
      `workload_path=${c.workloadPath}`,
      c.level.concurrency !== undefined
        ? `concurrency=${c.level.concurrency}`
        : `arrival_rate=${c.level.arrivalRate}`,
      // The worker adds its part's index to the seed, as a shard does.
      `seed=${c.seed}`,
      `shard=${shard.index + shard.count * k}/${shard.count * count}`,
      `output_dir=${dir}/worker-${k}`,
      "metrics=False",
      "worker=True",
    ],
    records: (k) => `${dir}/worker-${k}/records.jsonl`,
    warn: err,
  });
}

/** Everything a trie worker needs. */
interface TrieWorkerContext {
  v: KvValues;
  baseUrl: string;
  shaping: Shaping;
  level: TrieLevel;
  rows: TraceRow[];
  synthesizer: Synthesizer;
  part: RunPart;
  transport: Transport;
  signal: AbortSignal;
  argv: string[];
}

/**
 * A trie worker (`worker=True`, started by `workers=N`): replays its part
 * of the traces when the parent says, writing its records, and prints
 * nothing else.
 */
async function runTrieWorker(c: TrieWorkerContext): Promise<number> {
  return await runAsWorker({
    dir: c.v.output_dir as string,
    command: "trie",
    argv: c.argv,
    params: { model: c.v.model, seed: c.v.seed },
    part: c.part,
    signal: c.signal,
  }, async (run) => {
    const result = await runTrie(c.rows, {
      ...trieRunOptions(c),
      signal: run.signal,
      startedAt: run.startedAt,
      part: c.part,
      onSend: run.sent,
      onRecord: run.record,
    });
    return {
      elapsedMs: result.wallTime * 1000,
      stopReason: result.stopReason ?? "exhausted",
    };
  });
}
