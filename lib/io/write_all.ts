/**
 * Writing a whole buffer to a writer that may take only part of it per call.
 *
 * @module
 */

/** Anything with a synchronous partial `writeSync` (`Deno.stdout`, `Deno.FsFile`). */
export interface SyncWriter {
  /** Write some of `p`; returns how many bytes were written. */
  writeSync(p: Uint8Array): number;
}

/** Anything with an asynchronous partial `write` (`Deno.Conn`, `Deno.FsFile`). */
export interface AsyncWriter {
  /** Write some of `p`; resolves to how many bytes were written. */
  write(p: Uint8Array): Promise<number>;
}

/**
 * Write all of `bytes` synchronously (it is written when this returns).
 *
 * @example Usage
 * ```ts
 * import { writeAllSync } from "./write_all.ts";
 * import assert from "node:assert/strict";
 *
 * const parts: number[] = [];
 * // A writer that takes at most 2 bytes per call.
 * writeAllSync({ writeSync: (p) => (parts.push(...p.subarray(0, 2)), Math.min(2, p.length)) },
 *   new Uint8Array([1, 2, 3, 4, 5]));
 * assert.deepEqual(parts, [1, 2, 3, 4, 5]);
 * ```
 */
export function writeAllSync(writer: SyncWriter, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) {
    off += writer.writeSync(off === 0 ? bytes : bytes.subarray(off));
  }
}

/**
 * Write all of `bytes`.
 *
 * @example Usage
 * ```ts
 * import { writeAll } from "./write_all.ts";
 * import assert from "node:assert/strict";
 *
 * const parts: number[] = [];
 * await writeAll({ write: (p) => Promise.resolve((parts.push(p[0]), 1)) },
 *   new Uint8Array([7, 8, 9]));
 * assert.deepEqual(parts, [7, 8, 9]);
 * ```
 */
export async function writeAll(
  writer: AsyncWriter,
  bytes: Uint8Array,
): Promise<void> {
  let off = 0;
  while (off < bytes.length) {
    off += await writer.write(off === 0 ? bytes : bytes.subarray(off));
  }
}
