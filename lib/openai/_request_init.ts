/**
 * The setup the endpoint's one-off requests share (`/v1/models`, the model
 * probe, `/tokenize`): headers with the key, and a signal that gives up
 * after a timeout or with the caller's.
 *
 * @module
 */

/** What {@linkcode requestInit} takes. */
export interface RequestInitOptions {
  /** Sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** Give up after this many milliseconds (default 30 000). */
  timeoutMs?: number;
  /** Cancels the request. */
  signal?: AbortSignal;
}

/** Headers and signals of one request. */
export interface RequestSetup {
  /** The headers given, with the key's. */
  headers: Record<string, string>;
  /** The caller's signal and the timeout's, either aborting. */
  signal: AbortSignal;
  /** The timeout's own signal (aborted: the time ran out). */
  timeout: AbortSignal;
  /** The timeout, ms. */
  timeoutMs: number;
}

/**
 * Headers with the key, and a signal with the timeout.
 *
 * @example Usage
 * ```ts
 * import { requestInit } from "./_request_init.ts";
 * import assert from "node:assert/strict";
 *
 * const init = requestInit({ accept: "application/json" }, { apiKey: "sk-x", timeoutMs: 5 });
 * assert.deepEqual(init.headers, { accept: "application/json", authorization: "Bearer sk-x" });
 * assert.equal(init.timeoutMs, 5);
 * assert.equal(init.signal.aborted, false);
 * ```
 */
export function requestInit(
  headers: Record<string, string>,
  options: RequestInitOptions,
): RequestSetup {
  const all = { ...headers };
  if (options.apiKey) all.authorization = `Bearer ${options.apiKey}`;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal
    ? AbortSignal.any([options.signal, timeout])
    : timeout;
  return { headers: all, signal, timeout, timeoutMs };
}
