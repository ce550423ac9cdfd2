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

/** One sample: its name, type, help, value and labels (the model's aside). */
type MetricRow = [
  name: string,
  type: "counter" | "gauge",
  help: string,
  value: (stats: SimStats) => number,
  labels?: (stats: SimStats, blockSize: number) => string,
];

const gpuUsage = (s: SimStats): number =>
  s.gpuKvTokens ? s.gpuKvPinnedTokens / s.gpuKvTokens : 0;
const offloadUsage = (s: SimStats): number =>
  s.offloadTokens ? s.offloadUsedTokens / s.offloadTokens : 0;

/** vLLM's metrics the simulator serves, then its own, in exposition order. */
const METRICS: readonly MetricRow[] = [
  [
    "vllm:num_requests_running",
    "gauge",
    "Requests prefilling or decoding.",
    (s) => s.running,
  ],
  [
    "vllm:num_requests_waiting",
    "gauge",
    "Requests waiting for admission.",
    (s) => s.waiting,
  ],
  [
    "vllm:kv_cache_usage_perc",
    "gauge",
    "GPU KV cache usage by running requests (1 = 100%).",
    (s) => gpuUsage(s),
  ],
  [
    "vllm:gpu_cache_usage_perc",
    "gauge",
    "Older name of vllm:kv_cache_usage_perc.",
    (s) => gpuUsage(s),
  ],
  [
    "vllm:prefix_cache_queries_total",
    "counter",
    "Prompt tokens looked up in the prefix cache.",
    (s) => s.promptTokens,
  ],
  [
    "vllm:prefix_cache_hits_total",
    "counter",
    "Prompt tokens found in the GPU prefix cache.",
    (s) => s.gpuHitTokens,
  ],
  [
    "vllm:external_prefix_cache_queries_total",
    "counter",
    "Prompt tokens looked up through the KV connector (here: the offload tier).",
    (s) => s.offloadQueryTokens,
  ],
  [
    "vllm:external_prefix_cache_hits_total",
    "counter",
    "Prompt tokens found through the KV connector (here: the offload tier).",
    (s) => s.offloadHitTokens,
  ],
  [
    "vllm:prompt_tokens_total",
    "counter",
    "Prompt tokens of admitted requests.",
    (s) => s.promptTokens,
  ],
  [
    "vllm:prompt_tokens_by_source_total",
    "counter",
    "Prompt tokens by where their KV came from.",
    (s) => s.promptTokens - s.gpuHitTokens - s.offloadHitTokens,
    () => 'source="local_compute"',
  ],
  [
    "vllm:prompt_tokens_by_source_total",
    "counter",
    "Prompt tokens by where their KV came from.",
    (s) => s.gpuHitTokens,
    () => 'source="local_cache_hit"',
  ],
  [
    "vllm:prompt_tokens_by_source_total",
    "counter",
    "Prompt tokens by where their KV came from.",
    (s) => s.offloadHitTokens,
    () => 'source="external_kv_transfer"',
  ],
  [
    "vllm:num_preemptions_total",
    "counter",
    "Preempted requests (the simulator admits only what fits: none).",
    () => 0,
  ],
  [
    "vllm:cache_config_info",
    "gauge",
    "The KV cache configuration, as labels.",
    () => 1,
    (s, blockSize) =>
      `block_size="${blockSize}",num_gpu_blocks="${
        Math.floor(s.gpuKvTokens / blockSize)
      }",cpu_offload_gb="0"`,
  ],
  [
    "vllm:generation_tokens_total",
    "counter",
    "Generated tokens.",
    (s) => s.generationTokens,
  ],
  [
    "vllm:request_success_total",
    "counter",
    "Requests that generated all their tokens.",
    (s) => s.finished,
  ],
  [
    "kvbench_sim:offload_queries_total",
    "counter",
    "Prompt tokens looked up in the offload tier.",
    (s) => s.offloadQueryTokens,
  ],
  [
    "kvbench_sim:offload_hits_total",
    "counter",
    "Prompt tokens loaded from the offload tier.",
    (s) => s.offloadHitTokens,
  ],
  [
    "kvbench_sim:offload_usage_perc",
    "gauge",
    "Offload tier usage (1 = 100%).",
    (s) => offloadUsage(s),
  ],
  [
    "kvbench_sim:gpu_kv_capacity_tokens",
    "gauge",
    "GPU KV capacity in tokens.",
    (s) => s.gpuKvTokens,
  ],
  [
    "kvbench_sim:offload_capacity_tokens",
    "gauge",
    "Offload capacity in tokens.",
    (s) => s.offloadTokens,
  ],
  [
    "kvbench_sim:requests_total",
    "counter",
    "Completion requests received.",
    (s) => s.requests,
  ],
  [
    "kvbench_sim:requests_rejected_total",
    "counter",
    "Completion requests refused with a 4xx status.",
    (s) => s.rejected,
  ],
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
  const samples: Sample[] = METRICS.map(([name, type, help, value, labels]) => [
    name,
    type,
    help,
    value(stats),
    labels?.(stats, blockSize),
  ]);
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
