import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { LatencyDistributions, renderDistributions } from "./distributions.ts";
import { testRecord } from "../testing/records.ts";
import { MeasuredClock } from "./measured_clock.ts";

// A measured request: 11 tokens, one per read 10 ms apart (TPOT 10 ms).
const good = testRecord({
  runStartedAt: 0,
  sentAt: 1000,
  firstTokenAt: 1100,
  endAt: 1200,
  chunks: 11,
  completionTokens: 11,
  readGaps: Array(10).fill(100),
});

Deno.test("goodput counts every measured request: completed and failed, not aborted or warm-up", () => {
  const d = new LatencyDistributions({ slos: { ttftMs: 500, tpotMs: 20 } });
  for (let i = 0; i < 10; i++) d.add({ ...good, session: i });
  for (let i = 0; i < 10; i++) {
    d.add(testRecord({
      runStartedAt: 0,
      sentAt: 1000,
      endAt: 1010,
      ok: false,
      error: { kind: "http", message: "HTTP 500" },
    }));
  }
  d.add(testRecord({ ok: false, error: { kind: "aborted", message: "stop" } }));
  d.add({ ...good, warmup: true, sentAt: 0 });
  const s = d.summary({ elapsedMs: 6000 });
  // 10 good of 20 measured (today: "10 of 10 (100.0%)").
  strictEqual(s.goodput!.requests, 10);
  strictEqual(s.goodput!.measured, 20);
  strictEqual(s.goodput!.fraction, 0.5);
  // The measured clock starts at the first measured send, 1000 ms into the
  // run: 10 good / 5 s = 2 req/s; 110 tokens / 5 s = 22 tok/s.
  strictEqual(s.measuredMs, 5000);
  strictEqual(s.goodput!.perS, 2);
  strictEqual(s.outputTokensPerS, 22);
  const text = renderDistributions(s);
  strictEqual(
    text.split("\n").find((l) => l.startsWith("Goodput")),
    "Goodput (TTFT ≤ 500 ms, TPOT ≤ 20 ms): 10 of 20 requests (50.0%), 2.00 req/s",
  );
});

Deno.test("goodput: a one-token response is judged on its other targets; a burst fails a TPOT target", () => {
  const d = new LatencyDistributions({ slos: { ttftMs: 500, tpotMs: 20 } });
  // One token, TTFT 100 ms: no decode to judge, meets TTFT: good.
  d.add(testRecord({ firstTokenAt: 100, endAt: 100, completionTokens: 1 }));
  // One token, TTFT 600 ms: misses TTFT.
  d.add(testRecord({ firstTokenAt: 600, endAt: 600, completionTokens: 1 }));
  // 11 tokens in one read after the first: decode unmeasured, fails TPOT.
  d.add(testRecord({
    firstTokenAt: 100,
    endAt: 100.2,
    chunks: 11,
    completionTokens: 11,
    readGaps: [2],
    readEvents: [1, 10],
  }));
  const s = d.summary();
  deepStrictEqual([s.goodput!.requests, s.goodput!.measured], [1, 3]);
  strictEqual(s.decodeUnmeasured, 1);
  strictEqual(s.goodput!.perS, undefined);
});

Deno.test("a run without warm-up keeps the run's clock", () => {
  const d = new LatencyDistributions();
  d.add({ ...good, sentAt: 300 });
  const s = d.summary({ elapsedMs: 2000 });
  strictEqual(s.measuredMs, 2000);
  strictEqual(s.outputTokensPerS, 5.5); // 11 tokens / 2 s
});

Deno.test("MeasuredClock: records of processes on different clocks; records without the run's start", () => {
  const clock = new MeasuredClock();
  // Two workers, each clock its own: sends 30 ms and 25 ms into their runs.
  clock.add(testRecord({ warmup: true, runStartedAt: 0, sentAt: 0 }));
  clock.add(testRecord({ runStartedAt: 5000, sentAt: 5030 }));
  clock.add(testRecord({ runStartedAt: 90, sentAt: 115 }));
  strictEqual(clock.offsetMs(), 25);
  strictEqual(clock.measuredMs(1025), 1000);
  const other = new MeasuredClock();
  other.add(testRecord({ warmup: true }));
  strictEqual(other.offsetMs(), undefined); // nothing measured yet
  other.add(testRecord({ sentAt: 40 })); // no runStartedAt: the run's clock
  strictEqual(other.offsetMs(), 0);
});
