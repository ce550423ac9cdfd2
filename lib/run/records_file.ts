/**
 * The per-request records file: one JSON object per line, appended as each
 * request finishes, so nothing measured is lost if the process dies. Times
 * are milliseconds of the process's monotonic clock, with the clock's Unix
 * time origin on every record (`timeOrigin`); each record carries its run's
 * and its session's start, and its per-token timing. A run that ends normally adds
 * one last line, `{"run": {…}}`, with how long it took and why it stopped,
 * so every figure the command printed can be recomputed from the file alone
 * ({@linkcode readRecordsFile}).
 *
 * @module
 */
import { writeAllSync } from "../io/write_all.ts";
import type { RequestRecord } from "../types.ts";
import { readTextOr } from "../io/read_text.ts";

/** An open records file. */
export interface RecordsFile {
  /** The file's path. */
  readonly path: string;
  /** Records written so far. */
  readonly count: number;
  /** Append one record (synchronously: it is on disk when this returns). */
  write(record: RequestRecord): void;
  /**
   * Append record lines as another records file has them (a worker's,
   * written on this file's clock): `count` records, each line ending in a
   * newline, copied without being written again.
   */
  writeLines(text: string, count: number): void;
  /**
   * Mark that a periodic report was printed here, `elapsedMs` into the run:
   * the records before it and after the previous mark made its interval.
   */
  report(elapsedMs: number): void;
  /** Append the run's last line (once, after the last record). */
  end(run: RunEnd): void;
  /** Close the file. */
  close(): void;
}

/** The last line of a records file: the run as its command reported it. */
export interface RunEnd {
  /** When the run started (ms of the records' clock). */
  startedAt: number;
  /** The elapsed time the command's figures use, ms (the final report's). */
  elapsedMs: number;
  /** Why the run stopped. */
  stopReason: string;
  /** `performance.timeOrigin` of the clock the times are on (written by the file). */
  timeOrigin?: number;
}

/**
 * A record as its line in the file: its times unchanged (milliseconds of the
 * process's monotonic clock, exact, so figures recomputed from the file are
 * bit-identical to the live ones), plus `timeOrigin`, the Unix time in ms of
 * that clock's zero (`performance.timeOrigin`): add it to any time for wall
 * time, and to merge files of several processes.
 *
 * @example Usage
 * ```ts
 * import { fileRecord } from "./records_file.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const line = fileRecord(testRecord({ sentAt: 1.5, endAt: 2 }));
 * assert.equal(line.sentAt, 1.5);
 * assert.equal(line.timeOrigin, performance.timeOrigin);
 * assert.equal(line.timeOrigin! + line.sentAt, performance.timeOrigin + 1.5); // wall time
 * ```
 */
export function fileRecord(
  record: RequestRecord,
  timeOrigin: number = performance.timeOrigin,
): RequestRecord {
  return { ...record, timeOrigin };
}

/** Options of {@linkcode openRecordsFile}. */
export interface OpenRecordsFileOptions {
  /** Append to an existing file instead of truncating it. */
  append?: boolean;
  /**
   * `timeOrigin` of the clock the records' times are on (default this
   * process's: records moved onto another clock keep that clock's).
   */
  timeOrigin?: number;
}

/**
 * Open (create or truncate) a JSONL records file.
 *
 * @example Usage
 * ```ts
 * import { openRecordsFile } from "./records_file.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * const records = openRecordsFile(path);
 * // records.write(record) for each finished request, then:
 * records.write(testRecord({ turn: 0 }));
 * records.write(testRecord({ turn: 1 }));
 * records.close();
 * assert.equal(records.count, 2);
 * const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
 * assert.deepEqual(lines.map((line) => JSON.parse(line).turn), [0, 1]);
 * await Deno.remove(path);
 * ```
 */
export function openRecordsFile(
  path: string,
  options: OpenRecordsFileOptions = {},
): RecordsFile {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, {
      write: true,
      create: true,
      append: options.append ?? false,
      truncate: !(options.append ?? false),
    });
  } catch (error) {
    throw new Error(
      `Cannot open records file "${path}": ${(error as Error).message}`,
    );
  }
  const encoder = new TextEncoder();
  const timeOrigin = options.timeOrigin ?? performance.timeOrigin;
  let count = 0;
  let closed = false;
  const line = (value: unknown): void => {
    try {
      writeAllSync(file, encoder.encode(JSON.stringify(value) + "\n"));
    } catch (error) {
      throw new Error(
        `Cannot write records file "${path}": ${(error as Error).message}`,
      );
    }
  };
  return {
    path,
    get count() {
      return count;
    },
    write(record: RequestRecord): void {
      if (closed) return;
      line(fileRecord(record, timeOrigin));
      count++;
    },
    writeLines(text: string, n: number): void {
      if (closed || n === 0) return;
      try {
        writeAllSync(file, encoder.encode(text));
      } catch (error) {
        throw new Error(
          `Cannot write records file "${path}": ${(error as Error).message}`,
        );
      }
      count += n;
    },
    report(elapsedMs: number): void {
      if (!closed) line({ report: { elapsedMs } });
    },
    end(run: RunEnd): void {
      if (closed) return;
      line({ run: { ...run, timeOrigin } });
    },
    close(): void {
      if (closed) return;
      closed = true;
      file.close();
    },
  };
}

/** What {@linkcode readRecordsFile} read. */
export interface RecordsFileContents {
  /** The records, in the order they were written. */
  records: RequestRecord[];
  /** The run's last line, when it ended normally. */
  run?: RunEnd;
  /** The periodic reports printed: when, and after how many records. */
  reports: { elapsedMs: number; after: number }[];
  /**
   * The number of a last line cut short (no newline and not JSON: the writer
   * was killed while writing it), which was skipped.
   */
  cutLine?: number;
}

/**
 * Read a records file back: its records in order, and the run's last line.
 * An unreadable line is an error naming it, but for a last line cut short
 * (`cutLine`: a run killed while writing), which is skipped.
 *
 * @example Write, then read back
 * ```ts
 * import { openRecordsFile, readRecordsFile } from "./records_file.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * const file = openRecordsFile(path);
 * file.write(testRecord({ sentAt: 10, endAt: 30 }));
 * file.end({ startedAt: 0, elapsedMs: 50, stopReason: "duration" });
 * file.close();
 * const { records, run } = await readRecordsFile(path);
 * assert.equal(records[0].endAt - records[0].sentAt, 20);
 * assert.equal(run?.elapsedMs, 50);
 * await Deno.remove(path);
 * ```
 */
export async function readRecordsFile(
  path: string,
): Promise<RecordsFileContents> {
  const text = await readTextOr(path, `Cannot read records file "${path}"`);
  const out: RecordsFileContents = { records: [], reports: [] };
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line: RecordsLine | undefined;
    try {
      line = parseRecordsLine(lines[i], { path, line: i + 1 });
    } catch (error) {
      // Every line a writer finished ends in a newline: a last one without
      // it was being written when the process died. Skip it, say so.
      if (i < lines.length - 1 || !(error instanceof SyntaxError)) throw error;
      out.cutLine = i + 1;
      continue;
    }
    if (line === undefined) continue;
    if (line.kind === "run") out.run = line.run;
    else if (line.kind === "report") {
      out.reports.push({
        elapsedMs: line.elapsedMs,
        after: out.records.length,
      });
    } else out.records.push(line.record);
  }
  return out;
}

/** One line of a records file. */
export type RecordsLine =
  | { kind: "record"; record: RequestRecord }
  | { kind: "report"; elapsedMs: number }
  | { kind: "run"; run: RunEnd };

/** Where a line was read, for error messages. */
export interface LineSource {
  /** The file. */
  path: string;
  /** The line's number, from 1. */
  line: number;
}

/**
 * Parse one line of a records file; undefined for a blank line, an error
 * naming the file and line for anything else that is not a record, a report
 * mark or the run's end.
 *
 * @example Usage
 * ```ts
 * import { parseRecordsLine } from "./records_file.ts";
 * import assert from "node:assert/strict";
 *
 * const at = { path: "r.jsonl", line: 3 };
 * assert.deepEqual(parseRecordsLine('{"report":{"elapsedMs":5000}}', at), { kind: "report", elapsedMs: 5000 });
 * assert.equal(parseRecordsLine("", at), undefined);
 * assert.throws(() => parseRecordsLine("{", at), /Cannot read records file "r.jsonl": line 3 is not JSON/);
 * ```
 */
export function parseRecordsLine(
  text: string,
  source: LineSource,
): RecordsLine | undefined {
  if (text.trim() === "") return undefined;
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SyntaxError(
      `Cannot read records file "${source.path}": line ${source.line} is not JSON`,
    );
  }
  if (value !== null && typeof value === "object" && "run" in value) {
    return { kind: "run", run: value.run as RunEnd };
  }
  if (value !== null && typeof value === "object" && "report" in value) {
    const { elapsedMs } = value.report as { elapsedMs: number };
    return { kind: "report", elapsedMs };
  }
  if (
    value === null || typeof value !== "object" ||
    typeof value.sentAt !== "number" || typeof value.session !== "number"
  ) {
    throw new TypeError(
      `Cannot read records file "${source.path}": line ${source.line} is not a request record`,
    );
  }
  return { kind: "record", record: value as unknown as RequestRecord };
}
