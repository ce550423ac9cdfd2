/**
 * The offload verdict of `kvbench benchmark`: what share of the reusable
 * prompt tokens each tier served (from the server's counters), and what it
 * bought (from the client's records), saying what it cannot know.
 *
 * In tile order a context's first request is a cold prefill and every later
 * one a reuse of its whole context. The reusable prompt tokens are the
 * prompts of the completed reuses (the README's definition), plus, said in
 * the text, those of reuses that failed after their prefill (the server
 * served them too). When the server's caches served more than that (other
 * clients' traffic, another shard of the run, requests the client did not
 * see finish), the share of this run's reuse is not known and the verdict
 * says so instead of clamping.
 *
 * @module
 */
import type { PromptSplit } from "./attribution.ts";
import type { TierCounters } from "./engines.ts";
import { countedCutReuses } from "./cut_reuses.ts";
import { requestFigures } from "../metrics/figures.ts";
import type { RequestRecord } from "../types.ts";

/** What the client saw of reuse: counted from the records. */
export interface ReuseFigures {
  /** Completed reuses (a context's requests after its first). */
  reuses: number;
  /** Σ prompt tokens of the completed reuses. */
  reusableTokens: number;
  /** TTFTs (ms) of reuses served from cache (cached tokens ≥ half the prompt); empty when the server reports no cached tokens. */
  hitTtftMs: number[];
  /** TTFTs (ms) of cold prefills (a context's first request, when less than half its prompt was cached). */
  coldTtftMs: number[];
  /** TTFTs (ms) of every completed reuse, served from cache or not. */
  reuseTtftMs: number[];
  /** TTFTs (ms) of reuses recomputed (cached tokens known and below half the prompt): cold prefills at the reuses' own load. */
  missTtftMs?: number[];
  /** Whether any completed request carried `cached_tokens`. */
  cachedReported: boolean;
  /** Reuses that failed after their first token (the server prefilled them). */
  failedReuses: number;
  /** Σ prompt tokens of those (usage, else the expected prompt length). */
  failedReuseTokens: number;
  /** Reuses that did not complete and had no first token (cut, failed or aborted by the run's end); the server may have scheduled them. */
  cutReuses?: number;
  /** Σ prompt tokens of those, where known (usage, else the expected prompt length). */
  cutReuseTokens?: number;
  /** The prompt tokens of each of those, in the order they were sent (the order a server schedules them), those refused with an HTTP error last. */
  cutReusePromptTokens?: number[];
  /** Σ prompt tokens of every completed request (warm-ups aside). */
  promptTokens: number;
  /** Σ prompt tokens of every request that did not complete (warm-ups aside), where known. */
  unfinishedPromptTokens: number;
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
 * tracker.add({ ...r(1, 50, 0), ok: false }); // reuse cut after its prefill
 * assert.deepEqual(tracker.figures(), {
 *   reuses: 2, reusableTokens: 2000, hitTtftMs: [100], coldTtftMs: [800, 900],
 *   reuseTtftMs: [100, 850], missTtftMs: [850], cachedReported: true, failedReuses: 1,
 *   failedReuseTokens: 1000, cutReuses: 0, cutReuseTokens: 0,
 *   cutReusePromptTokens: [], promptTokens: 4000, unfinishedPromptTokens: 1000,
 * });
 * ```
 */
export class ReuseTracker {
  #seen = new Set<number | string>();
  /** [refused with an HTTP error, sent at, prompt tokens] of each cut reuse. */
  #cut: [number, number, number][] = [];
  #figures: ReuseFigures = {
    reuses: 0,
    reusableTokens: 0,
    hitTtftMs: [],
    coldTtftMs: [],
    reuseTtftMs: [],
    missTtftMs: [],
    cachedReported: false,
    failedReuses: 0,
    failedReuseTokens: 0,
    cutReuses: 0,
    cutReuseTokens: 0,
    promptTokens: 0,
    unfinishedPromptTokens: 0,
  };

  /** Count one record (warm-up and failed requests still mark their context seen). */
  add(record: RequestRecord): void {
    const context = record.tags?.context;
    const first = context === undefined || !this.#seen.has(context);
    if (context !== undefined) this.#seen.add(context);
    if (record.warmup) return;
    const prompt = record.promptTokens ?? record.expectedPromptTokens;
    if (!record.ok) {
      this.#figures.unfinishedPromptTokens += prompt ?? 0;
      if (!first && record.firstTokenAt !== undefined) {
        this.#figures.failedReuses++;
        this.#figures.failedReuseTokens += prompt ?? 0;
      } else if (!first) {
        this.#figures.cutReuses! += 1;
        this.#figures.cutReuseTokens! += prompt ?? 0;
        // Refused ones last: a request answered with an HTTP error status was,
        // most likely, never scheduled.
        const refused = (record.status ?? 0) >= 400 ? 1 : 0;
        this.#cut.push([refused, record.sentAt ?? Infinity, prompt ?? 0]);
      }
      return;
    }
    const f = requestFigures(record);
    this.#figures.promptTokens += f.promptTokens ?? 0;
    if (f.cachedTokens !== undefined) this.#figures.cachedReported = true;
    if (context === undefined) return;
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
    const hit = f.cachedTokens !== undefined && f.promptTokens !== undefined &&
      f.cachedTokens * 2 >= f.promptTokens;
    if (f.ttftMs !== undefined) this.#figures.reuseTtftMs.push(f.ttftMs);
    if (hit && f.ttftMs !== undefined) this.#figures.hitTtftMs.push(f.ttftMs);
    if (!hit && f.cachedTokens !== undefined && f.ttftMs !== undefined) {
      this.#figures.missTtftMs!.push(f.ttftMs);
    }
  }

  /** The figures so far. */
  figures(): ReuseFigures {
    const cut = this.#cut.toSorted((a, b) => a[0] - b[0] || a[1] - b[1])
      .map(([, , tokens]) => tokens);
    return { ...structuredClone(this.#figures), cutReusePromptTokens: cut };
  }
}

/** The verdict: each tier's share of the reusable tokens and what it bought. */
export interface Verdict {
  /** Offload hits / reusable tokens (0–1); undefined when not known (no tier named, counters that disagree, other traffic). */
  offloadShare?: number;
  /** Device hits / reusable tokens. */
  deviceShare?: number;
  /** Shares of the offload tiers the engine names (host, disk, remote, external = not named). */
  tierShares?: {
    host?: number;
    disk?: number;
    remote?: number;
    external?: number;
  };
  /** The reusable tokens the shares are of (completed reuses + reuses failed after their prefill). */
  reusableTokens?: number;
  /** The paragraph to print. */
  text: string;
}

const mean = (xs: number[]): number =>
  xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const n = (x: number): string => Math.round(x).toLocaleString("en-US");

/** `1 reuse`, `2 reuses`. */
const reusesOf = (count: number): string =>
  `${count} ${count === 1 ? "reuse" : "reuses"}`;

/** Options of {@linkcode benchmarkVerdict}. */
export interface VerdictOptions {
  /** The server's split over the run, when its metrics were read. */
  split?: PromptSplit;
  /** Why there is no split (the metrics could not be read), for the text. */
  noSplitReason?: string;
  /** The server's counter deltas (offload bandwidth where reported). */
  counters?: TierCounters;
  /** This process ran one shard of a split run (`--part`): the counters are the whole server's. */
  shard?: boolean;
  /** The engine, to name what its metrics cannot tell (`llamacpp`). */
  engine?: string;
  /**
   * The pre-flight's refusal of a run the user forced (`--force`), with its
   * fix (`workloads/benchmark/preflight_gate.ts`): the verdict repeats it
   * instead of advising a longer run.
   */
  forced?: string;
}

/** The tiers' shares of `reusable`, or why they are not known. */
function shares(
  reuse: ReuseFigures,
  split: PromptSplit,
  options: VerdictOptions,
): { verdict: Verdict; line: string } {
  const verdict: Verdict = { text: "" };
  const device = split.device ?? 0;
  const offload = split.offload ?? 0;
  const cached = split.cached ?? 0;
  const hits = device + offload + cached;
  let reusable = reuse.reusableTokens + reuse.failedReuseTokens;
  const terms = [`${n(reuse.reusableTokens)} of completed reuses`];
  if (reuse.failedReuseTokens > 0) {
    const one = reuse.failedReuses === 1;
    terms.push(
      `${n(reuse.failedReuseTokens)} of ${
        reusesOf(reuse.failedReuses)
      } that ended after ${
        one ? "its" : "their"
      } prefill without completing (failed, or stopped by the run's end)`,
    );
  }
  // Reuses cut before their first token count only when the hits need
  // them, and only as many as they need: an engine counts a request's hits
  // when it schedules it, and one cut while waiting never was (cut_reuses.ts).
  const cutReuses = reuse.cutReuses ?? 0;
  const counted = countedCutReuses(
    hits - reusable,
    reuse.cutReusePromptTokens ?? [reuse.cutReuseTokens ?? 0],
  );
  if (counted !== undefined && cutReuses > 0) {
    reusable += counted.tokens;
    const left = cutReuses - Math.min(counted.count, cutReuses);
    const shown = reuse.cutReusePromptTokens ? counted.count : cutReuses;
    const one = shown === 1;
    terms.push(
      `${n(counted.tokens)} of ${reusesOf(shown)} cut before ${
        one ? "its" : "their"
      } first token, whose hits the server counted when it scheduled ${
        one ? "it" : "them"
      }${
        left > 0 && reuse.cutReusePromptTokens
          ? ` (${left} more, which the server never scheduled (cut while still waiting, or refused): left out)`
          : ""
      }`,
    );
  }
  const of = terms.length > 1
    ? `${n(reusable)} reusable prompt tokens (${terms.join(", ")})`
    : `${n(reusable)} reusable prompt tokens`;
  // The server counted more than this run's requests: other traffic.
  const clientAll = reuse.promptTokens + reuse.unfinishedPromptTokens;
  const other = split.prompt > clientAll * 1.01 + 1;
  if (options.shard && other) {
    return {
      verdict,
      line:
        `Verdict: not known for this shard: the server's counters are the whole server's (${
          n(split.prompt)
        } prompt tokens against this shard's ${
          n(clientAll)
        }); the merged run (kvbench merge) gives the split.`,
    };
  }
  if (hits > reusable + 0.5) {
    const tierOfHits = split.offload !== undefined
      ? `; of the server's cache hits, ${
        pct(offload / hits)
      } came from the offload tier`
      : "";
    return {
      verdict,
      line:
        `Verdict: the offload tier's share of this run's reuse is not known: the server's caches served ${
          n(hits)
        } prompt tokens, more than the ${of} (${
          other
            ? `the server counted ${
              n(split.prompt)
            } prompt tokens against this run's ${n(clientAll)}: other traffic`
            : "requests in flight at the last scrape, or cold requests that found their context cached"
        })${tierOfHits}.`,
    };
  }
  verdict.reusableTokens = reusable;
  if (split.offload === undefined) {
    const engine = options.engine === "llamacpp"
      ? " (llama.cpp counts tokens reused from the slot's KV and from its host-RAM prompt cache, --cache-ram, as one number)"
      : "";
    return {
      verdict,
      line: `Verdict: the server served ${
        pct(cached / reusable)
      } of the ${of} from cache, without saying which tier${engine}; recomputed ${
        pct((reusable - cached) / reusable)
      }.`,
    };
  }
  verdict.offloadShare = offload / reusable;
  verdict.deviceShare = device / reusable;
  let named = "";
  if (split.host !== undefined) {
    const t = {
      host: (split.host ?? 0) / reusable,
      disk: (split.disk ?? 0) / reusable,
      remote: (split.remote ?? 0) / reusable,
      external: (split.external ?? 0) / reusable,
    };
    verdict.tierShares = t;
    const parts = ([
      [t.host, "host memory"],
      [t.disk, "disk"],
      [t.remote, "remote"],
      [t.external, "tier not named"],
    ] as [number, string][]).filter(([v]) => v > 0)
      .map(([v, name]) => `${name} ${pct(v)}`);
    if (parts.length > 0) named = ` (${parts.join(", ")})`;
  }
  const recomputed = (reusable - offload - device) / reusable;
  return {
    verdict,
    line: `Verdict: the offload tier${named} served ${
      pct(verdict.offloadShare)
    } of the ${of} (GPU prefix cache ${pct(verdict.deviceShare)}, recomputed ${
      pct(recomputed)
    }).${
      other
        ? ` The server counted ${
          n(split.prompt)
        } prompt tokens against this run's ${
          n(clientAll)
        }: it also served other traffic.`
        : ""
    }`,
  };
}

/**
 * The verdict paragraph of a run.
 *
 * @example The offload tier served most reuse
 * ```ts
 * import { benchmarkVerdict, type ReuseFigures } from "./verdict.ts";
 * import assert from "node:assert/strict";
 *
 * const reuse: ReuseFigures = {
 *   reuses: 40, reusableTokens: 40_000, hitTtftMs: [500, 700],
 *   coldTtftMs: [3000, 3600], reuseTtftMs: [500, 700], cachedReported: true,
 *   failedReuses: 0, failedReuseTokens: 0, promptTokens: 46_000,
 *   unfinishedPromptTokens: 0,
 * };
 * const v = benchmarkVerdict(reuse, {
 *   split: { prompt: 46_000, computed: 9_000, device: 1_000, offload: 36_000 },
 * });
 * assert.equal(v.offloadShare, 0.9); // 36 000 of 40 000 reusable tokens
 * assert.ok(v.text.includes("(GPU prefix cache 2.5%, recomputed 7.5%)"));
 * assert.ok(v.text.includes("3.30 s for the first lap's cold prefills"));
 * assert.ok(v.text.includes("5.5× faster"));
 * ```
 *
 * @example A forced run whose working set exceeds the offload tier
 * ```ts
 * import { benchmarkVerdict, ReuseTracker } from "./verdict.ts";
 * import assert from "node:assert/strict";
 *
 * const v = benchmarkVerdict(new ReuseTracker().figures(), {
 *   forced: "the working set exceeds the server's offload tier (40.00 GiB): every reuse would be recomputed and the run would measure no offload hit; size the run for the server's tier with --offload-size 40.00",
 * });
 * assert.ok(!v.text.includes("run longer"));
 * assert.ok(v.text.endsWith("the pre-flight found that the working set exceeds the server's offload tier (40.00 GiB): every reuse would be recomputed and the run would measure no offload hit; size the run for the server's tier with --offload-size 40.00."));
 * ```
 *
 * @example No per-request cached_tokens: reuses are not classified
 * ```ts
 * import { benchmarkVerdict, type ReuseFigures } from "./verdict.ts";
 * import assert from "node:assert/strict";
 *
 * const reuse: ReuseFigures = {
 *   reuses: 2, reusableTokens: 4_000, hitTtftMs: [], coldTtftMs: [200],
 *   reuseTtftMs: [300, 300], cachedReported: false, failedReuses: 0,
 *   failedReuseTokens: 0, promptTokens: 6_000, unfinishedPromptTokens: 0,
 * };
 * const v = benchmarkVerdict(reuse, {
 *   split: { prompt: 6_000, computed: 6_000, device: 0, offload: 0 },
 * });
 * assert.ok(v.text.includes("recomputed 100.0%"));
 * assert.ok(v.text.includes("no per-request cached_tokens"));
 * assert.ok(!v.text.includes("faster"));
 * ```
 */
export function benchmarkVerdict(
  reuse: ReuseFigures,
  options: VerdictOptions = {},
): Verdict {
  const split = options.split;
  if (reuse.reuses === 0 && reuse.failedReuses === 0) {
    if (options.forced !== undefined) {
      return {
        text:
          `Verdict: no context came back within the run, and a longer run would not measure the offload tier either: the pre-flight found that ${options.forced}.`,
      };
    }
    return {
      text:
        "Verdict: no context came back within the run, so nothing could be reused yet; run longer than one lap of the contexts.",
    };
  }
  let verdict: Verdict = { text: "" };
  const parts: string[] = [];
  if (split?.problem !== undefined) {
    parts.push(
      `Verdict: which tier served the reuse is not known (${split.problem}).`,
    );
  } else if (split !== undefined) {
    const s = shares(reuse, split, options);
    verdict = s.verdict;
    parts.push(s.line);
  } else {
    parts.push(
      `Verdict: which tier served the reuse is not known (${
        options.noSplitReason ?? "the server's metrics were not read"
      }).`,
    );
  }
  const c = options.counters;
  if (c?.offloadLoadBytes !== undefined && (c.offloadLoadSeconds ?? 0) > 0) {
    parts.push(
      `The offload tier loaded ${(c.offloadLoadBytes / 1e9).toFixed(2)} GB in ${
        c.offloadLoadSeconds!.toFixed(2)
      } s of transfers (${
        (c.offloadLoadBytes / 1e9 / c.offloadLoadSeconds!).toFixed(2)
      } GB/s, the server's kv_offload counters).`,
    );
  }
  parts.push(speedup(reuse));
  if (options.forced !== undefined) {
    parts.push(`The pre-flight warned before the run: ${options.forced}.`);
  }
  verdict.text = parts.join(" ");
  return verdict;
}

/** What the reuses' TTFTs say, and which comparison it is. */
function speedup(reuse: ReuseFigures): string {
  if (!reuse.cachedReported) {
    return "The server reports no per-request cached_tokens, so reuses served from cache cannot be told from recomputed ones: no speed-up is given.";
  }
  if (reuse.hitTtftMs.length === 0) {
    return "No reuse was served from cache: every one was recomputed.";
  }
  const hit = mean(reuse.hitTtftMs) / 1000;
  const head = `Reuses served from cache had a mean TTFT of ${
    hit.toFixed(2)
  } s (${reuse.hitTtftMs.length} requests)`;
  if (reuse.coldTtftMs.length === 0) {
    // The contexts were in the cache before the run: an earlier run sent the
    // same texts (benchmark --context-salt none, or the same tag), or the
    // sweep's previous level did (one tag per run).
    return `${head}; no cold prefill to compare with (every context was already cached when the run began: an earlier run or sweep level sent the same contexts; --context-salt run, the default, gives each run texts of its own).`;
  }
  const missed = reuse.missTtftMs ?? [];
  if (
    missed.length >= MIN_SAME_LOAD && reuse.hitTtftMs.length >= MIN_SAME_LOAD
  ) {
    // Like with like: recomputed reuses ran in the same laps, at the same load.
    const miss = mean(missed) / 1000;
    return `${head} against ${
      miss.toFixed(2)
    } s for reuses recomputed in the same laps (${missed.length} requests, at the same load): ${
      ratio(miss, hit)
    }.`;
  }
  const cold = mean(reuse.coldTtftMs) / 1000;
  return `${head} against ${
    cold.toFixed(2)
  } s for the first lap's cold prefills (${reuse.coldTtftMs.length} requests, under the first lap's load, not the same queue): ${
    ratio(cold, hit)
  }.`;
}

/** Reuses of each kind needed to compare them at the same load. */
const MIN_SAME_LOAD = 3;

const ratio = (cold: number, hit: number): string =>
  cold >= hit
    ? `${(cold / hit).toFixed(1)}× faster`
    : `${(hit / cold).toFixed(1)}× slower`;
