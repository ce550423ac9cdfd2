/**
 * Fail fast: stop a run that can only fail. A burst of permanent errors (a
 * refused key, a model the server does not serve, a wrong path) or nearly
 * every request failing in the first seconds means every further request
 * would hammer the server for nothing.
 *
 * @module
 */
import type { RequestRecord } from "../types.ts";

/** When a run stops for its failures. */
export interface FailFastOptions {
  /** Stop after this many permanent failures in a row (default 5). */
  burst?: number;
  /** The first ms of the run in which nearly every request failing stops it (default 10 000). */
  windowMs?: number;
  /** Requests settled within the window before its share counts (default 50). */
  minRequests?: number;
  /** The share of failed requests among the settled ones that stops the run in the window (default 0.95). */
  maxFailedShare?: number;
}

/** The first failure a run saw. */
export interface FirstError {
  /** The record's error kind (`http`, `connect`, …). */
  kind: string;
  /** Its one-line message. */
  message: string;
  /** The HTTP status, when a response head arrived. */
  status?: number;
}

/** HTTP statuses a retry or a later request cannot fix. */
const PERMANENT_STATUSES = new Set([401, 403, 404]);

/** A 400/422 about the model (SGLang, proxies): the model is not served. */
const MODEL_NOT_SERVED =
  /model\b.*\b(does not exist|not found|not served|unknown|no such|not available)/i;

/**
 * Whether a failed record's error is permanent: HTTP 401, 403 or 404, or a
 * 400/422 saying the model is not served. Every request of the run would
 * fail the same way.
 *
 * @example Usage
 * ```ts
 * import { isPermanentFailure } from "./fail_fast.ts";
 * import assert from "node:assert/strict";
 *
 * const base = { session: 0, turn: 0, scheduledAt: 0, sentAt: 0, endAt: 1, chunks: 0,
 *   promptChars: 5, outputChars: 0, maxTokens: 8, ok: false, retries: 0 };
 * assert.equal(isPermanentFailure({ ...base, status: 401,
 *   error: { kind: "http", message: "HTTP 401: Incorrect API key provided." } }), true);
 * assert.equal(isPermanentFailure({ ...base, status: 400,
 *   error: { kind: "http", message: "HTTP 400: The model `x` does not exist." } }), true);
 * assert.equal(isPermanentFailure({ ...base, status: 503,
 *   error: { kind: "http", message: "HTTP 503" } }), false);
 * ```
 */
export function isPermanentFailure(record: RequestRecord): boolean {
  if (record.ok || record.error?.kind !== "http") return false;
  const status = record.status ?? 0;
  if (PERMANENT_STATUSES.has(status)) return true;
  return (status === 400 || status === 422) &&
    MODEL_NOT_SERVED.test(record.error.message);
}

/**
 * Watches a run's records and says when the run should stop: after
 * `burst` permanent failures in a row, or when, within the first `windowMs`
 * of the run, at least `minRequests` have settled and `maxFailedShare` of
 * them failed. Aborted requests (the run's own stop) count for neither.
 *
 * @example Usage
 * ```ts
 * import { FailFast } from "./fail_fast.ts";
 * import assert from "node:assert/strict";
 *
 * const watch = new FailFast({ burst: 2 });
 * const refused = { session: 0, turn: 0, scheduledAt: 0, sentAt: 0, endAt: 1,
 *   chunks: 0, promptChars: 5, outputChars: 0, maxTokens: 8, ok: false,
 *   retries: 0, runStartedAt: 0, status: 401,
 *   error: { kind: "http" as const, message: "HTTP 401: Incorrect API key provided." } };
 * assert.equal(watch.observe(refused), undefined);
 * assert.equal(
 *   watch.observe(refused),
 *   "2 permanent errors in a row (HTTP 401): every further request would fail the same way",
 * );
 * assert.deepEqual(watch.firstError, {
 *   kind: "http", status: 401, message: "HTTP 401: Incorrect API key provided.",
 * });
 * ```
 */
export class FailFast {
  #burst: number;
  #windowMs: number;
  #minRequests: number;
  #maxFailedShare: number;
  #inARow = 0;
  #settled = 0;
  #failed = 0;
  #first?: FirstError;

  /** A watch with these thresholds. */
  constructor(options: FailFastOptions = {}) {
    this.#burst = options.burst ?? 5;
    this.#windowMs = options.windowMs ?? 10_000;
    this.#minRequests = options.minRequests ?? 50;
    this.#maxFailedShare = options.maxFailedShare ?? 0.95;
    for (
      const [name, value] of [
        ["burst", this.#burst],
        ["minRequests", this.#minRequests],
      ] as const
    ) {
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(
          `Cannot fail fast with ${name} ${value}: it must be a positive integer`,
        );
      }
    }
    if (!(this.#maxFailedShare > 0 && this.#maxFailedShare <= 1)) {
      throw new RangeError(
        `Cannot fail fast with maxFailedShare ${this.#maxFailedShare}: it must be in (0, 1]`,
      );
    }
  }

  /** The first failure seen (aborted requests aside), if any. */
  get firstError(): FirstError | undefined {
    return this.#first;
  }

  /** Take one record; returns why the run should stop, or undefined. */
  observe(record: RequestRecord): string | undefined {
    if (record.error?.kind === "aborted") return undefined;
    if (!record.ok && this.#first === undefined && record.error !== undefined) {
      this.#first = { kind: record.error.kind, message: record.error.message };
      if (record.status !== undefined) this.#first.status = record.status;
    }
    if (isPermanentFailure(record)) this.#inARow++;
    else this.#inARow = 0;
    if (this.#inARow >= this.#burst) {
      return `${this.#inARow} permanent errors in a row (HTTP ${record.status}): every further request would fail the same way`;
    }
    const at = record.endAt - (record.runStartedAt ?? record.sentAt);
    if (at > this.#windowMs) return undefined;
    this.#settled++;
    if (!record.ok) this.#failed++;
    if (
      this.#settled >= this.#minRequests &&
      this.#failed >= this.#maxFailedShare * this.#settled
    ) {
      return `${this.#failed} of the first ${this.#settled} requests failed within ${
        this.#windowMs / 1000
      } s of the start`;
    }
    return undefined;
  }
}

/**
 * The run summary's line about a failed run: why it stopped early and its
 * first error; undefined when nothing failed.
 *
 * @example Usage
 * ```ts
 * import { describeFailure } from "./fail_fast.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   describeFailure({
 *     failFast: "5 permanent errors in a row (HTTP 401): every further request would fail the same way",
 *     firstError: { kind: "http", status: 401, message: "HTTP 401: Incorrect API key provided." },
 *   }),
 *   "stopped early: 5 permanent errors in a row (HTTP 401): every further request would fail the same way; first error: HTTP 401: Incorrect API key provided.",
 * );
 * assert.equal(describeFailure({}), undefined);
 * ```
 */
export function describeFailure(
  summary: { failFast?: string; firstError?: FirstError },
): string | undefined {
  const first = summary.firstError === undefined
    ? undefined
    : `first error: ${summary.firstError.message}`;
  if (summary.failFast === undefined) return first;
  return `stopped early: ${summary.failFast}${first ? `; ${first}` : ""}`;
}

/**
 * A run summary whose records came from elsewhere (worker processes) with
 * the failure the parent saw in them: the first error, and, when the
 * workers stopped for their failures (stop reason `fail_fast`), why: the
 * reason `watch` gave on the records as they arrived, else that the workers
 * stopped for their failures. A run that was not stopped early keeps its
 * stop reason; nothing is set that the summary already has.
 *
 * @example Two workers stopped after a burst of HTTP 401
 * ```ts
 * import { FailFast, withSeenFailure } from "./fail_fast.ts";
 * import assert from "node:assert/strict";
 *
 * const watch = new FailFast({ burst: 2 });
 * const refused = { session: 0, turn: 0, scheduledAt: 0, sentAt: 0, endAt: 1,
 *   chunks: 0, promptChars: 5, outputChars: 0, maxTokens: 8, ok: false,
 *   retries: 0, runStartedAt: 0, status: 401,
 *   error: { kind: "http" as const, message: "HTTP 401: bad key" } };
 * const why = [refused, refused].map((r) => watch.observe(r)).find((w) => w);
 * const summary = withSeenFailure({ stopReason: "fail_fast" }, { watch, reason: why });
 * assert.deepEqual(summary, {
 *   stopReason: "fail_fast",
 *   firstError: { kind: "http", status: 401, message: "HTTP 401: bad key" },
 *   failFast: "2 permanent errors in a row (HTTP 401): every further request would fail the same way",
 * });
 * assert.deepEqual(
 *   withSeenFailure({ stopReason: "duration" }, { watch: new FailFast() }),
 *   { stopReason: "duration" },
 * );
 * ```
 */
export function withSeenFailure<
  S extends { stopReason: string; failFast?: string; firstError?: FirstError },
>(
  summary: S,
  seen: { watch: FailFast; reason?: string },
): S {
  const result = { ...summary };
  const first = seen.watch.firstError;
  if (result.firstError === undefined && first !== undefined) {
    result.firstError = { ...first };
  }
  if (result.stopReason === "fail_fast" && result.failFast === undefined) {
    result.failFast = seen.reason ?? "the workers stopped for their failures";
  }
  return result;
}
