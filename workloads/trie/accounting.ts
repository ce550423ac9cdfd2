/**
 * trie's accounting driven by request records alone: which trace a record
 * belongs to (session k replays row k mod rows, in file order), which turn
 * it is, when its trace started and when it ended are all on the record, so
 * the live run and a recomputation from a records file build the same
 * {@linkcode TrieResult} from the same records in the same order.
 *
 * @module
 */
import type { Slos } from "../../lib/metrics/distributions.ts";
import type { RequestRecord } from "../../lib/types.ts";
import { TraceAccumulator, TrieResult } from "./metrics.ts";
import type { TraceRow } from "./trace_file.ts";

/** Why a trace stopped early, for the `request failed` warning. */
export interface TraceFailure {
  /** The trace (session) id. */
  traceId: number;
  /** Tool-use turns completed before the failing request. */
  turn: number;
  /** The failing request's record. */
  record: RequestRecord;
}

/** Options of {@linkcode TrieAccounting}. */
export interface TrieAccountingOptions {
  /** Where the accounting goes (default: a new result). */
  result?: TrieResult;
  /** Streaming run (for a new result; default false). */
  stream?: boolean;
  /** SLOs for goodput (for a new result). */
  slos?: Slos;
  /** Called when a request fails (not when the run aborts it). */
  onFailure?: (failure: TraceFailure) => void;
  /** Called when a streamed trace succeeded without any usage. */
  onUsageMissing?: () => void;
}

/**
 * Builds a {@linkcode TrieResult} from the records of a trie run, in the
 * order they completed: a successful tool-use turn adds its accounting
 * point, the final request the trace's success, a failure the trace's
 * failure; aborted requests add nothing.
 *
 * @example One trace of two requests, recomputed from its records
 * ```ts
 * import { TrieAccounting } from "./accounting.ts";
 * import { testRecord } from "../../lib/testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const row = {
 *   num_turns: 1, input_prompt_length: 32, assistant_response_length: [16],
 *   tool_call_output_length: [8], tool_call_latency: [0], final_assistant_response_length: 64,
 * };
 * const accounting = new TrieAccounting([row], { stream: true });
 * const common = { session: 0, runStartedAt: 0, sessionStartedAt: 0 };
 * accounting.add(testRecord({ ...common, turn: 0, sentAt: 0, firstTokenAt: 250, endAt: 1000, completionTokens: 16 }));
 * accounting.add(testRecord({ ...common, turn: 1, sentAt: 1000, firstTokenAt: 1500, endAt: 2000, completionTokens: 64 }));
 * const result = accounting.result;
 * assert.equal(result.completedTraces, 1);
 * assert.deepEqual(result.latencies, [2]); // the final answer's end, 2 s after the trace started
 * assert.deepEqual(result.ttfats, [1.5]);
 * assert.deepEqual(result.points.map((p) => [p.t, p.completionTokens]), [[1, 16], [2, 80]]);
 * ```
 */
export class TrieAccounting {
  /** The result being built. */
  readonly result: TrieResult;
  readonly #rows: readonly TraceRow[];
  readonly #options: TrieAccountingOptions;
  readonly #traces = new Map<number, TraceAccumulator>();

  /** Account for traces replaying `rows` (session k replays row k mod rows). */
  constructor(rows: readonly TraceRow[], options: TrieAccountingOptions = {}) {
    if (rows.length === 0) {
      throw new RangeError("Cannot account for a trie run without rows");
    }
    this.#rows = rows;
    this.#options = options;
    this.result = options.result ??
      new TrieResult({
        stream: options.stream ?? false,
        startedAt: 0,
        slos: options.slos,
      });
  }

  /** Add the next record to complete. */
  add(record: RequestRecord): void {
    const result = this.result;
    const id = record.session;
    if (!record.ok) {
      if (record.error?.kind !== "aborted") {
        result.recordFailure();
        this.#traces.delete(id);
        this.#options.onFailure?.({
          traceId: id,
          turn: record.turn,
          record,
        });
      }
      return;
    }
    const row = this.#rows[id % this.#rows.length];
    let trace = this.#traces.get(id);
    if (trace === undefined) {
      // The trace started with its session, before any synthesis.
      trace = new TraceAccumulator(record.sessionStartedAt ?? record.sentAt);
      this.#traces.set(id, trace);
    }
    trace.add(record);
    // The point's time: the answer's end on the run's clock.
    const at = (record.endAt - (record.runStartedAt ?? result.startedAt)) /
      1000;
    if (record.turn < row.num_turns) {
      result.recordTurn(row, record.turn, { at });
      return;
    }
    this.#traces.delete(id);
    if (!result.recordSuccess(row, trace, { at }).serverMetricsRecorded) {
      this.#options.onUsageMissing?.();
    }
  }
}
