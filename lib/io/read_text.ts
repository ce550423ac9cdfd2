/**
 * Reading a whole text file with an error that says what it was and why it
 * could not be read, in one line.
 *
 * @module
 */

/**
 * The file's text; an unreadable file is an `Error` whose message is
 * `what` followed by the reason (`no such file` when it is missing).
 *
 * @example Usage
 * ```ts
 * import { readTextOr } from "./read_text.ts";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(
 *   readTextOr("missing.jsonl", 'Cannot read records file "missing.jsonl"'),
 *   { message: 'Cannot read records file "missing.jsonl": no such file' },
 * );
 * ```
 */
export async function readTextOr(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : (error as Error).message;
    throw new Error(`${what}: ${reason}`);
  }
}
