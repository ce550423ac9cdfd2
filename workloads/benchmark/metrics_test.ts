import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { BenchmarkMetrics } from "./metrics.ts";
import { renderBenchmarkBlock } from "./report.ts";
import type { RequestRecord } from "../../lib/types.ts";

function rec(over: Partial<RequestRecord>): RequestRecord {
  return {
    session: 0,
    turn: 0,
    scheduledAt: 0,
    sentAt: 0,
    endAt: 0,
    chunks: 1,
    promptChars: 0,
    outputChars: 0,
    maxTokens: 100,
    ok: true,
    retries: 0,
    ...over,
  };
}

// Hand-computed: see each comment.
const r1 = rec({
  sentAt: 0,
  firstTokenAt: 500,
  endAt: 1500,
  promptTokens: 1000,
  completionTokens: 11,
});
// ttft 0.5 s, prefill 1000/0.5 = 2000, decode (11−1)/1 = 10, itl 1/(11-1) = 0.1
const r2 = rec({
  sentAt: 100,
  firstTokenAt: 1100,
  endAt: 1600,
  promptTokens: 3000,
  completionTokens: 6,
  cachedTokens: 2000,
});
// ttft 1.0, prefill 3000, decode (6−1)/0.5 = 10, itl 0.5/5 = 0.1; cache 2000/3000
const r3 = rec({
  sentAt: 0,
  firstTokenAt: 250,
  endAt: 1250,
  chunks: 9,
  promptChars: 500,
  outputChars: 9,
});
// no usage: output tokens = 9 events (requestFigures' policy), no prefill
// throughput; ttft 0.25, decode (9−1)/1 = 8, itl 1/(9−1) = 0.125

Deno.test("BenchmarkMetrics keeps global and interval means and prints the block", () => {
  const m = new BenchmarkMetrics();
  strictEqual(m.pending, false);
  m.add(r1);
  m.add(r2);
  m.add(rec({ ok: false, error: { kind: "aborted", message: "x" } })); // ignored
  strictEqual(m.pending, true);
  strictEqual(
    renderBenchmarkBlock(m.report(10)),
    [
      "Elapsed Time: 10.00",
      "Total Number of Requests Processed: 2",
      "QPS: 0.20",
      "Global Average TTFT: 0.75",
      "Global Average ITL: 0.100",
      "Global Average Prefill Throughput: 2500.00",
      "Global Average Decode Throughput: 10.00",
      "Requests Processed in Last 5 second Interval: 2",
      "Interval Average TTFT: 0.75",
      "Interval Average ITL: 0.100",
      "Interval Average Prefill Throughput: 2500.00",
      "Interval Average Decode Throughput: 10.00",
      "Failed Requests: 0 (0 in interval)",
      "Global Cache Hit Rate: 66.67%",
      "Interval Cache Hit Rate: 66.67%",
      "",
      "",
    ].join("\n"),
  );
  strictEqual(m.pending, false);
  m.add(r3);
  m.add(rec({ ok: false, error: { kind: "http", message: "HTTP 500" } }));
  const snapshot = m.report(20);
  deepStrictEqual(snapshot.failures, { http: 1 });
  strictEqual(snapshot.withoutUsage, 1);
  strictEqual(
    renderBenchmarkBlock(snapshot, { intervalSeconds: 10 }),
    [
      "Elapsed Time: 20.00",
      "Total Number of Requests Processed: 3",
      "QPS: 0.15",
      "Global Average TTFT: 0.58", // (0.5 + 1 + 0.25) / 3 = 0.5833
      "Global Average ITL: 0.108", // (0.1 + 0.1 + 0.125) / 3
      "Global Average Prefill Throughput: 2500.00", // (2000 + 3000) / 2: r3 has no usage
      "Global Average Decode Throughput: 9.33", // (10 + 10 + 8) / 3
      "Requests Processed in Last 10 second Interval: 1",
      "Interval Average TTFT: 0.25",
      "Interval Average ITL: 0.125",
      "Interval Average Prefill Throughput: -",
      "Interval Average Decode Throughput: 8.00",
      "Failed Requests: 1 (1 in interval)",
      "Global Cache Hit Rate: 66.67%",
      "Interval Cache Hit Rate: -",
      "",
      "",
    ].join("\n"),
  );
});

Deno.test("renderBenchmarkBlock prints '-' for means without samples and no cache lines without cached_tokens", () => {
  const text = renderBenchmarkBlock(new BenchmarkMetrics().report(0));
  strictEqual(
    text,
    "Elapsed Time: 0.00\nTotal Number of Requests Processed: 0\nQPS: 0.00\nGlobal Average TTFT: -\n" +
      "Global Average ITL: -\nGlobal Average Prefill Throughput: -\nGlobal Average Decode Throughput: -\n" +
      "Requests Processed in Last 5 second Interval: 0\nInterval Average TTFT: -\nInterval Average ITL: -\n" +
      "Interval Average Prefill Throughput: -\nInterval Average Decode Throughput: -\n" +
      "Failed Requests: 0 (0 in interval)\n\n",
  );
});

Deno.test("BenchmarkMetrics: decode throughput is the documented rate; bursts and one-token responses are left out and counted", () => {
  const m = new BenchmarkMetrics();
  // Two responses decoded at 100 tok/s: 11 tokens, one per read 10 ms apart.
  const steady = rec({
    sentAt: 0,
    firstTokenAt: 100,
    endAt: 200,
    chunks: 11,
    completionTokens: 11,
    readGaps: Array(10).fill(100),
  });
  m.add(steady);
  m.add({ ...steady, session: 1 });
  // One held back whole by a proxy: 11 events in one read, 0.15 ms window.
  // Today's 11 / 0.15 ms = 73,333 tok/s would have made the mean 24,511.
  m.add(rec({
    sentAt: 0,
    firstTokenAt: 1000,
    endAt: 1000.15,
    chunks: 11,
    completionTokens: 11,
    readGaps: [],
    readEvents: [11],
  }));
  // A one-token response: no decode at all (today: 1 / 0.1 s = 10 tok/s).
  m.add(rec({ sentAt: 0, firstTokenAt: 50, endAt: 150, completionTokens: 1 }));
  const snapshot = m.report(10);
  strictEqual(snapshot.global.decodeN, 2);
  strictEqual(snapshot.global.decodeUnmeasured, 1);
  const lines = renderBenchmarkBlock(snapshot).split("\n");
  strictEqual(lines[6], "Global Average Decode Throughput: 100.00");
  strictEqual(lines[11], "Interval Average Decode Throughput: 100.00");
  strictEqual(lines[13], "Decode Throughput Not Measurable: 1 (1 in interval)");
});

Deno.test("BenchmarkMetrics: QPS counts from the first measured send, not the warm-up", () => {
  const m = new BenchmarkMetrics();
  // Run started at 1000 ms; 40 warm-up requests took the first 1.5 s, then
  // 40 measured requests went out from 2500 ms to a report at 3.0 s of run
  // time: 40 requests / (3.0 − 1.5) s = 26.67 QPS (not 40 / 3 = 13.33).
  for (let i = 0; i < 40; i++) {
    m.add(
      rec({ runStartedAt: 1000, sentAt: 1000 + i, endAt: 2000, warmup: true }),
    );
  }
  for (let i = 0; i < 40; i++) {
    m.add(rec({
      runStartedAt: 1000,
      sentAt: 2500 + i,
      firstTokenAt: 2600 + i,
      endAt: 3000,
      completionTokens: 1,
    }));
  }
  const snapshot = m.report(3);
  strictEqual(snapshot.measured, 1.5);
  strictEqual(renderBenchmarkBlock(snapshot).split("\n")[2], "QPS: 26.67");
});
