/**
 * The offload verdict of `kvbench benchmark`: what share of the reusable
 * prompt tokens the offload tier served (from the server's counters), and
 * what it bought: the TTFT of reuses served from cache against cold
 * prefills (from the client's records).
 *
 * In tile order a context's first request is a cold prefill and every later
 * one a reuse of its whole context; the reusable tokens are the prompt
 * tokens of the reuses.
 *
 * @module
 */
import type { PromptSplit } from "./attribution.ts";
import { requestFigures } from "../metrics/figures.ts";
import type { RequestRecord } from "../types.ts";

/** What the client saw of reuse: counted from the records. */
export interface ReuseFigures {
  /** Completed reuses (a context's requests after its first). */
  reuses: number;
  /** Σ prompt tokens of the completed reuses. */
  reusableTokens: number;
  /** TTFTs (ms) of reuses served from cache (cached tokens ≥ half the prompt; every reuse when the server reports no cached tokens). */
  hitTtftMs: number[];
  /** TTFTs (ms) of cold prefills (a context's first request, when less than half its prompt was cached). */
  coldTtftMs: number[];
  /** TTFTs (ms) of every completed reuse, served from cache or not. */
  reuseTtftMs: number[];
}

/**
 * Counts reuse from the records of a benchmark run (tagged with `context`).
 *
 * @example Two contexts, each sent twice
 * ```ts
 * import { ReuseTracker } from "./verdict.ts";
 * import { testRecord } from "../../lib/testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const tracker = new ReuseTracker();
 * const r = (context: number, ttft: number, cached: number) =>
 *   testRecord({ tags: { context }, firstTokenAt: ttft, endAt: ttft + 10,
 *     promptTokens: 1000, cachedTokens: cached, completionTokens: 2 });
 * tracker.add(r(0, 800, 0)); // cold
 * tracker.add(r(1, 900, 0)); // cold
 * tracker.add(r(0, 100, 992)); // reuse, served from cache
 * tracker.add(r(1, 850, 0)); // reuse, recomputed
 * assert.deepEqual(tracker.figures(), {
 *   reuses: 2, reusableTokens: 2000, hitTtftMs: [100], coldTtftMs: [800, 900],
 *   reuseTtftMs: [100, 850],
 * });
 * ```
 */
export class ReuseTracker {
  #seen = new Set<number | string>();
  #figures: ReuseFigures = {
    reuses: 0,
    reusableTokens: 0,
    hitTtftMs: [],
    coldTtftMs: [],
    reuseTtftMs: [],
  };

  /** Count one record (warm-up and failed requests still mark their context seen). */
  add(record: RequestRecord): void {
    const context = record.tags?.context;
    if (context === undefined) return;
    const first = !this.#seen.has(context);
    this.#seen.add(context);
    if (!record.ok || record.warmup) return;
    const f = requestFigures(record);
    if (first) {
      // Cold only when nothing was cached (a context an earlier run left
      // in the server's caches is not a cold prefill).
      const cold = f.cachedTokens === undefined ||
        f.promptTokens === undefined ||
        f.cachedTokens * 2 < f.promptTokens;
      if (cold && f.ttftMs !== undefined) {
        this.#figures.coldTtftMs.push(f.ttftMs);
      }
      return;
    }
    this.#figures.reuses++;
    this.#figures.reusableTokens += f.promptTokens ?? 0;
    const hit = f.cachedTokens === undefined ||
      (f.promptTokens !== undefined && f.cachedTokens * 2 >= f.promptTokens);
    if (f.ttftMs !== undefined) this.#figures.reuseTtftMs.push(f.ttftMs);
    if (hit && f.ttftMs !== undefined) this.#figures.hitTtftMs.push(f.ttftMs);
  }

  /** The figures so far. */
  figures(): ReuseFigures {
    return structuredClone(this.#figures);
  }
}

/** The verdict: the offload tier's share and what it bought. */
export interface Verdict {
  /** Offload hits / reusable tokens (0–1); undefined without server counters that name the tier. */
  offloadShare?: number;
  /** Device hits / reusable tokens. */
  deviceShare?: number;
  /** The paragraph to print. */
  text: string;
}

const mean = (xs: number[]): number =>
  xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const n = (x: number): string => Math.round(x).toLocaleString("en-US");

/** Options of {@linkcode benchmarkVerdict}. */
export interface VerdictOptions {
  /** The server's split over the run, when its metrics were read. */
  split?: PromptSplit;
  /** Why there is no split (the metrics could not be read), for the text. */
  noSplitReason?: string;
}

/**
 * The verdict paragraph of a run.
 *
 * @example The offload tier served most reuse
 * ```ts
 * import { benchmarkVerdict } from "./verdict.ts";
 * import assert from "node:assert/strict";
 *
 * const v = benchmarkVerdict(
 *   { reuses: 40, reusableTokens: 40_000, hitTtftMs: [500, 700], coldTtftMs: [3000, 3600], reuseTtftMs: [500, 700] },
 *   { split: { prompt: 46_000, computed: 9_000, device: 1_000, offload: 36_000 } },
 * );
 * assert.equal(v.offloadShare, 0.9); // 36 000 of 40 000 reusable tokens
 * assert.ok(v.text.includes("3.30 s for cold prefills: 5.5× faster"));
 * ```
 *
 * @example Slower from cache, or nothing cold to compare with
 * ```ts
 * import { benchmarkVerdict } from "./verdict.ts";
 * import assert from "node:assert/strict";
 *
 * const split = { prompt: 4_000, computed: 0, device: 0, offload: 4_100 };
 * const slower = benchmarkVerdict(
 *   { reuses: 2, reusableTokens: 4_000, hitTtftMs: [300, 300], coldTtftMs: [200], reuseTtftMs: [300, 300] },
 *   { split },
 * );
 * assert.ok(slower.text.includes("0.20 s for cold prefills: 1.5× slower"));
 * assert.ok(slower.text.includes("recomputed 0.0%")); // never below zero
 * const warm = benchmarkVerdict(
 *   { reuses: 2, reusableTokens: 4_000, hitTtftMs: [300, 300], coldTtftMs: [], reuseTtftMs: [300, 300] },
 *   { split },
 * );
 * assert.ok(warm.text.endsWith("(2 requests); no cold prefill to compare with (every context was already cached when the run began)."));
 * ```
 */
export function benchmarkVerdict(
  reuse: ReuseFigures,
  options: VerdictOptions = {},
): Verdict {
  const verdict: Verdict = { text: "" };
  const parts: string[] = [];
  const split = options.split;
  if (reuse.reuses === 0) {
    verdict.text =
      "Verdict: no context came back within the run, so nothing could be reused yet; run longer than one lap of the contexts.";
    return verdict;
  }
  if (split?.offload !== undefined && reuse.reusableTokens > 0) {
    // The server also counts requests still in flight at its last scrape:
    // reuse is at least what its caches served.
    const device = split.device ?? 0;
    const reusable = Math.max(reuse.reusableTokens, split.offload + device);
    verdict.offloadShare = split.offload / reusable;
    verdict.deviceShare = device / reusable;
    parts.push(
      `Verdict: the offload tier served ${pct(verdict.offloadShare)} of the ${
        n(reusable)
      } reusable prompt tokens (GPU prefix cache ${
        pct(verdict.deviceShare)
      }, recomputed ${
        pct(Math.max(0, 1 - verdict.offloadShare - verdict.deviceShare))
      }).`,
    );
  } else if (split?.cached !== undefined) {
    parts.push(
      `Verdict: the server served ${
        pct(Math.min(1, split.cached / reuse.reusableTokens))
      } of the ${
        n(reuse.reusableTokens)
      } reusable prompt tokens from cache, without saying which tier.`,
    );
  } else {
    parts.push(
      `Verdict: which tier served the reuse is not known (${
        options.noSplitReason ?? "the server's metrics were not read"
      }).`,
    );
  }
  if (reuse.hitTtftMs.length > 0 && reuse.coldTtftMs.length > 0) {
    const hit = mean(reuse.hitTtftMs) / 1000;
    const cold = mean(reuse.coldTtftMs) / 1000;
    parts.push(
      `Reuses served from cache had a mean TTFT of ${
        hit.toFixed(2)
      } s (${reuse.hitTtftMs.length} requests) against ${
        cold.toFixed(2)
      } s for cold prefills: ${
        cold >= hit
          ? `${(cold / hit).toFixed(1)}× faster`
          : `${(hit / cold).toFixed(1)}× slower`
      }.`,
    );
  } else if (reuse.hitTtftMs.length > 0) {
    parts.push(
      `Reuses served from cache had a mean TTFT of ${
        (mean(reuse.hitTtftMs) / 1000).toFixed(2)
      } s (${reuse.hitTtftMs.length} requests); no cold prefill to compare with (every context was already cached when the run began).`,
    );
  } else if (reuse.hitTtftMs.length === 0) {
    parts.push("No reuse was served from cache: every one was recomputed.");
  }
  verdict.text = parts.join(" ");
  return verdict;
}
