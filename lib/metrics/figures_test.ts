import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  interTokenLatencies,
  outputReads,
  outputTokens,
  requestFigures,
} from "./figures.ts";
import { testRecord } from "../testing/records.ts";

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
      warmup: false,
      e2eMs: 1500,
      lagMs: 100, // scheduled at 0, sent at 100
      reasoningEvents: 0,
      answerEvents: 12,
      decodeUnmeasured: false,
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
    warmup: false,
    e2eMs: 700,
    lagMs: 0,
    reasoningEvents: 0,
    answerEvents: 0,
    decodeUnmeasured: false,
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
    {
      ok: false,
      warmup: false,
      e2eMs: 40,
      lagMs: 0,
      reasoningEvents: 0,
      answerEvents: 0,
      decodeUnmeasured: false,
    },
  );
  // cached tokens reported against an empty prompt: no rate
  strictEqual(
    requestFigures(testRecord({ promptTokens: 0, cachedTokens: 0 }))
      .cacheHitRate,
    undefined,
  );
});

Deno.test("requestFigures: reasoning counts as output; TTFT at the first token of any kind, the answer beside it", () => {
  // 3 reasoning events then 2 answer events, one per read, 10 ms apart.
  const f = requestFigures(testRecord({
    sentAt: 0,
    firstTokenAt: 100,
    firstAnswerAt: 130,
    endAt: 141,
    chunks: 5,
    reasoningChunks: 3,
    completionTokens: 5,
    readGaps: [100, 100, 100, 100],
  }));
  strictEqual(f.ttftMs, 100);
  strictEqual(f.firstAnswerMs, 130);
  deepStrictEqual([f.reasoningEvents, f.answerEvents], [3, 2]);
  strictEqual(f.tpotMs, 41 / 4); // (141 − 100) / (5 − 1)
});

Deno.test("requestFigures: the decode window needs two reads after the first, or one of one event", () => {
  const base = testRecord({
    firstTokenAt: 100,
    endAt: 140,
    completionTokens: 4,
  });
  const unmeasured = (fields: Partial<typeof base>) =>
    requestFigures({ ...base, ...fields }).decodeUnmeasured;
  // All 4 in the first read; or 1 then 3 in one read: no window.
  strictEqual(unmeasured({ chunks: 4, readGaps: [], readEvents: [4] }), true);
  strictEqual(
    unmeasured({ chunks: 4, readGaps: [300], readEvents: [1, 3] }),
    true,
  );
  // 1, then 2 reads: measured (and 2 tokens in 2 reads too).
  strictEqual(
    unmeasured({ chunks: 4, readGaps: [100, 200], readEvents: [1, 2, 1] }),
    false,
  );
  strictEqual(
    unmeasured({ chunks: 2, completionTokens: 2, readGaps: [400] }),
    false,
  );
  // One token: nothing to measure, and nothing missing.
  strictEqual(
    unmeasured({ chunks: 1, completionTokens: 1, readGaps: [] }),
    false,
  );
  const f = requestFigures({
    ...base,
    chunks: 4,
    readGaps: [300],
    readEvents: [1, 3],
  });
  strictEqual(f.tpotMs, undefined);
  strictEqual(f.decodeTps, undefined);
});

Deno.test("requestFigures: bursts have no decode window (reads 0.0 ms apart, a first read of several events)", () => {
  const base = testRecord({
    firstTokenAt: 1000,
    endAt: 1000.5,
    completionTokens: 11,
  });
  const f = (fields: Partial<typeof base>) =>
    requestFigures({ ...base, ...fields });
  // The demo's stall: first token, then 10 reads 0.0 ms apart. Today's
  // 10 / 0.5 ms = 20 000 tok/s is not a decode rate.
  const zeroApart = f({
    chunks: 11,
    readGaps: [5, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  });
  strictEqual(zeroApart.decodeUnmeasured, true);
  strictEqual(zeroApart.decodeTps, undefined);
  strictEqual(zeroApart.tpotMs, undefined);
  // 10 events in the first read, then one more read: a burst too.
  const firstRead = f({ chunks: 11, readGaps: [5], readEvents: [10, 1] });
  strictEqual(firstRead.decodeUnmeasured, true);
  // Two reads after the first with a positive gap: measured, 10 / 0.5 ms.
  const spread = f({
    chunks: 11,
    endAt: 1010,
    readGaps: [50, 50],
    readEvents: [1, 5, 5],
  });
  strictEqual(spread.decodeUnmeasured, false);
  strictEqual(spread.decodeTps, 1000); // (11 − 1) / 10 ms
  // A two-token response whose second token came alone 0.0 ms later: a burst.
  strictEqual(
    f({ chunks: 2, completionTokens: 2, readGaps: [0] }).decodeUnmeasured,
    true,
  );
});

Deno.test("interTokenLatencies and outputReads read the compact per-read timing", () => {
  const record = testRecord({
    firstTokenAt: 1000,
    chunks: 6,
    readGaps: [200, 301, 99],
    readEvents: [2, 1, 2, 1],
  });
  // The first read's 2 events have no gap; 20 ms; 30.1 ms over 2; 9.9 ms.
  deepStrictEqual(interTokenLatencies(record), [20, 15.05, 15.05, 9.9]);
  deepStrictEqual(outputReads(record), [
    { at: 1000, events: 2 },
    { at: 1020, events: 1 },
    { at: 1050.1, events: 2 },
    { at: 1060, events: 1 },
  ]);
  deepStrictEqual(interTokenLatencies(testRecord()), []);
  deepStrictEqual(outputReads(testRecord()), []);
});
