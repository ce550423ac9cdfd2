/**
 * The workers of `kvbench trie workers=N`: the arguments a worker is
 * started with, and the worker's own replay (`worker=True`).
 *
 * @module
 */
import type { WorkerSpawn } from "../../lib/cli/pipeline.ts";
import { runAsWorker } from "../../lib/cli/scale.ts";
import type { RunPart } from "../../lib/run/runner.ts";
import { type TrieRun, trieRunOptions } from "./level.ts";
import { TRIE_OPTIONS, type TrieLevel } from "./options.ts";
import { inherited } from "../../lib/cli/options.ts";
import { runTrie } from "./run.ts";

/**
 * How a level's workers start: the parent's keys, without those it
 * re-states or owns.
 *
 * @example Usage
 * ```ts
 * import { trieWorkers } from "./worker.ts";
 * import assert from "node:assert/strict";
 *
 * const spawn = trieWorkers(
 *   { argv: ["workload_path=qa", "model=m", "workers=2", "timeout=9"], workloadPath: "/t.jsonl", seed: 3 },
 *   { label: "", concurrency: 4 },
 * );
 * assert.equal(spawn.inFlight, 4);
 * assert.deepEqual(spawn.args(0, { index: 0, count: 2 }, "d/worker-0"), [
 *   "trie", "model=m", "timeout=9", "workload_path=/t.jsonl", "concurrency=4",
 *   "seed=3", "shard=0/2", "output_dir=d/worker-0", "metrics=False", "worker=True",
 * ]);
 * ```
 */
export function trieWorkers(
  run: Pick<TrieRun, "argv" | "workloadPath" | "seed">,
  level: TrieLevel,
): WorkerSpawn {
  const kept = inherited(run.argv, TRIE_OPTIONS, { syntax: "keys" });
  return {
    // Every worker needs a trace in flight: auto takes at most that many.
    inFlight: level.concurrency,
    args: (_k, part, dir) => [
      "trie",
      ...kept,
      `workload_path=${run.workloadPath}`,
      level.concurrency !== undefined
        ? `concurrency=${level.concurrency}`
        : `arrival_rate=${level.arrivalRate}`,
      // The worker adds its part's index to the seed, as a shard does.
      `seed=${run.seed}`,
      `shard=${part.index}/${part.count}`,
      `output_dir=${dir}`,
      "metrics=False",
      "worker=True",
    ],
  };
}

/**
 * A trie worker (`worker=True`, started by `workers=N`): replays its part
 * of the traces when the parent says, writing its records, and prints
 * nothing else.
 */
export async function runTrieWorker(
  run: TrieRun,
  c: { level: TrieLevel; part: RunPart },
): Promise<number> {
  return await runAsWorker({
    dir: run.v.output_dir as string,
    command: "trie",
    argv: run.argv,
    params: { model: run.v.model, seed: run.v.seed },
    part: c.part,
    signal: run.signal,
  }, async (w) => {
    const result = await runTrie(run.rows, {
      ...trieRunOptions(run, c.level),
      signal: w.signal,
      startedAt: w.startedAt,
      part: c.part,
      onSend: w.sent,
      onRecord: w.record,
    });
    return {
      elapsedMs: result.wallTime * 1000,
      stopReason: result.stopReason ?? "exhausted",
    };
  });
}
