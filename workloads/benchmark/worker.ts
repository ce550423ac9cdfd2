/**
 * The workers of `kvbench benchmark --workers N`: the arguments a worker is
 * started with, and the worker's own run (`--worker`).
 *
 * @module
 */
import { chooseTransport } from "../../lib/cli/common.ts";
import type { WorkerSpawn } from "../../lib/cli/pipeline.ts";
import { runAsWorker } from "../../lib/cli/scale.ts";
import { inherited } from "../../lib/cli/options.ts";
import { type Level, levelLoad } from "./level.ts";
import { endpointConfig } from "../../lib/cli/flags_workload.ts";
import { BENCHMARK_OPTIONS, type Options } from "./options.ts";
import { runBenchmark } from "./run.ts";
import type { BenchmarkSizing } from "./sizing.ts";
import { runShaper } from "./controls.ts";
import { cacheSaltOf, contextSaltOf } from "./context_salt.ts";

/** What the workers of a run share with their parent. */
export interface WorkerParent {
  /** The parent's command line. */
  argv: string[];
  /** The model sent. */
  model: string;
  /** The run's seed. */
  seed: number;
  /** The run's tag (`context_salt.ts`): its context salt and `cache_salt` derive from it. */
  tag: string;
  /** Whether the contexts carry the tag (default: they do; false: `--context-salt none`). */
  contextSalted?: boolean;
  /** `--cache-salt` as the parent sends it (`none` when its server takes no salt). */
  cacheSalt?: string;
  /** `--controls F` (0 or none: no controls). */
  controls?: number;
}

/**
 * How a level's workers start: the parent's arguments, without those it
 * re-states or owns; every worker gets the parent's tag, so they send the
 * same contexts and `cache_salt`.
 *
 * @example Usage
 * ```ts
 * import { benchmarkWorkers } from "./worker.ts";
 * import assert from "node:assert/strict";
 *
 * const spawn = benchmarkWorkers(
 *   { argv: ["--endpoint", "h", "--workers", "2", "--seed", "9"], model: "m", seed: 9, tag: "123456" },
 *   { label: "", maxInFlight: 4 },
 * );
 * assert.equal(spawn.inFlight, 4);
 * assert.deepEqual(spawn.args(1, { index: 1, count: 2 }, "d/worker-1"), [
 *   "benchmark", "--endpoint", "h", "--model", "m", "--seed", "9",
 *   "--run-tag", "123456", "--context-salt", "run", "--cache-salt", "none",
 *   "--max-inflight", "4", "--shard", "1/2", "--output-dir", "d/worker-1", "--worker",
 * ]);
 * ```
 */
export function benchmarkWorkers(
  c: WorkerParent,
  level: Level,
): WorkerSpawn {
  return {
    inFlight: level.maxInFlight,
    args: (_k, part, dir) => [
      "benchmark",
      ...inherited(c.argv, BENCHMARK_OPTIONS, { syntax: "flags" }),
      "--model",
      c.model,
      "--seed",
      String(c.seed),
      "--run-tag",
      c.tag,
      "--context-salt",
      c.contextSalted === false ? "none" : "run",
      "--cache-salt",
      c.cacheSalt ?? "none",
      ...(c.controls ? ["--controls", String(c.controls)] : []),
      "--max-inflight",
      String(level.maxInFlight),
      ...(level.requestRate === undefined
        ? []
        : ["--request-rate", String(level.requestRate)]),
      "--shard",
      `${part.index}/${part.count}`,
      "--output-dir",
      dir,
      "--worker",
    ],
  };
}

/**
 * A worker (`--worker`, started by `--workers`): runs its part when the
 * parent says, writing its records, and prints nothing else.
 */
export async function runBenchmarkWorker(
  opts: Options,
  c: {
    baseUrl: string;
    sizing: BenchmarkSizing;
    args: string[];
    signal: AbortSignal;
  },
): Promise<number> {
  const model = opts.model!;
  const part = opts.part!;
  const sizing = c.sizing;
  const level: Level = {
    label: "",
    maxInFlight: opts.maxInFlight?.[0] ?? sizing.maxInFlight,
    requestRate: opts.requestRates?.[0],
  };
  sizing.maxInFlight = level.maxInFlight;
  // The parent's tag (--run-tag): the same contexts and cache_salt.
  const tag = opts.runTag!;
  const contextSalt = contextSaltOf(opts.contextSalt, tag);
  const { transport } = chooseTransport(opts.transport, c.baseUrl);
  try {
    return await runAsWorker({
      dir: opts.outputDir!,
      command: "benchmark",
      argv: c.args,
      params: {
        model,
        seed: opts.seed,
        max_inflight: level.maxInFlight,
        context_salt: contextSalt ?? null,
      },
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
        contextSalt,
        shapeRequest: runShaper({
          salt: cacheSaltOf(tag),
          mode: opts.cache.cacheSalt,
          controls: opts.cache.controls,
          seed: opts.seed!,
          part,
        }),
        ignoreEos: opts.ignoreEos,
        api: opts.api,
        load: levelLoad(level, {
          burstiness: opts.burstiness,
          seed: opts.seed!,
        }),
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
