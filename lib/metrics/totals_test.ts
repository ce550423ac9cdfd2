import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { recordTotals } from "./totals.ts";
import type { RequestRecord } from "../types.ts";

const base: RequestRecord = {
  session: 0,
  turn: 0,
  scheduledAt: 0,
  sentAt: 10,
  endAt: 0,
  chunks: 0,
  promptChars: 0,
  outputChars: 0,
  maxTokens: 8,
  ok: true,
  retries: 0,
};

Deno.test("recordTotals counts outcomes, sums tokens and keeps TTFT, TPOT and E2E samples", () => {
  const totals = recordTotals([
    {
      ...base,
      firstTokenAt: 60,
      endAt: 130,
      chunks: 8,
      promptTokens: 100,
      completionTokens: 8,
      cachedTokens: 48,
    },
    // No cached_tokens reported: its prompt stays out of the hit rate.
    {
      ...base,
      firstTokenAt: 30,
      endAt: 30,
      chunks: 1,
      promptTokens: 50,
      completionTokens: 1,
    },
    // Non-streamed: no TTFT.
    {
      ...base,
      endAt: 200,
      promptTokens: 200,
      completionTokens: 8,
      cachedTokens: 152,
    },
    {
      ...base,
      ok: false,
      status: 500,
      error: { kind: "http", message: "HTTP 500" },
    },
    { ...base, ok: false, error: { kind: "aborted", message: "aborted" } },
  ]);
  deepStrictEqual(totals, {
    sent: 5,
    ok: 3,
    failed: 1,
    aborted: 1,
    promptTokens: 350,
    cachedTokens: 200,
    completionTokens: 17,
    cacheHitRate: 200 / 300,
    ttftMs: [50, 20],
    tpotMs: [10], // (130 − 60) / 7
    e2eMs: [120, 20, 190],
  });
  strictEqual(recordTotals([]).cacheHitRate, undefined);
});
