/**
 * The server's view of a run: its Prometheus metrics
 * ({@linkcode parsePrometheusText}), which engine it is and what its
 * counters say per cache tier ({@linkcode readEngineMetrics}: vLLM, LMCache,
 * SGLang HiCache, Dynamo KVBM, llama.cpp), scrapes over a run
 * ({@linkcode MetricsScraper}), where the prompt tokens came from
 * ({@linkcode promptSplit}, {@linkcode renderAttribution}), the engine and
 * its version ({@linkcode detectServer}), whether a run can answer its
 * question before it starts ({@linkcode preflight}), and the offload
 * verdict of `kvbench benchmark` ({@linkcode ReuseTracker},
 * {@linkcode benchmarkVerdict}).
 *
 * @example From a vLLM scrape and the client's records to the verdict
 * ```ts
 * import {
 *   benchmarkVerdict,
 *   parsePrometheusText,
 *   promptSplit,
 *   readEngineMetrics,
 *   ReuseTracker,
 * } from "./mod.ts";
 * import { testRecord } from "../testing/mod.ts";
 * import assert from "node:assert/strict";
 *
 * const text = [
 *   'vllm:prompt_tokens_total{engine="0",model_name="m"} 1200',
 *   'vllm:prompt_tokens_by_source_total{engine="0",model_name="m",source="local_compute"} 400',
 *   'vllm:prompt_tokens_by_source_total{engine="0",model_name="m",source="local_cache_hit"} 500',
 *   'vllm:prompt_tokens_by_source_total{engine="0",model_name="m",source="external_kv_transfer"} 300',
 * ].join("\n");
 * const reading = readEngineMetrics(parsePrometheusText(text));
 * assert.deepEqual(reading.engines, ["vllm"]);
 * const split = promptSplit(reading.counters)!;
 * assert.deepEqual(split, { prompt: 1200, computed: 400, device: 500, offload: 300 });
 *
 * // One context of 400 tokens: a cold prefill, then two reuses served from cache.
 * const tracker = new ReuseTracker();
 * for (const [ttft, cached] of [[800, 0], [100, 400], [120, 400]]) {
 *   tracker.add(testRecord({
 *     tags: { context: 0 }, firstTokenAt: ttft, endAt: ttft + 10,
 *     promptTokens: 400, cachedTokens: cached, completionTokens: 2,
 *   }));
 * }
 * const verdict = benchmarkVerdict(tracker.figures(), { split });
 * assert.equal(verdict.offloadShare, 300 / 800); // of the 800 reusable tokens
 * assert.equal(verdict.deviceShare, 500 / 800);
 * assert.ok(verdict.text.startsWith(
 *   "Verdict: the offload tier served 37.5% of the 800 reusable prompt tokens",
 * ));
 * ```
 *
 * @module
 */
export {
  parsePrometheusText,
  type PromExposition,
  type PromSample,
} from "./prometheus.ts";
export {
  type CacheGauges,
  type EngineName,
  type EngineReading,
  type MeaningSources,
  readEngineMetrics,
  type TierCounters,
} from "./engines.ts";
export {
  MetricsScraper,
  type MetricsScraperOptions,
  type Scrape,
} from "./scrape.ts";
export {
  type AttributionOptions,
  type PromptSplit,
  promptSplit,
  renderAttribution,
} from "./attribution.ts";
export {
  type Preflight,
  preflight,
  type PreflightOptions,
  type PreflightVerdict,
  type PreflightWording,
} from "./preflight.ts";
export {
  detectServer,
  type DetectServerOptions,
  type ServerInfo,
} from "./detect.ts";
export {
  benchmarkVerdict,
  type ReuseFigures,
  ReuseTracker,
  type Verdict,
  type VerdictOptions,
} from "./verdict.ts";
export type { RequestErrorKind, RequestRecord } from "../types.ts";
