/**
 * Totals of a set of request records, for scripts that print their own
 * tables: counts by outcome, token sums, the cache hit rate, and the TTFT and
 * inter-token samples ready for {@linkcode summarize}.
 *
 * @module
 */
import type { RequestRecord } from "./types.ts";

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
  /** Σ `usage.completion_tokens` of the complete responses. */
  completionTokens: number;
  /** `cachedTokens / promptTokens`, over the responses that reported cached tokens; undefined when none did. */
  cacheHitRate?: number;
  /** TTFT (ms, first token − sent) of each complete streamed response. */
  ttftMs: number[];
  /** Mean inter-token time (ms) of each complete streamed response with at least two tokens. */
  itlMs: number[];
}

/**
 * Add up `records`.
 *
 * @example Usage
 * ```ts
 * import { recordTotals } from "./record_totals.ts";
 * const totals = recordTotals([{
 *   session: 0, turn: 0, scheduledAt: 0, sentAt: 0, firstTokenAt: 50, endAt: 150,
 *   chunks: 11, promptChars: 40, outputChars: 44, promptTokens: 100,
 *   completionTokens: 11, cachedTokens: 64, maxTokens: 11, ok: true, retries: 0,
 * }]);
 * totals.ttftMs; // [50]
 * totals.itlMs; // [10]
 * totals.cacheHitRate; // 0.64
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
    itlMs: [],
  };
  let hitPrompt = 0;
  for (const r of records) {
    totals.sent++;
    if (!r.ok) {
      if (r.error?.kind === "aborted") totals.aborted++;
      else totals.failed++;
      continue;
    }
    totals.ok++;
    totals.promptTokens += r.promptTokens ?? 0;
    totals.completionTokens += r.completionTokens ?? 0;
    if (r.cachedTokens !== undefined) {
      totals.cachedTokens += r.cachedTokens;
      hitPrompt += r.promptTokens ?? 0;
    }
    if (r.firstTokenAt === undefined) continue;
    totals.ttftMs.push(r.firstTokenAt - r.sentAt);
    const tokens = r.completionTokens ?? r.chunks;
    if (tokens > 1) {
      totals.itlMs.push((r.endAt - r.firstTokenAt) / (tokens - 1));
    }
  }
  if (hitPrompt > 0) totals.cacheHitRate = totals.cachedTokens / hitPrompt;
  return totals;
}
