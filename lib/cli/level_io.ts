/**
 * The files and the start of one level of a run, the same for every
 * workload: its records files (the run directory's and `records`), the
 * server's scrapes (`metrics.jsonl`, `metrics_out`), the start (a shard's
 * clock, the start time, the workers' records as the source), `run.json`
 * and `summary.json` (and `output`). A sweep's level `N` writes the user's
 * files as `NAME.level-N.EXT`.
 *
 * @module
 */
import type { ClockOffset } from "../run/clock_offset.ts";
import {
  openRecordsFile,
  type RecordsFile,
  type RunEnd,
} from "../run/records_file.ts";
import type { RecordSource } from "../run/runner.ts";
import { FailFast, withSeenFailure } from "../run/fail_fast.ts";
import type { RequestRecord } from "../types.ts";
import { err, out } from "./common.ts";
import type {
  LevelContext,
  PipelineLevel,
  RunVoice,
  Scale,
} from "./pipeline.ts";
import { writeRunInfo } from "./run_dir.ts";
import { prepareStart } from "./scale.ts";
import { metricsPathFor, RunMetrics } from "./server_metrics.ts";

/**
 * `NAME.jsonl` → `NAME.level-2.jsonl` for the second level of a sweep.
 *
 * @example Usage
 * ```ts
 * import { levelPath } from "./level_io.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(levelPath("runs/r.jsonl", { index: 1, levels: 3 }), "runs/r.level-2.jsonl");
 * assert.equal(levelPath("r.d/out", { index: 0, levels: 2 }), "r.d/out.level-1");
 * assert.equal(levelPath("r.jsonl", { index: 0, levels: 1 }), "r.jsonl");
 * ```
 */
export function levelPath(
  path: string,
  level: { index: number; levels: number },
): string {
  const { index: i, levels } = level;
  if (levels === 1) return path;
  const dot = path.lastIndexOf(".");
  return dot > path.lastIndexOf("/")
    ? `${path.slice(0, dot)}.level-${i + 1}${path.slice(dot)}`
    : `${path}.level-${i + 1}`;
}

/** Options of {@linkcode openLevel}. */
export interface OpenLevelOptions {
  /** The endpoint's base URL. */
  baseUrl: string;
  /** Bearer key of the scrapes and the clock probes. */
  apiKey?: string;
  /** Workers, shard, start time. */
  scale: Scale;
  /** How the start's messages read. */
  voice: RunVoice;
  /** `records`: the user's records file. */
  records?: string;
  /** `metrics_out`: the user's scrapes file (default: beside `records`). */
  metricsOut?: string;
  /**
   * Scrape the server's metrics: its `/metrics` URLs (empty: the default),
   * and the cadence of the scrapes between the workload's own, from the
   * start on (`scrapeEveryMs`).
   */
  metrics?: { urls?: string[]; everyMs?: number };
  /** Told the first scrape is in (before the start). */
  onMetrics?: (metrics: RunMetrics) => void;
  /** Stops the wait for the start. */
  signal: AbortSignal;
}

/** One level's files and start, opened by {@linkcode openLevel}. */
export interface OpenedLevel {
  /** Its records files: the run directory's first, the user's last. */
  records: RecordsFile[];
  /** The server's metrics, when scraped. */
  serverMetrics?: RunMetrics;
  /** When the level starts (`performance.now()`). */
  startedAt: number;
  /** The clock against the reference, for a shard or workers. */
  clock?: ClockOffset;
  /** With workers: their records, once they are told to start. */
  source?: RecordSource;
  /** The level's name of a user's file. */
  at(path: string): string;
  /** Write `run.json` (in the level's directory, if any). */
  writeRunInfo(info: {
    command: string;
    argv: string[];
    params: Record<string, unknown>;
    workload?: unknown;
  }): Promise<void>;
  /** Write `summary.json` and `output` (if given); resolves to `output`'s path. */
  writeSummary(
    json: Record<string, unknown>,
    output?: string,
  ): Promise<string | undefined>;
  /** End every records file with the run's end line. */
  end(end: RunEnd): void;
  /** Close the records files, and stop the scrapes' cadence. */
  close(): void;
}

/**
 * Open a level: its records files, the first scrape of the server, then
 * the start (a shard's clock probe, the wait for the start time).
 *
 * @example Usage
 * ```ts
 * import { openLevel } from "./level_io.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const io = await openLevel(
 *   { level: { label: "a" }, index: 1, levels: 2, dir, written: [] },
 *   {
 *     baseUrl: "http://127.0.0.1:9/v1/",
 *     scale: { workers: 1 },
 *     voice: {
 *       workersStarted: () => "",
 *       shardClock: () => "",
 *       startWait: () => "",
 *       startLate: () => "",
 *     },
 *     signal: new AbortController().signal,
 *   },
 * );
 * assert.equal(io.at(`${dir}/s.json`), `${dir}/s.level-2.json`);
 * assert.equal(await io.writeSummary({ ok: 1 }, `${dir}/s.json`), `${dir}/s.level-2.json`);
 * assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/summary.json`)), { ok: 1 });
 * io.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function openLevel<L extends PipelineLevel>(
  c: LevelContext<L>,
  options: OpenLevelOptions,
): Promise<OpenedLevel> {
  const at = (path: string) => levelPath(path, c);
  const records: RecordsFile[] = [];
  const metricsPaths: string[] = [];
  if (c.dir !== undefined) metricsPaths.push(`${c.dir}/metrics.jsonl`);
  if (options.metricsOut) metricsPaths.push(at(options.metricsOut));
  else if (options.records) {
    metricsPaths.push(metricsPathFor(at(options.records)));
  }
  // The user's files this level creates, removed if it fails to open.
  const userPaths = [options.records && at(options.records), ...metricsPaths]
    .filter((p): p is string =>
      !!p && (c.dir === undefined || !p.startsWith(`${c.dir}/`))
    );
  const fresh = await _missing(userPaths);
  let serverMetrics: RunMetrics | undefined;
  try {
    if (c.dir !== undefined) {
      records.push(openRecordsFile(`${c.dir}/records.jsonl`));
    }
    if (options.records) records.push(openRecordsFile(at(options.records)));
    // The server's view: engine, capacities, counters before the first request.
    serverMetrics = options.metrics
      ? await RunMetrics.start({
        baseUrl: options.baseUrl,
        urls: options.metrics.urls,
        apiKey: options.apiKey,
        paths: metricsPaths,
        startedAt: performance.now(),
        warn: err,
      })
      : undefined;
    if (serverMetrics !== undefined) options.onMetrics?.(serverMetrics);
    const opened = await _start(c, options, { records, serverMetrics, at });
    c.opened?.();
    return opened;
  } catch (error) {
    // Refused (the pre-flight) or failed before the first request: the
    // files this level created go (the run directory's, by the pipeline).
    for (const file of records) file.close();
    serverMetrics?.close();
    for (const path of fresh) await Deno.remove(path).catch(() => {});
    throw error;
  }
}

/** The paths of `paths` that do not exist. */
async function _missing(paths: string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const path of paths) {
    try {
      await Deno.lstat(path);
    } catch {
      missing.push(path);
    }
  }
  return missing;
}

/** The start of an opened level (a shard's clock, the start time), and its handle. */
async function _start<L extends PipelineLevel>(
  c: LevelContext<L>,
  options: OpenLevelOptions,
  files: {
    records: RecordsFile[];
    serverMetrics?: RunMetrics;
    at: (path: string) => string;
  },
): Promise<OpenedLevel> {
  const { records, serverMetrics, at } = files;
  const { scale, voice } = options;
  const pool = c.pool;
  const { startedAt, clock } = await prepareStart({
    part: scale.part,
    pooled: pool !== undefined,
    startAt: scale.startAt,
    baseUrl: options.baseUrl,
    apiKey: options.apiKey,
    signal: options.signal,
    onClock: (clock) => out(voice.shardClock(scale.part!, clock)),
    onWait: (ms) => out(voice.startWait(scale.startAt!, ms, scale.part)),
    onLate: (ms) => err(voice.startLate(scale.startAt!, ms)),
  });
  if (options.metrics?.everyMs !== undefined) {
    serverMetrics?.sampleEvery(options.metrics.everyMs);
  }
  const source: RecordSource | undefined = pool === undefined
    ? undefined
    : async (handlers) => {
      await pool.start(startedAt);
      // The workers' runners fail fast on their own records; the parent
      // says why and names the first error, as one process would.
      const watch = new FailFast();
      let reason: string | undefined;
      const onRecord = (record: RequestRecord): void => {
        reason ??= watch.observe(record);
        handlers.onRecord(record);
      };
      const summary = await pool.follow({ ...handlers, onRecord }, {
        startedAt,
        signal: options.signal,
        onLines: (text, n) => {
          for (const file of records) file.writeLines(text, n);
        },
      });
      return withSeenFailure(summary, { watch, reason });
    };
  return {
    records,
    serverMetrics,
    startedAt,
    clock,
    source,
    at,
    async writeRunInfo(info): Promise<void> {
      if (c.dir === undefined) return;
      await writeRunInfo(c.dir, {
        ...info,
        server: serverMetrics?.server,
        startedAt,
        part: {
          level: c.levels > 1 ? { index: c.index + 1, of: c.levels } : null,
          shard: scale.part ?? null,
          workers: scale.workers > 1 ? scale.workers : null,
        },
        clock,
      });
    },
    async writeSummary(json, output): Promise<string | undefined> {
      const text = JSON.stringify(json, null, 2) + "\n";
      if (c.dir !== undefined) {
        await Deno.writeTextFile(`${c.dir}/summary.json`, text);
      }
      if (!output) return undefined;
      await Deno.writeTextFile(at(output), text);
      return at(output);
    },
    end(end: RunEnd): void {
      for (const file of records) file.end(end);
    },
    close(): void {
      for (const file of records) file.close();
      // The run is over: no scrape on the cadence after it.
      serverMetrics?.stopSampling();
    },
  };
}
