/**
 * Fidelity after a replay, request by request: the prompt length the trace
 * meant (`input_length`) against the server's `prompt_tokens`, and the
 * theoretical cached tokens against the server's `cached_tokens`; then a
 * summary of the mismatches. A server that reported no usage (or no
 * `cached_tokens`) leaves the figure unknown, counted apart, never as a
 * match or a zero.
 *
 * @module
 */
import { renderTable } from "../../lib/format/table.ts";
import type { RequestRecord } from "../../lib/types.ts";
import { REQUEST_TAG } from "./session.ts";
import {
  type FidelitySummary,
  type RequestFidelity,
  summarizeFidelity,
} from "../../lib/metrics/fidelity.ts";

export { summarizeFidelity };
export type { FidelitySummary, RequestFidelity };
import type { ReplayTrace } from "./trace.ts";

/**
 * Each completed request's fidelity, in request order (warm-ups, failures
 * and records of other workloads left out).
 *
 * @example Usage
 * ```ts
 * import { requestFidelity } from "./fidelity.ts";
 * import { parseTrace } from "./formats.ts";
 * import assert from "node:assert/strict";
 *
 * const trace = parseTrace('{"timestamp": 0, "input_length": 8, "output_length": 1}', { name: "t.jsonl" });
 * const record = {
 *   session: 0, turn: 0, scheduledAt: 0, sentAt: 0, endAt: 1, chunks: 1, promptChars: 0,
 *   outputChars: 1, maxTokens: 1, ok: true, retries: 0, promptTokens: 8, cachedTokens: 0,
 *   tags: { trace_request: 0 },
 * };
 * assert.deepEqual(requestFidelity(trace, [0], [record]), [
 *   { request: 0, intendedTokens: 8, promptTokens: 8, theoreticalCached: 0, cachedTokens: 0 },
 * ]);
 * ```
 */
export function requestFidelity(
  trace: ReplayTrace,
  theoreticalCached: readonly number[],
  records: readonly RequestRecord[],
): RequestFidelity[] {
  const rows: RequestFidelity[] = [];
  for (const record of records) {
    const index = record.tags?.[REQUEST_TAG];
    if (!record.ok || record.warmup || typeof index !== "number") continue;
    const row: RequestFidelity = {
      request: index,
      intendedTokens: trace.requests[index].inputLength,
      promptTokens: record.promptTokens,
      theoreticalCached: theoreticalCached[index],
      cachedTokens: record.cachedTokens,
    };
    if (row.promptTokens === undefined) delete row.promptTokens;
    if (row.cachedTokens === undefined) delete row.cachedTokens;
    rows.push(row);
  }
  return rows.sort((a, b) => a.request - b.request);
}

function pct(part: number, whole: number): string {
  return whole === 0 ? "unknown" : `${(100 * part / whole).toFixed(1)}%`;
}

/**
 * The summary as lines for the terminal.
 *
 * @example Usage
 * ```ts
 * import { fidelityLines } from "./fidelity.ts";
 * import assert from "node:assert/strict";
 *
 * const lines = fidelityLines({
 *   requests: 2, withPromptTokens: 2, lengthMismatches: 1, lengthDrift: 7, intendedTokens: 200,
 *   withCachedTokens: 2, cachedMismatches: 1, theoreticalCached: 64, reportedCached: 48,
 *   cachedIntendedTokens: 200, reportedPromptTokens: 207,
 * });
 * assert.deepEqual(lines, [
 *   "Prompt length: 1 of 2 requests differ from input_length (drift +7 tokens, +3.5%)",
 *   "Cached tokens: 1 of 2 requests differ from the theory (theory 64 = 32.0%, server 48 = 23.2%)",
 * ]);
 * ```
 */
export function fidelityLines(s: FidelitySummary): string[] {
  const drift = `${s.lengthDrift >= 0 ? "+" : ""}${s.lengthDrift}`;
  const driftPct = s.intendedTokens === 0
    ? "unknown"
    : `${s.lengthDrift >= 0 ? "+" : ""}${
      (100 * s.lengthDrift / s.intendedTokens).toFixed(1)
    }%`;
  const lines = [
    s.withPromptTokens === 0
      ? `Prompt length: unknown (the server reported no prompt_tokens for ${s.requests} requests)`
      : `Prompt length: ${s.lengthMismatches} of ${s.withPromptTokens} requests differ from input_length (drift ${drift} tokens, ${driftPct})`,
    s.withCachedTokens === 0
      ? `Cached tokens: unknown (the server reported no cached_tokens for ${s.requests} requests)`
      : `Cached tokens: ${s.cachedMismatches} of ${s.withCachedTokens} requests differ from the theory (theory ${s.theoreticalCached} = ${
        pct(s.theoreticalCached, s.cachedIntendedTokens)
      }, server ${s.reportedCached} = ${
        pct(s.reportedCached, s.reportedPromptTokens)
      })`,
  ];
  return lines;
}

/**
 * The requests whose figures differ from the trace, largest differences
 * first (prompt length, then cached tokens), at most `limit` of them
 * (default 10); an empty string when none differ.
 *
 * @example Usage
 * ```ts
 * import { mismatchTable } from "./fidelity.ts";
 * import { parseTrace } from "./formats.ts";
 * import assert from "node:assert/strict";
 *
 * const trace = parseTrace(
 *   '{"timestamp": 0, "input_length": 655, "output_length": 1, "hash_ids": [46, 47]}\n' +
 *     '{"timestamp": 5, "input_length": 672, "output_length": 1, "hash_ids": [46, 47]}\n',
 *   { name: "t.jsonl" },
 * );
 * const text = mismatchTable(trace, [
 *   { request: 0, intendedTokens: 655, promptTokens: 655, theoreticalCached: 0, cachedTokens: 0 },
 *   { request: 1, intendedTokens: 672, promptTokens: 672, theoreticalCached: 512, cachedTokens: 640 },
 * ]);
 * assert.deepEqual(text.split("\n"), [
 *   "             Requests that differ from the trace (1 of 2)              ",
 *   "┏━━━━━━━━━┳━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━━┳━━━━━━━━━━┓",
 *   "┃         ┃              ┃               ┃        ┃        ┃   cached ┃",
 *   "┃         ┃              ┃               ┃ cached ┃ cached ┃   server ┃",
 *   "┃ Request ┃ input_length ┃ prompt_tokens ┃ theory ┃ server ┃ − theory ┃",
 *   "┡━━━━━━━━━╇━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━╇━━━━━━━━╇━━━━━━━━╇━━━━━━━━━━┩",
 *   "│ line 2  │          672 │           672 │    512 │    640 │     +128 │",
 *   "└─────────┴──────────────┴───────────────┴────────┴────────┴──────────┘",
 *   "",
 * ]);
 * ```
 */
export function mismatchTable(
  trace: ReplayTrace,
  rows: readonly RequestFidelity[],
  options: { limit?: number } = {},
): string {
  const lengthOff = (r: RequestFidelity): number =>
    r.promptTokens === undefined
      ? 0
      : Math.abs(r.promptTokens - r.intendedTokens);
  const cachedOff = (r: RequestFidelity): number =>
    r.cachedTokens === undefined
      ? 0
      : Math.abs(r.cachedTokens - r.theoreticalCached);
  const differ = rows.filter((r) => lengthOff(r) > 0 || cachedOff(r) > 0);
  if (differ.length === 0) return "";
  differ.sort((a, b) =>
    lengthOff(b) - lengthOff(a) || cachedOff(b) - cachedOff(a) ||
    a.request - b.request
  );
  const shown = differ.slice(0, options.limit ?? 10);
  const signed = (n: number): string => `${n > 0 ? "+" : ""}${n}`;
  const known = (n: number | undefined): string =>
    n === undefined ? "unknown" : String(n);
  return renderTable(
    [
      { header: "Request" },
      { header: "input_length" },
      { header: "prompt_tokens" },
      { header: "cached\ntheory" },
      { header: "cached\nserver" },
      { header: "cached\nserver\n− theory" },
    ],
    shown.map((r) => [
      trace.requests[r.request].where,
      String(r.intendedTokens),
      known(r.promptTokens),
      String(r.theoreticalCached),
      known(r.cachedTokens),
      r.cachedTokens === undefined
        ? "unknown"
        : signed(r.cachedTokens - r.theoreticalCached),
    ]),
    {
      title:
        `Requests that differ from the trace (${differ.length} of ${rows.length}${
          shown.length < differ.length ? `, ${shown.length} shown` : ""
        })`,
    },
  );
}
