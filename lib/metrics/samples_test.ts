import { strictEqual } from "node:assert/strict";
import { CountedSamples, Samples } from "./samples.ts";

Deno.test("Samples keeps values exactly: a printed digit does not flip", () => {
  const s = new Samples();
  // 3838.725 as a float64 is just below ...725 and prints 3838.72; as a
  // float32 it is 3838.72509765625 and printed 3838.73.
  for (let i = 0; i < 100; i++) s.add(i === 99 ? 3838.725 : 1000 + i);
  strictEqual(s.max(), 3838.725);
  strictEqual(s.max().toFixed(2), "3838.72");
  // A sum of exact values: 0.1 + 0.2 stays 0.30000000000000004.
  const t = new Samples();
  t.add(0.1);
  t.add(0.2);
  strictEqual(t.mean(), (0.1 + 0.2) / 2);
  strictEqual(t.percentile(100), 0.2);
});

Deno.test("Samples percentiles interpolate as numpy's linear method", () => {
  const s = new Samples();
  for (const x of [10, 20, 30, 40, 50]) s.add(x);
  strictEqual(s.percentile(50), 30);
  strictEqual(s.percentile(90), 46); // rank 3.6: 40 + 0.6 × 10
  const c = new CountedSamples();
  c.add(10, 2);
  c.add(30, 2);
  strictEqual(c.percentile(50), 20); // rank 1.5 between 10 and 30
});
