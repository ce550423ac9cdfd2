/**
 * A trace replay's fidelity, request by request: the prompt length the trace
 * meant against the server's `prompt_tokens`, the theoretical cached tokens
 * against its `cached_tokens`, and their mismatch summary — one definition
 * for the terminal (`kvbench replay`), `summary.json` and the report. A
 * server that reported no usage (or no `cached_tokens`) leaves the figure
 * unknown, counted apart, never as a match or a zero.
 *
 * @module
 */

/** One request's fidelity. */
export interface RequestFidelity {
  /** The trace request's index. */
  request: number;
  /** `input_length`. */
  intendedTokens: number;
  /** The server's `prompt_tokens`, when it said. */
  promptTokens?: number;
  /** Theoretical cached tokens (`workloads/replay/theory.ts`). */
  theoreticalCached: number;
  /** The server's `cached_tokens`, when it said. */
  cachedTokens?: number;
}

/** The mismatch summary of a replay. */
export interface FidelitySummary {
  /** Completed requests compared. */
  requests: number;
  /** Of those, with a `prompt_tokens`. */
  withPromptTokens: number;
  /** Of those, `prompt_tokens ≠ input_length`. */
  lengthMismatches: number;
  /** Σ (prompt_tokens − input_length) over requests with `prompt_tokens`: the length drift. */
  lengthDrift: number;
  /** Σ input_length over requests with `prompt_tokens`. */
  intendedTokens: number;
  /** Of the compared requests, with a `cached_tokens`. */
  withCachedTokens: number;
  /** Of those, `cached_tokens ≠` theoretical. */
  cachedMismatches: number;
  /** Σ theoretical cached tokens over requests with `cached_tokens`. */
  theoreticalCached: number;
  /** Σ reported `cached_tokens`. */
  reportedCached: number;
  /** Σ input_length over requests with `cached_tokens` (the theoretical hit rate's base). */
  cachedIntendedTokens: number;
  /** Σ prompt_tokens over requests with `cached_tokens` (the reported hit rate's base). */
  reportedPromptTokens: number;
}

/**
 * The mismatch summary of per-request fidelity.
 *
 * @example Usage
 * ```ts
 * import { summarizeFidelity } from "./fidelity.ts";
 * import assert from "node:assert/strict";
 *
 * const summary = summarizeFidelity([
 *   { request: 0, intendedTokens: 100, promptTokens: 100, theoreticalCached: 0, cachedTokens: 0 },
 *   { request: 1, intendedTokens: 100, promptTokens: 107, theoreticalCached: 64, cachedTokens: 48 },
 *   { request: 2, intendedTokens: 50, theoreticalCached: 0 }, // no usage: unknown
 * ]);
 * assert.equal(summary.lengthMismatches, 1);
 * assert.equal(summary.lengthDrift, 7);
 * assert.equal(summary.cachedMismatches, 1);
 * assert.equal(summary.theoreticalCached, 64);
 * assert.equal(summary.reportedCached, 48);
 * assert.equal(summary.withCachedTokens, 2);
 * ```
 */
export function summarizeFidelity(
  rows: readonly RequestFidelity[],
): FidelitySummary {
  const s: FidelitySummary = {
    requests: rows.length,
    withPromptTokens: 0,
    lengthMismatches: 0,
    lengthDrift: 0,
    intendedTokens: 0,
    withCachedTokens: 0,
    cachedMismatches: 0,
    theoreticalCached: 0,
    reportedCached: 0,
    cachedIntendedTokens: 0,
    reportedPromptTokens: 0,
  };
  for (const r of rows) {
    if (r.promptTokens !== undefined) {
      s.withPromptTokens++;
      s.intendedTokens += r.intendedTokens;
      s.lengthDrift += r.promptTokens - r.intendedTokens;
      if (r.promptTokens !== r.intendedTokens) s.lengthMismatches++;
    }
    if (r.cachedTokens !== undefined) {
      s.withCachedTokens++;
      s.theoreticalCached += r.theoreticalCached;
      s.reportedCached += r.cachedTokens;
      s.cachedIntendedTokens += r.intendedTokens;
      s.reportedPromptTokens += r.promptTokens ?? r.intendedTokens;
      if (r.cachedTokens !== r.theoreticalCached) s.cachedMismatches++;
    }
  }
  return s;
}
