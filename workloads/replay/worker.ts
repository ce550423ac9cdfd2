/**
 * The workers of `kvbench replay --workers N`: the arguments a worker is
 * started with, and the worker's own run (`--worker`): its part of the
 * sessions, on the whole run's schedule.
 *
 * @module
 */
import type { WorkerSpawn } from "../../lib/cli/pipeline.ts";
import { runAsWorker } from "../../lib/cli/scale.ts";
import { inherited } from "../../lib/cli/options.ts";
import { type Level, replayOptions, type ReplayRun } from "./level.ts";
import { REPLAY_OPTIONS } from "./options.ts";
import { replayTrace } from "./run.ts";

/**
 * How a level's workers start: the parent's arguments, re-stated, with the
 * model, the level's salt and speed, the part and the directory.
 *
 * @example Usage
 * ```ts
 * import { replayWorkers } from "./worker.ts";
 * import type { ReplayRun } from "./level.ts";
 * import { parse } from "./options.ts";
 * import assert from "node:assert/strict";
 *
 * const argv = ["t.jsonl", "--endpoint", "x", "--speed", "1,2"];
 * const run = { opts: parse(argv)!, argv, model: "m" } as ReplayRun;
 * const spawn = replayWorkers(run, { label: "--speed 2", speed: 2, salt: "s#2" });
 * assert.deepEqual(spawn.args(0, { index: 0, count: 2 }, "w0"), [
 *   "replay", "t.jsonl", "--endpoint", "x", "--model", "m", "--context-salt", "s#2",
 *   "--speed", "2", "--shard", "0/2", "--output-dir", "w0", "--worker",
 * ]);
 * ```
 */
export function replayWorkers(run: ReplayRun, level: Level): WorkerSpawn {
  return {
    inFlight: run.opts.maxInFlight,
    args: (_k, part, dir) => [
      "replay",
      run.opts.trace,
      ...inherited(run.argv.slice(1), REPLAY_OPTIONS, { syntax: "flags" }),
      "--model",
      run.model,
      "--context-salt",
      level.salt,
      "--speed",
      String(level.speed),
      "--shard",
      `${part.index}/${part.count}`,
      "--output-dir",
      dir,
      "--worker",
    ],
  };
}

/**
 * A worker (`--worker`, started by `--workers`): replays its part when the
 * parent says, writing its records, and prints nothing else.
 */
export async function runReplayWorker(run: ReplayRun): Promise<number> {
  const { opts } = run;
  const level: Level = {
    label: "",
    speed: opts.speeds[0],
    salt: opts.contextSalt!,
  };
  return await runAsWorker({
    dir: opts.outputDir!,
    command: "replay",
    argv: run.argv,
    params: { model: run.model, context_salt: level.salt, speed: level.speed },
    part: opts.part!,
    signal: run.signal,
  }, async (w) => {
    const result = await replayTrace(run.trace, {
      ...replayOptions(run, level),
      signal: w.signal,
      startedAt: w.startedAt,
      onRecord: w.record,
    });
    return {
      elapsedMs: result.summary.wallTimeMs,
      stopReason: result.summary.stopReason,
    };
  });
}
