/**
 * Scraping an engine's Prometheus `/metrics` during a run. Each scrape keeps
 * the run's delta of every raw series (metric name and its full label set),
 * bridged across a reset of that series alone (a restarted server or DP rank
 * starts its counters at 0 again: the delta keeps what it had and adds the
 * new counts). Sums over label sets and derived values (computed = prompt −
 * hits) are read from the summed deltas by {@linkcode readEngineMetrics},
 * over every URL at once, so each meaning has one source for the whole run.
 *
 * A URL whose series set or lifetime changes between scrapes — a series
 * vanishes, a process seen before answers again (`_created`,
 * `process_start_time_seconds`), or a series goes backwards twice — is
 * answered by several servers (a load balancer) or keeps restarting: it is
 * said once and its counters are left out, never added. A URL whose first
 * answer comes after the run's first scrape is said once: its counters
 * cover the run from then on. Counters that disagree (hits above the prompt
 * tokens, computed tokens going backwards) are said once, never clamped. A
 * scrape that fails is counted and reported once per kind; it never stops
 * the run.
 *
 * @module
 */
import {
  type CacheGauges,
  type EngineName,
  type MeaningSources,
  readEngineMetrics,
  type TierCounters,
} from "./engines.ts";
import {
  parsePrometheusText,
  type PromExposition,
  type PromSample,
} from "./prometheus.ts";

/** One raw series of one URL: its last value and what the run added up. */
interface Series {
  sample: PromSample;
  counter: boolean;
  last: number;
  delta: number;
  /** Scrapes at which it went backwards. */
  decreases: number;
}

/** What the run knows of one URL. */
interface UrlState {
  series: Map<string, Series>;
  types: Map<string, string>;
  help: Map<string, string>;
  /** Process identities seen, in order (from `_created` and start times). */
  identities: string[];
  /** Why its counters are left out, once decided. */
  leftOut?: string;
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
  /** Counter deltas since the run's first scrape, read over every URL kept. */
  counters: TierCounters;
  /** Which metric gave each counter (one source per meaning over every URL). */
  sources: MeaningSources;
  /** Gauges and capacities of this scrape (summed over URLs where it makes sense, else the last). */
  gauges: CacheGauges;
  /** Restarts seen so far: (URL, scrape) pairs where a counter series went backwards and was bridged. */
  resets: number;
  /** What the run's counters cannot be trusted for, one line each (URLs left out, late baselines, disagreeing counters). */
  notes: string[];
}

/** The key of a raw series: its name and full label set. */
function seriesKey(sample: PromSample): string {
  const labels = Object.entries(sample.labels).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0
  );
  return JSON.stringify([sample.name, labels]);
}

const SUFFIXES = ["_total", "_count", "_sum", "_bucket"];

/** Whether a sample is a counter (cumulative): by its family's `# TYPE`, or a `_total` name. */
function isCounter(name: string, types: ReadonlyMap<string, string>): boolean {
  if (name.endsWith("_created")) return false;
  const family = [
    name,
    ...SUFFIXES.filter((s) => name.endsWith(s)).map((s) =>
      name.slice(0, -s.length)
    ),
  ].map((n) => types.get(n)).find((t) => t !== undefined);
  if (family !== undefined) {
    return family === "counter" || family === "histogram" ||
      family === "summary";
  }
  return SUFFIXES.some((s) => name.endsWith(s));
}

/** The process identity a scrape shows: its `_created` and start-time values ("" when none). */
function identityOf(exposition: PromExposition): string {
  const parts = exposition.samples
    .filter((s) =>
      s.name.endsWith("_created") || s.name === "process_start_time_seconds"
    )
    .map((s) => `${seriesKey(s)}=${s.value}`)
    .sort();
  return parts.join("\n");
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
  readonly #state = new Map<string, UrlState>();
  readonly #notes: string[] = [];
  #resets = 0;
  #scrapes = 0;
  #lastComputed?: number;
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
      sources: {},
      gauges: {},
      resets: 0,
      notes: [],
    };
    for (const [i, result] of results.entries()) {
      const url = this.urls[i];
      if ("error" in result) {
        scrape.failed.push({ url, error: result.error });
        continue;
      }
      scrape.ok++;
      this.#track(url, result);
      if (this.#state.get(url)?.leftOut !== undefined) continue;
      const reading = readEngineMetrics(result);
      for (const e of reading.engines) {
        if (!scrape.engines.includes(e)) scrape.engines.push(e);
      }
      mergeGauges(scrape.gauges, reading.gauges);
    }
    this.#leaveOutRepeats();
    const deltas = this.#deltas();
    if (deltas.samples.length > 0) {
      const reading = readEngineMetrics(deltas);
      scrape.counters = reading.counters;
      scrape.sources = reading.sources;
    }
    this.#checkConsistency(scrape.counters);
    scrape.resets = this.#resets;
    scrape.notes = [...this.#notes];
    return scrape;
  }

  /**
   * A URL whose counters equal another's, series for series and value for
   * value (some not 0), is the same server under two URLs: left out.
   */
  #leaveOutRepeats(): void {
    const seen = new Map<string, string>();
    for (const [url, state] of this.#state) {
      if (state.leftOut !== undefined) continue;
      const counters = [...state.series.entries()].filter(([, s]) => s.counter);
      if (!counters.some(([, s]) => s.last !== 0)) continue;
      const print = counters.map(([k, s]) => `${k}=${s.last}`).sort().join(
        "\n",
      );
      const first = seen.get(print);
      if (first === undefined) {
        seen.set(print, url);
        continue;
      }
      state.leftOut = `its counters repeat those of ${first}`;
      this.#note(
        `metrics ${url}: its counters repeat those of ${first} series for series (the same server under two URLs): left out, not added`,
      );
    }
  }

  /** Every kept URL's series with their run deltas (counters) or last values (gauges). */
  #deltas(): PromExposition {
    const samples: PromSample[] = [];
    const types = new Map<string, string>();
    const help = new Map<string, string>();
    for (const state of this.#state.values()) {
      if (state.leftOut !== undefined) continue;
      for (const s of state.series.values()) {
        samples.push({
          name: s.sample.name,
          labels: s.sample.labels,
          value: s.counter ? s.delta : s.last,
        });
      }
      for (const [k, v] of state.types) types.set(k, v);
      for (const [k, v] of state.help) help.set(k, v);
    }
    return { samples, types, help };
  }

  #note(text: string): void {
    if (this.#notes.includes(text)) return;
    this.#notes.push(text);
    this.#options.warn?.(`[WARN] ${text}`);
  }

  /** Hits above the prompt tokens, or computed tokens going backwards: said, never clamped. */
  #checkConsistency(c: TierCounters): void {
    const hits = (c.deviceHitTokens ?? 0) + (c.offloadHitTokens ?? 0) +
      (c.cachedTokens ?? 0);
    if (c.promptTokens !== undefined && hits > c.promptTokens) {
      this.#note(
        `metrics: the counters disagree: ${
          n(hits)
        } prompt tokens served from cache but ${
          n(c.promptTokens)
        } prompt tokens in all (an engine that counts hits when a request is scheduled and prompt tokens at its first token, with requests in flight); the split is read from the last scrape`,
      );
    }
    const computed = c.computedTokens;
    if (computed !== undefined) {
      if (this.#lastComputed !== undefined && computed < this.#lastComputed) {
        this.#note(
          `metrics: computed prompt tokens went backwards between scrapes (${
            n(this.#lastComputed)
          } to ${
            n(computed)
          }): the engine moves its counters at different moments of a request (computed = prompt − hits mid-request); the end's figures read the last scrape, taken after the run stopped`,
        );
      }
      this.#lastComputed = computed;
    }
  }

  async #one(url: string): Promise<PromExposition | { error: string }> {
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
      return parsePrometheusText(text);
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

  /** Fold one URL's raw series into the run's deltas, per series. */
  #track(url: string, exposition: PromExposition): void {
    const identity = identityOf(exposition);
    let state = this.#state.get(url);
    if (state === undefined) {
      state = {
        series: new Map(),
        types: new Map(exposition.types),
        help: new Map(exposition.help),
        identities: identity === "" ? [] : [identity],
      };
      this.#state.set(url, state);
      for (const sample of exposition.samples) {
        const counter = isCounter(sample.name, exposition.types);
        state.series.set(seriesKey(sample), {
          sample,
          counter,
          last: sample.value,
          delta: 0,
          decreases: 0,
        });
      }
      if (this.#scrapes > 1) {
        this.#note(
          `metrics ${url}: no answer at the run's start; its counters cover the run from scrape ${this.#scrapes} on, not the whole run`,
        );
      }
      return;
    }
    if (state.leftOut !== undefined) return;
    for (const [k, v] of exposition.types) state.types.set(k, v);
    for (const [k, v] of exposition.help) state.help.set(k, v);
    const seen = new Set<string>();
    let wentBack = false;
    let twice = false;
    for (const sample of exposition.samples) {
      const key = seriesKey(sample);
      seen.add(key);
      const s = state.series.get(key);
      if (s === undefined) {
        // Created after the baseline (labelled counters are created
        // lazily): it started at 0.
        const counter = isCounter(sample.name, state.types);
        state.series.set(key, {
          sample,
          counter,
          last: sample.value,
          delta: counter ? sample.value : 0,
          decreases: 0,
        });
        continue;
      }
      if (s.counter && sample.value < s.last) {
        // This series started again from 0 (its process restarted).
        s.delta += sample.value;
        s.decreases++;
        wentBack = true;
        if (s.decreases >= 2) twice = true;
      } else if (s.counter) s.delta += sample.value - s.last;
      s.last = sample.value;
    }
    const gone = [...state.series.values()].filter((s) =>
      s.counter && !seen.has(seriesKey(s.sample))
    );
    if (wentBack) {
      // A restart: labelled counters created lazily are absent until their
      // first count; they start again from 0.
      for (const s of gone) s.last = 0;
    }
    const vanished = wentBack ? 0 : gone.length;
    let changed = false;
    if (identity !== "" && identity !== state.identities.at(-1)) {
      changed = state.identities.includes(identity);
      state.identities.push(identity);
    }
    const why = vanished > 0
      ? `${vanished} of its counter series vanished between two scrapes`
      : changed
      ? "a process seen before answered again after another one"
      : twice
      ? "a counter series went backwards at two scrapes"
      : undefined;
    if (why !== undefined) {
      state.leftOut = why;
      this.#note(
        `metrics ${url}: ${why}: several servers answer this URL (a load balancer, DP ranks behind one port) or it keeps restarting, so its counters are left out of the split; give each server's own /metrics URL`,
      );
      return;
    }
    if (wentBack) this.#resets++;
  }
}

const n = (x: number): string => Math.round(x).toLocaleString("en-US");

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
