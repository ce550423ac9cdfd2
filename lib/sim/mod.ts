/**
 * `kvbench sim` as a library: an OpenAI-compatible endpoint that simulates a
 * KV-cache-aware engine (a vLLM-style prefix cache with a GPU tier and an
 * LMCache-style offload tier, a prefill/decode timing model, and injectable
 * faults), for tests and demos that need a real server without a GPU.
 *
 * @example Serve, send one request, read the counters
 * ```ts
 * import { startSimulator } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01, seed: 1 });
 * const response = await fetch(sim.url + "completions", {
 *   method: "POST",
 *   headers: { "content-type": "application/json" },
 *   body: JSON.stringify({ prompt: "Hello", max_tokens: 8, ignore_eos: true }),
 * });
 * const body = await response.json();
 * assert.equal(body.usage.completion_tokens, 8);
 * assert.equal(sim.stats().finished, 1);
 * ```
 *
 * @module
 */
export { type SimServer, startSimulator } from "./server.ts";
export type { SimOptions } from "./config.ts";
export type { FaultCounts, SimStats } from "./metrics.ts";
export type { FaultOptions } from "./faults.ts";
export type { EngineStats } from "./engine.ts";
export type { SimTokenizer } from "./token_count.ts";
export type { MetricsFlavor } from "./metrics_flavors.ts";
export type { ModelConfig } from "../models/model_config.ts";
