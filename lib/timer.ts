/**
 * The longest delay a timer takes. `setTimeout` fires at once (after 1 ms)
 * when asked for more than 2^31 − 1 ms, so every long wait kvbench makes is
 * refused past it (the command line) or re-armed in steps of it (the runner).
 *
 * @module
 */

/**
 * 2^31 − 1 ms (24.8 days): the longest delay a timer takes.
 *
 * @example Usage
 * ```ts
 * import { MAX_TIMER_MS } from "./timer.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(MAX_TIMER_MS / 86_400_000 > 24.8, true);
 * ```
 */
export const MAX_TIMER_MS: number = 2 ** 31 - 1;
