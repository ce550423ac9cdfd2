/**
 * Token-by-token comparison of two greedy answers, each context's outcome
 * against its cold-vs-cold control, and the one verdict line.
 *
 * @module
 */
import type { GreedyAnswer } from "./greedy_request.ts";

export type { GreedyAnswer } from "./greedy_request.ts";

/** Where two answers part. */
export interface Divergence {
  /** `token` when both answers carried tokens, else `character` (of the text). */
  unit: "token" | "character";
  /** Units compared: the longer answer's length. */
  compared: number;
  /** The first differing unit, from 1; undefined when the answers are identical. */
  firstAt?: number;
  /**
   * Largest |Δ logprob| over the leading tokens that agree (before
   * `firstAt`); undefined without log-probabilities.
   */
  maxLogprobDiff?: number;
}

/**
 * Compare two answers token by token (character by character when either
 * lacks tokens). A missing token (one answer stopped) is a difference.
 *
 * @example Usage
 * ```ts
 * import { compareAnswers } from "./compare.ts";
 * import assert from "node:assert/strict";
 *
 * const a = { text: " a b c", tokens: [" a", " b", " c"], logprobs: [-1, -2, -3] };
 * const b = { text: " a b d", tokens: [" a", " b", " d"], logprobs: [-1, -2.25, -3] };
 * assert.deepEqual(compareAnswers(a, b), { unit: "token", compared: 3, firstAt: 3, maxLogprobDiff: 0.25 });
 * assert.equal(compareAnswers(a, a).firstAt, undefined);
 * assert.equal(compareAnswers({ text: "xy" }, { text: "xz" }).firstAt, 2);
 * ```
 */
export function compareAnswers(a: GreedyAnswer, b: GreedyAnswer): Divergence {
  if (a.tokens === undefined || b.tokens === undefined) {
    const x = [...a.text], y = [...b.text];
    const result: Divergence = {
      unit: "character",
      compared: Math.max(x.length, y.length),
    };
    const at = firstDifference(x, y);
    if (at !== undefined) result.firstAt = at + 1;
    return result;
  }
  const result: Divergence = {
    unit: "token",
    compared: Math.max(a.tokens.length, b.tokens.length),
  };
  const at = firstDifference(a.tokens, b.tokens);
  if (at !== undefined) result.firstAt = at + 1;
  if (a.logprobs !== undefined && b.logprobs !== undefined) {
    let max = 0;
    const agree = at ?? Math.min(a.tokens.length, b.tokens.length);
    for (let i = 0; i < agree; i++) {
      const d = Math.abs(a.logprobs[i] - b.logprobs[i]);
      if (Number.isFinite(d)) max = Math.max(max, d);
    }
    result.maxLogprobDiff = Math.round(max * 1e6) / 1e6;
  }
  return result;
}

function firstDifference(
  x: readonly string[],
  y: readonly string[],
): number | undefined {
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return i;
  return undefined;
}

/**
 * What a context's check found:
 * - `identical`: the reused answer equals the cold one;
 * - `beyond_control`: it parts from the cold one earlier than the two cold
 *   answers part from each other (or they agree): the reused KV is wrong;
 * - `within_control`: it parts, but no earlier than cold against cold: the
 *   engine's own nondeterminism, not the cache;
 * - `not_reused`: the warm request reported no cached prompt token;
 * - `not_cold`: a cold reference reported cached prompt tokens (the cold
 *   method does not work on this server);
 * - `failed`: a request failed.
 */
export type Outcome =
  | "identical"
  | "beyond_control"
  | "within_control"
  | "not_reused"
  | "not_cold"
  | "failed";

/**
 * A context's outcome from its warm-vs-cold and cold-vs-cold comparisons.
 *
 * @example Usage
 * ```ts
 * import { judgePair } from "./compare.ts";
 * import assert from "node:assert/strict";
 *
 * const same = { unit: "token" as const, compared: 8 };
 * assert.equal(judgePair({ warmVsCold: same, coldVsControl: same }), "identical");
 * assert.equal(judgePair({ warmVsCold: { ...same, firstAt: 4 }, coldVsControl: same }), "beyond_control");
 * assert.equal(judgePair({ warmVsCold: { ...same, firstAt: 4 }, coldVsControl: { ...same, firstAt: 2 } }), "within_control");
 * ```
 */
export function judgePair(
  pair: { warmVsCold: Divergence; coldVsControl: Divergence },
): Outcome {
  const warm = pair.warmVsCold.firstAt, control = pair.coldVsControl.firstAt;
  if (warm === undefined) return "identical";
  return control !== undefined && control <= warm
    ? "within_control"
    : "beyond_control";
}

/** One checked context, as the verdict needs it. */
export interface JudgedPair {
  /** Its outcome. */
  outcome: Outcome;
  /** Warm against cold, when both answered. */
  warmVsCold?: Divergence;
}

/** The verdict of a check. */
export interface VerifyVerdict {
  /** One line. */
  text: string;
  /** Contexts compared (neither failed, warm reused, cold cold). */
  checked: number;
  /** Of those, identical to cold compute. */
  identical: number;
  /** Of those, diverged beyond the control. */
  beyond: number;
  /** The earliest divergence beyond the control (from 1), when any. */
  firstAt?: number;
  /** Its unit. */
  unit?: "token" | "character";
  /** 1 when a divergence beyond the control was found or nothing could be checked, else 0. */
  code: number;
}

/**
 * The verdict line of a check: "12 of 12 reused contexts gave outputs
 * identical to cold compute", or "3 of 12 diverged from cold compute beyond
 * the control, first at token 4"; contexts that could not be compared are
 * named. `cold` says how the cold reference was made.
 *
 * @example Usage
 * ```ts
 * import { verifyVerdict } from "./compare.ts";
 * import assert from "node:assert/strict";
 *
 * const ok = { outcome: "identical" as const };
 * const bad = { outcome: "beyond_control" as const, warmVsCold: { unit: "token" as const, compared: 8, firstAt: 4 } };
 * const v = verifyVerdict([ok, bad, bad], { cold: "cache_salt" });
 * assert.equal(v.text, "verify: 2 of 3 reused contexts diverged from cold compute beyond the control, first at token 4 (cold reference: cache_salt)");
 * assert.equal(v.code, 1);
 * assert.equal(verifyVerdict([ok], { cold: "cache_salt" }).code, 0);
 * ```
 */
export function verifyVerdict(
  pairs: readonly JudgedPair[],
  options: { cold: string },
): VerifyVerdict {
  const count = (o: Outcome) => pairs.filter((p) => p.outcome === o).length;
  const identical = count("identical"), beyond = count("beyond_control");
  const within = count("within_control");
  const checked = identical + beyond + within;
  const skipped = [
    [count("not_reused"), "not served from the cache"],
    [count("not_cold"), "with a cold reference served from the cache"],
    [count("failed"), "with a failed request"],
  ].filter(([n]) => (n as number) > 0).map(([n, why]) => `${n} ${why}`);
  const tail = `(cold reference: ${options.cold}${
    skipped.length ? `; not checked: ${skipped.join(", ")}` : ""
  })`;
  const verdict: VerifyVerdict = {
    text: "",
    checked,
    identical,
    beyond,
    code: 0,
  };
  if (checked === 0) {
    verdict.text =
      `verify: no reused context could be compared with cold compute ${tail}`;
    verdict.code = 1;
    return verdict;
  }
  if (beyond > 0) {
    const first = pairs
      .filter((p) => p.outcome === "beyond_control")
      .map((p) => p.warmVsCold!)
      .reduce((a, b) => (b.firstAt! < a.firstAt! ? b : a));
    verdict.firstAt = first.firstAt;
    verdict.unit = first.unit;
    verdict.code = 1;
    verdict.text =
      `verify: ${beyond} of ${checked} reused contexts diverged from cold compute beyond the control, first at ${first.unit} ${first.firstAt} ${tail}`;
    return verdict;
  }
  verdict.text =
    `verify: ${identical} of ${checked} reused contexts gave outputs identical to cold compute${
      within > 0
        ? `; ${within} diverged no earlier than cold compute against itself (the engine's own nondeterminism)`
        : ""
    } ${tail}`;
  return verdict;
}
