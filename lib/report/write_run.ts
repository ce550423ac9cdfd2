/**
 * A run directory written from a script: the files `kvbench benchmark` and
 * `kvbench trie` write (`run.json`, `records.jsonl`, `summary.json`,
 * `report.html`), so `kvbench report` and `kvbench compare` read a script's
 * run as they read the commands' runs.
 *
 * @module
 */
import { writeRunInfo } from "../cli/run_dir.ts";
import { openRecordsFile, type RunEnd } from "../run/records_file.ts";
import type { RunSummary } from "../run/runner.ts";
import type { RequestRecord } from "../types.ts";
import { loadRun, type RunData } from "./data.ts";
import { renderReport } from "./html.ts";

/** Options of {@linkcode writeRunDirectory}. */
export interface WriteRunDirectoryOptions {
  /** The run's records, in the order they finished. */
  records: Iterable<RequestRecord>;
  /**
   * What {@linkcode run} resolved to: the records file's last line takes
   * its start, its wall time and its stop reason. Without it, the run
   * starts at its first record's run start (else its first send), lasts
   * until its last record ended, and stopped `exhausted`.
   */
  run?: RunSummary;
  /** `run.json`'s `command` (default `script`). */
  command?: string;
  /** `run.json`'s command line, credentials masked (default none). */
  argv?: string[];
  /** `run.json`'s parameters, credentials masked (default none). */
  params?: Record<string, unknown>;
  /** The engine and its version, as the server said. */
  server?: { engine?: string; version?: string; [key: string]: unknown };
  /** Written as `summary.json` when given. */
  summary?: Record<string, unknown>;
  /** Write `report.html` (default true). */
  report?: boolean;
  /** The report's title. */
  title?: string;
  /** Percentiles of the report's table (default 50, 90, 95, 99). */
  percentiles?: readonly number[];
}

/** The records file's last line of records without a {@linkcode RunSummary}. */
function derivedEnd(records: readonly RequestRecord[]): RunEnd {
  if (records.length === 0) {
    return { startedAt: 0, elapsedMs: 0, stopReason: "exhausted" };
  }
  const startedAt = Math.min(
    ...records.map((r) => r.runStartedAt ?? r.sentAt),
  );
  const endedAt = Math.max(...records.map((r) => r.endAt));
  return { startedAt, elapsedMs: endedAt - startedAt, stopReason: "exhausted" };
}

/**
 * Write a run directory at `dir` (created; it must be new or empty):
 * `records.jsonl` (the records and the run's last line, on the records'
 * clock: this process's, or the one records read from a file carry),
 * `run.json`, `summary.json` when a summary is given, and
 * `report.html`; resolves to the run as `kvbench report` reads it back.
 *
 * @example Two runs of a script, compared as `kvbench compare` compares them
 * ```ts
 * import { writeRunDirectory } from "./write_run.ts";
 * import { loadRun } from "./data.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const root = await Deno.makeTempDir();
 * const records = [0, 1, 2].map((i) => testRecord({
 *   session: i, sentAt: 1000 + i * 100, firstTokenAt: 1050 + i * 100,
 *   endAt: 1200 + i * 100, promptTokens: 1000, cachedTokens: 500,
 * }));
 * const written = await writeRunDirectory(`${root}/run-a`, {
 *   records,
 *   command: "my-script",
 *   params: { users: 3 },
 * });
 * assert.equal(written.distributions.completed, 3);
 * const files: string[] = [];
 * for await (const entry of Deno.readDir(`${root}/run-a`)) files.push(entry.name);
 * assert.deepEqual(files.sort(), ["records.jsonl", "report.html", "run.json"]);
 * const info = JSON.parse(await Deno.readTextFile(`${root}/run-a/run.json`));
 * assert.equal(info.command, "my-script");
 * assert.deepEqual(info.params, { users: 3 });
 * // No summary given: the run lasted from its first send to its last end.
 * const last = (await Deno.readTextFile(`${root}/run-a/records.jsonl`))
 *   .trimEnd().split("\n").at(-1)!;
 * assert.deepEqual(
 *   { ...JSON.parse(last).run, timeOrigin: 0 },
 *   { startedAt: 1000, elapsedMs: 400, stopReason: "exhausted", timeOrigin: 0 },
 * );
 * const again = await loadRun(`${root}/run-a`);
 * assert.deepEqual(again.requests.ttftMs, [50, 50, 50]);
 * await assert.rejects(
 *   writeRunDirectory(`${root}/run-a`, { records }),
 *   /^Error: Cannot write the run into ".*run-a": the directory is not empty$/,
 * );
 * // Records read back from a file keep their clock, and must share it.
 * const [r0, r1] = records.map((r, i) => ({ ...r, timeOrigin: 1e12 + i }));
 * const kept = await writeRunDirectory(`${root}/run-b`, { records: [r0], report: false });
 * assert.equal(kept.requests.ttftMs.length, 1);
 * const line = JSON.parse((await Deno.readTextFile(`${root}/run-b/records.jsonl`)).split("\n")[0]);
 * assert.equal(line.timeOrigin, 1e12);
 * await assert.rejects(
 *   writeRunDirectory(`${root}/run-c`, { records: [r0, r1] }),
 *   /its records are on 2 clocks/,
 * );
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function writeRunDirectory(
  dir: string,
  options: WriteRunDirectoryOptions,
): Promise<RunData> {
  const records = [...options.records];
  const origins = new Set(records.map((r) => r.timeOrigin));
  origins.delete(undefined);
  if (origins.size > 1) {
    throw new RangeError(
      `Cannot write the run into "${dir}": its records are on ${origins.size} clocks (timeOrigin); write each process's records as a run and merge them with kvbench merge`,
    );
  }
  // Records read back from a file keep their clock; live ones are on ours.
  const timeOrigin = [...origins][0] ?? performance.timeOrigin;
  await _emptyDirectory(dir);
  const end: RunEnd = options.run
    ? {
      startedAt: options.run.startedAt,
      elapsedMs: options.run.wallTimeMs,
      stopReason: options.run.stopReason,
    }
    : derivedEnd(records);
  const file = openRecordsFile(`${dir}/records.jsonl`, { timeOrigin });
  try {
    for (const record of records) file.write(record);
    file.end(end);
  } finally {
    file.close();
  }
  await writeRunInfo(dir, {
    command: options.command ?? "script",
    argv: options.argv ?? [],
    params: options.params ?? {},
    server: options.server,
    startedAt: end.startedAt,
    timeOrigin,
  });
  if (options.summary !== undefined) {
    await Deno.writeTextFile(
      `${dir}/summary.json`,
      JSON.stringify(options.summary, null, 2) + "\n",
    );
  }
  const data = await loadRun(dir, { percentiles: options.percentiles });
  if (options.report ?? true) {
    await Deno.writeTextFile(
      `${dir}/report.html`,
      renderReport([data], { title: options.title }),
    );
  }
  return data;
}

/** Create `dir` unless it exists; fail unless it is empty. */
async function _emptyDirectory(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
    for await (const _ of Deno.readDir(dir)) {
      throw new Error("the directory is not empty");
    }
  } catch (error) {
    const reason = error instanceof Deno.errors.AlreadyExists
      ? "a file of that name exists"
      : (error as Error).message;
    throw new Error(`Cannot write the run into "${dir}": ${reason}`);
  }
}
