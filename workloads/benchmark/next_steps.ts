/**
 * What to do next, printed after the verdict of a `kvbench benchmark` run:
 * the step that fits what the run measured (docs/commands.md, "What to do
 * next").
 *
 * @module
 */
import type { Verdict } from "../../lib/server/verdict.ts";
import { formatLapTime, type LapFigures, twoLapsSeconds } from "./lap.ts";
import { type BenchmarkSizing, sizeBenchmark } from "./sizing.ts";

/** What the next step depends on. */
export interface RunOutcome {
  /** The pre-flight's refusal of a forced run, with its fix. */
  forced?: string;
  /** Reuses seen (completed, or failed after their prefill). */
  reuses: number;
  /** The verdict printed. */
  verdict: Verdict;
  /** Lap 1 as measured. */
  lap: LapFigures;
  /** The run's elapsed time, s. */
  elapsedS: number;
  /** Why the run stopped (`duration`, `max_requests`, …). */
  stopReason: string;
  /** Contexts of the workload and the warm-up requests, for `--num-prompts`. */
  contexts: number;
  /** Warm-up requests (`--warmup`). */
  warmup: number;
  /** The run's directory, when it wrote one. */
  dir?: string;
  /** The command line after `kvbench benchmark`, for the A/B's second run. */
  argv: readonly string[];
  /** The workload as sized, pinned in the second run when the first sized itself from the server. */
  sizing?: BenchmarkSizing;
  /**
   * The server reports no offload tier (0 offload tokens): this run is the
   * offload-off side of an A/B.
   */
  noOffloadTier?: boolean;
}

/** Options that name a file or directory the second run must not overwrite. */
const OUTPUT_FLAGS = new Set([
  "--output-dir",
  "--output",
  "--records",
  "--metrics-out",
]);

/** Options without a value that the second run must not keep (it writes its own directory). */
const OUTPUT_SWITCHES = new Set(["--artifacts", "--no-artifacts"]);

/** Options whose value is a secret, not printed. */
const SECRET_FLAGS = new Set(["--api-key"]);

/** An argument as a POSIX shell reads it back. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word)
    ? word
    : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Options of {@linkcode secondRunArgs}. */
export interface SecondRunOptions {
  /**
   * The first run's workload: when its command line gave no
   * `--offload-size` (the run sized itself from the server's tier, which the
   * offload-off server lacks), the second run is given the size that makes
   * the same contexts, so both runs send the same working set.
   */
  sizing?: BenchmarkSizing;
}

/**
 * The shortest `--offload-size` (GiB, up to 6 decimals) that sizes to the
 * same contexts as `sizing`.
 */
function pinnedOffloadSize(sizing: BenchmarkSizing): string {
  for (let digits = 2; digits < 6; digits++) {
    const text = sizing.offloadSizeGib.toFixed(digits);
    const again = sizeBenchmark(sizing.model, {
      offloadSizeGib: Number(text),
      bytesPerToken: sizing.bytesPerToken,
      inputLength: sizing.inputLength,
    });
    if (again.contexts === sizing.contexts) return String(Number(text));
  }
  return String(Number(sizing.offloadSizeGib.toFixed(6)));
}

/**
 * The command line of the A/B's second run: the same arguments without
 * this run's outputs (and without the API key's value, read from
 * `$OPENAI_API_KEY`), writing into `dir`; the first run's offload size
 * pinned when its command line did not give one.
 *
 * @example Usage
 * ```ts
 * import { secondRunArgs } from "./next_steps.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   secondRunArgs(
 *     ["--endpoint", "http://h:8000", "--output-dir=runs/a", "--duration", "300"],
 *     "runs/a-offload-off",
 *   ),
 *   "kvbench benchmark --endpoint http://h:8000 --duration 300 --output-dir runs/a-offload-off",
 * );
 * // The key's value is not printed; a word the shell would split is quoted.
 * assert.equal(
 *   secondRunArgs(["--api-key", "sk-1", "--header", "X-Team: a b"], "b"),
 *   `kvbench benchmark --header 'X-Team: a b' --output-dir b --api-key "$OPENAI_API_KEY"`,
 * );
 * // --no-artifacts would refuse --output-dir; a size the server gave is pinned.
 * const sizing = {
 *   model: "m", offloadSizeGib: 18.62645149230957, bytesPerToken: 98_304,
 *   contexts: 5, questions: 5, maxInFlight: 1, inputLength: 32_000, outputLength: 100,
 * };
 * assert.equal(
 *   secondRunArgs(["--endpoint", "h", "--no-artifacts"], "b", { sizing }),
 *   "kvbench benchmark --endpoint h --output-dir b --offload-size 18.63",
 * );
 * assert.equal(
 *   secondRunArgs(["--offload-size=20GB"], "b", { sizing }),
 *   "kvbench benchmark --offload-size=20GB --output-dir b",
 * );
 * ```
 */
export function secondRunArgs(
  argv: readonly string[],
  dir: string,
  options: SecondRunOptions = {},
): string {
  const kept: string[] = [];
  let secret = false;
  let sized = false;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    if (OUTPUT_SWITCHES.has(flag)) continue;
    sized ||= flag === "--offload-size";
    if (OUTPUT_FLAGS.has(flag) || SECRET_FLAGS.has(flag)) {
      secret ||= SECRET_FLAGS.has(flag);
      if (inline === undefined) i++;
      continue;
    }
    kept.push(argv[i]);
  }
  const pinned = !sized && options.sizing !== undefined
    ? ["--offload-size", pinnedOffloadSize(options.sizing)]
    : [];
  const words = [
    "kvbench",
    "benchmark",
    ...kept,
    "--output-dir",
    dir,
    ...pinned,
  ]
    .map(shellWord);
  // The key itself is not printed: the shell puts it back.
  if (secret) words.push('--api-key "$OPENAI_API_KEY"');
  return words.join(" ");
}

/**
 * The output directory of the A/B's offload-off run, from the offload-on
 * run's: a basename ending in `on` after `_` or `-` (`offload_on`, `kv-on`)
 * ends in `off` instead; any other gets `-offload-off` appended.
 *
 * @example Usage
 * ```ts
 * import { offloadOffDir } from "./next_steps.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(offloadOffDir("runs/offload_on"), "runs/offload_off");
 * assert.equal(offloadOffDir("kv-on"), "kv-off");
 * assert.equal(offloadOffDir("runs/a/"), "runs/a-offload-off");
 * // `on` must follow `_` or `-`, in the basename.
 * assert.equal(offloadOffDir("runs/lmcache-on/baseline"), "runs/lmcache-on/baseline-offload-off");
 * assert.equal(offloadOffDir("runs/moon"), "runs/moon-offload-off");
 * ```
 */
export function offloadOffDir(dir: string): string {
  const trimmed = dir.replace(/(.)\/+$/, "$1");
  return /(^|\/)[^/]*[_-]on$/.test(trimmed)
    ? `${trimmed.slice(0, -2)}off`
    : `${trimmed}-offload-off`;
}

/** The fix at the end of a pre-flight refusal (its last clause). */
function fixOf(refusal: string): string {
  return refusal.slice(refusal.lastIndexOf("; ") + 2);
}

/**
 * The next-step lines after the verdict (empty when the run failed: its
 * error is the last word). In order: a forced run the pre-flight refused
 * repeats its fix; a run in which no context came back says how long (or
 * how many requests) covers two laps, from the measured lap 1 (or, when lap 1
 * did not finish, its pace so far); a run whose reuse the offload tier
 * served (or any cache, unnamed) gives the A/B recipe with this run's
 * directory (its offload-off directory by {@linkcode offloadOffDir}); one
 * against a server with no offload tier gives the comparison with the
 * offload-on run; one whose reuse the GPU or recomputation took says so.
 *
 * @example A forced run: the pre-flight's fix
 * ```ts
 * import { nextSteps } from "./next_steps.ts";
 * import assert from "node:assert/strict";
 *
 * const run = {
 *   reuses: 4, verdict: { text: "" }, elapsedS: 45, stopReason: "duration",
 *   lap: { requests: 5, settled: 5, lapMs: 2000 }, contexts: 5, warmup: 0,
 *   argv: [],
 * };
 * assert.deepEqual(
 *   nextSteps({ ...run, forced: "the working set fits in the server's GPU KV (8.00 GiB): every reuse would be served from GPU memory and the run would not stress the offload tier; size the run past the GPU with --offload-size 19.99" }),
 *   ["Next: size the run past the GPU with --offload-size 19.99, and run without --force."],
 * );
 * assert.deepEqual(
 *   nextSteps({ ...run, forced: "the working set fits in the server's GPU KV (8.00 GiB): every reuse would be served from GPU memory and the run would not stress the offload tier; the server's offload tier is no larger than its GPU KV, so no size can measure it" }),
 *   ["Next: the server's offload tier is no larger than its GPU KV, so no size can measure it: give the server an offload tier larger than its GPU KV."],
 * );
 * ```
 *
 * @example Reuse served by the GPU prefix cache, then by the offload tier
 * ```ts
 * import { nextSteps } from "./next_steps.ts";
 * import assert from "node:assert/strict";
 *
 * const run = {
 *   reuses: 4, elapsedS: 45, stopReason: "duration", contexts: 5, warmup: 0,
 *   lap: { requests: 5, settled: 5, lapMs: 2000 }, argv: ["--duration", "45"],
 * };
 * const gpu = nextSteps({ ...run, verdict: { text: "", offloadShare: 0, deviceShare: 0.9 } });
 * assert.match(gpu[0], /^Next: the GPU prefix cache served the reuse, not the offload tier/);
 * const offload = nextSteps({ ...run, dir: "runs/a", verdict: { text: "", offloadShare: 0.8 } });
 * assert.deepEqual(offload.slice(2), [
 *   "  2. kvbench benchmark --duration 45 --output-dir runs/a-offload-off",
 *   "  3. kvbench compare runs/a runs/a-offload-off",
 * ]);
 * const on = nextSteps({ ...run, dir: "runs/offload_on", verdict: { text: "", offloadShare: 0.8 } });
 * assert.equal(on[3], "  3. kvbench compare runs/offload_on runs/offload_off");
 * ```
 *
 * @example The server has no offload tier: the offload-off side of an A/B
 * ```ts
 * import { nextSteps } from "./next_steps.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   nextSteps({
 *     reuses: 4, elapsedS: 45, stopReason: "duration", contexts: 5, warmup: 0,
 *     lap: { requests: 5, settled: 5, lapMs: 2000 }, argv: [],
 *     dir: "runs/offload_off", noOffloadTier: true,
 *     verdict: { text: "", offloadShare: 0, deviceShare: 0 },
 *   }),
 *   ["Next: the server has no offload tier, so this run measured recompute: compare it with the same run against the server with its offload tier on: kvbench compare ON_DIR runs/offload_off"],
 * );
 * ```
 *
 * @example No context came back in 45 s; lap 1 took 130 s
 * ```ts
 * import { nextSteps } from "./next_steps.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   nextSteps({
 *     reuses: 0, verdict: { text: "" }, elapsedS: 45, stopReason: "duration",
 *     lap: { requests: 5, settled: 2, firstSendMs: 0 }, contexts: 5, warmup: 0,
 *     argv: [],
 *   }),
 *   ["Next: lap 1 did not finish within the run (2 of 5 contexts in 45s): run at least --duration 230 (two laps at that pace: every context reused once)."],
 * );
 * ```
 */
export function nextSteps(run: RunOutcome): string[] {
  if (run.forced !== undefined) {
    const fix = fixOf(run.forced);
    // No size can measure a tier no larger than the GPU KV.
    return fix.startsWith("size the run")
      ? [`Next: ${fix}, and run without --force.`]
      : [
        `Next: ${fix}: give the server an offload tier larger than its GPU KV.`,
      ];
  }
  if (run.reuses === 0) return noReuse(run);
  if (run.noOffloadTier) {
    // The offload-off side of an A/B: its on side's directory is not known.
    return [
      `Next: the server has no offload tier, so this run measured recompute: compare it with the same run against the server with its offload tier on: kvbench compare ON_DIR ${
        shellWord(run.dir ?? "RUN")
      }${
        run.dir === undefined
          ? " (this run wrote no run directory: run it again with one)"
          : ""
      }`,
    ];
  }
  const v = run.verdict;
  if (v.offloadShare === 0) {
    return (v.deviceShare ?? 0) >= 0.5
      ? [
        "Next: the GPU prefix cache served the reuse, not the offload tier: size the working set past the GPU KV with a larger --offload-size (the pre-flight's lines above give the server's capacities).",
      ]
      : [
        "Next: the offload tier served none of the reuse: check that the server runs one and that the working set fits it (the pre-flight's lines above give the server's capacities).",
      ];
  }
  return abRecipe(run);
}

/** No context came back: how long covers two laps. */
function noReuse(run: RunOutcome): string[] {
  const { lap } = run;
  if (run.stopReason === "max_requests") {
    return [
      `Next: run at least --num-prompts ${
        2 * run.contexts - run.warmup
      } (two laps of ${run.contexts} contexts: every context reused once).`,
    ];
  }
  if (lap.lapMs !== undefined) {
    return [
      `Next: run at least --duration ${
        twoLapsSeconds({ lapMs: lap.lapMs, firstSendMs: lap.firstSendMs })
      } (two laps at the measured lap 1 of ${
        formatLapTime(lap.lapMs / 1000)
      }: every context reused once).`,
    ];
  }
  const since = run.elapsedS * 1000 - (lap.firstSendMs ?? 0);
  if (lap.settled === 0 || since <= 0) {
    return [
      `Next: not one context of lap 1 completed within ${
        formatLapTime(run.elapsedS)
      }: run much longer (a 32k-token prefill can take seconds on a busy server), or check the server's load.`,
    ];
  }
  const pace = since * lap.requests / lap.settled;
  return [
    `Next: lap 1 did not finish within the run (${lap.settled} of ${lap.requests} contexts in ${
      formatLapTime(run.elapsedS)
    }): run at least --duration ${
      twoLapsSeconds({ lapMs: pace, firstSendMs: lap.firstSendMs })
    } (two laps at that pace: every context reused once).`,
  ];
}

/** The on/off comparison: this run against one with the offload tier off. */
function abRecipe(run: RunOutcome): string[] {
  const off = offloadOffDir(run.dir ?? "RUN");
  const here = run.dir === undefined ? "RUN" : run.dir;
  return [
    "Next: what the offload tier buys, as an A/B against the same server with its offload tier off:",
    "  1. restart the server without it (vLLM + LMCache: without --kv-transfer-config; SGLang: without --enable-hierarchical-cache; llama.cpp: --cache-ram 0; kvbench sim: --offload-gb 0)",
    `  2. ${secondRunArgs(run.argv, off, { sizing: run.sizing })}`,
    `  3. kvbench compare ${shellWord(here)} ${shellWord(off)}`,
    ...(run.dir === undefined
      ? [
        "  (this run wrote no run directory: run it again with one, as in 2.)",
      ]
      : []),
  ];
}
