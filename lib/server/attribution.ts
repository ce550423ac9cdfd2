/**
 * Where the run's prompt tokens came from, as the server counted them:
 * computed (prefill), the device (GPU) prefix cache, or an offload tier;
 * shown beside what the client saw in `usage.prompt_tokens_details`, with
 * the disagreement said when they differ.
 *
 * @module
 */
import type { EngineName, TierCounters } from "./engines.ts";

/** The server's split of the prompt tokens over a run. */
export interface PromptSplit {
  /** Prompt tokens the server processed. */
  prompt: number;
  /** Computed (prefilled). */
  computed: number;
  /** Served from the device (GPU) prefix cache; undefined when the engine does not say which tier. */
  device?: number;
  /** Served from an offload tier (every tier below); undefined when the engine does not say which tier. */
  offload?: number;
  /** Part of `offload` served from host (CPU) memory, when the engine names it. */
  host?: number;
  /** Part of `offload` served from local disk, when named. */
  disk?: number;
  /** Part of `offload` served from a remote store or a peer, when named. */
  remote?: number;
  /** Part of `offload` whose tier the engine does not name (offload − host − disk − remote), when any tier is named. */
  external?: number;
  /** Served from a cache whose tier the engine does not name (llama.cpp, SGLang's `total`). */
  cached?: number;
  /** Why the counters cannot be split (they disagree); no share is shown then. */
  problem?: string;
}

const n = (x: number): string => Math.round(x).toLocaleString("en-US");

/**
 * The server's split of a run's prompt tokens from its counter deltas, or
 * undefined when the counters do not say enough. Counters that disagree
 * (hits above the prompt tokens, a negative part) are not clamped: the
 * split carries a `problem` and no share is shown.
 *
 * @example A vLLM with an offload connector, over one run
 * ```ts
 * import { promptSplit } from "./attribution.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   promptSplit({ promptTokens: 1000, computedTokens: 100, deviceHitTokens: 160, offloadHitTokens: 740 }),
 *   { prompt: 1000, computed: 100, device: 160, offload: 740 },
 * );
 * assert.deepEqual(
 *   promptSplit({ promptTokens: 1000, computedTokens: 100, deviceHitTokens: 160, offloadHitTokens: 740, hostHitTokens: 500, diskHitTokens: 240 }),
 *   { prompt: 1000, computed: 100, device: 160, offload: 740, host: 500, disk: 240, remote: 0, external: 0 },
 * );
 * assert.equal(promptSplit({}), undefined);
 * assert.match(
 *   promptSplit({ promptTokens: 1000, computedTokens: -50, deviceHitTokens: 1050 })!.problem!,
 *   /1,050 prompt tokens served from cache but 1,000 in all/,
 * );
 * ```
 */
export function promptSplit(counters: TierCounters): PromptSplit | undefined {
  const device = counters.deviceHitTokens;
  const offload = counters.offloadHitTokens;
  const cached = counters.cachedTokens;
  let prompt = counters.promptTokens;
  let computed = counters.computedTokens;
  const hits = (device ?? 0) + (offload ?? 0) + (cached ?? 0);
  if (prompt === undefined && computed !== undefined) prompt = computed + hits;
  if (prompt === undefined) return undefined;
  computed ??= prompt - hits;
  const split: PromptSplit = { prompt, computed };
  if (device !== undefined || offload !== undefined) {
    split.device = device ?? 0;
    split.offload = offload ?? 0;
  }
  const { hostHitTokens: host, diskHitTokens: disk } = counters;
  const remote = counters.remoteHitTokens;
  if (
    offload !== undefined &&
    (host !== undefined || disk !== undefined || remote !== undefined)
  ) {
    split.host = host ?? 0;
    split.disk = disk ?? 0;
    split.remote = remote ?? 0;
    split.external = offload - split.host - split.disk - split.remote;
  }
  if (cached !== undefined) split.cached = cached;
  const parts = [
    split.computed,
    split.device,
    split.host,
    split.disk,
    split.remote,
    split.external,
    split.offload,
    split.cached,
  ];
  if (hits > prompt) {
    split.problem = `the counters disagree: ${
      n(hits)
    } prompt tokens served from cache but ${
      n(prompt)
    } in all (an engine that counts hits when a request is scheduled and prompt tokens at its first token, with requests in flight or aborted)`;
  } else if (parts.some((p) => p !== undefined && p < 0)) {
    split.problem =
      "the counters disagree: a part of the split is negative (a derived count read from counters moved at different moments)";
  } else if (Math.abs(split.computed + hits - prompt) > 0.5) {
    split.problem = `the counters disagree: computed ${
      n(split.computed)
    } + cached ${n(hits)} ≠ ${n(prompt)} prompt tokens`;
  }
  return split;
}

/** Options of {@linkcode renderAttribution}. */
export interface AttributionOptions {
  /** The engines whose metrics were read. */
  engines?: readonly EngineName[];
  /** Σ `usage.prompt_tokens` the client saw over the same requests. */
  clientPromptTokens?: number;
  /** Σ `cached_tokens` the client saw; undefined when the server reported none. */
  clientCachedTokens?: number;
  /**
   * Prompt tokens of the client's requests that reached the server but did
   * not complete (failed, cut, aborted, in flight): the server may count
   * them, the client's usage does not.
   */
  clientUnfinishedPromptTokens?: number;
  /** Compare the server's prompt total with the client's (default true; false mid-run, when requests in flight make them differ). */
  compareTotals?: boolean;
  /** KV blocks onboarded from host memory and from disk (Dynamo KVBM), shown beside the split. */
  onboardBlocks?: { host?: number; disk?: number };
}

/** The offload tiers named in a split, as text (`50.0% host memory, 24.0% disk`), or "". */
function tiers(split: PromptSplit): string {
  if (split.host === undefined) return "";
  const named: [number | undefined, string][] = [
    [split.host, "host memory"],
    [split.disk, "disk"],
    [split.remote, "remote"],
    [split.external, "tier not named"],
  ];
  const shown = named.filter(([v]) => (v ?? 0) > 0)
    .map(([v, name]) => `${pct(v!, split.prompt)} ${name}`);
  return shown.length > 0 ? ` (${shown.join(", ")})` : "";
}

const pct = (part: number, whole: number): string =>
  whole > 0 ? `${(part / whole * 100).toFixed(1)}%` : "-";

/**
 * The split as lines of text: the server's view, the client's beside it,
 * and their disagreement when the cached shares differ by more than one
 * point.
 *
 * @example Usage
 * ```ts
 * import { renderAttribution } from "./attribution.ts";
 * import assert from "node:assert/strict";
 *
 * const lines = renderAttribution(
 *   { prompt: 1000, computed: 100, device: 160, offload: 740 },
 *   { engines: ["vllm"], clientPromptTokens: 1000, clientCachedTokens: 900 },
 * );
 * assert.equal(
 *   lines[0],
 *   "KV source (server counters, vllm): 1,000 prompt tokens: 10.0% computed, 16.0% GPU prefix cache, 74.0% offload tier",
 * );
 * assert.equal(lines[1], "Client usage: 1,000 prompt tokens, 90.0% reported cached");
 * assert.equal(lines.length, 2); // they agree
 * ```
 */
export function renderAttribution(
  split: PromptSplit,
  options: AttributionOptions = {},
): string[] {
  const engines = options.engines?.length
    ? `, ${options.engines.join(" + ")}`
    : "";
  const parts = [`${pct(split.computed, split.prompt)} computed`];
  if (split.device !== undefined) {
    parts.push(`${pct(split.device, split.prompt)} GPU prefix cache`);
  }
  if (split.offload !== undefined) {
    parts.push(
      `${pct(split.offload, split.prompt)} offload tier${tiers(split)}`,
    );
  }
  if (split.cached !== undefined) {
    parts.push(`${pct(split.cached, split.prompt)} cached (tier not reported)`);
  }
  const head = `KV source (server counters${engines}): ${
    n(split.prompt)
  } prompt tokens`;
  const lines = [
    split.problem === undefined
      ? `${head}: ${parts.join(", ")}`
      : `${head}, not split: ${split.problem}`,
  ];
  const onboard = options.onboardBlocks;
  if (onboard?.host !== undefined || onboard?.disk !== undefined) {
    lines.push(
      `KVBM onboarded ${n(onboard.host ?? 0)} KV blocks from host memory and ${
        n(onboard.disk ?? 0)
      } from disk (blocks, not tokens: KVBM's metrics give no block size)`,
    );
  }
  const prompt = options.clientPromptTokens;
  if (prompt === undefined) return lines;
  const cached = options.clientCachedTokens;
  lines.push(
    `Client usage: ${n(prompt)} prompt tokens, ${
      cached === undefined
        ? "cached tokens not reported"
        : `${pct(cached, prompt)} reported cached`
    }`,
  );
  // The totals: the server counts every request that reached it; the
  // client's usage only its completed ones.
  const unfinished = options.clientUnfinishedPromptTokens ?? 0;
  const slack = Math.max(unfinished, 0) + 0.01 * Math.max(prompt, split.prompt);
  if (
    (options.compareTotals ?? true) && Math.abs(split.prompt - prompt) > slack
  ) {
    lines.push(
      `The server counted ${n(split.prompt)} prompt tokens, the client ${
        n(prompt)
      } in completed requests${
        unfinished > 0
          ? ` and ${n(unfinished)} in requests that did not complete`
          : ""
      }: ${
        split.prompt > prompt
          ? "the server also counted other traffic (another client, another shard of this run), so its split is not this run's alone"
          : "the server's counters missed part of the run (a URL left out or answering late, or counters that lag)"
      }`,
    );
  }
  if (
    cached !== undefined && prompt > 0 && split.prompt > 0 &&
    split.problem === undefined
  ) {
    const server = (split.prompt - split.computed) / split.prompt;
    const client = cached / prompt;
    if (Math.abs(server - client) > 0.01) {
      lines.push(
        `The server and the client disagree: ${
          pct(split.prompt - split.computed, split.prompt)
        } of prompt tokens served from cache by the server's counters, ${
          pct(cached, prompt)
        } by cached_tokens (other traffic on the server, requests in flight at the scrape, or a counter the engine fills differently)`,
      );
    }
  }
  return lines;
}
