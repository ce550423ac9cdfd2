/**
 * The measured clock: every per-second figure (QPS, output tokens per
 * second, goodput per second) divides by the time from the first measured
 * send to the end of the run, so a `--warmup` spends no time in any
 * denominator. Without warm-up requests the measured clock is the run's
 * clock (it starts at the run's start).
 *
 * @module
 */
import type { RequestRecord } from "../types.ts";

/**
 * Finds where the measured clock starts from the records of a run: the
 * earliest send of a request that was not a warm-up and completed or failed
 * (one aborted by the stop may never have been sent), when the run had a
 * warm-up. Each record's send is taken from its run's start
 * (`sentAt − runStartedAt`, both on the record's own clock), so records of
 * several processes need no common clock.
 *
 * @example 40 ms of warm-up in a run of 100 ms
 * ```ts
 * import { MeasuredClock } from "./measured_clock.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const clock = new MeasuredClock();
 * clock.add(testRecord({ runStartedAt: 1000, sentAt: 1000, warmup: true }));
 * clock.add(testRecord({ runStartedAt: 1000, sentAt: 1050 }));
 * clock.add(testRecord({ runStartedAt: 1000, sentAt: 1040 }));
 * assert.equal(clock.offsetMs(), 40);
 * assert.equal(clock.measuredMs(100), 60);
 * ```
 */
export class MeasuredClock {
  #warmup = false;
  #measured = false;
  #first = Infinity;

  /** Take one record into account (any record, in any order). */
  add(record: RequestRecord): void {
    if (record.warmup === true) {
      this.#warmup = true;
      return;
    }
    if (record.error?.kind === "aborted") return;
    this.#measured = true;
    if (record.runStartedAt === undefined) return;
    const since = record.sentAt - record.runStartedAt;
    if (since < this.#first) this.#first = since;
  }

  /**
   * Time from the run's start to the first measured send, ms: 0 without a
   * warm-up (or when no record says when its run started: records written
   * by other tools); undefined while a warm-up was seen and no measured
   * request yet (the clock has not started).
   */
  offsetMs(): number | undefined {
    if (!this.#warmup) return 0;
    if (!this.#measured) return undefined;
    return this.#first === Infinity ? 0 : Math.max(0, this.#first);
  }

  /** The measured time of a run that has lasted `elapsedMs`, ms (0 before it started). */
  measuredMs(elapsedMs: number): number {
    const offset = this.offsetMs();
    return offset === undefined ? 0 : Math.max(0, elapsedMs - offset);
  }
}
