import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { outputTokens, requestFigures } from "./figures.ts";
import { testRecord } from "../../testing/records.ts";

Deno.test("requestFigures: a streamed response with usage", () => {
  // ttft 500 ms, decode 1000 ms, 11 tokens: tpot 1000/10 = 100 ms, decode
  // rate 10/1 s = 10 tok/s, prefill 1000/0.5 s = 2000 tok/s, hits 800/1000.
  deepStrictEqual(
    requestFigures(testRecord({
      sentAt: 100,
      firstTokenAt: 600,
      endAt: 1600,
      chunks: 12,
      promptTokens: 1000,
      completionTokens: 11,
      cachedTokens: 800,
    })),
    {
      ok: true,
      e2eMs: 1500,
      ttftMs: 500,
      decodeMs: 1000,
      promptTokens: 1000,
      cachedTokens: 800,
      cacheHitRate: 0.8,
      outputTokens: 11,
      outputTokensFrom: "usage",
      tpotMs: 100,
      decodeTps: 10,
      prefillTps: 2000,
    },
  );
});

Deno.test("requestFigures: the missing-usage policy (length → max_tokens, else events)", () => {
  const noUsage = testRecord({
    sentAt: 0,
    firstTokenAt: 250,
    endAt: 1250,
    chunks: 9,
    maxTokens: 21,
  });
  // finish_reason length: the server generated max_tokens = 21 → tpot 1000/20
  const atLimit = requestFigures({ ...noUsage, finishReason: "length" });
  strictEqual(atLimit.outputTokens, 21);
  strictEqual(atLimit.outputTokensFrom, "max_tokens");
  strictEqual(atLimit.tpotMs, 50);
  strictEqual(atLimit.decodeTps, 20);
  // stopped early (or no reason given): one token per event = 9 → tpot 1000/8
  const stopped = requestFigures({ ...noUsage, finishReason: "stop" });
  strictEqual(stopped.outputTokens, 9);
  strictEqual(stopped.outputTokensFrom, "events");
  strictEqual(stopped.tpotMs, 125);
  deepStrictEqual(outputTokens(noUsage), { tokens: 9, from: "events" });
  // no prompt tokens, no cached tokens: no prefill rate, no cache figure
  strictEqual(stopped.prefillTps, undefined);
  strictEqual(stopped.cachedTokens, undefined);
  strictEqual(stopped.cacheHitRate, undefined);
});

Deno.test("requestFigures: no decode figures for one token or no decode time; failures keep only E2E and usage", () => {
  const one = requestFigures(testRecord({
    firstTokenAt: 200,
    endAt: 300,
    promptTokens: 10,
    completionTokens: 1,
  }));
  strictEqual(one.tpotMs, undefined);
  strictEqual(one.decodeTps, undefined);
  strictEqual(one.prefillTps, 50);
  const instant = requestFigures(testRecord({
    firstTokenAt: 200,
    endAt: 200,
    completionTokens: 4,
  }));
  strictEqual(instant.decodeMs, 0);
  strictEqual(instant.tpotMs, undefined);
  // not streamed: no TTFT, but output tokens and E2E
  const whole = requestFigures(testRecord({ endAt: 700, completionTokens: 5 }));
  deepStrictEqual(whole, {
    ok: true,
    e2eMs: 700,
    outputTokens: 5,
    outputTokensFrom: "usage",
  });
  // a failure: E2E only
  deepStrictEqual(
    requestFigures(testRecord({
      endAt: 40,
      ok: false,
      firstTokenAt: 20,
      error: { kind: "stream_cut", message: "cut" },
    })),
    { ok: false, e2eMs: 40 },
  );
  // cached tokens reported against an empty prompt: no rate
  strictEqual(
    requestFigures(testRecord({ promptTokens: 0, cachedTokens: 0 }))
      .cacheHitRate,
    undefined,
  );
});
