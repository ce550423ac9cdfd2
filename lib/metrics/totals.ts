/**
 * Totals of a set of request records, for scripts that print their own
 * tables: counts by outcome, token sums, the cache hit rate, and the
 * per-request samples (TTFT, TPOT, E2E) ready for `summarize`.
 * Every figure is the one {@linkcode requestFigures} derives.
 *
 * @module
 */
import type { RequestRecord } from "../types.ts";
import { requestFigures } from "./figures.ts";

/** What {@linkcode recordTotals} adds up. */
export interface RecordTotals {
  /** Records seen. */
  sent: number;
  /** Complete responses. */
  ok: number;
  /** Failures, not counting requests aborted by the run's stop. */
  failed: number;
  /** Requests aborted by the run's stop (deadline, signal). */
  aborted: number;
  /** Σ `usage.prompt_tokens` of the complete responses. */
  promptTokens: number;
  /** Σ `usage.prompt_tokens_details.cached_tokens` of the complete responses. */
  cachedTokens: number;
  /** Σ output tokens of the complete responses (usage, or the missing-usage policy of `requestFigures`). */
  completionTokens: number;
  /** `cachedTokens / promptTokens`, over the responses that reported cached tokens; undefined when none did. */
  cacheHitRate?: number;
  /** TTFT (ms) of each complete streamed response. */
  ttftMs: number[];
  /** TPOT (ms) of each complete streamed response with a decode to measure. */
  tpotMs: number[];
  /** E2E latency (ms) of each complete response. */
  e2eMs: number[];
}

/**
 * Add up `records`.
 *
 * @example Usage
 * ```ts
 * import { recordTotals } from "./totals.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const totals = recordTotals([testRecord({
 *   sentAt: 0, firstTokenAt: 50, endAt: 150, chunks: 11,
 *   promptTokens: 100, completionTokens: 11, cachedTokens: 64,
 * })]);
 * assert.deepEqual(totals.ttftMs, [50]);
 * assert.deepEqual(totals.tpotMs, [10]); // (150 − 50) / (11 − 1)
 * assert.equal(totals.cacheHitRate, 0.64);
 * ```
 */
export function recordTotals(records: Iterable<RequestRecord>): RecordTotals {
  const totals: RecordTotals = {
    sent: 0,
    ok: 0,
    failed: 0,
    aborted: 0,
    promptTokens: 0,
    cachedTokens: 0,
    completionTokens: 0,
    ttftMs: [],
    tpotMs: [],
    e2eMs: [],
  };
  let hitPrompt = 0;
  for (const r of records) {
    totals.sent++;
    if (!r.ok) {
      if (r.error?.kind === "aborted") totals.aborted++;
      else totals.failed++;
      continue;
    }
    const f = requestFigures(r);
    totals.ok++;
    totals.promptTokens += f.promptTokens ?? 0;
    totals.completionTokens += f.outputTokens ?? 0;
    if (f.cachedTokens !== undefined) {
      totals.cachedTokens += f.cachedTokens;
      hitPrompt += f.promptTokens ?? 0;
    }
    totals.e2eMs.push(f.e2eMs);
    if (f.ttftMs !== undefined) totals.ttftMs.push(f.ttftMs);
    if (f.tpotMs !== undefined) totals.tpotMs.push(f.tpotMs);
  }
  if (hitPrompt > 0) totals.cacheHitRate = totals.cachedTokens / hitPrompt;
  return totals;
}
