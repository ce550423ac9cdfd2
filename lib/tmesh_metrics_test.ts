import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  renderTmeshBlock,
  TmeshMetrics,
  tmeshSample,
} from "./tmesh_metrics.ts";
import type { RequestRecord } from "./types.ts";

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
// ttft 0.5 s, prefill 1000/0.5 = 2000, decode 11/1 = 11, itl 1/(11-1) = 0.1
const r2 = rec({
  sentAt: 100,
  firstTokenAt: 1100,
  endAt: 1600,
  promptTokens: 3000,
  completionTokens: 6,
  cachedTokens: 2000,
});
// ttft 1.0, prefill 3000, decode 6/0.5 = 12, itl 0.5/5 = 0.1; cache 2000/3000
const r3 = rec({
  sentAt: 0,
  firstTokenAt: 250,
  endAt: 1250,
  promptChars: 500,
  outputChars: 9,
});
// no usage → characters: ttft 0.25, prefill 500/0.25 = 2000, decode 9/1 = 9, itl 1/(9+1) = 0.1

Deno.test("tmeshSample derives tmesh's per-request values in tokens, or characters without usage", () => {
  deepStrictEqual(tmeshSample(r1), {
    ttft: 0.5,
    prefill: 2000,
    decode: 11,
    itl: 0.1,
    chars: false,
  });
  deepStrictEqual(tmeshSample(r2), {
    ttft: 1,
    prefill: 3000,
    decode: 12,
    itl: 0.1,
    chars: false,
  });
  deepStrictEqual(tmeshSample(r3), {
    ttft: 0.25,
    prefill: 2000,
    decode: 9,
    itl: 0.1,
    chars: true,
  });
  // one completion token: no ITL; zero decode time: no decode throughput
  deepStrictEqual(
    tmeshSample(
      rec({
        firstTokenAt: 200,
        endAt: 200,
        promptTokens: 10,
        completionTokens: 1,
      }),
    ),
    { ttft: 0.2, prefill: 50, chars: false },
  );
  strictEqual(tmeshSample(rec({ endAt: 5 })), undefined);
});

Deno.test("TmeshMetrics keeps global and interval means and prints the block", () => {
  const m = new TmeshMetrics();
  strictEqual(m.pending, false);
  m.add(r1);
  m.add(r2);
  m.add(rec({ ok: false, error: { kind: "aborted", message: "x" } })); // ignored
  strictEqual(m.pending, true);
  strictEqual(
    renderTmeshBlock(m.report(10)),
    [
      "Elapsed Time: 10.00",
      "Total Number of Requests Processed: 2",
      "QPS: 0.20",
      "Global Average TTFT: 0.75",
      "Global Average ITL: 0.100",
      "Global Average Prefill Throughput: 2500.00",
      "Global Average Decode Throughput: 11.50",
      "Requests Processed in Last 5 second Interval: 2",
      "Interval Average TTFT: 0.75",
      "Interval Average ITL: 0.100",
      "Interval Average Prefill Throughput: 2500.00",
      "Interval Average Decode Throughput: 11.50",
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
  strictEqual(snapshot.chars, true);
  strictEqual(
    renderTmeshBlock(snapshot, { intervalSeconds: 10 }),
    [
      "Elapsed Time: 20.00",
      "Total Number of Requests Processed: 3",
      "QPS: 0.15",
      "Global Average TTFT: 0.58", // (0.5 + 1 + 0.25) / 3 = 0.5833
      "Global Average ITL: 0.100",
      "Global Average Prefill Throughput: 2333.33", // (2000 + 3000 + 2000) / 3
      "Global Average Decode Throughput: 10.67", // (11 + 12 + 9) / 3
      "Requests Processed in Last 10 second Interval: 1",
      "Interval Average TTFT: 0.25",
      "Interval Average ITL: 0.100",
      "Interval Average Prefill Throughput: 2000.00",
      "Interval Average Decode Throughput: 9.00",
      "Failed Requests: 1 (1 in interval)",
      "Global Cache Hit Rate: 66.67%",
      "Interval Cache Hit Rate: -",
      "",
      "",
    ].join("\n"),
  );
});

Deno.test("renderTmeshBlock prints '-' for means without samples and no cache lines without cached_tokens", () => {
  const text = renderTmeshBlock(new TmeshMetrics().report(0));
  strictEqual(
    text,
    "Elapsed Time: 0.00\nTotal Number of Requests Processed: 0\nQPS: 0.00\nGlobal Average TTFT: -\n" +
      "Global Average ITL: -\nGlobal Average Prefill Throughput: -\nGlobal Average Decode Throughput: -\n" +
      "Requests Processed in Last 5 second Interval: 0\nInterval Average TTFT: -\nInterval Average ITL: -\n" +
      "Interval Average Prefill Throughput: -\nInterval Average Decode Throughput: -\n" +
      "Failed Requests: 0 (0 in interval)\n\n",
  );
});
