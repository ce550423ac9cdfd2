/**
 * Which reuses cut before their first token (by a failure or the run's
 * stop) the server's hit counters hold.
 *
 * An engine counts a request's cache hits when it schedules it, first come
 * first served: vLLM looks its prefix up as it moves it from the waiting
 * queue (`Scheduler.schedule` calling `KVCacheManager.get_computed_blocks`,
 * vllm/v1/core/sched/scheduler.py), as does the simulator
 * (`lib/sim/engine.ts`, admission). A reuse cut while it still waited (its
 * GPU KV not free yet) was never scheduled: its hits were never counted.
 * Of the cut reuses, the scheduled ones are the earliest sent, and each
 * counted at most its prompt tokens of hits; so the hits beyond the completed
 * and failed reuses' prompts show at least the fewest earliest-sent cut
 * reuses whose prompts cover them.
 *
 * @module
 */

/** The cut reuses whose hits the server counted. */
export interface CountedCutReuses {
  /** How many: the earliest sent. */
  count: number;
  /** Σ their prompt tokens. */
  tokens: number;
}

/**
 * The fewest cut reuses, earliest sent first, whose prompt tokens cover
 * `excessHits` (the server's hits beyond the prompts of the completed and
 * failed reuses); undefined when there is no excess (≤ 0.5 token) or all
 * the cut reuses cannot cover it (other traffic: the verdict says so).
 *
 * @example Two reuses cut at the run's end, the second still waiting
 * ```ts
 * import { countedCutReuses } from "./cut_reuses.ts";
 * import assert from "node:assert/strict";
 *
 * // The server counted 26,106 hits beyond the completed reuses: the first
 * // cut reuse (32,014 tokens) was scheduled, the second never was.
 * assert.deepEqual(countedCutReuses(26_106, [32_014, 32_014]), { count: 1, tokens: 32_014 });
 * // 58,106 needs both.
 * assert.deepEqual(countedCutReuses(58_106, [32_014, 32_014]), { count: 2, tokens: 64_028 });
 * assert.equal(countedCutReuses(0, [32_014]), undefined);
 * assert.equal(countedCutReuses(70_000, [32_014, 32_014]), undefined);
 * ```
 */
export function countedCutReuses(
  excessHits: number,
  promptTokens: readonly number[],
): CountedCutReuses | undefined {
  if (excessHits <= 0.5) return undefined;
  let tokens = 0;
  for (const [i, prompt] of promptTokens.entries()) {
    tokens += prompt;
    if (excessHits <= tokens + 0.5) return { count: i + 1, tokens };
  }
  return undefined;
}
