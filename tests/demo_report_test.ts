import { strictEqual } from "node:assert/strict";
import { renderComparison, runFigures } from "../tasks/demo_report.ts";

const record = (
  context: number,
  sentAt: number,
  firstTokenAt?: number,
  ok = true,
) =>
  JSON.stringify({ session: 0, tags: { context }, sentAt, firstTokenAt, ok });

Deno.test("runFigures: reuses are the records after each context's first; means by hand", () => {
  const records = [
    record(0, 0, 1_600), // first of context 0
    record(1, 0, 3_200), // first of context 1
    record(0, 4_000, 4_250), // reuse: 0.25 s
    record(1, 4_000, 4_500), // reuse: 0.50 s
    '{"report":{"elapsedMs":4600}}', // a report mark: not a record
    record(0, 5_000, undefined, false), // failed reuse: not counted
    '{"run":{"startedAt":0,"elapsedMs":6000,"stopReason":"duration"}}',
    "",
  ].join("\n");
  const figures = runFigures({
    requests: { completed: 4, failed: 1 },
    qps: 0.4,
    mean_ttft_s: 1.3875, // (1.6 + 3.2 + 0.25 + 0.5) / 4
    cache_hit_rate: 0.484375,
  }, records);
  strictEqual(figures.reuseTtft, 0.375); // (0.25 + 0.5) / 2
  strictEqual(figures.requests, 4);
  strictEqual(figures.failed, 1);
  const off = runFigures({
    requests: { completed: 2, failed: 0 },
    qps: null,
    mean_ttft_s: 2.4,
    cache_hit_rate: 0,
  }, [record(0, 0, 1_600), record(1, 0, 3_200)].join("\n"));
  strictEqual(Number.isNaN(off.reuseTtft), true);
  strictEqual(
    renderComparison(figures, off),
    [
      "                           offload on  offload off",
      "  requests completed                4            2",
      "  QPS                            0.40         0.00",
      "  mean TTFT (s)                  1.39         2.40",
      "  mean TTFT of reuses (s)        0.38            -",
      "  cache hit rate                48.4%         0.0%",
      "  failed requests                   1            0",
    ].join("\n"),
  );
});
