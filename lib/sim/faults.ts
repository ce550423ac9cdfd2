/**
 * Faults the simulator can inject, for tests and resilience checks, and the
 * seeded draw that decides which ones hit a request.
 *
 * Every request draws the same number of values from its own generator,
 * whatever the options, so turning one fault on does not reshuffle the others.
 *
 * @module
 */
import type { Random } from "../rng.ts";

/** Fault options; every rate is a fraction of requests in [0, 1]. */
export interface FaultOptions {
  /** Requests answered `500` with an OpenAI-shaped error. */
  errorRate500?: number;
  /** Requests answered `429` with a `Retry-After` header. */
  errorRate429?: number;
  /** `Retry-After` of a 429, in seconds (default 1). */
  retryAfterS?: number;
  /** Streams cut (connection dropped) after some but not all token events. */
  cutRate?: number;
  /** Streams with one malformed SSE line (truncated JSON) among the token events. */
  malformedRate?: number;
  /** Stall before the first token, in model ms (scaled by `timeScale` like all times). */
  stallMs?: number;
  /** Requests that stall (default 1: every request, when `stallMs` > 0). */
  stallRate?: number;
  /** Uniform extra delay in [0, jitterMs) model ms before the first token and each later one. */
  jitterMs?: number;
  /**
   * Prompts whose KV comes back wrong when restored from the offload tier:
   * a request with offload hits generates other words from token
   * `corruptOffloadAt` on (a fixed draw per prompt, so a prompt is either
   * always or never corrupted). As LMCache #5151: a full hit, and a greedy
   * continuation that differs from cold compute.
   */
  corruptOffloadRate?: number;
  /** The first generated token (0-based) a corrupted restore changes (default 0). */
  corruptOffloadAt?: number;
}

/** What happens to one request. */
export interface RequestFaults {
  /** Answer with this status instead of serving the request. */
  status?: 500 | 429;
  /** Cut a stream right after this many token events (1 ≤ cutAfter, < output length when it is > 1). */
  cutAfter?: number;
  /** Write a malformed SSE line right after this many token events (≥ 1). */
  malformedAfter?: number;
  /** Stall before the first token, model ms. */
  stallMs: number;
}

/**
 * Check fault options and fill in the defaults; throws a RangeError naming
 * the first bad one.
 *
 * @example Usage
 * ```ts
 * import { resolveFaults } from "./faults.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(resolveFaults({ errorRate429: 0.1 }).retryAfterS, 1);
 * ```
 */
export function resolveFaults(
  options: FaultOptions = {},
): Required<FaultOptions> {
  const faults: Required<FaultOptions> = {
    errorRate500: 0,
    errorRate429: 0,
    retryAfterS: 1,
    cutRate: 0,
    malformedRate: 0,
    stallMs: 0,
    stallRate: 1,
    jitterMs: 0,
    corruptOffloadRate: 0,
    corruptOffloadAt: 0,
    ...Object.fromEntries(
      Object.entries(options).filter(([, v]) => v !== undefined),
    ),
  };
  for (const [name, value] of Object.entries(faults)) {
    const isRate = name.includes("Rate");
    if (!Number.isFinite(value) || value < 0 || (isRate && value > 1)) {
      throw new RangeError(
        `Cannot use fault option ${name} ${value}: expected ${
          isRate ? "a fraction in [0, 1]" : "a number >= 0"
        }`,
      );
    }
  }
  if (!Number.isInteger(faults.corruptOffloadAt)) {
    throw new RangeError(
      `Cannot use fault option corruptOffloadAt ${faults.corruptOffloadAt}: expected an integer >= 0`,
    );
  }
  if (faults.errorRate500 + faults.errorRate429 > 1) {
    throw new RangeError(
      "Cannot use fault options errorRate500 + errorRate429 above 1",
    );
  }
  return faults;
}

/**
 * Decide the faults of one request that will generate `outputTokens` tokens.
 * Draws exactly six values from `rng`.
 *
 * @example Usage
 * ```ts
 * import { drawFaults, resolveFaults } from "./faults.ts";
 * import { seededRandom } from "../rng.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(drawFaults(seededRandom(1), 10, resolveFaults({ errorRate500: 1 })).status, 500);
 * ```
 */
export function drawFaults(
  rng: Random,
  outputTokens: number,
  faults: Required<FaultOptions>,
): RequestFaults {
  const [error, cut, cutAt, malformed, malformedAt, stall] = Array.from({
    length: 6,
  }, () => rng.next());
  const result: RequestFaults = {
    stallMs: stall < faults.stallRate ? faults.stallMs : 0,
  };
  if (error < faults.errorRate500) result.status = 500;
  else if (error < faults.errorRate500 + faults.errorRate429) {
    result.status = 429;
  }
  if (cut < faults.cutRate) {
    result.cutAfter = 1 + Math.floor(cutAt * Math.max(1, outputTokens - 1));
  }
  if (malformed < faults.malformedRate) {
    result.malformedAfter = 1 + Math.floor(malformedAt * outputTokens);
  }
  return result;
}
