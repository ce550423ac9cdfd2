/**
 * The simulator's counters, and their Prometheus text exposition under
 * vLLM's metric names with vLLM's meaning for two tiers (`GET /metrics`):
 * the GPU prefix cache is vLLM's local cache (`prefix_cache_*`,
 * `source="local_cache_hit"`), the offload tier what vLLM reaches through a
 * KV connector such as LMCache (`external_prefix_cache_*`,
 * `source="external_kv_transfer"`); plus `kvbench_sim:` ones for the offload
 * tier's capacity and injected faults.
 *
 * @module
 */
import type { EngineStats } from "./engine.ts";

/** Injected faults, by kind. */
export interface FaultCounts {
  /** Requests answered 500. */
  status500: number;
  /** Requests answered 429. */
  status429: number;
  /** Streams cut. */
  cut: number;
  /** Streams given a malformed SSE line. */
  malformed: number;
  /** Requests stalled before their first token. */
  stall: number;
}

/** Everything the simulator counts (tokens unless stated). */
export interface SimStats extends EngineStats {
  /** Completion requests received, valid or not. */
  requests: number;
  /** Completion requests refused with a 4xx status (bad body, unknown model, too long). */
  rejected: number;
  /** Injected faults. */
  faults: FaultCounts;
}

/** Options of {@linkcode renderMetrics}. */
export interface RenderMetricsOptions {
  /** Tokens per KV block, for `vllm:cache_config_info` (default 16). */
  blockSize?: number;
}

type Sample = [
  name: string,
  type: "counter" | "gauge",
  help: string,
  value: number,
  labels?: string,
];

/**
 * Prometheus text (format 0.0.4) of `stats` for the served `model`.
 *
 * @example Usage
 * ```ts
 * import { renderMetrics } from "./metrics.ts";
 * import { startSimulator } from "./server.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * const body = JSON.stringify({ prompt: "hi".repeat(320), max_tokens: 4 });
 * for (let i = 0; i < 2; i++) {
 *   await (await fetch(sim.url + "completions", { method: "POST", body })).json();
 * }
 * const text = renderMetrics(sim.stats(), sim.model);
 * // The second request found its prompt cached in whole 16-token blocks,
 * // short of the last token: 19 blocks, 304 of its 320 tokens.
 * assert.ok(text.includes(`vllm:prefix_cache_hits_total{model_name="${sim.model}"} 304\n`));
 * assert.ok(text.includes(`vllm:prompt_tokens_total{model_name="${sim.model}"} 640\n`));
 * ```
 */
export function renderMetrics(
  stats: SimStats,
  model: string,
  options: RenderMetricsOptions = {},
): string {
  const blockSize = options.blockSize ?? 16;
  const usage = stats.gpuKvTokens
    ? stats.gpuKvPinnedTokens / stats.gpuKvTokens
    : 0;
  const offloadUsage = stats.offloadTokens
    ? stats.offloadUsedTokens / stats.offloadTokens
    : 0;
  const samples: Sample[] = [
    [
      "vllm:num_requests_running",
      "gauge",
      "Requests prefilling or decoding.",
      stats.running,
    ],
    [
      "vllm:num_requests_waiting",
      "gauge",
      "Requests waiting for admission.",
      stats.waiting,
    ],
    [
      "vllm:kv_cache_usage_perc",
      "gauge",
      "GPU KV cache usage by running requests (1 = 100%).",
      usage,
    ],
    [
      "vllm:gpu_cache_usage_perc",
      "gauge",
      "Older name of vllm:kv_cache_usage_perc.",
      usage,
    ],
    [
      "vllm:prefix_cache_queries_total",
      "counter",
      "Prompt tokens looked up in the prefix cache.",
      stats.promptTokens,
    ],
    [
      "vllm:prefix_cache_hits_total",
      "counter",
      "Prompt tokens found in the GPU prefix cache.",
      stats.gpuHitTokens,
    ],
    [
      "vllm:external_prefix_cache_queries_total",
      "counter",
      "Prompt tokens looked up through the KV connector (here: the offload tier).",
      stats.offloadQueryTokens,
    ],
    [
      "vllm:external_prefix_cache_hits_total",
      "counter",
      "Prompt tokens found through the KV connector (here: the offload tier).",
      stats.offloadHitTokens,
    ],
    [
      "vllm:prompt_tokens_total",
      "counter",
      "Prompt tokens of admitted requests.",
      stats.promptTokens,
    ],
    [
      "vllm:prompt_tokens_by_source_total",
      "counter",
      "Prompt tokens by where their KV came from.",
      stats.promptTokens - stats.gpuHitTokens - stats.offloadHitTokens,
      'source="local_compute"',
    ],
    [
      "vllm:prompt_tokens_by_source_total",
      "counter",
      "Prompt tokens by where their KV came from.",
      stats.gpuHitTokens,
      'source="local_cache_hit"',
    ],
    [
      "vllm:prompt_tokens_by_source_total",
      "counter",
      "Prompt tokens by where their KV came from.",
      stats.offloadHitTokens,
      'source="external_kv_transfer"',
    ],
    [
      "vllm:num_preemptions_total",
      "counter",
      "Preempted requests (the simulator admits only what fits: none).",
      0,
    ],
    [
      "vllm:cache_config_info",
      "gauge",
      "The KV cache configuration, as labels.",
      1,
      `block_size="${blockSize}",num_gpu_blocks="${
        Math.floor(stats.gpuKvTokens / blockSize)
      }",cpu_offload_gb="0"`,
    ],
    [
      "vllm:generation_tokens_total",
      "counter",
      "Generated tokens.",
      stats.generationTokens,
    ],
    [
      "vllm:request_success_total",
      "counter",
      "Requests that generated all their tokens.",
      stats.finished,
    ],
    [
      "kvbench_sim:offload_queries_total",
      "counter",
      "Prompt tokens looked up in the offload tier.",
      stats.offloadQueryTokens,
    ],
    [
      "kvbench_sim:offload_hits_total",
      "counter",
      "Prompt tokens loaded from the offload tier.",
      stats.offloadHitTokens,
    ],
    [
      "kvbench_sim:offload_usage_perc",
      "gauge",
      "Offload tier usage (1 = 100%).",
      offloadUsage,
    ],
    [
      "kvbench_sim:gpu_kv_capacity_tokens",
      "gauge",
      "GPU KV capacity in tokens.",
      stats.gpuKvTokens,
    ],
    [
      "kvbench_sim:offload_capacity_tokens",
      "gauge",
      "Offload capacity in tokens.",
      stats.offloadTokens,
    ],
    [
      "kvbench_sim:requests_total",
      "counter",
      "Completion requests received.",
      stats.requests,
    ],
    [
      "kvbench_sim:requests_rejected_total",
      "counter",
      "Completion requests refused with a 4xx status.",
      stats.rejected,
    ],
  ];
  const faults = Object.entries(stats.faults) as [keyof FaultCounts, number][];
  for (const [kind, count] of faults) {
    samples.push([
      "kvbench_sim:faults_total",
      "counter",
      "Injected faults by kind.",
      count,
      `kind="${kind}"`,
    ]);
  }
  const modelLabel = `model_name="${
    model.replaceAll("\\", "\\\\").replaceAll('"', '\\"')
  }"`;
  const lines: string[] = [];
  let previous = "";
  for (const [name, type, help, value, labels] of samples) {
    if (name !== previous) {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    }
    previous = name;
    lines.push(`${name}{${labels ? `${labels},` : ""}${modelLabel}} ${value}`);
  }
  return lines.join("\n") + "\n";
}
