/**
 * Request records for tests and examples: every required field filled with
 * a neutral value, so a test states only the fields it is about.
 *
 * @module
 */
import type { RequestRecord } from "../types.ts";

/**
 * A successful record of session 0, turn 0, sent at 0 and ended at 0, with
 * the given fields on top.
 *
 * @example Usage
 * ```ts
 * import { testRecord } from "./records.ts";
 * import assert from "node:assert/strict";
 *
 * const record = testRecord({ firstTokenAt: 50, endAt: 150, completionTokens: 11 });
 * assert.equal(record.ok, true);
 * assert.equal(record.endAt - record.firstTokenAt!, 100);
 * ```
 */
export function testRecord(fields: Partial<RequestRecord> = {}): RequestRecord {
  return {
    session: 0,
    turn: 0,
    scheduledAt: 0,
    sentAt: 0,
    endAt: 0,
    chunks: 0,
    promptChars: 0,
    outputChars: 0,
    maxTokens: 16,
    ok: true,
    retries: 0,
    ...fields,
  };
}
