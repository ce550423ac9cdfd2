/**
 * The per-request records file: one JSON object per line, appended as each
 * request finishes, so nothing measured is lost if the process dies.
 *
 * @module
 */
import { writeAllSync } from "../io/write_all.ts";
import type { RequestRecord } from "../types.ts";

/** An open records file. */
export interface RecordsFile {
  /** The file's path. */
  readonly path: string;
  /** Records written so far. */
  readonly count: number;
  /** Append one record (synchronously: it is on disk when this returns). */
  write(record: RequestRecord): void;
  /** Close the file. */
  close(): void;
}

/**
 * Convert a record's `performance.now()` times to Unix epoch milliseconds
 * (`performance.timeOrigin` + offset: one wall-clock reading per process, so
 * intervals stay monotonic and files from several processes can be merged).
 *
 * @example Usage
 * ```ts
 * import { toEpochRecord } from "./records_file.ts";
 * import { testRecord } from "../../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const line = toEpochRecord(testRecord({ scheduledAt: 1, sentAt: 1, endAt: 2 }));
 * assert.equal(line.sentAt, performance.timeOrigin + 1);
 * assert.equal(line.endAt, performance.timeOrigin + 2);
 * assert.equal(line.firstTokenAt, undefined); // no token came
 * assert.equal(line.session, 0); // other fields are kept
 * ```
 */
export function toEpochRecord(record: RequestRecord): Record<string, unknown> {
  const origin = performance.timeOrigin;
  return {
    ...record,
    scheduledAt: origin + record.scheduledAt,
    sentAt: origin + record.sentAt,
    firstTokenAt: record.firstTokenAt === undefined
      ? undefined
      : origin + record.firstTokenAt,
    endAt: origin + record.endAt,
  };
}

/** Options of {@linkcode openRecordsFile}. */
export interface OpenRecordsFileOptions {
  /** Append to an existing file instead of truncating it. */
  append?: boolean;
}

/**
 * Open (create or truncate) a JSONL records file.
 *
 * @example Usage
 * ```ts
 * import { openRecordsFile } from "./records_file.ts";
 * import { testRecord } from "../../testing/records.ts";
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
  let count = 0;
  let closed = false;
  return {
    path,
    get count() {
      return count;
    },
    write(record: RequestRecord): void {
      if (closed) return;
      const bytes = encoder.encode(
        JSON.stringify(toEpochRecord(record)) + "\n",
      );
      try {
        writeAllSync(file, bytes);
      } catch (error) {
        throw new Error(
          `Cannot write records file "${path}": ${(error as Error).message}`,
        );
      }
      count++;
    },
    close(): void {
      if (closed) return;
      closed = true;
      file.close();
    },
  };
}
