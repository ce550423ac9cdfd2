/**
 * One load level of `kvbench trie`: trie's log lines, the replay, its
 * tables, distributions and summary; the pipeline (`lib/cli/pipeline.ts`)
 * runs the levels, their workers and their files.
 *
 * @module
 */
import { renderDistributions } from "../../lib/metrics/distributions.ts";
import {
  distributionsJson,
  serverJson,
} from "../../lib/metrics/summary_json.ts";
import type { Synthesizer } from "../../lib/text/synth.ts";
import type { Transport } from "../../lib/transport/transport.ts";
import type { KvValues } from "../../lib/cli/kv_args.ts";
import { err, out } from "../../lib/cli/common.ts";
import type {
  LevelContext,
  LevelOutcome,
  PipelineWorkload,
  RunVoice,
  Scale,
} from "../../lib/cli/pipeline.ts";
import { trieWorkers } from "./worker.ts";
import { type OpenedLevel, openLevel } from "../../lib/cli/level_io.ts";
import { scrapeEveryMs } from "../../lib/cli/server_metrics.ts";
import { describeClock } from "../../lib/cli/scale.ts";
import {
  fixed,
  LATENCY_COLUMNS,
  outputTokensPerS,
  type SweepColumn,
} from "../../lib/cli/sweep.ts";
import { logLine, pyFloat } from "./log_line.ts";
import type { TrieResult } from "./metrics.ts";
import {
  completeLogFields,
  renderTrieReport,
  trieSummaryJson,
} from "./report.ts";
import { runTrie, type TrieRunOptions } from "./run.ts";
import type { TraceRow } from "./trace_file.ts";
import type { Shaping, TrieLevel } from "./options.ts";
import type { TrieVerify } from "./verify.ts";
import { progressDisplay } from "./progress_display.ts";
import type { ModelKvResult } from "../../lib/cli/model_kv.ts";
import type { RunMetrics } from "../../lib/cli/server_metrics.ts";
import { capacitiesOf } from "../../lib/cli/trace_preflight.ts";
import { preflightLogLines, triePreflight } from "./preflight.ts";

/** Failed requests warned about one by one, per level. */
const FAILURES_SHOWN = 20;

/** What every level of one trie run shares. */
export interface TrieRun {
  /** The parsed keys. */
  v: KvValues;
  /** The endpoint's base URL. */
  baseUrl: string;
  /** Request shaping and reporting. */
  shaping: Shaping;
  /** The trace file's rows. */
  rows: TraceRow[];
  /** The prompt text's source. */
  synthesizer: Synthesizer;
  /** The source of `shared_prefix_tokens`, seeded alike in every part. */
  prefixSynthesizer?: Synthesizer;
  /** The tokenizer's name. */
  tokenizerName: string;
  /** The model's KV size for the pre-flight (none in a worker). */
  kv?: ModelKvResult;
  /** The trace file's path. */
  workloadPath: string;
  /** The seed of the synthesized text. */
  seed: number;
  /** Workers, shard, start time. */
  scale: Scale;
  /** The transport. */
  transport: Transport;
  /** The transport's name in reports. */
  label: string;
  /** Stops the run. */
  signal: AbortSignal;
  /** The command line, for `run.json`. */
  argv: string[];
  /** `verify=N`, `reset_cache=True`. */
  verify?: TrieVerify;
}

/**
 * How trie's messages read: its log lines.
 *
 * @example Usage
 * ```ts
 * import { TRIE_VOICE } from "./level.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(TRIE_VOICE.startWait(Date.UTC(2026, 0, 1), 2000), /waiting for start_at.*wait_s=2\.0/);
 * ```
 */
export const TRIE_VOICE: RunVoice = {
  workersStarted: (pool, dir) =>
    logLine("info", "workers started", {
      workers: pool.pids.length,
      pids: pool.pids.join(","),
      dir,
    }) + "\n",
  shardClock: (part, clock) =>
    logLine("info", "shard", {
      shard: `${part.index}/${part.count}`,
      clock: describeClock(clock),
    }) + "\n",
  startWait: (startAt, ms) =>
    logLine("info", "waiting for start_at", {
      start_at: new Date(startAt).toISOString(),
      wait_s: pyFloat(ms / 1000),
    }) + "\n",
  startLate: (startAt, ms) =>
    logLine("warning", "start_at has passed: starting now", {
      start_at: new Date(startAt).toISOString(),
      late_s: pyFloat(ms / 1000),
    }) + "\n",
};

/**
 * The sweep table's columns after "Level".
 *
 * @example Usage
 * ```ts
 * import { TRIE_SWEEP } from "./level.ts";
 * import assert from "node:assert/strict";
 *
 * const summary = {
 *   trace_per_s: 0.5,
 *   distributions: { outputTokensPerS: 99.95, e2eMs: { percentiles: { "50": 1234.5 } } },
 *   failed_requests: 0,
 * };
 * assert.deepEqual(TRIE_SWEEP.map((c) => c.cell(summary)), [
 *   "0.50", "100.0", "-", "-", "-", "1234.5", "0",
 * ]);
 * ```
 */
export const TRIE_SWEEP: readonly SweepColumn[] = [
  { header: "trace/s", cell: (s) => fixed(s.trace_per_s, 2) },
  { header: "completion\ntok/s", cell: outputTokensPerS },
  ...LATENCY_COLUMNS,
  { header: "failed\ntraces", cell: (s) => String(s.failed_requests) },
];

/**
 * Told a level is over: a level where every trace failed measured nothing
 * (said, and exit 1).
 *
 * @example Usage
 * ```ts
 * import { trieLevelDone } from "./level.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(trieLevelDone({ summary: { completed_requests: 3, failed_requests: 1 }, code: 0 }), 0);
 * assert.equal(trieLevelDone({ summary: { completed_requests: 0, failed_requests: 2 }, code: 0 }), 1);
 * ```
 */
export function trieLevelDone(outcome: LevelOutcome): number {
  const { completed_requests: ok, failed_requests: failed } = outcome
    .summary as { completed_requests: number; failed_requests: number };
  // Fail fast: the level said its first error already.
  if (outcome.summary.stop_reason === "fail_fast") return 1;
  if (ok === 0 && failed > 0) {
    const failure = outcome.summary.failure as string | null | undefined;
    if (failure) err(logLine("error", failure) + "\n");
    err(
      logLine(
        "error",
        `every trace failed (${failed}): nothing was measured; exit 1`,
      ) + "\n",
    );
    return 1;
  }
  return 0;
}

/** How trie's runs look: their directories' name, messages, sweep table. */
const TRIE_LOOK = { name: "trie", voice: TRIE_VOICE, sweepColumns: TRIE_SWEEP };

/** How the pipeline runs trie's levels. */
export function triePipeline(run: TrieRun): PipelineWorkload<TrieLevel> {
  return {
    ...TRIE_LOOK,
    runLevel: (c) => runTrieLevel(run, c),
    workers: (level) => trieWorkers(run, level),
    levelDone: trieLevelDone,
    beforeLevel: (index, signal) =>
      run.verify?.beforeLevel(index, signal) ?? Promise.resolve(),
    afterLevels: (dir, signal) =>
      run.verify?.check(trieRunOptions(run, { label: "" }).endpoint, {
        api: run.shaping.api,
        dir,
        signal,
      }) ?? Promise.resolve(0),
  };
}

/** Run one level: log lines, tables, distributions, files. */
export async function runTrieLevel(
  run: TrieRun,
  c: LevelContext<TrieLevel>,
): Promise<LevelOutcome> {
  const { v } = run;
  const level = c.level;
  const durationS = v.duration as number;
  const startFields: Record<string, unknown> = {
    concurrency: level.concurrency ?? null,
    duration: pyFloat(durationS),
    model: v.model,
    num_gpus: v.num_gpus,
    workload_templates: run.rows.length,
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
  // The pre-flight, with the server's capacities once they are scraped
  // (none without metrics=, as benchmark's).
  const check = (metrics: RunMetrics) => {
    if (run.kv === undefined) return null;
    const p = triePreflight(run.rows, v, {
      kv: run.kv,
      capacities: capacitiesOf(metrics),
      concurrency: level.concurrency,
      arrivalRate: level.arrivalRate,
    });
    // The KV size once, the working set at every level.
    err(preflightLogLines(c.index === 0 ? p.lines : p.lines.slice(1)));
    return p.record;
  };
  let preflight: ReturnType<typeof check> = null;
  const io = await openLevel(c, {
    baseUrl: run.baseUrl,
    apiKey: apiKeyOf(v),
    scale: run.scale,
    voice: TRIE_VOICE,
    records: (v.records as string | null) ?? undefined,
    metricsOut: (v.metrics_out as string | null) ?? undefined,
    metrics: v.metrics
      ? {
        urls: v.metrics_url === null
          ? undefined
          : (v.metrics_url as string).split(",").map((u) => u.trim()),
        // The metrics time series: never coarser than the progress lines.
        everyMs: scrapeEveryMs(
          v.scrape_interval as number,
          (v.duration_update_interval as number | null) ?? undefined,
        ),
      }
      : undefined,
    onMetrics: (metrics) => {
      preflight = check(metrics);
    },
    signal: run.signal,
  });
  const params = {
    ...v,
    seed: run.seed,
    endpoint: run.baseUrl,
    concurrency: level.concurrency ?? null,
    arrival_rate: level.arrivalRate ?? null,
    tokenizer_model: run.tokenizerName,
    synthesis: run.synthesizer.method,
    preflight,
  };
  await io.writeRunInfo({ command: "trie", argv: run.argv, params });
  const progress = progressDisplay({
    durationS,
    intervalS: v.duration_update_interval as number | null,
    startedAt: io.startedAt,
  });
  let result: TrieResult;
  try {
    result = await runTrie(run.rows, {
      ...trieRunOptions(run, level),
      signal: run.signal,
      startedAt: io.startedAt,
      part: run.scale.part,
      source: io.source,
      onFailure: failureWarnings(),
      onUsageMissing: () =>
        err(
          logLine(
            "warning",
            "stream response usage missing; omitting server metrics",
          ) + "\n",
        ),
      onRecord: (record) => {
        // Workers' records are copied as they wrote them (onLines).
        if (c.pool === undefined) {
          for (const file of io.records) file.write(record);
        }
        io.serverMetrics?.add(record);
      },
      onProgress: (r) => progress.update(r),
      onSent: run.verify?.onSent(level),
    });
    io.end({
      startedAt: io.startedAt,
      elapsedMs: result.wallTime * 1000,
      stopReason: result.stopReason ?? "exhausted",
    });
  } finally {
    progress.clear();
    io.close();
  }
  const summary = await closeTrieLevel(run, { io, result, params });
  return { summary, code: 0 };
}

/** The end of a level: trie's closing lines and tables, the summary. */
async function closeTrieLevel(
  run: TrieRun,
  l: { io: OpenedLevel; result: TrieResult; params: Record<string, unknown> },
): Promise<Record<string, unknown>> {
  const { v } = run;
  const { result, params } = l;
  const serverMetrics = l.io.serverMetrics;
  if (run.signal.aborted) {
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
    percentiles: run.shaping.percentiles,
    elapsedMs: result.wallTime * 1000,
  });
  out(renderDistributions(distributions, { transport: run.label }));
  if (!v.stream) {
    err(
      logLine(
        "warning",
        "stream=False: TTFT, TTFAT and Decode TPS are not measured (set stream=True)",
      ) + "\n",
    );
  }
  // Fail fast (lib/run/fail_fast.ts): the run ends on its first error.
  if (result.failure !== undefined && result.stopReason === "fail_fast") {
    err(logLine("error", result.failure) + "\n");
  }
  if (serverMetrics !== undefined) {
    await serverMetrics.finish();
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
    transport: run.label,
    distributions: distributionsJson(distributions),
    stop_reason: result.stopReason ?? "exhausted",
    failure: result.failure ?? null,
  };
  await l.io.writeSummary(json, (v.output_json as string | null) || undefined);
  return json;
}

/**
 * As trie, one warning per failed trace; a dead endpoint would fail
 * thousands, so after the first FAILURES_SHOWN one line says so.
 */
function failureWarnings(): TrieRunOptions["onFailure"] {
  let shown = 0;
  return ({ traceId, turn, record }) => {
    if (++shown > FAILURES_SHOWN) {
      if (shown === FAILURES_SHOWN + 1) {
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
  };
}

function apiKeyOf(v: KvValues): string | undefined {
  return (v.api_key as string | null) ?? Deno.env.get("OPENAI_API_KEY");
}

/** What a trie run's options are, from the command line: everything but its clock and its source. */
export function trieRunOptions(
  run: Pick<
    TrieRun,
    | "v"
    | "baseUrl"
    | "shaping"
    | "synthesizer"
    | "prefixSynthesizer"
    | "transport"
  >,
  level: TrieLevel,
): TrieRunOptions {
  const { v, shaping } = run;
  const ms = (key: string) =>
    v[key] === null ? undefined : (v[key] as number) * 1000;
  return {
    endpoint: {
      baseUrl: run.baseUrl,
      model: v.model as string,
      apiKey: apiKeyOf(v),
      maxRetries: v.max_retries as number,
      timeoutMs: (v.timeout as number) * 1000,
      connectTimeoutMs: ms("connect_timeout"),
      firstTokenTimeoutMs: ms("first_token_timeout"),
      idleTimeoutMs: ms("idle_timeout"),
      transport: run.transport,
      extraBody: shaping.extraBody,
      headers: shaping.headers,
    },
    api: shaping.api,
    ignoreEos: v.ignore_eos as boolean,
    routingHeader: v.routing_header as string | null,
    slos: shaping.slos,
    synthesizer: run.synthesizer,
    concurrency: level.concurrency,
    arrivalRate: level.arrivalRate,
    duration: v.duration as number,
    maxTraces: (v.max_traces as number | null) ?? undefined,
    stream: v.stream as boolean,
    sharedPrefixTokens: (v.shared_prefix_tokens as number | null) ?? undefined,
    prefixSynthesizer: run.prefixSynthesizer,
  };
}
