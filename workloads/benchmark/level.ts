/**
 * One load level of `kvbench benchmark`: its requests, its live line, its
 * closing report, verdict and summary; the pipeline (`lib/cli/pipeline.ts`)
 * runs the levels, their workers and their files.
 *
 * @module
 */
import { renderDistributions } from "../../lib/metrics/distributions.ts";
import {
  gamma,
  type LoadPolicy,
  openLoop,
  poisson,
} from "../../lib/run/load.ts";
import { benchmarkVerdict, ReuseTracker } from "../../lib/server/verdict.ts";
import { describeFailure } from "../../lib/run/fail_fast.ts";
import { compareCapacity } from "../../lib/server/capacity.ts";
import { type Preflight, preflight } from "../../lib/server/preflight.ts";
import { unmeasurableRun } from "./preflight_gate.ts";
import {
  type RunMetrics,
  scrapeEveryMs,
} from "../../lib/cli/server_metrics.ts";
import { RunProgress } from "../../lib/cli/progress.ts";
import type { Transport } from "../../lib/transport/transport.ts";
import {
  err,
  type LiveLine,
  out,
  ReportedError,
} from "../../lib/cli/common.ts";
import type {
  LevelContext,
  LevelOutcome,
  PipelineWorkload,
} from "../../lib/cli/pipeline.ts";
import { benchmarkWorkers } from "./worker.ts";
import { runShaper } from "./controls.ts";
import { type OpenedLevel, openLevel } from "../../lib/cli/level_io.ts";
import {
  fixed,
  LATENCY_COLUMNS,
  outputTokensPerS,
  percent,
  type SweepColumn,
} from "../../lib/cli/sweep.ts";
import { benchmarkSummaryJson, renderBenchmarkBlock } from "./report.ts";
import { runBenchmark } from "./run.ts";
import { lapLine, lapLines, LapTracker, numPromptsWarning } from "./lap.ts";
import { nextSteps } from "./next_steps.ts";
import { endpointConfig, FLAGS_VOICE } from "../../lib/cli/flags_workload.ts";
import type { BenchmarkCacheControls } from "./verify.ts";
import type { BenchmarkRunResult } from "./report.ts";
import type { BenchmarkSizing } from "./sizing.ts";
import { BENCHMARK_OPTIONS, type Options } from "./options.ts";
import { runParams } from "../../lib/cli/options.ts";

/** One level of a run: the load it runs at. */
export interface Level {
  /** How the sweep table and the headers name it. */
  label: string;
  /** Requests in flight at most. */
  maxInFlight: number;
  /** Open loop at this rate (requests per second), or a closed loop. */
  requestRate?: number;
}

/** What every level of one benchmark run shares. */
export interface BenchmarkRun {
  /** The parsed command line. */
  opts: Options;
  /** The workload's sizing. */
  sizing: BenchmarkSizing;
  /** The endpoint's base URL. */
  baseUrl: string;
  /** The model sent. */
  model: string;
  /** The seed of the question draw and the arrivals. */
  seed: number;
  /** The transport and its name in reports. */
  transport: Transport;
  /** The transport's name in reports. */
  label: string;
  /** Stops the run. */
  signal: AbortSignal;
  /** The live status line. */
  live: LiveLine;
  /** Whether a signal asked to stop. */
  isStopping: () => boolean;
  /** The command line, for `run.json`. */
  argv: string[];
  /** The run's tag (`context_salt.ts`), which its workers share. */
  tag: string;
  /** The context salt (the tag unless `--context-salt none`). */
  contextSalt?: string;
  /** What the context salt means, printed (stderr) when the run starts. */
  contextSaltLine?: string;
  /** `--verify`, `--cache-salt`, `--controls`, `--reset-cache`. */
  cache?: BenchmarkCacheControls;
  /** The pre-flight of the first level (when the server's metrics were read), and the refusal `--force` ran past. */
  preflight?: Preflight & { refusal?: string };
  /** The pre-flight's refusal of a run forced with `--force` (its fix, without the `--force` hint). */
  forced?: string;
  /** The server reports no offload tier (0 offload tokens). */
  noOffloadTier?: boolean;
}

/**
 * The sweep table's columns after "Level".
 *
 * @example Usage
 * ```ts
 * import { BENCHMARK_SWEEP } from "./level.ts";
 * import assert from "node:assert/strict";
 *
 * const summary = {
 *   qps: 2.345,
 *   distributions: { outputTokensPerS: 10.06, ttftMs: { percentiles: { "50": 12.34, "99": 40 } } },
 *   cache_hit_rate: 0.5,
 *   server: { offload_share: 0.25 },
 *   requests: { failed: 1 },
 * };
 * assert.deepEqual(BENCHMARK_SWEEP.map((c) => c.cell(summary)), [
 *   "2.35", "10.1", "12.3", "40.0", "-", "-", "50.0%", "25.0%", "1",
 * ]);
 * ```
 */
export const BENCHMARK_SWEEP: readonly SweepColumn[] = [
  { header: "req/s", cell: (s) => fixed(s.qps, 2) },
  { header: "output\ntok/s", cell: outputTokensPerS },
  ...LATENCY_COLUMNS,
  {
    header: "cache\nhits",
    cell: (s) => percent(s.cache_hit_rate),
  },
  {
    header: "offload\nshare",
    cell: (s) =>
      percent((s.server as { offload_share?: number } | null)?.offload_share),
  },
  {
    header: "failed",
    cell: (s) => String((s.requests as { failed: number }).failed),
  },
];

/** How benchmark's runs look: their directories' name, messages, sweep table. */
const BENCHMARK_LOOK = {
  name: "benchmark",
  voice: FLAGS_VOICE,
  sweepColumns: BENCHMARK_SWEEP,
};

/** How the pipeline runs benchmark's levels. */
export function benchmarkPipeline(run: BenchmarkRun): PipelineWorkload<Level> {
  return {
    ...BENCHMARK_LOOK,
    runLevel: (c) => runBenchmarkLevel(run, c),
    workers: (level) =>
      benchmarkWorkers({
        ...run,
        contextSalted: run.contextSalt !== undefined,
        cacheSalt: run.cache?.salt === undefined
          ? "none"
          : run.opts.cache.cacheSalt,
        controls: run.opts.cache.controls,
      }, level),
    beforeLevel: async (index, signal) => {
      await run.cache?.beforeLevel(index, signal);
    },
    afterLevels: async (dir, signal) => {
      if (run.cache === undefined) return 0;
      const checked = await run.cache.verify(endpointConfig(run.opts, run), {
        sizing: run.sizing,
        api: run.opts.api,
        contextSalt: run.contextSalt,
        dir,
        signal,
      });
      return checked.code;
    },
  };
}

/** The level's run.json params: the options as given, and what the run found. */
function levelParams(
  run: BenchmarkRun,
  c: { level: Level; startedAt: number },
): Record<string, unknown> {
  const { opts } = run;
  const { level, startedAt } = c;
  return {
    endpoint: run.baseUrl,
    model: run.model,
    seed: run.seed,
    started_at: new Date(performance.timeOrigin + startedAt).toISOString(),
    ...runParams(BENCHMARK_OPTIONS, { ...opts, goodput: opts.slos }),
    context_salt: run.contextSalt ?? null,
    max_inflight: level.maxInFlight,
    request_rate: level.requestRate ?? null,
    burstiness: level.requestRate === undefined ? null : opts.burstiness,
    interval_s: opts.interval,
    transport: run.label,
    preflight: run.preflight === undefined ? null : {
      verdict: run.preflight.verdict,
      lines: run.preflight.lines,
      refusal: run.preflight.refusal ?? null,
    },
  };
}

/** Run one level: its requests, its reports, its files. */
export async function runBenchmarkLevel(
  run: BenchmarkRun,
  c: LevelContext<Level>,
): Promise<LevelOutcome> {
  const { opts, live } = run;
  const level = c.level;
  const sizing = { ...run.sizing, maxInFlight: level.maxInFlight };
  const io = await openLevel(c, {
    baseUrl: run.baseUrl,
    apiKey: opts.apiKey,
    scale: opts,
    voice: FLAGS_VOICE,
    records: opts.records,
    metricsOut: opts.metricsOut,
    metrics: opts.metrics
      ? {
        urls: opts.metricsUrls,
        everyMs: scrapeEveryMs(opts.scrapeInterval, opts.interval),
      }
      : undefined,
    onMetrics: (metrics) => {
      if (c.index !== 0) return;
      const printed = printPreflight(metrics, sizing, opts);
      run.preflight = printed.check;
      run.forced = printed.forced;
      run.noOffloadTier = metrics.last?.gauges?.offloadKvTokens === 0;
    },
    signal: run.signal,
  });
  const { serverMetrics, startedAt } = io;
  if (c.index === 0 && run.contextSaltLine) err(run.contextSaltLine);
  const reuse = new ReuseTracker();
  const lap = new LapTracker({
    contexts: sizing.contexts,
    maxInFlight: level.maxInFlight,
    part: opts.part,
  });
  const progress = new RunProgress();
  const params = levelParams(run, { level, startedAt });
  await io.writeRunInfo({
    command: "benchmark",
    argv: run.argv,
    params,
    workload: sizing,
  });
  const drawStatus = () =>
    live.update(
      progress.line(
        Math.max(0, performance.now() - startedAt) / 1000,
        opts.duration,
      ),
    );
  if (c.index === 0 && opts.numPrompts !== undefined) {
    const warning = numPromptsWarning({
      numPrompts: opts.numPrompts,
      warmup: opts.warmup ?? 0,
      contexts: sizing.contexts,
    });
    if (warning !== undefined) err(`${warning}\n`);
  }
  if (live.active) drawStatus();
  const liveTimer = live.active ? setInterval(drawStatus, 1000) : undefined;
  let pending: Promise<void> | undefined;
  try {
    const result = await runBenchmark(sizing, {
      endpoint: endpointConfig(opts, run),
      seed: run.seed,
      contextSalt: run.contextSalt,
      ignoreEos: opts.ignoreEos,
      api: opts.api,
      load: levelLoad(level, { burstiness: opts.burstiness, seed: run.seed }),
      part: opts.part,
      source: io.source,
      maxRequests: opts.numPrompts,
      warmupRequests: opts.warmup,
      slos: opts.slos,
      durationMs: opts.duration === undefined
        ? undefined
        : opts.duration * 1000,
      signal: run.signal,
      intervalMs: opts.interval * 1000,
      startedAt,
      write: (text) => live.print(text),
      warn: err,
      onSend: () => progress.sent(),
      shapeRequest: runShaper({
        salt: run.cache?.salt,
        mode: opts.cache.cacheSalt,
        controls: opts.cache.controls,
        seed: run.seed,
        part: opts.part,
      }),
      onRecord: (record) => {
        run.cache?.add(record);
        // Workers' records are copied as they wrote them (onLines).
        if (c.pool === undefined) {
          for (const file of io.records) file.write(record);
        }
        serverMetrics?.add(record);
        reuse.add(record);
        progress.add(record);
        const estimate = lap.add(record);
        // The first level's lap is the cold one (later ones find it cached).
        if (estimate !== undefined && c.index === 0) {
          const lines = lapLines(estimate, {
            maxInFlight: level.maxInFlight,
            // A forced run the pre-flight refused: longer would not help.
            durationS: run.forced === undefined ? opts.duration : undefined,
          });
          live.clear(); // drawn again on the next tick
          err(lines.map((line) => `${line}\n`).join(""));
        }
      },
      onReport: (ms) => {
        for (const file of io.records) file.report(ms);
        // The server's split at this report, printed when the scrape is in
        // (not once stopping: tmesh-cli's closing lines come as they did).
        if (serverMetrics !== undefined) {
          pending = serverMetrics.scrape().then(() => {
            if (!run.isStopping() && serverMetrics.split() !== undefined) {
              live.print(serverMetrics.render() + "\n");
            }
          });
        }
      },
    });
    clearInterval(liveTimer);
    live.clear();
    await pending;
    await serverMetrics?.finish();
    return await closeLevel(run, { c, io, result, reuse, lap, params });
  } finally {
    clearInterval(liveTimer);
    io.close();
    serverMetrics?.close();
  }
}

/** The end of a level: the final report, the verdict, the files. */
async function closeLevel(
  run: BenchmarkRun,
  l: {
    c: LevelContext<Level>;
    io: OpenedLevel;
    result: BenchmarkRunResult;
    reuse: ReuseTracker;
    lap: LapTracker;
    params: Record<string, unknown>;
  },
): Promise<LevelOutcome> {
  const { opts } = run;
  const { result, io } = l;
  const serverMetrics = io.serverMetrics;
  let code = 0;
  const { ok, failed } = result.summary.requests;
  // A run that failed fast or in which every request failed ends on its
  // first error: no lap, verdict or next step.
  const failedRun = result.summary.stopReason === "fail_fast" ||
    (ok === 0 && failed > 0);
  const lap = l.lap.figures();
  if (
    !run.isStopping() && opts.duration !== undefined &&
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
      { transport: run.label },
    ),
  );
  if (!failedRun) out(`${lapLine(lap)}\n`);
  if (serverMetrics !== undefined) out(serverMetrics.render(true));
  const reuse = l.reuse.figures();
  const verdict = benchmarkVerdict(reuse, {
    ...(serverMetrics?.verdictOptions(opts.part !== undefined) ??
      { noSplitReason: "--no-metrics: the server's metrics were not read" }),
    forced: run.forced,
  });
  if (!failedRun) {
    out(`\n${verdict.text}\n\n`);
    // After the last level: what to do next (not for a shard: its part of
    // the run is not the run; docs/scale_out.md gives the merged run's A/B).
    if (l.c.index === l.c.levels - 1 && opts.part === undefined) {
      const steps = nextSteps({
        forced: run.forced,
        reuses: reuse.reuses + reuse.failedReuses,
        verdict,
        lap,
        elapsedS: result.final.elapsed,
        stopReason: result.summary.stopReason,
        contexts: run.sizing.contexts,
        warmup: opts.warmup ?? 0,
        dir: l.c.dir === undefined || l.c.levels === 1
          ? l.c.dir
          : l.c.dir.slice(0, l.c.dir.lastIndexOf("/")),
        argv: run.argv,
        sizing: run.sizing,
        noOffloadTier: run.noOffloadTier,
      });
      if (steps.length > 0) out(`${steps.join("\n")}\n\n`);
    }
  }
  if (run.cache?.tracker) out(`${run.cache.tracker.line()}\n\n`);
  // Fail fast (lib/run/fail_fast.ts): the run ends on its first error.
  const failure = describeFailure(result.summary);
  if (result.summary.stopReason === "fail_fast" && failure !== undefined) {
    err(`[ERROR] ${failure}\n`);
    code = 1;
  } else if (ok === 0 && failed > 0) {
    if (failure !== undefined) err(`[ERROR] ${failure}\n`);
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
  const summary = benchmarkSummaryJson(
    { ...run.sizing, maxInFlight: l.c.level.maxInFlight },
    result,
    {
      params: l.params,
      percentiles: opts.percentiles,
      transport: run.label,
      server: serverMetrics?.summary(verdict),
      lap,
    },
  );
  const output = await io.writeSummary(summary, opts.output);
  if (output !== undefined) {
    l.c.written.push(`[INFO] Summary written to ${output}\n`);
  }
  io.end({
    startedAt: io.startedAt,
    elapsedMs: result.final.elapsed * 1000,
    stopReason: result.summary.stopReason,
  });
  if (opts.records) {
    const file = io.records[io.records.length - 1];
    l.c.written.push(`[INFO] ${file.count} records written to ${file.path}\n`);
  }
  return { summary, code };
}

/**
 * The load of a level: a closed loop (undefined), or arrivals at its rate
 * (Poisson, or gamma of shape `burstiness`).
 *
 * @example Usage
 * ```ts
 * import { levelLoad } from "./level.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(levelLoad({ label: "", maxInFlight: 4 }, { burstiness: 1, seed: 1 }), undefined);
 * assert.notEqual(levelLoad({ label: "", maxInFlight: 4, requestRate: 2 }, { burstiness: 1, seed: 1 }), undefined);
 * ```
 */
export function levelLoad(
  level: Level,
  options: { burstiness: number; seed: number },
): LoadPolicy | undefined {
  if (level.requestRate === undefined) return undefined;
  const { burstiness, seed } = options;
  return openLoop(
    burstiness === 1
      ? poisson(level.requestRate, { seed })
      : gamma(level.requestRate, burstiness, { seed }),
  );
}

/** What a run against a server with no offload tier measures. */
const NO_OFFLOAD_TIER =
  "The server has no offload tier (it reports 0 offload tokens): this run measures recompute, the offload-off side of an A/B";

/**
 * Print the pre-flight; refuse (a {@linkcode ReportedError}, exit 1) a run
 * that cannot measure the offload tier by the server's own capacities,
 * unless `--force`.
 */
function printPreflight(
  serverMetrics: RunMetrics,
  sizing: BenchmarkSizing,
  opts: Options,
): { check: Preflight & { refusal?: string }; forced?: string } {
  const { engine, version } = serverMetrics.server;
  if (engine !== undefined) {
    err(`[INFO] server: ${engine}${version ? ` ${version}` : ""}\n`);
  }
  const gauges = serverMetrics.last?.gauges ?? {};
  const bpt = sizing.bytesPerToken;
  const userDevice = opts.deviceKvGb === undefined
    ? undefined
    : Math.floor(opts.deviceKvGb * 1024 ** 3 / bpt);
  // No offload tier at all is the offload-off side of an A/B, not a size
  // given wrong: said plainly (and in run.json), not compared with the sizing.
  const noTier = gauges.offloadKvTokens === 0;
  const checked = preflight({
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
    slots: serverMetrics.server.slots,
    slotTokens: serverMetrics.server.slotTokens,
  });
  const check = noTier && checked.verdict === "exceeds_offload"
    ? { ...checked, lines: [checked.lines[0], `[INFO] ${NO_OFFLOAD_TIER}`] }
    : checked;
  err(
    check.lines.map((l) => l.startsWith("[") ? l : `[INFO] ${l}`).join("\n") +
      "\n",
  );
  // The offload capacity the workload was sized for, against the server's.
  const sized = Math.floor(sizing.offloadSizeGib * 1024 ** 3 / bpt);
  const server = {
    ...gauges,
    offloadKvTokens: noTier ? undefined : gauges.offloadKvTokens,
    from: "/metrics",
  };
  for (const line of compareCapacity(server, { offloadKvTokens: sized })) {
    err(`${line}\n`);
  }
  const refusal = unmeasurableRun(check, sizing, {
    serverDeviceKvTokens: gauges.deviceKvTokens,
    serverOffloadKvTokens: gauges.offloadKvTokens,
  });
  if (refusal !== undefined && !opts.force) {
    err(`[ERROR] Refusing the run: ${refusal}\n`);
    throw new ReportedError(refusal);
  }
  if (refusal === undefined) return { check };
  err(`[WARN] --force: ${refusal}\n`);
  // Recorded without its "--force" hint: the run was forced.
  const forced = refusal.replace(/ \(or pass --force to run anyway\)$/, "");
  return { check: { ...check, refusal: forced }, forced };
}
