/**
 * The server's view of a run, as both commands show it: the engine and its
 * version, a scrape of its `/metrics` before the first request, at every
 * report and at the end, each written as a line of a metrics JSONL file, and
 * the split of the run's prompt tokens by cache tier.
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

/** The scrapes of one run, and what the client saw to compare with. */
export class RunMetrics {
  /** What the endpoint says about itself. */
  readonly server: ServerInfo;
  readonly #scraper: MetricsScraper;
  readonly #files: Deno.FsFile[];
  readonly #startedAt: number;
  #last?: Scrape;
  #clientPrompt = 0;
  #clientCached = 0;
  #clientUnfinished = 0;
  #cachedReported = false;

  private constructor(
    server: ServerInfo,
    scraper: MetricsScraper,
    startedAt: number,
    files: Deno.FsFile[],
  ) {
    this.server = server;
    this.#scraper = scraper;
    this.#startedAt = startedAt;
    this.#files = files;
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
    const metrics = new RunMetrics(server, scraper, options.startedAt, files);
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
    return scrape;
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

  /** Close the file. */
  close(): void {
    for (const file of this.#files) file.close();
  }

  #line(value: unknown): void {
    const bytes = new TextEncoder().encode(JSON.stringify(value) + "\n");
    for (const file of this.#files) writeAllSync(file, bytes);
  }
}

/** The metrics file beside a records file: `run.jsonl` → `run.metrics.jsonl`. */
export function metricsPathFor(records: string): string {
  return records.replace(/(\.jsonl)?$/, ".metrics.jsonl");
}
