/**
 * The server's view of a run, as every workload shows it: the engine and
 * its version, a scrape of its `/metrics` before the first request, at every
 * report, on its own cadence in between (`--scrape-interval`: the report's
 * tier-over-time plot has that resolution, whatever the report interval) and
 * at the end, each written as a line of a metrics JSONL file, and the split
 * of the run's prompt tokens by cache tier.
 *
 * @module
 */
import { writeAllSync } from "../io/write_all.ts";
import {
  type PromptSplit,
  promptSplit,
  renderAttribution,
} from "../server/attribution.ts";
import { detectServer, type ServerInfo } from "../server/detect.ts";
import { MetricsScraper, type Scrape } from "../server/scrape.ts";
import type { Verdict, VerdictOptions } from "../server/verdict.ts";
import type { RequestRecord } from "../types.ts";

/** Options of {@linkcode RunMetrics.start}. */
export interface RunMetricsOptions {
  /** The endpoint's base URL (ending in `/v1/`). */
  baseUrl: string;
  /** `/metrics` URLs (default: the endpoint's origin + `/metrics`). */
  urls?: string[];
  /** Bearer key for the probes and scrapes. */
  apiKey?: string;
  /** Where each scrape goes as a JSON line (default: nowhere). */
  paths?: string[];
  /** `performance.now()` of the run's start. */
  startedAt: number;
  /** Where failure warnings go. */
  warn: (text: string) => void;
}

/**
 * The cadence of a run's scrapes between its reports, ms: `--scrape-interval`,
 * never coarser than the report interval (when the workload has one).
 *
 * @example Usage
 * ```ts
 * import { scrapeEveryMs } from "./server_metrics.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(scrapeEveryMs(2, 30), 2000); // a 30 s report interval: every 2 s
 * assert.equal(scrapeEveryMs(2, 0.5), 500); // never coarser than the reports
 * assert.equal(scrapeEveryMs(2), 2000); // a workload without reports
 * ```
 */
export function scrapeEveryMs(
  scrapeIntervalS: number,
  reportIntervalS?: number,
): number {
  return Math.min(scrapeIntervalS, reportIntervalS ?? Infinity) * 1000;
}

/**
 * The scrapes of one run, and what the client saw to compare with.
 *
 * @example Scrapes on a cadence between the run's own, until its last
 * ```ts
 * import { RunMetrics } from "./server_metrics.ts";
 * import { readMetricsFile } from "../report/data.ts";
 * import assert from "node:assert/strict";
 *
 * let hits = 0;
 * await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
 *   new Response(`vllm:prefix_cache_hits_total{model_name="m"} ${hits += 10}\n`));
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * const metrics = await RunMetrics.start({
 *   baseUrl: `http://127.0.0.1:${server.addr.port}/v1/`,
 *   paths: [path],
 *   startedAt: performance.now(),
 *   warn: () => {},
 * });
 * metrics.sampleEvery(10);
 * while ((await readMetricsFile(path)).scrapes.length < 4) {
 *   await new Promise((r) => setTimeout(r, 10));
 * }
 * await metrics.finish(); // the last scrape: the cadence stops
 * const n = (await readMetricsFile(path)).scrapes.length;
 * await new Promise((r) => setTimeout(r, 50));
 * assert.equal((await readMetricsFile(path)).scrapes.length, n);
 * metrics.close();
 * await Deno.remove(path);
 * ```
 */
export class RunMetrics {
  /** What the endpoint says about itself. */
  readonly server: ServerInfo;
  readonly #scraper: MetricsScraper;
  readonly #files: Deno.FsFile[];
  readonly #startedAt: number;
  readonly #warn: (text: string) => void;
  #last?: Scrape;
  #clientPrompt = 0;
  #clientCached = 0;
  #clientUnfinished = 0;
  #cachedReported = false;
  #everyMs?: number;
  #timer?: ReturnType<typeof setTimeout>;
  #stopped = false;
  #closed = false;
  #failedLine = false;

  private constructor(
    server: ServerInfo,
    scraper: MetricsScraper,
    startedAt: number,
    files: Deno.FsFile[],
    warn: (text: string) => void,
  ) {
    this.server = server;
    this.#scraper = scraper;
    this.#startedAt = startedAt;
    this.#files = files;
    this.#warn = warn;
  }

  /** Probe the server, open the file, and take the run's first scrape. */
  static async start(options: RunMetricsOptions): Promise<RunMetrics> {
    const urls = options.urls?.length
      ? options.urls
      : [`${new URL(options.baseUrl).origin}/metrics`];
    const server = await detectServer(options.baseUrl, {
      apiKey: options.apiKey,
    });
    const files = (options.paths ?? []).map((path) => {
      try {
        return Deno.openSync(path, {
          write: true,
          create: true,
          truncate: true,
        });
      } catch (error) {
        throw new Error(
          `Cannot open metrics file "${path}": ${(error as Error).message}`,
        );
      }
    });
    const scraper = new MetricsScraper(urls, {
      apiKey: options.apiKey,
      warn: (text) => options.warn(text + "\n"),
    });
    const metrics = new RunMetrics(
      server,
      scraper,
      options.startedAt,
      files,
      options.warn,
    );
    metrics.#line({
      server,
      urls,
      timeOrigin: performance.timeOrigin,
      startedAt: options.startedAt,
    });
    await metrics.scrape();
    return metrics;
  }

  /** The latest scrape. */
  get last(): Scrape | undefined {
    return this.#last;
  }

  /** Failed scrapes by kind. */
  get failures(): ReadonlyMap<string, number> {
    return this.#scraper.failures;
  }

  /** Count a record's usage on the client's side. */
  add(record: RequestRecord): void {
    if (record.warmup) return;
    if (!record.ok) {
      // Reached the server, never completed: the server may count it.
      this.#clientUnfinished += record.promptTokens ??
        record.expectedPromptTokens ?? 0;
      return;
    }
    if (record.promptTokens === undefined) return;
    this.#clientPrompt += record.promptTokens;
    if (record.cachedTokens !== undefined) {
      this.#clientCached += record.cachedTokens;
      this.#cachedReported = true;
    }
  }

  /** Scrape now; the scrape is also written to the file. */
  async scrape(): Promise<Scrape> {
    const scrape = await this.#scraper.scrape();
    this.#last = scrape;
    this.#line({ ...scrape, elapsedMs: scrape.at - this.#startedAt });
    this.#arm();
    return scrape;
  }

  /**
   * Scrape every `ms` from now on, between the caller's own scrapes (each
   * scrape, the caller's or this cadence's, starts the next wait: one GET
   * per URL per `ms` at most, none piling up behind a slow server), until
   * {@linkcode RunMetrics.finish} or {@linkcode RunMetrics.close}.
   */
  sampleEvery(ms: number): void {
    if (!(ms > 0)) {
      throw new RangeError(
        `Cannot scrape every ${ms} ms: expected a positive interval`,
      );
    }
    this.#everyMs = ms;
    this.#arm();
  }

  /** Stop the cadence (the run is over); scrapes asked for still run. */
  stopSampling(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** Stop the cadence, and take the run's last scrape. */
  finish(): Promise<Scrape> {
    this.stopSampling();
    return this.scrape();
  }

  /** The server's split of the prompt tokens so far, when its metrics say. */
  split(): PromptSplit | undefined {
    return this.#last === undefined
      ? undefined
      : promptSplit(this.#last.counters);
  }

  /** Why there is no split, for the verdict. */
  noSplitReason(): string {
    const failures = [...this.#scraper.failures.keys()];
    if (this.#last?.ok === 0 && failures.length > 0) {
      return `its /metrics could not be read: ${failures.join(", ")}`;
    }
    const leftOut = this.#last?.notes.filter((n) => n.includes("left out"));
    if (leftOut?.length) return leftOut.join("; ");
    return "its /metrics has no counters kvbench knows";
  }

  /** What the verdict needs from the server's side (`shard`: this process runs one part of a split run). */
  verdictOptions(shard = false): VerdictOptions {
    return {
      split: this.split(),
      noSplitReason: this.noSplitReason(),
      counters: this.#last?.counters,
      engine: this.#last?.engines.includes("llamacpp")
        ? "llamacpp"
        : this.server.engine,
      shard,
    };
  }

  /** The server's fields of summary.json for a run and its verdict. */
  summary(verdict: Verdict): Record<string, unknown> {
    return {
      ...this.server,
      split: this.split() ?? null,
      sources: this.#last?.sources ?? {},
      resets: this.#last?.resets ?? 0,
      notes: this.#last?.notes ?? [],
      scrape_failures: Object.fromEntries(this.failures),
      offload_share: verdict.offloadShare ?? null,
      device_share: verdict.deviceShare ?? null,
      tier_shares: verdict.tierShares ?? null,
      reusable_tokens: verdict.reusableTokens ?? null,
      verdict: verdict.text,
    };
  }

  /**
   * The split as lines (server and client), or one line saying why not;
   * `final` (the run's end) also compares the server's prompt total with
   * the client's.
   */
  render(final = false): string {
    const split = this.split();
    if (split === undefined) {
      return `KV source: not known (${this.noSplitReason()})\n`;
    }
    const c = this.#last?.counters ?? {};
    return renderAttribution(split, {
      engines: this.#last?.engines,
      clientPromptTokens: this.#clientPrompt,
      clientCachedTokens: this.#cachedReported ? this.#clientCached : undefined,
      clientUnfinishedPromptTokens: this.#clientUnfinished,
      compareTotals: final,
      onboardBlocks: c.onboardHostBlocks !== undefined ||
          c.onboardDiskBlocks !== undefined
        ? { host: c.onboardHostBlocks, disk: c.onboardDiskBlocks }
        : undefined,
    }).join("\n") + "\n";
  }

  /** Stop the cadence and close the file (a scrape still in flight is not written). */
  close(): void {
    this.stopSampling();
    this.#closed = true;
    for (const file of this.#files) file.close();
  }

  /** The cadence's next scrape, `everyMs` after the latest. */
  #arm(): void {
    if (this.#everyMs === undefined || this.#stopped) return;
    clearTimeout(this.#timer);
    const timer = setTimeout(() => {
      this.scrape().catch((error) => {
        // The cadence goes on (a server can answer again), said once; the
        // run goes on (its last scrape says the rest).
        this.#arm();
        if (this.#failedLine) return;
        this.#failedLine = true;
        this.#warn(`[WARN] metrics: ${(error as Error).message}\n`);
      });
    }, this.#everyMs);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  #line(value: unknown): void {
    if (this.#closed) return;
    const bytes = new TextEncoder().encode(JSON.stringify(value) + "\n");
    for (const file of this.#files) writeAllSync(file, bytes);
  }
}

/** The metrics file beside a records file: `run.jsonl` → `run.metrics.jsonl`. */
export function metricsPathFor(records: string): string {
  return records.replace(/(\.jsonl)?$/, ".metrics.jsonl");
}
