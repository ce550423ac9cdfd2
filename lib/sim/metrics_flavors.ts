/**
 * The simulator's `/metrics` as each engine kvbench reads would expose the
 * same run: names, labels and the moment each counter moves, from the
 * engines' sources (cited beside each flavor), and a second metrics URL
 * where the engine has one (a KV connector's own port). The simulator
 * knows where every prompt token came from (its stats are the ground
 * truth); a flavor only changes how that truth is exposed.
 *
 * | flavor | main `/metrics` | `/connector/metrics` |
 * |---|---|---|
 * | `vllm` | kvbench's own vLLM-named set, every counter at admission | — |
 * | `vllm-prefix` | vLLM before `prompt_tokens_by_source`: hits (`prefix_cache_hits`, `external_prefix_cache_hits`) at scheduling, `prompt_tokens` at the first token | the LMCache multiprocess server: `lmcache_mp_lookup_hit_{l1,l2}_tokens_total` (L1 host, L2 disk) |
 * | `vllm-by-source` | `prompt_tokens_by_source{local_compute,local_cache_hit,external_kv_transfer}` and `prompt_tokens`, at the first token | Dynamo KVBM: `kvbm_matched_tokens`, `kvbm_onboard_blocks_{h2d,d2d}` |
 * | `vllm-cached-by-source` | `prompt_tokens_cached_by_source{device,host,disk}` and `prompt_tokens`, at the first token | — |
 * | `sglang` | `sglang:prompt_tokens_total`, `sglang:cached_tokens_total{cache_source=device,host,storage_file}` | — |
 * | `lmcache-tp2` | vLLM's prefix counters without `external_*`, LMCache in-process on two TP workers (`worker_id` 0 and 1, each counting the same tokens) | — |
 * | `trtllm` | `trtllm_prompt_tokens_total`, `trtllm_prompt_cache_hit_tokens_total{cache_level,cache_tier=gpu,cpu,disk}` | — |
 *
 * @module
 */
import type { SimStats } from "./metrics.ts";

/** An engine whose `/metrics` the simulator can look like (see the module doc). */
export type MetricsFlavor =
  | "vllm"
  | "vllm-prefix"
  | "vllm-by-source"
  | "vllm-cached-by-source"
  | "sglang"
  | "lmcache-tp2"
  | "trtllm";

/** Every {@linkcode MetricsFlavor}, in the order of the module doc. */
export const METRICS_FLAVORS: readonly MetricsFlavor[] = [
  "vllm",
  "vllm-prefix",
  "vllm-by-source",
  "vllm-cached-by-source",
  "sglang",
  "lmcache-tp2",
  "trtllm",
];

/** Options of {@linkcode renderFlavor}. */
export interface RenderFlavorOptions {
  /** The engine to look like. */
  flavor: Exclude<MetricsFlavor, "vllm">;
  /** Tokens per KV block. */
  blockSize: number;
  /** The main `/metrics` or the connector's port (default main). */
  port?: "main" | "connector";
}

type Line = [
  name: string,
  type: "counter" | "gauge",
  value: number,
  labels?: string,
];

function text(lines: Line[], model: string): string {
  const modelLabel = `model_name="${
    model.replaceAll("\\", "\\\\").replaceAll('"', '\\"')
  }"`;
  const out: string[] = [];
  const typed = new Set<string>();
  for (const [name, type, value, labels] of lines) {
    if (!typed.has(name)) out.push(`# TYPE ${name} ${type}`);
    typed.add(name);
    out.push(`${name}{${labels ? `${labels},` : ""}${modelLabel}} ${value}`);
  }
  return out.join("\n") + "\n";
}

/** What a flavor's exposition draws on. */
interface FlavorContext {
  stats: SimStats;
  model: string;
  blockSize: number;
  connector: boolean;
  common: Line[];
  config: Line;
  offloadCapacity: Line;
}

function flavorVllmPrefix(c: FlavorContext): string | undefined {
  const { stats, model, connector, common, config, offloadCapacity } = c;
  const first = stats.atFirstToken;
  // vllm/v1/core/kv_cache_manager.py get_computed_blocks: prefix hits
  // and the connector's external hits counted when scheduled;
  // vllm/v1/metrics/stats.py IterationStats.update_from_output: prompt
  // tokens when the first token comes out.
  if (connector) {
    // LMCache's multiprocess server: lookups and hits by level, at
    // lookup (scheduling): L1 host memory, L2 its disk backend.
    const l2 = stats.diskHitTokens;
    return text([
      [
        "lmcache_mp_lookup_requested_tokens_total",
        "counter",
        stats.offloadQueryTokens,
      ],
      [
        "lmcache_mp_lookup_hit_tokens_total",
        "counter",
        stats.offloadHitTokens,
      ],
      [
        "lmcache_mp_lookup_hit_l1_tokens_total",
        "counter",
        stats.offloadHitTokens - l2,
      ],
      ["lmcache_mp_lookup_hit_l2_tokens_total", "counter", l2],
    ], model);
  }
  return text([
    ...common,
    config,
    offloadCapacity,
    ["vllm:prompt_tokens_total", "counter", first.promptTokens],
    ["vllm:prefix_cache_queries_total", "counter", stats.promptTokens],
    ["vllm:prefix_cache_hits_total", "counter", stats.gpuHitTokens],
    [
      "vllm:external_prefix_cache_queries_total",
      "counter",
      stats.offloadQueryTokens,
    ],
    [
      "vllm:external_prefix_cache_hits_total",
      "counter",
      stats.offloadHitTokens,
    ],
  ], model);
}

function flavorVllmBySource(c: FlavorContext): string | undefined {
  const {
    stats,
    model,
    blockSize,
    connector,
    common,
    config,
    offloadCapacity,
  } = c;
  const first = stats.atFirstToken;
  if (connector) {
    // Dynamo KVBM on its own port (lib/runtime/src/metrics/
    // prometheus_names.rs): matched tokens, onboarded blocks by tier.
    return text([
      ["kvbm_matched_tokens", "counter", stats.offloadHitTokens],
      [
        "kvbm_onboard_blocks_h2d",
        "counter",
        (stats.offloadHitTokens - stats.diskHitTokens) / blockSize,
      ],
      [
        "kvbm_onboard_blocks_d2d",
        "counter",
        stats.diskHitTokens / blockSize,
      ],
    ], model).replaceAll(/\{model_name="[^"]*"\}/g, "");
  }
  // vllm/v1/metrics/stats.py PromptTokenStats, at the first token.
  return text([
    ...common,
    config,
    offloadCapacity,
    ["vllm:prompt_tokens_total", "counter", first.promptTokens],
    [
      "vllm:prompt_tokens_by_source_total",
      "counter",
      first.promptTokens - first.gpuHitTokens - first.offloadHitTokens,
      'source="local_compute"',
    ],
    [
      "vllm:prompt_tokens_by_source_total",
      "counter",
      first.gpuHitTokens,
      'source="local_cache_hit"',
    ],
    [
      "vllm:prompt_tokens_by_source_total",
      "counter",
      first.offloadHitTokens,
      'source="external_kv_transfer"',
    ],
    [
      "vllm:external_prefix_cache_hits_total",
      "counter",
      stats.offloadHitTokens,
    ],
  ], model);
}

function flavorVllmCachedBySource(c: FlavorContext): string | undefined {
  const { stats, model, connector, common, config, offloadCapacity } = c;
  const first = stats.atFirstToken;
  if (connector) return undefined;
  const host = first.offloadHitTokens - first.diskHitTokens;
  return text([
    ...common,
    config,
    offloadCapacity,
    ["vllm:prompt_tokens_total", "counter", first.promptTokens],
    [
      "vllm:prompt_tokens_cached_by_source_total",
      "counter",
      first.gpuHitTokens,
      'source="device"',
    ],
    [
      "vllm:prompt_tokens_cached_by_source_total",
      "counter",
      host,
      'source="host"',
    ],
    [
      "vllm:prompt_tokens_cached_by_source_total",
      "counter",
      first.diskHitTokens,
      'source="disk"',
    ],
  ], model);
}

function flavorSglang(c: FlavorContext): string | undefined {
  const { stats, model, connector } = c;
  const first = stats.atFirstToken;
  if (connector) return undefined;
  // python/sglang/srt/observability/metrics_collector.py: the
  // tokenizer's counters of each request, with its cached tokens by
  // source (here at its first token).
  return text([
    ["sglang:prompt_tokens_total", "counter", first.promptTokens],
    ["sglang:generation_tokens_total", "counter", stats.generationTokens],
    [
      "sglang:cached_tokens_total",
      "counter",
      first.gpuHitTokens,
      'cache_source="device"',
    ],
    [
      "sglang:cached_tokens_total",
      "counter",
      first.offloadHitTokens - first.diskHitTokens,
      'cache_source="host"',
    ],
    [
      "sglang:cached_tokens_total",
      "counter",
      first.diskHitTokens,
      'cache_source="storage_file"',
    ],
    ["sglang:max_total_num_tokens", "gauge", stats.gpuKvTokens],
    ["sglang:hicache_host_total_tokens", "gauge", stats.offloadTokens],
    ["sglang:num_running_reqs", "gauge", stats.running],
    ["sglang:num_queue_reqs", "gauge", stats.waiting],
  ], model);
}

function flavorLmcacheTp2(c: FlavorContext): string | undefined {
  const { stats, model, connector, common, config, offloadCapacity } = c;
  const first = stats.atFirstToken;
  if (connector) return undefined;
  // lmcache/observability.py: one series per TP worker, each counting
  // the same tokens; the lookup pair and the retrieve pair.
  const worker = (w: number): Line[] => [
    [
      "lmcache:num_lookup_tokens_total",
      "counter",
      stats.offloadQueryTokens,
      `worker_id="${w}"`,
    ],
    [
      "lmcache:num_lookup_hits_total",
      "counter",
      stats.offloadHitTokens,
      `worker_id="${w}"`,
    ],
    [
      "lmcache:num_requested_tokens_total",
      "counter",
      stats.offloadHitTokens,
      `worker_id="${w}"`,
    ],
    [
      "lmcache:num_hit_tokens_total",
      "counter",
      stats.offloadHitTokens,
      `worker_id="${w}"`,
    ],
  ];
  return text([
    ...common,
    config,
    offloadCapacity,
    ["vllm:prompt_tokens_total", "counter", first.promptTokens],
    ["vllm:prefix_cache_hits_total", "counter", stats.gpuHitTokens],
    ...worker(0),
    ...worker(1),
  ], model);
}

function flavorTrtllm(c: FlavorContext): string | undefined {
  const { stats, model, blockSize, connector } = c;
  const first = stats.atFirstToken;
  if (connector) return undefined;
  // tensorrt_llm/metrics/collector.py: per finished request (here at
  // its first token), cached tokens by tier.
  const tier = (t: string, v: number): Line => [
    "trtllm_prompt_cache_hit_tokens_total",
    "counter",
    v,
    `cache_level="block",cache_tier="${t}"`,
  ];
  return text([
    ["trtllm_prompt_tokens_total", "counter", first.promptTokens],
    ["trtllm_generation_tokens_total", "counter", stats.generationTokens],
    tier("gpu", first.gpuHitTokens),
    tier("cpu", first.offloadHitTokens - first.diskHitTokens),
    tier("disk", first.diskHitTokens),
    [
      "trtllm_kv_cache_max_blocks",
      "gauge",
      Math.floor(stats.gpuKvTokens / blockSize),
    ],
    ["trtllm_kv_cache_tokens_per_block", "gauge", blockSize],
  ], model);
}

const FLAVORS: Record<
  Exclude<MetricsFlavor, "vllm">,
  (c: FlavorContext) => string | undefined
> = {
  "vllm-prefix": flavorVllmPrefix,
  "vllm-by-source": flavorVllmBySource,
  "vllm-cached-by-source": flavorVllmCachedBySource,
  "sglang": flavorSglang,
  "lmcache-tp2": flavorLmcacheTp2,
  "trtllm": flavorTrtllm,
};

/**
 * The simulator's counters as the `flavor` engine would expose them, or
 * undefined when that engine has no such port.
 *
 * @example vLLM before by-source counters: hits at scheduling, prompt tokens at the first token
 * ```ts
 * import { renderFlavor } from "./metrics_flavors.ts";
 * import { startSimulator } from "./server.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * const body = JSON.stringify({ prompt: "hi".repeat(320), max_tokens: 4 });
 * for (let i = 0; i < 2; i++) {
 *   await (await fetch(sim.url + "completions", { method: "POST", body })).json();
 * }
 * const text = renderFlavor(sim.stats(), sim.model, { flavor: "vllm-prefix", blockSize: 16 })!;
 * assert.ok(text.includes(`vllm:prefix_cache_hits_total{model_name="${sim.model}"} 304\n`));
 * assert.ok(text.includes(`vllm:prompt_tokens_total{model_name="${sim.model}"} 640\n`));
 * ```
 */
export function renderFlavor(
  stats: SimStats,
  model: string,
  options: RenderFlavorOptions,
): string | undefined {
  const { flavor, blockSize } = options;
  const common: Line[] = [
    ["vllm:num_requests_running", "gauge", stats.running],
    ["vllm:num_requests_waiting", "gauge", stats.waiting],
    ["vllm:generation_tokens_total", "counter", stats.generationTokens],
  ];
  const config: Line = [
    "vllm:cache_config_info",
    "gauge",
    1,
    `block_size="${blockSize}",num_gpu_blocks="${
      Math.floor(stats.gpuKvTokens / blockSize)
    }"`,
  ];
  const offloadCapacity: Line = [
    "kvbench_sim:offload_capacity_tokens",
    "gauge",
    stats.offloadTokens,
  ];
  const connector = options.port === "connector";
  return FLAVORS[flavor]({
    stats,
    model,
    blockSize,
    connector,
    common,
    config,
    offloadCapacity,
  });
}
