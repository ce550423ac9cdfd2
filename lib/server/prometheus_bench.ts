/**
 * `deno bench engine/server/prometheus_bench.ts`: parsing a large /metrics
 * page (100,000 samples, as a busy vLLM with many histograms serves).
 */
import { parsePrometheusText } from "./prometheus.ts";

const lines: string[] = ["# TYPE vllm:x_total counter"];
for (let i = 0; i < 100_000; i++) {
  lines.push(
    `vllm:x_total{engine="${i % 8}",model_name="m",le="${i}"} ${i}.5`,
  );
}
const text = lines.join("\n");

Deno.bench("parse 100,000 samples", () => {
  parsePrometheusText(text);
});
