/**
 * The running metrics of `kvbench benchmark` (tmesh-cli's 12-line block):
 * sums, never arrays, so a run can go on forever in flat memory.
 *
 * Every per-request value is read from {@linkcode requestFigures}; tmesh's
 * formulas over them: TTFT, ITL = TPOT (decode time / (output tokens − 1)),
 * prefill throughput = prompt tokens / TTFT, decode throughput = the
 * documented decode rate, (output tokens − 1) / decode time, of the requests
 * whose decode window was measurable (tmesh-cli divides characters by time;
 * kvbench counts tokens, and leaves out the first token, which TTFT already
 * timed). A value whose figure is undefined is left out of its mean (a
 * request without usage has no prefill throughput; a one-token response or a
 * burst has no decode rate, and a burst is counted in `decodeUnmeasured`).
 *
 * @module
 */
import { requestFigures } from "../../lib/metrics/figures.ts";
import { MeasuredClock } from "../../lib/metrics/measured_clock.ts";
import type { RequestErrorKind, RequestRecord } from "../../lib/types.ts";

/** Sums behind one window (the whole run, or one interval). */
export interface BenchmarkWindow {
  /** Requests completed. */
  requests: number;
  /** Requests failed (aborted ones are not failures). */
  failed: number;
  /** Sum of TTFT, seconds. */
  ttftSum: number;
  /** Count of TTFT samples. */
  ttftN: number;
  /** Sum of ITL, seconds. */
  itlSum: number;
  /** Count of ITL samples. */
  itlN: number;
  /** Sum of per-request prefill throughput. */
  prefillSum: number;
  /** Count of prefill samples. */
  prefillN: number;
  /** Sum of per-request decode throughput. */
  decodeSum: number;
  /** Count of decode samples. */
  decodeN: number;
  /** Requests whose decode window could not be measured (a burst). */
  decodeUnmeasured: number;
  /** Sum of `usage.prompt_tokens` over requests that reported `cached_tokens`. */
  cachePromptTokens: number;
  /** Sum of `cached_tokens`. */
  cachedTokens: number;
}

function emptyWindow(): BenchmarkWindow {
  return {
    requests: 0,
    failed: 0,
    ttftSum: 0,
    ttftN: 0,
    itlSum: 0,
    itlN: 0,
    prefillSum: 0,
    prefillN: 0,
    decodeSum: 0,
    decodeN: 0,
    decodeUnmeasured: 0,
    cachePromptTokens: 0,
    cachedTokens: 0,
  };
}

/** One printed report. */
export interface BenchmarkSnapshot {
  /** Seconds since the run started. */
  elapsed: number;
  /**
   * Seconds of the measured clock (from the first measured send, see
   * {@linkcode MeasuredClock}): what QPS divides by.
   */
  measured: number;
  /** Whole run. */
  global: BenchmarkWindow;
  /** Since the last report. */
  interval: BenchmarkWindow;
  /** Failures by kind, whole run. */
  failures: Partial<Record<RequestErrorKind, number>>;
  /** Completed requests whose server sent no `usage` (output tokens estimated, no prefill throughput). */
  withoutUsage: number;
}

/**
 * Running aggregates of the benchmark: feed every record with
 * {@linkcode BenchmarkMetrics.add}, take a report with
 * {@linkcode BenchmarkMetrics.report} (which starts a new interval).
 *
 * @example Usage
 * ```ts
 * import { BenchmarkMetrics } from "./metrics.ts";
 * import { testRecord } from "../../lib/testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const metrics = new BenchmarkMetrics();
 * metrics.add(testRecord({
 *   sentAt: 0, firstTokenAt: 500, endAt: 1500, promptTokens: 1000, completionTokens: 11,
 * }));
 * const snapshot = metrics.report(5);
 * assert.equal(snapshot.global.requests, 1);
 * assert.equal(snapshot.global.decodeSum, 10); // (11 − 1) tokens / 1 s
 * ```
 */
export class BenchmarkMetrics {
  #global = emptyWindow();
  #interval = emptyWindow();
  #failures: Partial<Record<RequestErrorKind, number>> = {};
  #withoutUsage = 0;
  #clock = new MeasuredClock();
  #holdAfter = Infinity;
  #held: RequestRecord[] = [];

  /**
   * Count one finished request; aborted and warm-up ones are ignored, and so
   * is a successful one without a first token (a non-streamed response).
   */
  add(record: RequestRecord): void {
    if (record.endAt > this.#holdAfter) {
      this.#held.push(record);
      return;
    }
    this.#clock.add(record);
    if (record.warmup) return;
    if (!record.ok) {
      const kind = record.error?.kind;
      if (kind === undefined || kind === "aborted") return;
      this.#failures[kind] = (this.#failures[kind] ?? 0) + 1;
      this.#global.failed++;
      this.#interval.failed++;
      return;
    }
    const f = requestFigures(record);
    if (f.ttftMs === undefined) return;
    if (f.outputTokensFrom !== "usage") this.#withoutUsage++;
    for (const w of [this.#global, this.#interval]) {
      w.requests++;
      w.ttftSum += f.ttftMs / 1000;
      w.ttftN++;
      if (f.tpotMs !== undefined) {
        w.itlSum += f.tpotMs / 1000;
        w.itlN++;
      }
      if (f.prefillTps !== undefined) {
        w.prefillSum += f.prefillTps;
        w.prefillN++;
      }
      if (f.decodeTps !== undefined) {
        w.decodeSum += f.decodeTps;
        w.decodeN++;
      }
      if (f.decodeUnmeasured) w.decodeUnmeasured++;
      if (f.cachedTokens !== undefined && f.promptTokens !== undefined) {
        w.cachePromptTokens += f.promptTokens;
        w.cachedTokens += f.cachedTokens;
      }
    }
  }

  /**
   * Hold back the records that end after `at` (ms, `performance.now()`)
   * from the counts until the next report (or until the hold moves on), so
   * that each record lands in the interval its end falls in even when it is
   * read late (the parent of worker processes reads their records files
   * every 200 ms). Records already held that end by `at` are counted now;
   * `Infinity` (the default state) releases every one.
   *
   * @example A record read after the report it belongs before
   * ```ts
   * import { BenchmarkMetrics } from "./metrics.ts";
   * import { testRecord } from "../../lib/testing/records.ts";
   * import assert from "node:assert/strict";
   *
   * const m = new BenchmarkMetrics();
   * const done = (endAt: number) =>
   *   testRecord({ sentAt: 0, firstTokenAt: endAt - 1, endAt, completionTokens: 1 });
   * m.holdAfter(5000); // the 5 s report is due; records still coming in
   * m.add(done(5100)); // ended after it: held for the next interval
   * m.add(done(4900)); // read late, but ended before it
   * assert.equal(m.report(5).interval.requests, 1);
   * m.holdAfter(10000); // the next report's time
   * assert.equal(m.report(10).interval.requests, 1); // the held one
   * ```
   */
  holdAfter(at: number): void {
    this.#holdAfter = at;
    const held = this.#held;
    this.#held = [];
    for (const record of held) this.add(record);
  }

  /** True when something finished (or failed) since the last report. */
  get pending(): boolean {
    return this.#interval.requests > 0 || this.#interval.failed > 0;
  }

  /** Total completed requests. */
  get completed(): number {
    return this.#global.requests;
  }

  /** Take a report at `elapsed` seconds and start a new interval. */
  report(elapsed: number): BenchmarkSnapshot {
    const snapshot: BenchmarkSnapshot = {
      elapsed,
      measured: this.#clock.measuredMs(elapsed * 1000) / 1000,
      global: { ...this.#global },
      interval: this.#interval,
      failures: { ...this.#failures },
      withoutUsage: this.#withoutUsage,
    };
    this.#interval = emptyWindow();
    return snapshot;
  }
}

/** Means of a window; undefined where there is no sample. */
export interface BenchmarkAverages {
  /** Mean TTFT, seconds. */
  ttft?: number;
  /** Mean ITL, seconds. */
  itl?: number;
  /** Mean prefill throughput, tokens per second. */
  prefill?: number;
  /** Mean decode throughput, tokens per second. */
  decode?: number;
  /** Σ cached / Σ prompt tokens, as a fraction. */
  cacheHitRate?: number;
}

/**
 * The means of a window.
 *
 * @example Usage
 * ```ts
 * import { BenchmarkMetrics, benchmarkAverages } from "./metrics.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(benchmarkAverages(new BenchmarkMetrics().report(0).global), {});
 * ```
 */
export function benchmarkAverages(w: BenchmarkWindow): BenchmarkAverages {
  const avg: BenchmarkAverages = {};
  if (w.ttftN) avg.ttft = w.ttftSum / w.ttftN;
  if (w.itlN) avg.itl = w.itlSum / w.itlN;
  if (w.prefillN) avg.prefill = w.prefillSum / w.prefillN;
  if (w.decodeN) avg.decode = w.decodeSum / w.decodeN;
  if (w.cachePromptTokens) {
    avg.cacheHitRate = w.cachedTokens / w.cachePromptTokens;
  }
  return avg;
}
