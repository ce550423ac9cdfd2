/**
 * Putting records of several processes on one clock. A record's times are
 * `performance.now()` of the process that made it, whose zero is its
 * `timeOrigin` (wall clock, ms); moving a record onto another process's
 * clock adds the difference of the two origins, corrected by each host's
 * clock offset ({@linkcode ClockOffset}) when they ran on different hosts.
 *
 * @module
 */
import type { RequestRecord } from "../types.ts";

/** Options of {@linkcode rebaseRecord}. */
export interface RebaseOptions {
  /** The `timeOrigin` of the clock the record moves onto. */
  timeOrigin?: number;
}

/**
 * The record with every time moved by `deltaMs` (scheduled, sent, first
 * token, first answer, end, session and run starts); the gaps between
 * events are relative and stay.
 *
 * @example Onto a clock that started 1.5 s earlier
 * ```ts
 * import { rebaseRecord } from "./align.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const record = testRecord({ sentAt: 100, firstTokenAt: 150, endAt: 300, timeOrigin: 1_000 });
 * const moved = rebaseRecord(record, 1500, { timeOrigin: -500 });
 * assert.deepEqual([moved.sentAt, moved.firstTokenAt, moved.endAt], [1600, 1650, 1800]);
 * assert.equal(moved.timeOrigin, -500);
 * assert.equal(record.sentAt, 100); // the original is left as it was
 * ```
 */
export function rebaseRecord(
  record: RequestRecord,
  deltaMs: number,
  options: RebaseOptions = {},
): RequestRecord {
  const shift = (t: number | undefined): number | undefined =>
    t === undefined ? undefined : t + deltaMs;
  const moved: RequestRecord = {
    ...record,
    scheduledAt: record.scheduledAt + deltaMs,
    sentAt: record.sentAt + deltaMs,
    endAt: record.endAt + deltaMs,
  };
  if (record.firstTokenAt !== undefined) {
    moved.firstTokenAt = shift(record.firstTokenAt);
  }
  if (record.firstAnswerAt !== undefined) {
    moved.firstAnswerAt = shift(record.firstAnswerAt);
  }
  if (record.sessionStartedAt !== undefined) {
    moved.sessionStartedAt = shift(record.sessionStartedAt);
  }
  if (record.runStartedAt !== undefined) {
    moved.runStartedAt = shift(record.runStartedAt);
  }
  if (options.timeOrigin !== undefined) moved.timeOrigin = options.timeOrigin;
  return moved;
}

/** One process's clock: its origin and its host's offset. */
export interface ProcessClock {
  /** `performance.timeOrigin` of the process (wall clock, ms). */
  timeOrigin: number;
  /** The host's wall clock minus the reference clock, ms (0 on the reference host). */
  offsetMs?: number;
}

/**
 * What to add to a time on clock `from` to put it on clock `to`.
 *
 * @example A worker started 250 ms after its parent, on the same host
 * ```ts
 * import { clockDelta } from "./align.ts";
 * import assert from "node:assert/strict";
 *
 * // The worker's 0 is the parent's 250.
 * assert.equal(clockDelta({ timeOrigin: 10_250 }, { timeOrigin: 10_000 }), 250);
 * // A shard on a host whose clock runs 40 ms ahead of the reference.
 * assert.equal(clockDelta({ timeOrigin: 10_290, offsetMs: 40 }, { timeOrigin: 10_000 }), 250);
 * ```
 */
export function clockDelta(from: ProcessClock, to: ProcessClock): number {
  return (from.timeOrigin - (from.offsetMs ?? 0)) -
    (to.timeOrigin - (to.offsetMs ?? 0));
}
