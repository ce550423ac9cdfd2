/**
 * Lap 1 by hand: a shard's share of the lap, a merged run's lap from the
 * parts' records, aborted requests left out.
 */
import assert from "node:assert/strict";
import { LapTracker } from "./lap.ts";
import { mergeBenchmarkFigures } from "./merge.ts";
import { sizeBenchmark } from "./sizing.ts";
import { testRecord } from "../../lib/testing/records.ts";
import type { RequestRecord } from "../../lib/types.ts";

// 5 contexts of 1,000 tokens: 0.9 × 1 GiB / (1,000 × 193,000 bytes) = 5.007.
const sizing = sizeBenchmark("m", {
  offloadSizeGib: 1,
  bytesPerToken: 193_000,
  inputLength: 1000,
  outputLength: 2,
});

/** Request `index` of the tile order, sent at `sent` ms, ended at `end`. */
const request = (index: number, sent: number, end: number): RequestRecord =>
  testRecord({
    tags: { context: index % 5, index },
    runStartedAt: 0,
    sentAt: sent,
    firstTokenAt: end - 1,
    endAt: end,
    promptTokens: 1000,
    completionTokens: 2,
  });

Deno.test("lap 1: a shard's part of the lap; aborted requests do not settle it", () => {
  assert.equal(sizing.contexts, 5);
  // Shard 1 of 2 runs tile indices 1 and 3 of lap 1.
  const shard = new LapTracker({
    contexts: 5,
    maxInFlight: 2,
    part: { index: 1, count: 2 },
  });
  shard.add(request(1, 10, 400));
  shard.add({
    ...request(3, 20, 500),
    ok: false,
    error: { kind: "aborted", message: "stopped" },
  });
  assert.deepEqual(shard.figures(), {
    requests: 2,
    settled: 1,
    firstSendMs: 10,
  });
  shard.add(request(3, 420, 900));
  // 900 − 10 ms: the first send to the last end.
  assert.deepEqual(shard.figures(), {
    requests: 2,
    settled: 2,
    lapMs: 890,
    firstSendMs: 10,
  });
});

Deno.test("lap 1 of a merged run: the parts' first-lap requests on one clock", async () => {
  // Two shards' records, merged: lap 1 is indices 0–4; 5 and 6 are lap 2.
  const records = [
    request(0, 5, 300),
    request(1, 7, 320),
    request(2, 300, 610),
    request(3, 320, 640),
    request(4, 610, 930),
    request(5, 640, 700),
    request(6, 930, 990),
  ];
  const json = await mergeBenchmarkFigures({
    records,
    params: {},
    workload: sizing,
    elapsedMs: 1000,
    summary: {
      startedAt: 0,
      endedAt: 1000,
      wallTimeMs: 1000,
      stopReason: "duration",
      sessions: { started: 7, completed: 7, failed: 0, cancelled: 0 },
      requests: { sent: 7, ok: 7, failed: 0, aborted: 0 },
    },
  });
  // 930 − 5 ms.
  assert.deepEqual(json.lap_1, { requests: 5, settled: 5, elapsed_s: 0.925 });
});

Deno.test("lap 1: a shard with the remainder of the in-flight split estimates from its own in-flight + 1", () => {
  // 12 contexts, 5 in flight over 2 shards: shard 0 runs 3 in flight
  // (lib/run/part.ts), tile indices 0, 2, …, 10 (6 requests) in batches of 3
  // ending at 1 s and 2 s. Estimating at k = 2 (both from the first batch)
  // would say ~1 s; at k = 4 = 3 + 1: t_1 = 1000, t_4 = 2000,
  // 1000 + (2000 − 1000) × 5 / 3 = 2666.7 ms.
  const shard = new LapTracker({
    contexts: 12,
    maxInFlight: 5,
    part: { index: 0, count: 2 },
  });
  const at = (index: number, end: number): RequestRecord =>
    testRecord({
      tags: { context: index, index },
      runStartedAt: 0,
      sentAt: 0,
      firstTokenAt: end - 1,
      endAt: end,
    });
  assert.equal(shard.add(at(0, 1000)), undefined);
  assert.equal(shard.add(at(2, 1000)), undefined);
  assert.equal(shard.add(at(4, 1000)), undefined);
  const estimate = shard.add(at(6, 2000))!;
  assert.equal(estimate.from, 4);
  assert.equal(estimate.of, 6);
  assert.equal(estimate.inFlight, 3);
  assert.equal(Math.round(estimate.lapMs * 10) / 10, 2666.7);
});
