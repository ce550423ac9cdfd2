/**
 * Scraping an engine's Prometheus `/metrics` during a run: every scrape is
 * parsed into the tier counters of {@linkcode readEngineMetrics}, and the
 * counters are turned into deltas over this run only, bridged across counter
 * resets (a server restarted mid-run starts its counters at 0 again: the
 * run's delta keeps what it had and adds the new counts, never negative,
 * never doubled). A scrape that fails is counted and reported once per
 * kind; it never stops the run.
 *
 * @module
 */
import {
  type CacheGauges,
  type EngineName,
  readEngineMetrics,
  type TierCounters,
} from "./engines.ts";
import { parsePrometheusText } from "./prometheus.ts";

/** The counters a run tracks, by name. */
const COUNTER_FIELDS = [
  "promptTokens",
  "computedTokens",
  "deviceHitTokens",
  "offloadHitTokens",
  "cachedTokens",
  "offloadQueryTokens",
  "preemptions",
  "generationTokens",
] as const satisfies readonly (keyof TierCounters)[];

/** One counter of one URL: its last raw value and what the run added up. */
interface Tracked {
  last: number;
  delta: number;
}

/** Options of {@linkcode MetricsScraper}. */
export interface MetricsScraperOptions {
  /** Sent as `Authorization: Bearer <key>` (engines that protect /metrics). */
  apiKey?: string;
  /** Time allowed for one scrape (default 5 000 ms). */
  timeoutMs?: number;
  /** Where a failure kind's first occurrence is reported (a line of text). */
  warn?: (text: string) => void;
  /** The clock scrapes are timed by (default `performance.now`). */
  now?: () => number;
}

/** One scrape of every URL, as the run sees it. */
export interface Scrape {
  /** When it was taken (ms of `now`). */
  at: number;
  /** URLs that answered with metrics. */
  ok: number;
  /** URLs that failed, with why. */
  failed: { url: string; error: string }[];
  /** Engines whose metrics were seen. */
  engines: EngineName[];
  /** Counter deltas since the run's first scrape, summed over the URLs. */
  counters: TierCounters;
  /** Gauges and capacities of this scrape (summed over URLs where it makes sense, else the last). */
  gauges: CacheGauges;
  /** Counter resets seen so far (a server restart), over all URLs and counters. */
  resets: number;
}

/**
 * Scrapes a set of `/metrics` URLs and keeps the run's counter deltas.
 *
 * @example Deltas over the run, across a server restart
 * ```ts
 * import { MetricsScraper } from "./scrape.ts";
 * import assert from "node:assert/strict";
 *
 * let hits = 100; // the counter as the server exposes it
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
 *   new Response(`vllm:prefix_cache_hits_total{model_name="m"} ${hits}\n`));
 * const scraper = new MetricsScraper([`http://127.0.0.1:${server.addr.port}/metrics`]);
 * await scraper.scrape(); // the run's start: 100 is the baseline
 * hits = 160;
 * assert.equal((await scraper.scrape()).counters.deviceHitTokens, 60);
 * hits = 25; // restarted: 0, then 25 more
 * const after = await scraper.scrape();
 * assert.equal(after.counters.deviceHitTokens, 85);
 * assert.equal(after.resets, 1);
 * await server.shutdown();
 * ```
 */
export class MetricsScraper {
  /** The URLs scraped. */
  readonly urls: readonly string[];
  /** Failed scrapes, by kind (`HTTP 404`, `timeout`, `unreadable`, `connect`). */
  readonly failures: Map<string, number> = new Map();
  readonly #options: MetricsScraperOptions;
  readonly #tracked = new Map<string, Map<string, Tracked>>();
  #resets = 0;
  #scrapes = 0;
  #chain: Promise<unknown> = Promise.resolve();

  /** Scrape `urls` (each a full `/metrics` URL). */
  constructor(urls: readonly string[], options: MetricsScraperOptions = {}) {
    this.urls = urls;
    this.#options = options;
  }

  /** Scrapes taken so far. */
  get scrapes(): number {
    return this.#scrapes;
  }

  /**
   * Scrape every URL once; never rejects. Scrapes run one after another (an
   * older answer arriving after a newer one would look like a reset).
   */
  scrape(): Promise<Scrape> {
    const next = this.#chain.then(() => this.#scrapeNow());
    this.#chain = next;
    return next;
  }

  async #scrapeNow(): Promise<Scrape> {
    const now = this.#options.now ?? (() => performance.now());
    const at = now();
    this.#scrapes++;
    const results = await Promise.all(this.urls.map((url) => this.#one(url)));
    const scrape: Scrape = {
      at,
      ok: 0,
      failed: [],
      engines: [],
      counters: {},
      gauges: {},
      resets: 0,
    };
    for (const [i, result] of results.entries()) {
      const url = this.urls[i];
      if ("error" in result) {
        scrape.failed.push({ url, error: result.error });
        continue;
      }
      scrape.ok++;
      for (const e of result.engines) {
        if (!scrape.engines.includes(e)) scrape.engines.push(e);
      }
      this.#track(url, result.counters);
      mergeGauges(scrape.gauges, result.gauges);
    }
    for (const tracked of this.#tracked.values()) {
      for (const [field, t] of tracked) {
        const key = field as keyof TierCounters;
        scrape.counters[key] = (scrape.counters[key] ?? 0) + t.delta;
      }
    }
    scrape.resets = this.#resets;
    return scrape;
  }

  async #one(
    url: string,
  ): Promise<
    | { engines: EngineName[]; counters: TierCounters; gauges: CacheGauges }
    | { error: string }
  > {
    const headers: Record<string, string> = {};
    if (this.#options.apiKey) {
      headers.authorization = `Bearer ${this.#options.apiKey}`;
    }
    let text: string;
    try {
      // No `Accept: application/openmetrics-text`: the Python engines would
      // answer in another format.
      const response = await fetch(url, {
        headers,
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 5000),
      });
      text = await response.text();
      if (!response.ok) return this.#failed(url, `HTTP ${response.status}`);
    } catch (error) {
      const timeout = error instanceof DOMException &&
        error.name === "TimeoutError";
      return this.#failed(
        url,
        timeout ? "timeout" : "connect",
        timeout ? undefined : (error as Error).message,
      );
    }
    try {
      return readEngineMetrics(parsePrometheusText(text));
    } catch (error) {
      return this.#failed(url, "unreadable", (error as Error).message);
    }
  }

  #failed(url: string, kind: string, detail?: string): { error: string } {
    const count = this.failures.get(kind) ?? 0;
    this.failures.set(kind, count + 1);
    const error = detail === undefined ? kind : `${kind}: ${detail}`;
    if (count === 0) {
      this.#options.warn?.(
        `[WARN] metrics ${url}: ${error} (the run goes on; further ${kind} failures are counted, not shown)`,
      );
    }
    return { error };
  }

  /** Fold one URL's raw counters into the run's deltas, bridging resets. */
  #track(url: string, counters: TierCounters): void {
    let tracked = this.#tracked.get(url);
    const first = tracked === undefined;
    if (tracked === undefined) {
      tracked = new Map();
      this.#tracked.set(url, tracked);
    }
    for (const field of COUNTER_FIELDS) {
      const value = counters[field];
      if (value === undefined) continue;
      const t = tracked.get(field);
      if (t === undefined) {
        // The URL's first scrape is the baseline; a counter that appears
        // later (labelled counters are created lazily) started at 0.
        tracked.set(field, { last: value, delta: first ? 0 : value });
        continue;
      }
      if (value >= t.last) t.delta += value - t.last;
      else {
        // A reset: the server started again from 0.
        t.delta += value;
        this.#resets++;
      }
      t.last = value;
    }
  }
}

function mergeGauges(into: CacheGauges, from: CacheGauges): void {
  for (
    const [key, value] of Object.entries(from) as [
      keyof CacheGauges,
      number | undefined,
    ][]
  ) {
    if (value === undefined) continue;
    // Capacities and counts of several engines add up; fractions and the
    // block size do not.
    const additive = key !== "deviceKvUsage" && key !== "blockSize";
    into[key] = additive ? (into[key] ?? 0) + value : value;
  }
}
