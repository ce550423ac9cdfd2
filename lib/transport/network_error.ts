/**
 * The part of a network error a user can act on.
 *
 * @module
 */

/**
 * The part of a network error a user can act on ("Connection refused (os
 * error 111)"), digging through `fetch`'s wrapping and its `cause`.
 *
 * @example Usage
 * ```ts
 * import { networkErrorText } from "./network_error.ts";
 * import assert from "node:assert/strict";
 *
 * const error = new TypeError("fetch failed", {
 *   cause: new Error("error sending request for url (http://h/): client error (Connect): tcp connect error: Connection refused (os error 111)"),
 * });
 * assert.equal(networkErrorText(error), "Connection refused (os error 111)");
 * ```
 */
export function networkErrorText(error: unknown): string {
  let text = error instanceof Error ? error.message : String(error);
  let cause = error instanceof Error ? error.cause : undefined;
  for (let depth = 0; cause instanceof Error && depth < 5; depth++) {
    text = cause.message;
    cause = cause.cause;
  }
  const os = /([A-Za-z][^:]*\(os error \d+\))/.exec(text);
  if (os) return os[1].trim();
  const connect = /client error \(Connect\):\s*(.*)$/.exec(text);
  if (connect) return connect[1].trim();
  return text.replace(/^error sending request for url \([^)]*\):\s*/, "").slice(
    0,
    300,
  );
}
