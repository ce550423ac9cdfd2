/**
 * Load policies: how sessions are admitted. Closed loop keeps a fixed number
 * of sessions in flight; open loop admits them at the times an arrival
 * process draws, however many are already running.
 *
 * @module
 */
import { seededRandom } from "../rng.ts";

/** Milliseconds from one arrival to the next, given the arrival index and the time since the run started. */
export type ArrivalProcess = (index: number, elapsedMs: number) => number;

/** How sessions are admitted. */
export type LoadPolicy =
  | { readonly kind: "closed"; readonly concurrency: number }
  | {
    readonly kind: "open";
    readonly arrivals: ArrivalProcess;
    readonly label: string;
    /** When the first arrival is due, ms after the run's start (default 0). */
    readonly startMs?: number;
  };

/**
 * Keep `concurrency` sessions in flight: a new one starts as soon as one ends.
 *
 * @example Usage
 * ```ts
 * import { closedLoop } from "./load.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(closedLoop(8), { kind: "closed", concurrency: 8 });
 * assert.throws(() => closedLoop(0), RangeError);
 * ```
 */
export function closedLoop(concurrency: number): LoadPolicy {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(
      `Cannot use concurrency ${concurrency}: it must be an integer of at least 1`,
    );
  }
  return { kind: "closed", concurrency };
}

/** Options of {@linkcode openLoop}. */
export interface OpenLoopOptions {
  /** How reports name the policy (default "open loop"). */
  label?: string;
  /** When the first arrival is due, ms after the run's start (default 0): a part of a split workload starts later. */
  startMs?: number;
}

/** Options of the random arrival processes. */
export interface RandomOptions {
  /** Seed of the draws (default: random). */
  seed?: number;
}

/**
 * Admit sessions at the times an arrival process draws (open loop), with no
 * cap on how many run at once.
 *
 * @example Usage
 * ```ts
 * import { openLoop, poisson } from "./load.ts";
 * import assert from "node:assert/strict";
 *
 * const arrivals = poisson(2, { seed: 1 }); // 2 sessions/s on average
 * const load = openLoop(arrivals);
 * assert.deepEqual(load, { kind: "open", arrivals, label: "open loop" });
 * ```
 */
export function openLoop(
  arrivals: ArrivalProcess,
  options: OpenLoopOptions = {},
): LoadPolicy {
  const label = options.label ?? "open loop";
  return options.startMs === undefined
    ? { kind: "open", arrivals, label }
    : { kind: "open", arrivals, label, startMs: options.startMs };
}

function checkRate(rate: number): void {
  if (!(rate > 0) || !Number.isFinite(rate)) {
    throw new RangeError(
      `Cannot use arrival rate ${rate}: it must be a positive number per second`,
    );
  }
}

/**
 * Arrivals every `1 / rate` seconds exactly, the first at time 0 (trie's
 * `arrival_rate`).
 *
 * @example Usage
 * ```ts
 * import { constantRate } from "./load.ts";
 * import assert from "node:assert/strict";
 *
 * const gaps = constantRate(4);
 * assert.equal(gaps(0, 0), 250); // 4 per second: one every 250 ms
 * assert.equal(gaps(7, 1750), 250);
 * ```
 */
export function constantRate(rate: number): ArrivalProcess {
  checkRate(rate);
  return () => 1000 / rate;
}

/**
 * Poisson arrivals: exponential gaps with mean `1 / rate` seconds.
 *
 * @example Usage
 * ```ts
 * import { poisson } from "./load.ts";
 * import assert from "node:assert/strict";
 *
 * const gaps = poisson(10, { seed: 7 });
 * const draws = Array.from({ length: 10_000 }, (_, i) => gaps(i, 0));
 * const average = draws.reduce((a, b) => a + b) / draws.length;
 * assert.ok(Math.abs(average - 100) < 5); // 10 per second: 100 ms on average
 * assert.equal(poisson(10, { seed: 7 })(0, 0), draws[0]); // same seed, same gaps
 * ```
 */
export function poisson(
  rate: number,
  options: RandomOptions = {},
): ArrivalProcess {
  checkRate(rate);
  const rng = seededRandom(options.seed);
  return () => -Math.log(1 - rng.next()) * 1000 / rate;
}

/**
 * Gamma-distributed gaps with mean `1 / rate` seconds; `shape` < 1 is
 * burstier than Poisson, > 1 smoother, 1 is Poisson (vLLM's `--burstiness`).
 *
 * @example Usage
 * ```ts
 * import { gamma } from "./load.ts";
 * import assert from "node:assert/strict";
 *
 * const bursty = gamma(10, 0.5, { seed: 7 });
 * const draws = Array.from({ length: 10_000 }, (_, i) => bursty(i, 0));
 * const average = draws.reduce((a, b) => a + b) / draws.length;
 * assert.ok(Math.abs(average - 100) < 5); // 10 per second: 100 ms on average
 * assert.throws(() => gamma(10, 0), RangeError);
 * ```
 */
export function gamma(
  rate: number,
  shape: number,
  options: RandomOptions = {},
): ArrivalProcess {
  checkRate(rate);
  if (!(shape > 0)) {
    throw new RangeError(
      `Cannot use gamma shape ${shape}: it must be positive`,
    );
  }
  const rng = seededRandom(options.seed);
  const scale = 1000 / (rate * shape);
  return () => sampleGamma(shape, rng.next) * scale;
}

/**
 * A rate that moves linearly from `from` to `to` per second over `overMs`,
 * then stays at `to`; gaps follow the rate at the time of each arrival.
 *
 * @example Usage
 * ```ts
 * import { ramp } from "./load.ts";
 * import assert from "node:assert/strict";
 *
 * const warmup = ramp(1, 20, 60_000); // 1 → 20 sessions/s over a minute
 * assert.equal(warmup(0, 0), 1000); // 1 per second at the start
 * assert.equal(warmup(0, 60_000), 50); // 20 per second after a minute
 * assert.equal(warmup(0, 600_000), 50); // and from then on
 * ```
 */
export function ramp(from: number, to: number, overMs: number): ArrivalProcess {
  checkRate(from);
  checkRate(to);
  return (_i, elapsed) =>
    1000 / (from + (to - from) * Math.min(1, elapsed / overMs));
}

// Marsaglia and Tsang's method; shape < 1 through the boost u^(1/shape).
function sampleGamma(shape: number, uniform: () => number): number {
  if (shape < 1) {
    return sampleGamma(shape + 1, uniform) * uniform() ** (1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  while (true) {
    let x: number, v: number;
    do {
      x = normal(uniform);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = uniform();
    if (u < 1 - 0.0331 * x ** 4) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

function normal(uniform: () => number): number {
  const u = 1 - uniform();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
}
