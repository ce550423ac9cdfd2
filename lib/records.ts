/**
 * The per-request records file: one JSON object per line, appended as each
 * request finishes, so nothing measured is lost if the process dies.
 *
 * @module
 */
import type { RequestRecord } from "./types.ts";

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
 * import { toEpochRecord } from "./records.ts";
 * const line = toEpochRecord({
 *   session: 0, turn: 0, scheduledAt: 1, sentAt: 1, endAt: 2, chunks: 0,
 *   promptChars: 0, outputChars: 0, maxTokens: 1, ok: true, retries: 0,
 * });
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

/**
 * Open (create or truncate) a JSONL records file.
 *
 * @example Usage
 * ```ts ignore
 * import { openRecordsFile } from "./records.ts";
 * const records = openRecordsFile("records.jsonl");
 * // records.write(record) for each finished request, then:
 * records.close();
 * ```
 */
export function openRecordsFile(
  path: string,
  options: { append?: boolean } = {},
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
        let off = 0;
        while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
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
