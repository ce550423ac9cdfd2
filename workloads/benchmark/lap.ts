/**
 * The first lap of `kvbench benchmark`: one pass over its contexts in tile
 * order, the requests of tile index 0 … contexts − 1 (each context's first
 * request, a cold prefill; warm-ups included, since they are the lap's first
 * requests). No context is reused before its lap-1 request completed, so a
 * run shorter than lap 1 measures no reuse at all.
 *
 * The client cannot know the server's prefill speed before it sends, so the
 * lap time is estimated once the first requests of lap 1 completed, and
 * measured at the end (docs/figures.md, "Lap 1"):
 *
 * - **Estimate** = `t_1 + (t_k − t_1) × (N − 1) / (k − 1)`, where `N` is the
 *   lap's requests, `k` the first-lap requests settled (completed or failed)
 *   so far, and `t_j` the time from the lap's first send to the `j`-th end.
 *   It is made once `k = min(N, in flight + 1)`: the first request's time
 *   (which also holds the start-up: connections, the first prompts) counts
 *   once, and the pace after it is one context per `(t_k − t_1) / (k − 1)`,
 *   whether the server prefills the requests in flight one after another
 *   (each end one prefill later) or side by side (the `in flight + 1`-th
 *   ends one batch after the first ones). When `k = N` it is the measured
 *   lap.
 * - **Measured** lap 1 = the last first-lap request's end − the lap's first
 *   send, on the records' clock, once every first-lap request settled;
 *   unknown (`null`) when the run ended before.
 *
 * @module
 */
import type { RunPart } from "../../lib/run/runner.ts";
import { partCount } from "../../lib/run/part.ts";
import type { RequestRecord } from "../../lib/types.ts";

/** Options of {@linkcode LapTracker}. */
export interface LapOptions {
  /** Contexts of the workload: the lap's requests (of the whole run). */
  contexts: number;
  /** Requests in flight at most (the whole run's). */
  maxInFlight: number;
  /** The part this process runs (a shard): its share of the lap. */
  part?: RunPart;
}

/** The estimate of lap 1, made from its first completions. */
export interface LapEstimate {
  /** Estimated lap-1 time, ms (`t_1 + (t_k − t_1) × (N − 1) / (k − 1)`). */
  lapMs: number;
  /** First-lap requests settled when it was made (`k`). */
  from: number;
  /** The lap's requests (`N`). */
  of: number;
  /** When lap 1 is estimated to end, ms from the run's start. */
  endsAtMs: number;
  /** Requests in flight in this process (a shard's share of the run's). */
  inFlight?: number;
}

/** Lap 1 as measured at the end of a run. */
export interface LapFigures {
  /** The lap's requests in this run: one per context (a shard's: its part of them). */
  requests: number;
  /** Of those, settled (completed or failed; aborted ones are not). */
  settled: number;
  /** The lap's first send to its last request's end, ms; undefined until every request of it settled. */
  lapMs?: number;
  /** The lap's first send, ms from the run's start (when known). */
  firstSendMs?: number;
}

/**
 * Follows the first lap of a benchmark run: {@linkcode LapTracker.add}
 * returns the estimate once, when enough of the lap completed.
 *
 * @example 4 contexts, 2 in flight: 1.5 s until the first end (start-up included), then one every 0.5 s
 * ```ts
 * import { LapTracker } from "./lap.ts";
 * import { testRecord } from "../../lib/testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const lap = new LapTracker({ contexts: 4, maxInFlight: 2 });
 * const r = (index: number, end: number) =>
 *   testRecord({ tags: { context: index % 4, index }, runStartedAt: 0, sentAt: 0, firstTokenAt: end - 10, endAt: end });
 * assert.equal(lap.add(r(0, 1500)), undefined);
 * assert.equal(lap.add(r(1, 2000)), undefined);
 * // 3 of 4 settled: 1.5 s + (2.5 s − 1.5 s) × (4 − 1) / (3 − 1) = 3 s.
 * assert.deepEqual(lap.add(r(2, 2500)), { lapMs: 3000, from: 3, of: 4, endsAtMs: 3000, inFlight: 2 });
 * assert.equal(lap.add(r(3, 3100)), undefined); // made once
 * lap.add(r(4, 3200)); // lap 2: not counted
 * assert.deepEqual(lap.figures(), { requests: 4, settled: 4, lapMs: 3100, firstSendMs: 0 });
 *
 * // Refused before their first token (HTTP 404): no pace to estimate from.
 * const refused = new LapTracker({ contexts: 4, maxInFlight: 2 });
 * const no = (index: number) => testRecord({ tags: { context: index, index }, ok: false, status: 404, endAt: 5 });
 * assert.equal([0, 1, 2].map((i) => refused.add(no(i))).find((e) => e), undefined);
 * ```
 */
export class LapTracker {
  #requests: number;
  #trigger: number;
  #contexts: number;
  #settled = 0;
  #firstSend = Infinity;
  #lastEnd = -Infinity;
  #runStart?: number;
  #ends: number[] = [];
  #estimated = false;
  #inFlight: number;
  /** Settled before their first token (refused, failed): no prefill pace. */
  #unprefilled = 0;

  /** A tracker of the first lap of a run of these contexts. */
  constructor(options: LapOptions) {
    const { contexts, maxInFlight, part } = options;
    this.#contexts = contexts;
    this.#requests = part === undefined ? contexts : lapShare(contexts, part);
    // A shard runs its share of the in-flight requests, as the run splits
    // them (lib/run/part.ts: the first shards take the remainder).
    this.#inFlight = part === undefined
      ? maxInFlight
      : Math.max(1, partCount(maxInFlight, part));
    this.#trigger = Math.min(this.#requests, this.#inFlight + 1);
  }

  /** Take one record; returns the estimate the first time it can be made. */
  add(record: RequestRecord): LapEstimate | undefined {
    const index = record.tags?.index;
    if (typeof index !== "number" || index >= this.#contexts) return undefined;
    if (record.error?.kind === "aborted") return undefined;
    this.#settled++;
    this.#firstSend = Math.min(this.#firstSend, record.sentAt);
    this.#lastEnd = Math.max(this.#lastEnd, record.endAt);
    if (record.runStartedAt !== undefined) this.#runStart = record.runStartedAt;
    if (!this.#estimated) this.#ends.push(record.endAt);
    if (!record.ok && record.firstTokenAt === undefined) this.#unprefilled++;
    if (this.#estimated || this.#settled < this.#trigger) return undefined;
    this.#estimated = true;
    // A request that ended before its first token (an HTTP error) says
    // nothing of the prefill's pace: no estimate rather than a wrong one.
    if (this.#unprefilled > 0) return undefined;
    const k = this.#settled;
    const n = this.#requests;
    const t1 = Math.min(...this.#ends) - this.#firstSend;
    const tk = this.#lastEnd - this.#firstSend;
    const lapMs = k >= n || k < 2 ? tk : t1 + (tk - t1) * (n - 1) / (k - 1);
    this.#ends = [];
    const offset = this.#runStart === undefined
      ? 0
      : Math.max(0, this.#firstSend - this.#runStart);
    return {
      lapMs,
      from: k,
      of: this.#requests,
      endsAtMs: offset + lapMs,
      inFlight: this.#inFlight,
    };
  }

  /** Lap 1 so far (at the end of the run: as measured). */
  figures(): LapFigures {
    const figures: LapFigures = {
      requests: this.#requests,
      settled: this.#settled,
    };
    if (this.#settled > 0 && this.#settled >= this.#requests) {
      figures.lapMs = this.#lastEnd - this.#firstSend;
    }
    if (this.#settled > 0 && this.#runStart !== undefined) {
      figures.firstSendMs = Math.max(0, this.#firstSend - this.#runStart);
    }
    return figures;
  }
}

/** The lap-1 requests (tile index < contexts) of one part of the run. */
function lapShare(contexts: number, part: RunPart): number {
  return Math.max(
    0,
    Math.ceil((contexts - part.index) / part.count),
  );
}

/**
 * A duration for people: `0.4s`, `45s`, `2m10s`, `1h02m`.
 *
 * @example Usage
 * ```ts
 * import { formatLapTime } from "./lap.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatLapTime(0.44), "0.4s");
 * assert.equal(formatLapTime(45.2), "45s");
 * assert.equal(formatLapTime(130), "2m10s");
 * assert.equal(formatLapTime(3720), "1h02m");
 * ```
 */
export function formatLapTime(seconds: number): string {
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) {
    return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  }
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/**
 * The `--duration` (s) that covers two laps from the run's start: lap 1's
 * cold prefills, then every context reused once (at lap 1's pace, an upper
 * bound, since reuses served from cache are faster), rounded up to a whole
 * second, or to 10 s from a minute on.
 *
 * @example Lap 1 estimated at 130 s, its first send at the start
 * ```ts
 * import { twoLapsSeconds } from "./lap.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(twoLapsSeconds({ lapMs: 130_000, firstSendMs: 0 }), 260);
 * assert.equal(twoLapsSeconds({ lapMs: 400, firstSendMs: 50 }), 1);
 * assert.equal(twoLapsSeconds({ lapMs: 29_000 }), 58);
 * ```
 */
export function twoLapsSeconds(
  lap: { lapMs: number; firstSendMs?: number },
): number {
  const s = ((lap.firstSendMs ?? 0) + 2 * lap.lapMs) / 1000;
  return s <= 60 ? Math.max(1, Math.ceil(s)) : Math.ceil(s / 10) * 10;
}

/** Options of {@linkcode lapLines}. */
export interface LapLineOptions {
  /** Requests in flight at most, as the line names the load. */
  maxInFlight: number;
  /** `--duration` in seconds, when given. */
  durationS?: number;
}

/**
 * The lines printed once lap 1 is estimated: the estimate (`[INFO]`), and,
 * when `--duration` ends before every context was reused once (before two
 * laps), a `[WARN]` with the duration that covers two laps.
 *
 * @example --duration 45 against a lap of about 2m10s
 * ```ts
 * import { lapLines } from "./lap.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   lapLines({ lapMs: 130_000, from: 2, of: 5, endsAtMs: 130_000 }, { maxInFlight: 1, durationS: 45 }),
 *   [
 *     "[INFO] lap 1: ~2m10s estimated from 2 of 5 contexts (cold prefills at 1 in flight)",
 *     "[WARN] --duration 45 ends before lap 1 does: no context will be reused; run at least --duration 260 (two laps: every context reused once)",
 *   ],
 * );
 * ```
 */
export function lapLines(
  estimate: LapEstimate,
  options: LapLineOptions,
): string[] {
  const lines = [
    `[INFO] lap 1: ~${
      formatLapTime(estimate.lapMs / 1000)
    } estimated from ${estimate.from} of ${estimate.of} contexts (cold prefills at ${
      estimate.inFlight ?? options.maxInFlight
    } in flight)`,
  ];
  const duration = options.durationS;
  if (duration === undefined) return lines;
  const twoLaps = {
    lapMs: estimate.lapMs,
    firstSendMs: estimate.endsAtMs - estimate.lapMs,
  };
  const least = twoLapsSeconds(twoLaps);
  if (duration * 1000 <= estimate.endsAtMs) {
    lines.push(
      `[WARN] --duration ${duration} ends before lap 1 does: no context will be reused; run at least --duration ${least} (two laps: every context reused once)`,
    );
  } else if (duration * 1000 < twoLaps.firstSendMs + 2 * twoLaps.lapMs) {
    lines.push(
      `[WARN] --duration ${duration} ends before every context is reused once; run at least --duration ${least} (two laps)`,
    );
  }
  return lines;
}

/**
 * The warning, before the run, when `--num-prompts` (plus the warm-up)
 * ends before every context is reused once: lap 1 is the first `contexts`
 * requests; two laps are twice that.
 *
 * @example 20 requests of a 30-context workload
 * ```ts
 * import { numPromptsWarning } from "./lap.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   numPromptsWarning({ numPrompts: 20, warmup: 0, contexts: 30 }),
 *   "[WARN] --num-prompts 20 ends before any context is reused: lap 1 is the first 30 requests (one per context); run at least --num-prompts 60 (two laps: every context reused once)",
 * );
 * assert.equal(numPromptsWarning({ numPrompts: 60, warmup: 0, contexts: 30 }), undefined);
 * ```
 */
export function numPromptsWarning(
  run: { numPrompts: number; warmup: number; contexts: number },
): string | undefined {
  const { numPrompts, warmup, contexts } = run;
  const total = numPrompts + warmup;
  const least = 2 * contexts - warmup;
  if (total >= 2 * contexts) return undefined;
  const what = total <= contexts
    ? `ends before any context is reused: lap 1 is the first ${contexts} requests (one per context)`
    : `ends before every context is reused once: lap 1 is the first ${contexts} requests (one per context)`;
  return `[WARN] --num-prompts ${numPrompts} ${what}; run at least --num-prompts ${least} (two laps: every context reused once)`;
}

/**
 * The terminal's line on lap 1: measured (its first send to the last end
 * of its requests), or how far it got.
 *
 * @example Usage
 * ```ts
 * import { lapLine } from "./lap.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   lapLine({ requests: 30, settled: 30, lapMs: 130_200 }),
 *   "Lap 1: 130.20 s (first send to the last end of the 30 contexts' first requests)",
 * );
 * assert.equal(
 *   lapLine({ requests: 30, settled: 12 }),
 *   "Lap 1: not completed within the run (12 of the 30 contexts' first requests settled)",
 * );
 * ```
 */
export function lapLine(lap: LapFigures): string {
  return lap.lapMs === undefined
    ? `Lap 1: not completed within the run (${lap.settled} of the ${lap.requests} contexts' first requests settled)`
    : `Lap 1: ${
      (lap.lapMs / 1000).toFixed(2)
    } s (first send to the last end of the ${lap.requests} contexts' first requests)`;
}
