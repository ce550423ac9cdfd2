import assert from "node:assert/strict";
import type { RequestRecord } from "../../lib/types.ts";
import {
  type CompletionPoint,
  lastWindowRates,
  overallRates,
  ServerMetrics,
  steadyStateRates,
  TraceAccumulator,
  TrieResult,
  windowRate,
  windowRates,
} from "./metrics.ts";
import { cumulativePromptTokens, type TraceRow } from "./trace_file.ts";

// All times are multiples of 125 ms, so every second value is exact in
// binary and the hand-computed figures compare with `equal`.

function rec(
  sentAt: number,
  firstTokenAt: number | undefined,
  endAt: number,
  usage?: { p: number; c: number; cached?: number },
  maxTokens = 0,
): RequestRecord {
  return {
    session: 0,
    turn: 0,
    scheduledAt: sentAt,
    sentAt,
    firstTokenAt,
    endAt,
    chunks: 1,
    promptChars: 0,
    outputChars: 0,
    promptTokens: usage?.p,
    completionTokens: usage?.c,
    cachedTokens: usage?.cached,
    maxTokens,
    // trie sends ignore_eos: the server stops at max_tokens and says so.
    finishReason: "length",
    ok: true,
    retries: 0,
  };
}

function row(
  input: number,
  turns: [number, number][],
  final: number,
): TraceRow {
  return {
    num_turns: turns.length,
    input_prompt_length: input,
    assistant_response_length: turns.map((t) => t[0]),
    tool_call_output_length: turns.map((t) => t[1]),
    tool_call_latency: turns.map(() => 0),
    final_assistant_response_length: final,
  };
}

const point = (
  t: number,
  completionTokens: number,
  newPromptTokens: number,
  cachedPromptTokens: number,
): CompletionPoint => ({
  t,
  completionTokens,
  newPromptTokens,
  cachedPromptTokens,
});

// The README's example row.
const ROW_A = row(32, [[16, 8], [20, 12]], 64);
const ROW_B = row(100, [], 10);
const ROW_C = row(10, [[1, 5]], 4);
const ROW_D = row(20, [[5, 3], [5, 3]], 7);

Deno.test("cumulativePromptTokens() adds earlier responses and tool outputs", () => {
  assert.equal(cumulativePromptTokens(ROW_A, 0), 32);
  assert.equal(cumulativePromptTokens(ROW_A, 1), 56);
  assert.equal(cumulativePromptTokens(ROW_A, 2), 88);
  assert.equal(cumulativePromptTokens(ROW_B, 0), 100);
});

Deno.test("TraceAccumulator: TTFT, TTFAT, latency, decode rate, cache sums", () => {
  const a = new TraceAccumulator(1000);
  // latency 0.75, ttft 0.25 → (16 − 1) / 0.5 = 30
  a.add(rec(1125, 1375, 1875, { p: 32, c: 16, cached: 0 }, 16));
  // latency 0.625, ttft 0.125 → (20 − 1) / 0.5 = 38
  a.add(rec(2000, 2125, 2625, { p: 56, c: 20, cached: 48 }, 20));
  // latency 2.25, ttft 0.25 → (64 − 1) / 2 = 31.5
  a.add(rec(3000, 3250, 5250, { p: 88, c: 64, cached: 76 }, 64));
  assert.equal(a.requests, 3);
  assert.equal(a.ttftS, 0.25); // request 0 only
  assert.equal(a.ttfatS, 2.25); // 3250 − 1000
  assert.equal(a.latencyS, 4.25); // 5250 − 1000
  assert.equal(a.decodeTps, (30 + 38 + 31.5) / 3);
  assert.equal(a.server.promptTokens, 32 + 56 + 88);
  assert.equal(a.server.cachedTokens, 0 + 48 + 76);
  // eligible_i = prompt_{i−1} + completion_{i−1}: 0 + 48 + 76
  assert.equal(a.server.eligiblePromptTokens, 124);
  assert.equal(a.server.cacheHitRate, 124 / 176);
  assert.equal(a.server.eligibleCacheHitRate, 1);
});

Deno.test("TraceAccumulator: undefined decode rates are left out of the mean, never 0", () => {
  const c = new TraceAccumulator(7750);
  // one output token → no rate although the decode time is 0.375 s
  c.add(rec(8000, 8125, 8500, { p: 10, c: 1, cached: 0 }, 1));
  // decode time 0 → no rate
  c.add(rec(9000, 9500, 9500, { p: 16, c: 4, cached: 16 }, 4));
  assert.equal(c.decodeTps, undefined);
  assert.equal(c.ttftS, 0.125);
  assert.equal(c.ttfatS, 1.75);
  assert.equal(c.latencyS, 1.75);
  // eligible 10 + 1 = 11 < cached 16: not clamped
  assert.equal(c.server.eligibleCacheHitRate, 16 / 11);
  assert.equal(c.server.cacheHitRate, 16 / 26);

  const x = new TraceAccumulator(0);
  // decode rate 9 and a request without a first token (no rate)
  x.add(rec(0, 250, 1250, undefined, 10));
  x.add(rec(2000, undefined, 3000, undefined, 10));
  assert.equal(x.decodeTps, 9);
  assert.equal(x.ttftS, 0.25);
  assert.equal(x.ttfatS, undefined); // the final request had no token
  assert.equal(x.latencyS, 3);
});

Deno.test("TraceAccumulator: usage missing → max_tokens, carry skips the request", () => {
  const d = new TraceAccumulator(10000);
  d.add(rec(10125, 10250, 10750, { p: 20, c: 5, cached: 0 }, 5)); // 4/0.5 = 8
  d.add(rec(11000, 11250, 11500, undefined, 5)); // max_tokens 5: 4/0.25 = 16
  d.add(rec(12000, 12500, 13000, { p: 36, c: 7, cached: 25 }, 7)); // 6/0.5 = 12
  assert.equal(d.decodeTps, 12);
  assert.equal(d.server.promptTokens, 56);
  assert.equal(d.server.cachedTokens, 25);
  // request 2 is eligible for request 0's 20 + 5 (request 1 had no usage)
  assert.equal(d.server.eligiblePromptTokens, 25);
  assert.equal(d.server.cacheHitRate, 25 / 56);
});

Deno.test("TraceAccumulator: in chat mode the eligible carry is the answer the next prompt re-sends, not the reasoning", () => {
  const a = new TraceAccumulator(0);
  // Request 0: prompt 1000, 300 output tokens of which 250 streamed as
  // reasoning events (one token each): the next turn re-sends 50.
  a.add({
    ...rec(0, 100, 1000, { p: 1000, c: 300, cached: 0 }, 300),
    chunks: 300,
    reasoningChunks: 250,
  });
  // Request 1 re-sends 1000 + 50 tokens, all of them cached.
  a.add(rec(2000, 2100, 3000, { p: 1100, c: 20, cached: 1050 }, 20));
  // eligible = 1000 + 50 = 1050 (today: 1000 + 300 = 1300, a 80.8 % rate)
  assert.equal(a.server.eligiblePromptTokens, 1050);
  assert.equal(a.server.eligibleCacheHitRate, 1);
});

Deno.test("ServerMetrics: rates are 0 without denominators", () => {
  const m = new ServerMetrics();
  assert.equal(m.cacheHitRate, 0);
  assert.equal(m.eligibleCacheHitRate, 0);
  m.recordUsage({ promptTokens: 10, completionTokens: 2, cachedTokens: 4 });
  assert.equal(m.cacheHitRate, 0.4);
  assert.equal(m.eligibleCacheHitRate, 0); // request 0 is eligible for 0
});

function scenario(stream: boolean): {
  result: TrieResult;
  outcomes: boolean[];
} {
  const result = new TrieResult({ stream, startedAt: 0 });
  const outcomes: boolean[] = [];
  const a = new TraceAccumulator(1000);
  a.add(rec(1125, 1375, 1875, { p: 32, c: 16, cached: 0 }, 16));
  result.recordTurn(ROW_A, 0, { at: 1 });
  a.add(rec(2000, 2125, 2625, { p: 56, c: 20, cached: 48 }, 20));
  result.recordTurn(ROW_A, 1, { at: 2 });
  // trace E: turn 0, then it fails
  result.recordTurn(ROW_A, 0, { at: 3 });
  result.recordFailure();
  a.add(rec(3000, 3250, 5250, { p: 88, c: 64, cached: 76 }, 64));
  outcomes.push(
    result.recordSuccess(ROW_A, a, { at: 4 }).serverMetricsRecorded,
  );
  // trace B, N = 0, a stream without usage
  const b = new TraceAccumulator(6000);
  b.add(rec(6250, 6500, 7500, undefined, 10)); // 9 / 1 = 9
  outcomes.push(
    result.recordSuccess(ROW_B, b, { at: 5 }).serverMetricsRecorded,
  );
  const c = new TraceAccumulator(7750);
  c.add(rec(8000, 8125, 8500, { p: 10, c: 1, cached: 0 }, 1));
  result.recordTurn(ROW_C, 0, { at: 6 });
  c.add(rec(9000, 9500, 9500, { p: 16, c: 4, cached: 16 }, 4));
  outcomes.push(
    result.recordSuccess(ROW_C, c, { at: 7 }).serverMetricsRecorded,
  );
  const d = new TraceAccumulator(10000);
  d.add(rec(10125, 10250, 10750, { p: 20, c: 5, cached: 0 }, 5));
  result.recordTurn(ROW_D, 0, { at: 8 });
  d.add(rec(11000, 11250, 11500, undefined, 5));
  result.recordTurn(ROW_D, 1, { at: 9 });
  // trace F: turn 0 at the same time, then it is cancelled (nothing more)
  result.recordTurn(ROW_A, 0, { at: 9 });
  d.add(rec(12000, 12500, 13000, { p: 36, c: 7, cached: 25 }, 7));
  outcomes.push(
    result.recordSuccess(ROW_D, d, { at: 10 }).serverMetricsRecorded,
  );
  result.wallTime = 12.5;
  return { result, outcomes };
}

// (t, cumulative completion, new, cached), by hand from the rows above.
const EXPECTED_POINTS = [
  point(1, 16, 32, 0), // A turn 0: +16, new 32
  point(2, 36, 40, 48), // A turn 1: +20, new 8, cached 56 − 8
  point(3, 52, 72, 48), // E turn 0
  point(4, 116, 84, 124), // A final: +64, new 12, cached 88 − 12
  point(5, 126, 184, 124), // B final (N = 0): +10, new 100
  point(6, 127, 194, 124), // C turn 0
  point(7, 131, 199, 135), // C final: +4, new 5, cached 16 − 5
  point(8, 136, 219, 135), // D turn 0
  point(9, 141, 222, 160), // D turn 1: new 3, cached 28 − 3
  point(9, 157, 254, 160), // F turn 0 (cancelled later; stays)
  point(10, 164, 257, 193), // D final: +7, new 3, cached 36 − 3
];

Deno.test("TrieResult: accounting points, counts and traces", () => {
  const { result, outcomes } = scenario(true);
  assert.deepEqual(result.points, EXPECTED_POINTS);
  assert.equal(result.completedTraces, 4);
  assert.equal(result.failedTraces, 1);
  assert.deepEqual(result.latencies, [4.25, 1.5, 1.75, 3]);
  assert.deepEqual(result.ttfts, [0.25, 0.25, 0.125, 0.125]);
  assert.deepEqual(result.ttfats, [2.25, 0.5, 1.75, 2.5]);
  // C has no request with a decode rate: left out and counted, not a 0.
  assert.deepEqual(result.tpsValues, [(30 + 38 + 31.5) / 3, 9, 12]);
  assert.equal(result.decodeUndefinedTraces, 1);
  // B streamed without usage: its server metrics are left out
  assert.deepEqual(outcomes, [true, false, true, true]);
  assert.deepEqual(
    result.serverMetrics.map((m) => [m.cacheHitRate, m.eligibleCacheHitRate]),
    [[124 / 176, 1], [16 / 26, 16 / 11], [25 / 56, 1]],
  );
  assert.equal(result.completedPromptTokens, 450);
  assert.equal(result.cachedPromptTokens, 193);
  assert.equal(result.newPromptTokens, 257);
  assert.equal(result.completedCompletionTokens, 164);
  assert.equal(result.tracePerS, 0.32);
});

Deno.test("TrieResult: overall, last-30 s and steady-state rates", () => {
  const { result } = scenario(true);
  assert.deepEqual(result.overallRates(), {
    promptTokS: 36, // 450 / 12.5
    cachedTokS: 15.44, // 193 / 12.5
    newPromptTokS: 20.56, // 257 / 12.5
    completionTokS: 13.12, // 164 / 12.5
  });
  // threshold 10 − 30 < 0 → from the first point (t = 1) to t = 10
  assert.deepEqual(result.lastWindowRates(), {
    promptTokS: (450 - 32) / 9,
    cachedTokS: 193 / 9,
    newPromptTokS: 25,
    completionTokS: (164 - 16) / 9,
  });
  // threshold 0.2 · 10 = 2 → bisect-left picks the point at exactly t = 2
  assert.deepEqual(result.steadyStateRates(), {
    promptTokS: 45.25, // (450 − 88) / 8
    cachedTokS: 18.125, // (193 − 48) / 8
    newPromptTokS: 27.125, // (257 − 40) / 8
    completionTokS: 16, // (164 − 36) / 8
  });
  // threshold 8.5 → the first of the two points at t = 9
  assert.equal(result.lastWindowRates(1.5).completionTokS, 23);
  assert.equal(result.lastWindowRates(1.5).promptTokS, 450 - 382);
  // threshold 9.5 → only the last point is at or after it
  assert.equal(result.steadyStateRates(0.95).completionTokS, 0);
});

Deno.test("TrieResult: non-stream keeps no stream metrics", () => {
  const { result, outcomes } = scenario(false);
  assert.deepEqual(result.ttfts, []);
  assert.deepEqual(result.ttfats, []);
  assert.deepEqual(result.tpsValues, []);
  // outside streaming every success records its server metrics (B: all 0)
  assert.deepEqual(outcomes, [true, true, true, true]);
  assert.deepEqual(result.serverMetrics.map((m) => m.cacheHitRate), [
    124 / 176,
    0,
    16 / 26,
    25 / 56,
  ]);
  assert.deepEqual(result.points, EXPECTED_POINTS);
});

Deno.test("TrieResult: points stay sorted; success needs requests", () => {
  const result = new TrieResult({ startedAt: 0 });
  result.recordTurn(ROW_A, 0, { at: 5 });
  result.recordTurn(ROW_A, 0, { at: 4 }); // raised to 5
  assert.deepEqual(result.points.map((p) => p.t), [5, 5]);
  assert.throws(
    () => result.recordSuccess(ROW_A, new TraceAccumulator(0)),
    RangeError,
  );
  assert.equal(result.tracePerS, 0); // wall time still 0
  assert.deepEqual(result.overallRates(), {
    promptTokS: 0,
    cachedTokS: 0,
    newPromptTokS: 0,
    completionTokS: 0,
  });
});

Deno.test("TrieResult: the default clock measures from startedAt", () => {
  const result = new TrieResult({ startedAt: performance.now() - 2000 });
  result.recordTurn(ROW_A, 0);
  const t = result.points[0].t;
  assert.ok(t >= 2 && t < 60, `t = ${t}`);
});

Deno.test("windowRate(): edge cases", () => {
  const pts = [point(1, 10, 0, 0), point(2, 30, 5, 1), point(5, 90, 11, 4)];
  assert.equal(windowRate([], 0, "completion"), 0);
  assert.equal(windowRate([pts[0]], 0, "completion"), 0); // one point
  assert.equal(windowRate(pts, 1.5, "completion"), 20); // (90 − 30) / 3
  assert.equal(windowRate(pts, 1.5, "prompt"), 3); // (15 − 6) / 3
  assert.equal(windowRate(pts, 1.5, "newPrompt"), 2);
  assert.equal(windowRate(pts, 1.5, "cached"), 1);
  assert.equal(windowRate(pts, 0, "completion"), 20); // (90 − 10) / 4
  assert.equal(windowRate(pts, 1, "completion"), 20); // t == threshold is in
  assert.equal(windowRate(pts, 5, "completion"), 0); // s is the last point
  assert.equal(windowRate(pts, 6, "completion"), 0); // beyond the last point
  const flat = [point(3, 1, 0, 0), point(3, 9, 0, 0)];
  assert.equal(windowRate(flat, 0, "completion"), 0); // s.t == e.t
  assert.deepEqual(windowRates(pts, 1.5), {
    promptTokS: 3,
    cachedTokS: 1,
    newPromptTokS: 2,
    completionTokS: 20,
  });
  assert.equal(lastWindowRates(pts, 3.5).completionTokS, 20); // from t = 2
  assert.equal(steadyStateRates(pts, 0.5).completionTokS, 0); // from t = 5
  assert.equal(overallRates(pts, 0).completionTokS, 0);
  assert.equal(overallRates([], 10).completionTokS, 0);
  assert.equal(overallRates(pts, 10).promptTokS, 1.5);
});
