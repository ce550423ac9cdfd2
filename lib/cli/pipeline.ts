/**
 * The one run pipeline of every workload command: the run directory, the
 * load levels of a sweep one after another (each in its own directory, with
 * its workers when `workers` splits it), the sweep table and `sweep.json`,
 * and the report. A workload describes its levels, how to run one, and how
 * its messages read ({@linkcode RunVoice}); everything else is here once.
 *
 * @module
 */
import type { ClockOffset } from "../run/clock_offset.ts";
import type { RunPart } from "../run/runner.ts";
import { partConcurrency } from "../run/part.ts";
import { err, out } from "./common.ts";
import { writeReport } from "./report_command.ts";
import { openRunDir, startLevel } from "./run_dir.ts";
import { withWorkers, WorkerPool } from "./scale.ts";
import { renderSweep, type SweepColumn } from "./sweep.ts";

/** Workers, shard and start time of a run. */
export interface Scale {
  /** Worker processes on this host (1: none). */
  workers: number;
  /** `workers=auto`: at most one worker per unit of load in flight. */
  workersAuto?: boolean;
  /** The shard this process runs, when it is one. */
  part?: RunPart;
  /** The wall-clock start (ms), when given. */
  startAt?: number;
}

/** One load level of a run, as the sweep table and its header name it. */
export interface PipelineLevel {
  /** How the sweep table and the level's header name it. */
  label: string;
}

/** How a workload's messages read: each returns the line to print. */
export interface RunVoice {
  /** Stdout: the level's workers started (their pids) into `dir`. */
  workersStarted(pool: WorkerPool, dir: string): string;
  /** Stdout: a shard's clock against the server. */
  shardClock(part: RunPart, clock: ClockOffset): string;
  /** Stdout: the run waits `ms` for the start time. */
  startWait(startAt: number, ms: number, part?: RunPart): string;
  /** Stderr: the start time passed `ms` ago. */
  startLate(startAt: number, ms: number): string;
}

/** Everything one level of a run knows of the pipeline. */
export interface LevelContext<L extends PipelineLevel> {
  /** The level. */
  level: L;
  /** Its index among the levels (from 0). */
  index: number;
  /** How many levels the run has. */
  levels: number;
  /** Its directory (undefined without a run directory). */
  dir?: string;
  /** Its worker processes, when the run has workers. */
  pool?: WorkerPool;
  /** Lines saying which files were written, printed at the very end. */
  written: string[];
  /**
   * Told the level is open (its files, the pre-flight, the start): a run
   * that fails before this sent nothing and leaves no run directory.
   */
  opened?: () => void;
}

/** What one level resolves to. */
export interface LevelOutcome {
  /** Its `summary.json`. */
  summary: Record<string, unknown>;
  /** Its exit code (0: fine). */
  code: number;
}

/** How the workers of a level are started. */
export interface WorkerSpawn {
  /**
   * The level's load in flight (requests or traces), which the workers
   * split; undefined for an open loop that has no cap.
   */
  inFlight?: number;
  /**
   * The arguments of worker `k` of `count`: the command name first, then
   * its part (`shard`) and its output directory `dir`.
   */
  args(k: number, part: RunPart, dir: string): string[];
}

/** What a workload gives the pipeline: how its levels run and read. */
export interface PipelineWorkload<L extends PipelineLevel> {
  /** The command (`benchmark`): names the run directory. */
  name: string;
  /** How the messages read. */
  voice: RunVoice;
  /** The columns of the sweep table after "Level". */
  sweepColumns: readonly SweepColumn[];
  /** Run one level. */
  runLevel(c: LevelContext<L>): Promise<LevelOutcome>;
  /** How a level's workers start. */
  workers(level: L): WorkerSpawn;
  /**
   * Told a level is over (its workers stopped); resolves to an exit code
   * to add to the level's.
   */
  levelDone?(outcome: LevelOutcome, level: L): number;
  /** Before each level starts (after the previous one stopped). */
  beforeLevel?(index: number, signal: AbortSignal): Promise<void>;
  /**
   * After the last level, unless stopped: resolves to an exit code to add
   * to the run's (`--verify`'s check).
   */
  afterLevels?(dir: string | undefined, signal: AbortSignal): Promise<number>;
}

/** Where a run writes. */
export interface RunOutputs {
  /** Whether to write a run directory. */
  artifacts: boolean;
  /** Where (default: under `kvbench-runs/`). */
  outputDir?: string;
  /** Percentiles of the report. */
  percentiles?: number[];
}

/** One run: the workload, its levels, its scale and outputs. */
export interface RunPlan<L extends PipelineLevel> {
  /** The workload. */
  workload: PipelineWorkload<L>;
  /** The levels, one after another. */
  levels: readonly L[];
  /** Workers, shard and start time. */
  scale: Scale;
  /** Where it writes. */
  outputs: RunOutputs;
  /** Stops the levels not yet started. */
  signal: AbortSignal;
}

/** What a run resolves to. */
export interface PipelineResult<L extends PipelineLevel> {
  /** The exit code: the last non-zero one of a level, else 0. */
  code: number;
  /** The levels run, with their summaries. */
  rows: { level: L; summary: Record<string, unknown> }[];
  /** The run directory, if any. */
  dir?: string;
}

/**
 * Run every level of `plan` and write the run's directory: its levels, the
 * sweep table and `sweep.json` when there are several, the report. Stops
 * before the next level once `plan.signal` aborts.
 *
 * @example Usage
 * ```ts
 * import { runPipeline } from "./pipeline.ts";
 * import assert from "node:assert/strict";
 *
 * const ran: string[] = [];
 * const result = await runPipeline({
 *   workload: {
 *     name: "demo",
 *     voice: {
 *       workersStarted: () => "",
 *       shardClock: () => "",
 *       startWait: () => "",
 *       startLate: () => "",
 *     },
 *     sweepColumns: [],
 *     runLevel: (c) => {
 *       ran.push(c.level.label);
 *       return Promise.resolve({ summary: { n: c.index }, code: 0 });
 *     },
 *     workers: () => ({ args: () => [] }),
 *   },
 *   levels: [{ label: "only" }],
 *   scale: { workers: 1 },
 *   outputs: { artifacts: false },
 *   signal: new AbortController().signal,
 * });
 * assert.deepEqual(ran, ["only"]);
 * assert.deepEqual(result, {
 *   code: 0,
 *   rows: [{ level: { label: "only" }, summary: { n: 0 } }],
 *   dir: undefined,
 * });
 * ```
 */
export async function runPipeline<L extends PipelineLevel>(
  plan: RunPlan<L>,
): Promise<PipelineResult<L>> {
  const { part } = plan.scale;
  const { workload, outputs } = plan;
  const runDir = outputs.artifacts
    ? await openRunDir(
      part === undefined
        ? workload.name
        : `${workload.name}-shard-${part.index}-of-${part.count}`,
      outputs.outputDir,
    )
    : undefined;
  const dir = runDir?.path;
  const rows: PipelineResult<L>["rows"] = [];
  const written: string[] = [];
  let opened = false;
  try {
    return await runLevels(plan, {
      dir,
      rows,
      written,
      opened: () => opened = true,
    });
  } catch (error) {
    // Refused or failed before its first request: it leaves nothing.
    if (!opened) await runDir?.discard();
    throw error;
  }
}

/** The levels of a run, its sweep table and its report, into `dir`. */
async function runLevels<L extends PipelineLevel>(
  plan: RunPlan<L>,
  run: {
    dir?: string;
    rows: PipelineResult<L>["rows"];
    written: string[];
    opened: () => void;
  },
): Promise<PipelineResult<L>> {
  const { workload, outputs } = plan;
  const { dir, rows, written } = run;
  let code = 0;
  for (const [index, level] of plan.levels.entries()) {
    if (plan.signal.aborted) break;
    await workload.beforeLevel?.(index, plan.signal);
    const levelDir = await startLevel(dir, {
      index,
      levels: plan.levels.length,
      label: level.label,
    });
    const c: LevelContext<L> = {
      level,
      index,
      levels: plan.levels.length,
      dir: levelDir,
      written,
      opened: run.opened,
    };
    const outcome = await runLevelWithWorkers(plan, c);
    rows.push({ level, summary: outcome.summary });
    const done = workload.levelDone?.(outcome, level) ?? 0;
    if (outcome.code !== 0) code = outcome.code;
    if (done !== 0) code = done;
  }
  if (workload.afterLevels !== undefined && !plan.signal.aborted) {
    const after = await workload.afterLevels(dir, plan.signal);
    if (after !== 0) code = after;
  }
  if (rows.length > 1) {
    out(renderSweep(rows, workload.sweepColumns));
    if (dir !== undefined) {
      await Deno.writeTextFile(
        `${dir}/sweep.json`,
        JSON.stringify(rows, null, 2) + "\n",
      );
    }
  }
  for (const line of written) out(line);
  if (dir !== undefined) {
    const report = await writeReport(dir, outputs.percentiles);
    out(
      `[INFO] Run written to ${dir}${report ? ` (report: ${report})` : ""}\n`,
    );
  }
  return { code, rows, dir };
}

/**
 * Run one level: with workers, start them first (they load while nothing
 * is timed), and stop them whatever happens; a worker that died makes the
 * level's exit code 1.
 */
async function runLevelWithWorkers<L extends PipelineLevel>(
  plan: RunPlan<L>,
  c: LevelContext<L>,
): Promise<LevelOutcome> {
  if (plan.scale.workers <= 1) return await plan.workload.runLevel(c);
  return await withWorkers(async (pool) => {
    const outcome = await plan.workload.runLevel({ ...c, pool });
    return pool.failures.length > 0 ? { ...outcome, code: 1 } : outcome;
  }, {
    dir: c.dir,
    spawn: (dir) => spawnLevelWorkers(plan, c.level, dir),
    onStarted: (pool, dir) =>
      out(plan.workload.voice.workersStarted(pool, dir)),
  });
}

/**
 * Start a level's workers, each on its part of this process's part,
 * writing into `DIR/worker-K`; `workers=auto` takes at most one worker per
 * unit of load in flight.
 */
function spawnLevelWorkers<L extends PipelineLevel>(
  plan: RunPlan<L>,
  level: L,
  dir: string,
): Promise<WorkerPool> {
  const { scale } = plan;
  const shard = scale.part ?? { index: 0, count: 1 };
  const spawn = plan.workload.workers(level);
  const inFlight = spawn.inFlight;
  const count = scale.workersAuto && inFlight !== undefined
    ? Math.max(1, Math.min(scale.workers, Math.floor(inFlight / shard.count)))
    : scale.workers;
  if (inFlight !== undefined) {
    partConcurrency(inFlight, { index: 0, count: shard.count * count });
  }
  return WorkerPool.spawn({
    count,
    signal: plan.signal,
    args: (k) =>
      spawn.args(k, {
        index: shard.index + shard.count * k,
        count: shard.count * count,
      }, `${dir}/worker-${k}`),
    records: (k) => `${dir}/worker-${k}/records.jsonl`,
    warn: err,
  });
}
