/**
 * What the HTML report shows of a run, derived once from its files and ready
 * to embed as JSON: per-request points, inter-token latencies over time,
 * CDFs, cache hit rates over time (the client's `cached_tokens` and the
 * server's counters by tier), per-turn figures, throughput, requests in
 * flight, client lag, the percentile table, the verdict and the run's
 * parameters.
 *
 * Every per-request figure comes from {@linkcode requestFigures},
 * {@linkcode interTokenLatencies} and {@linkcode outputReads}, the percentile
 * table from {@linkcode LatencyDistributions}: a report shows the numbers the
 * commands printed. Warm-up requests are left out of every figure, as the
 * commands leave them out, and so are requests aborted by the run's stop;
 * requests in flight count every request that was.
 *
 * Times are seconds since the run started (on the records' clock, merged
 * through `timeOrigin` when records come from several processes); latencies
 * are milliseconds. Numbers are rounded to what a plot can show (times to
 * 1 ms, latencies to 0.01 ms, fractions to 0.01 %); the percentile table
 * keeps full precision. Above `itlPoints` output reads, the ITL plot keeps
 * the lowest and the highest ITL of each time slice (spikes stay visible);
 * the CDFs are exact quantiles of every sample.
 *
 * A run is a directory (`run.json`, `records.jsonl`, optional
 * `metrics.jsonl`, `summary.json`, of a replay `fidelity.jsonl`, of
 * `--verify` `verify.json` and `verify.jsonl`) or a records file alone.
 *
 * @module
 */
import { basename } from "node:path";
import {
  readRecordsFile,
  type RecordsFileContents,
} from "../run/records_file.ts";
import { readTextOr } from "../io/read_text.ts";
import { isObject } from "./samples.ts";
import { runData } from "./run_data.ts";
import { parseFidelity } from "./fidelity.ts";
import { verifyData } from "./verify.ts";
import type {
  FidelityRow,
  MetricsFileContents,
  MetricsHeader,
  MetricsScrape,
  RunData,
  RunDataOptions,
  RunInfo,
  VerifyData,
} from "./run_types.ts";

export * from "./run_types.ts";
export { cdf } from "./samples.ts";
export { runData } from "./run_data.ts";

/**
 * Read a metrics JSONL file (`metrics.jsonl` of a run, or the
 * `NAME.metrics.jsonl` beside a records file): the header line, then one
 * scrape per line.
 *
 * @example Usage
 * ```ts
 * import { readMetricsFile } from "./data.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * await Deno.writeTextFile(path, [
 *   { server: { engine: "vllm" }, urls: [], timeOrigin: 1e12, startedAt: 5 },
 *   { at: 5, elapsedMs: 0, counters: {}, gauges: {} },
 *   { at: 1005, elapsedMs: 1000, counters: { promptTokens: 10 }, gauges: {} },
 * ].map((l) => JSON.stringify(l)).join("\n") + "\n");
 * const { header, scrapes } = await readMetricsFile(path);
 * assert.equal(header?.server?.engine, "vllm");
 * assert.equal(scrapes[1].counters.promptTokens, 10);
 * await Deno.remove(path);
 * ```
 */
export async function readMetricsFile(
  path: string,
): Promise<MetricsFileContents> {
  const text = await readTextOr(path, `Cannot read metrics file "${path}"`);
  const out: MetricsFileContents = { scrapes: [] };
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(lines[i]);
    } catch {
      throw new SyntaxError(
        `Cannot read metrics file "${path}": line ${i + 1} is not JSON`,
      );
    }
    if (!isObject(value)) {
      throw new TypeError(
        `Cannot read metrics file "${path}": line ${i + 1} is not an object`,
      );
    }
    if (typeof value.at === "number") {
      out.scrapes.push({
        ...value,
        at: value.at,
        elapsedMs: typeof value.elapsedMs === "number" ? value.elapsedMs : NaN,
        counters: isObject(value.counters) ? value.counters : {},
        gauges: isObject(value.gauges) ? value.gauges : {},
      } as MetricsScrape);
    } else if (out.scrapes.length === 0 && out.header === undefined) {
      out.header = value as MetricsHeader;
    }
  }
  return out;
}

async function readJson(
  path: string,
  what: string,
): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`${what}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SyntaxError(`${what} is not JSON`);
  }
  if (!isObject(value)) throw new TypeError(`${what} is not a JSON object`);
  return value;
}

/** A replay's `fidelity.jsonl`, when the run directory has one. */
async function readFidelity(
  path: string,
  what: (file: string) => string,
): Promise<FidelityRow[] | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`${what("fidelity.jsonl")}: ${(error as Error).message}`);
  }
  try {
    return parseFidelity(text, "fidelity.jsonl");
  } catch (error) {
    throw new Error(`${what("")}${(error as Error).message}`);
  }
}

/** The text of a run directory's file, or undefined when it is not there. */
async function readOptional(
  path: string,
  what: string,
): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`${what}: ${(error as Error).message}`);
  }
}

/**
 * `--verify`'s files of a run directory (`verify.json`, `verify.jsonl`),
 * when it has them: a sweep's check, run after its last level, is in the
 * sweep's directory.
 *
 * @example Usage
 * ```ts
 * import { readVerify } from "./data.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * assert.equal(await readVerify(dir), undefined);
 * await Deno.writeTextFile(`${dir}/verify.json`, JSON.stringify({ verdict: "verify: …" }));
 * assert.deepEqual(await readVerify(dir), { verdict: "verify: …", pairs: [] });
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readVerify(
  dir: string,
  what: (file: string) => string = (file) =>
    `Cannot read run "${dir}": ${file}`,
): Promise<VerifyData | undefined> {
  const json = await readOptional(`${dir}/verify.json`, what("verify.json"));
  const jsonl = await readOptional(
    `${dir}/verify.jsonl`,
    what("verify.jsonl"),
  );
  try {
    return verifyData({ json, jsonl });
  } catch (error) {
    throw new Error(`${what("")}${(error as Error).message}`);
  }
}

/**
 * Read a run — a run directory (`records.jsonl`, and `run.json`,
 * `metrics.jsonl`, `summary.json` when there) or a records file alone — and
 * derive what the report shows.
 *
 * @example A records file alone
 * ```ts
 * import { loadRun } from "./data.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * const records = [0, 1, 2].map((i) => testRecord({
 *   session: i, sentAt: i * 1000, firstTokenAt: i * 1000 + 50, endAt: i * 1000 + 250,
 *   chunks: 3, completionTokens: 3, readGaps: [1000, 1000], promptTokens: 100,
 *   cachedTokens: 50 * i, tags: { context: i % 2 }, runStartedAt: 0,
 * }));
 * await Deno.writeTextFile(path, records.map((r) => JSON.stringify(r) + "\n").join(""));
 * const run = await loadRun(path, { name: "demo" });
 * assert.equal(run.command, "benchmark"); // its records carry contexts
 * assert.deepEqual(run.requests.t, [0, 1, 2]);
 * assert.deepEqual(run.requests.ttftMs, [50, 50, 50]);
 * assert.deepEqual(run.requests.group, [0, 1, 0]);
 * assert.equal(run.distributions.completed, 3);
 * assert.equal(run.verdict, undefined); // a records file has no summary
 * await Deno.remove(path);
 * ```
 *
 * @example A directory without records
 * ```ts
 * import { loadRun } from "./data.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await assert.rejects(loadRun(dir), /Cannot read run ".*": no records\.jsonl/);
 * await Deno.remove(dir);
 * ```
 */
export async function loadRun(
  pathOrDir: string,
  options: RunDataOptions = {},
): Promise<RunData> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(pathOrDir);
  } catch {
    throw new Error(
      `Cannot read run "${pathOrDir}": no such file or directory`,
    );
  }
  const name = options.name ??
    basename(pathOrDir.replace(/\/+$/, "")).replace(/\.jsonl$/, "");
  const cut = (file: string, contents: RecordsFileContents): void => {
    if (contents.cutLine === undefined) return;
    options.onWarning?.(
      `${file}: line ${contents.cutLine} was cut short (the run was killed while writing it): skipped`,
    );
  };
  if (!stat.isDirectory) {
    const records = await readRecordsFile(pathOrDir);
    cut(pathOrDir, records);
    return runData({ source: pathOrDir, records }, { ...options, name });
  }
  const dir = pathOrDir.replace(/\/+$/, "");
  const what = (file: string) => `Cannot read run "${pathOrDir}": ${file}`;
  let records: RecordsFileContents;
  try {
    await Deno.stat(`${dir}/records.jsonl`);
  } catch {
    throw new Error(`Cannot read run "${pathOrDir}": no records.jsonl`);
  }
  try {
    records = await readRecordsFile(`${dir}/records.jsonl`);
  } catch (error) {
    throw new Error(
      `Cannot read run "${pathOrDir}": ${(error as Error).message}`,
    );
  }
  cut(`${dir}/records.jsonl`, records);
  const info = await readJson(`${dir}/run.json`, what("run.json")) as
    | RunInfo
    | undefined;
  const summary = await readJson(`${dir}/summary.json`, what("summary.json"));
  let metrics: MetricsFileContents | undefined;
  try {
    metrics = await readMetricsFile(`${dir}/metrics.jsonl`);
  } catch (error) {
    if (!/no such file/.test((error as Error).message)) {
      throw new Error(
        `Cannot read run "${pathOrDir}": ${(error as Error).message}`,
      );
    }
  }
  const fidelity = await readFidelity(`${dir}/fidelity.jsonl`, what);
  const verify = await readVerify(dir, what);
  return runData(
    { source: pathOrDir, records, info, metrics, summary, fidelity, verify },
    { ...options, name },
  );
}
