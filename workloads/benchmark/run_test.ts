import assert from "node:assert/strict";
import { runBenchmark } from "./run.ts";
import { sizeBenchmark } from "./sizing.ts";
import type { RecordSource } from "../../lib/run/runner.ts";
import { testRecord } from "../../lib/testing/records.ts";

const sleepUntil = (at: number): Promise<void> =>
  new Promise((resolve) =>
    setTimeout(resolve, Math.max(0, at - performance.now()))
  );

Deno.test("runBenchmark from other processes' records: each record in the block its end falls in, blocks on the run's clock", async () => {
  const startedAt = performance.now() + 100; // a common start still to come
  const record = (session: number, endOffset: number) =>
    testRecord({
      session,
      runStartedAt: startedAt,
      scheduledAt: startedAt + endOffset - 30,
      sentAt: startedAt + endOffset - 30,
      firstTokenAt: startedAt + endOffset - 10,
      endAt: startedAt + endOffset,
      completionTokens: 1,
    });
  // Both are read 1.1 s into the run, after the 1 s report's time (a parent
  // reads its workers' files every 200 ms): one ended before it, one after.
  const source: RecordSource = async ({ onRecord }) => {
    await sleepUntil(startedAt + 1100);
    onRecord(record(0, 900));
    onRecord(record(1, 1050));
    await sleepUntil(startedAt + 2200);
    return {
      startedAt,
      endedAt: startedAt + 2300,
      wallTimeMs: 2300,
      stopReason: "duration",
      sessions: { started: 2, completed: 2, failed: 0, cancelled: 0 },
      requests: { sent: 2, ok: 2, failed: 0, aborted: 0 },
    };
  };
  const blocks: string[] = [];
  const result = await runBenchmark(
    sizeBenchmark("m", {
      offloadSizeGib: 1,
      bytesPerToken: 98304,
      inputLength: 1000,
      outputLength: 8,
    }),
    {
      endpoint: { baseUrl: "http://127.0.0.1:9", model: "m" },
      source,
      startedAt,
      intervalMs: 1000,
      write: (text) => blocks.push(text),
    },
  );
  // The 1 s block, at 1.00 s of the run's clock, holds the one that ended
  // before it (today: no block at 1 s, both in a block at 2 s).
  assert.equal(blocks.length, 1);
  const lines = blocks[0].split("\n");
  assert.equal(lines[0], "Elapsed Time: 1.00");
  assert.equal(lines[1], "Total Number of Requests Processed: 1");
  assert.equal(lines[7], "Requests Processed in Last 1 second Interval: 1");
  // The other is in the final block's interval.
  assert.equal(result.final.elapsed, 2.3);
  assert.equal(result.final.global.requests, 2);
  assert.equal(result.final.interval.requests, 1);
});
