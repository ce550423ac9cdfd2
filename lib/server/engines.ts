/**
 * The table of meanings: what one scrape of an engine's `/metrics` says about
 * where prompt tokens came from — computed, the device (GPU) prefix cache, an
 * offload tier (CPU, disk, remote) — and about the caches' sizes.
 *
 * Rules for every engine:
 * - A counter is summed over all its label sets (`engine`, `tp_rank`,
 *   `model_name`, workers behind a gateway, …) after picking the label
 *   values that matter (`source`, `cache_source`). Undefined means the
 *   scrape does not expose it; 0 means it does and it is 0.
 * - Counters, not gauges: a hit-rate gauge (SGLang's `cache_hit_rate`,
 *   LMCache's `retrieve_hit_rate`, KVBM's `*_cache_hit_rate`) covers a
 *   recent window and is ignored.
 * - Names are matched with either spelling of the prefix, `vllm:x` or
 *   `vllm_x` (routers and metric stores rewrite `:` to `_`); the colon
 *   spelling wins when a scrape has both.
 * - Derived counts (`computedTokens` when the engine gives none) are not
 *   clamped: counters recorded at different moments of a request can
 *   disagree while requests are in flight, and the caller says so
 *   ({@linkcode ./scrape.ts}, {@linkcode ./attribution.ts}).
 * - One source per meaning: when several metrics count the same tokens (vLLM's
 *   own counters and a connector's, on one URL or several), the first of this
 *   precedence that the scrape holds is read and the others are not added:
 *   vLLM `prompt_tokens_cached_by_source` > `prompt_tokens_by_source` >
 *   `prefix_cache_hits` / `external_prefix_cache_hits` > connector counters
 *   (LMCache multiprocess server > LMCache in-process > Dynamo KVBM). The
 *   metric read for each meaning is returned in `sources`.
 * - A scrape without any known name reads as `engines: []` and empty
 *   counters and gauges; it is not an error.
 *
 * The simulator kvbench ships exposes vLLM's names with vLLM's meaning
 * (its offload tier as vLLM's KV-connector tier), so it reads as `vllm`.
 *
 * Sources are the engines' files (named where each mapping is made); see
 * the mapping table in {@linkcode readEngineMetrics}.
 *
 * @module
 */
import type { PromExposition, PromSample } from "./prometheus.ts";

/** Engines whose metrics kvbench knows. */
export type EngineName =
  | "vllm"
  | "sglang"
  | "lmcache"
  | "llamacpp"
  | "dynamo-kvbm"
  | "trtllm";

/**
 * Cumulative counters (tokens unless stated) from one scrape, summed over
 * label sets (engine, tp_rank, model_name, …); undefined = not exposed.
 */
export interface TierCounters {
  /** Every prompt token the engine processed, cached or not. */
  promptTokens?: number;
  /** Prompt tokens prefilled (computed). */
  computedTokens?: number;
  /** Prompt tokens served from the device (GPU) prefix cache. */
  deviceHitTokens?: number;
  /**
   * Prompt tokens served from an offload tier (CPU, disk, remote: a KV
   * connector, LMCache, HiCache host or storage, KVBM).
   */
  offloadHitTokens?: number;
  /**
   * Prompt tokens served from any cache tier, when the engine does not say
   * which (llama.cpp, SGLang's `cache_source="total"`, TensorRT-LLM).
   */
  cachedTokens?: number;
  /** Part of `offloadHitTokens` served from host (CPU) memory, when the engine names the tier. */
  hostHitTokens?: number;
  /** Part of `offloadHitTokens` served from local disk, when named. */
  diskHitTokens?: number;
  /** Part of `offloadHitTokens` served from a remote store or a peer (p2p), when named. */
  remoteHitTokens?: number;
  /** Prompt tokens looked up in the offload tier, when exposed. */
  offloadQueryTokens?: number;
  /** Bytes loaded from the offload tier to the device (vLLM `kv_offload_load_bytes_total`). */
  offloadLoadBytes?: number;
  /** Seconds spent loading them (vLLM `kv_offload_load_time_total`). */
  offloadLoadSeconds?: number;
  /** Bytes stored from the device to the offload tier (vLLM `kv_offload_store_bytes_total`). */
  offloadStoreBytes?: number;
  /** Seconds spent storing them (vLLM `kv_offload_store_time_total`). */
  offloadStoreSeconds?: number;
  /** Preemptions (events). */
  preemptions?: number;
  /** Generated tokens. */
  generationTokens?: number;
  /**
   * KV **blocks** (not tokens) loaded to the device from host memory
   * (Dynamo KVBM `kvbm_onboard_blocks_h2d`; its metrics give no block size).
   */
  onboardHostBlocks?: number;
  /** KV **blocks** loaded to the device from disk (KVBM `kvbm_onboard_blocks_d2d`). */
  onboardDiskBlocks?: number;
}

/** Gauges and capacities from one scrape. */
export interface CacheGauges {
  /** Fraction 0..1 of device KV in use (the mean over engines or DP ranks). */
  deviceKvUsage?: number;
  /**
   * Device KV capacity in tokens (vLLM `cache_config_info` num_gpu_blocks ×
   * block_size; SGLang `max_total_num_tokens`).
   */
  deviceKvTokens?: number;
  /** Offload capacity in tokens when reported (SGLang `hicache_host_total_tokens`, …). */
  offloadKvTokens?: number;
  /** Offload tokens in use when reported (SGLang `hicache_host_used_tokens`). */
  offloadKvUsedTokens?: number;
  /** Tokens per KV block (vLLM `block_size`, SGLang `page_size`). */
  blockSize?: number;
  /** Requests running. */
  requestsRunning?: number;
  /** Requests waiting (queued or deferred). */
  requestsWaiting?: number;
}

/** The metric read for each meaning (one per meaning, by the precedence above). */
export interface MeaningSources {
  /** Every prompt token. */
  prompt?: string;
  /** Computed (prefilled) tokens. */
  computed?: string;
  /** Device (GPU) prefix-cache hits. */
  device?: string;
  /** Offload-tier hits. */
  offload?: string;
  /** Hits of a tier not named. */
  cached?: string;
  /** Offload lookups. */
  queries?: string;
}

/** What one scrape says. */
export interface EngineReading {
  /** Engines whose names the scrape holds, in the order of {@linkcode EngineName}. */
  engines: EngineName[];
  /** Cumulative counters. */
  counters: TierCounters;
  /** Gauges and capacities. */
  gauges: CacheGauges;
  /** The metric each counter meaning was read from. */
  sources: MeaningSources;
}

const PREFIXES: [EngineName, string[]][] = [
  ["vllm", ["vllm:", "vllm_"]],
  ["sglang", ["sglang:", "sglang_"]],
  ["lmcache", ["lmcache:", "lmcache_"]],
  ["llamacpp", ["llamacpp:", "llamacpp_"]],
  ["dynamo-kvbm", ["kvbm_"]],
  ["trtllm", ["trtllm_", "trtllm:"]],
];

/** Labels that tell apart ranks holding copies of one KV pool (SGLang). */
const RANK_LABELS = new Set(["tp_rank", "pp_rank", "moe_ep_rank", "pid"]);

/** The samples of one scrape by name, read with either prefix spelling. */
class Scrape {
  readonly #byName = new Map<string, PromSample[]>();
  readonly #help: ReadonlyMap<string, string>;
  constructor(exposition: PromExposition) {
    this.#help = exposition.help;
    for (const s of exposition.samples) {
      const list = this.#byName.get(s.name);
      if (list) list.push(s);
      else this.#byName.set(s.name, [s]);
    }
  }
  /** The samples of `prefix` + `name` (`vllm`, `prompt_tokens_total`), `:` spelling first. */
  get(prefix: string, name: string): PromSample[] | undefined {
    return this.#byName.get(`${prefix}:${name}`) ??
      this.#byName.get(`${prefix}_${name}`);
  }
  /** The `# HELP` text of the samples' metric. */
  help(samples: PromSample[] | undefined): string {
    return samples ? this.#help.get(samples[0].name) ?? "" : "";
  }
  /** The first of `names` the scrape has. */
  first(prefix: string, names: string[]): PromSample[] | undefined {
    for (const name of names) {
      const found = this.get(prefix, name);
      if (found) return found;
    }
    return undefined;
  }
}

/** The sum of the samples' values (of those `where` keeps); undefined when there are none. */
function sum(
  samples: PromSample[] | undefined,
  where: (labels: Readonly<Record<string, string>>) => boolean = () => true,
): number | undefined {
  if (samples === undefined) return undefined;
  let total = 0;
  for (const s of samples) if (where(s.labels)) total += s.value;
  return total;
}

function mean(values: number[]): number | undefined {
  return values.length === 0
    ? undefined
    : values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * One value per KV pool of a gauge that every rank of a pool may report
 * (SGLang with `--enable-metrics-for-all-schedulers`: each TP/PP/EP rank
 * reports the same pool): the largest value of each group of samples that
 * differ only in rank labels.
 */
function perPool(samples: PromSample[] | undefined): number[] {
  const pools = new Map<string, number>();
  for (const s of samples ?? []) {
    const key = JSON.stringify(
      Object.entries(s.labels).filter(([k]) => !RANK_LABELS.has(k)).sort(),
    );
    pools.set(key, Math.max(pools.get(key) ?? -Infinity, s.value));
  }
  return [...pools.values()];
}

const total = (values: number[]): number | undefined =>
  values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0);

/** Copy the defined fields of `from` that `into` lacks. */
function fill<T extends object>(into: T, from: T): void {
  for (const [k, v] of Object.entries(from)) {
    const key = k as keyof T;
    if (v !== undefined && into[key] === undefined) into[key] = v;
  }
}

/** A label as a finite number, or undefined ("None", absent). */
function labelNumber(
  labels: Readonly<Record<string, string>>,
  name: string,
): number | undefined {
  const text = labels[name];
  if (text === undefined || text.trim() === "") return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

type Part = {
  counters: TierCounters;
  gauges: CacheGauges;
  sources?: MeaningSources;
};

/**
 * The sum over models of the largest value among a model's workers: LMCache
 * in-process runs one engine per tensor-parallel worker (`worker_id`), each
 * counting the same tokens of its shard of the KV.
 */
function perModel(samples: PromSample[] | undefined): number | undefined {
  if (samples === undefined) return undefined;
  const models = new Map<string, number>();
  for (const s of samples) {
    const key = JSON.stringify(
      Object.entries(s.labels).filter(([k]) => k !== "worker_id").sort(),
    );
    models.set(key, Math.max(models.get(key) ?? -Infinity, s.value));
  }
  return [...models.values()].reduce((a, b) => a + b, 0);
}

/**
 * vLLM v1: vllm/v1/metrics/loggers.py (`PrometheusStatLogger`),
 * vllm/v1/metrics/stats.py (`PromptTokenStats`, `PrefixCacheStats`),
 * vllm/config/cache.py (`CacheConfig.metrics_info`),
 * vllm/distributed/kv_transfer/kv_connector/v1/offloading_connector.py
 * (`kv_offload_*`).
 */
function readVllm(m: Scrape): Part {
  const c: TierCounters = {};
  const g: CacheGauges = {};
  const src: MeaningSources = {};
  // vllm/config/cache.py CacheConfig.metrics_info: every field as a label,
  // one series per DP engine (each has its own cache).
  const configs = m.get("vllm", "cache_config_info") ?? [];
  const capacities: number[] = [];
  for (const { labels } of configs) {
    const blocks = labelNumber(labels, "num_gpu_blocks");
    const blockSize = labelNumber(labels, "block_size");
    g.blockSize ??= blockSize;
    const tokens = blocks !== undefined && blockSize !== undefined
      ? blocks * blockSize
      : labelNumber(labels, "kv_cache_size_tokens");
    if (tokens !== undefined) capacities.push(tokens);
  }
  g.deviceKvTokens = total(capacities);
  // vllm/v1/metrics/loggers.py: "Number of prefill tokens processed." — the
  // logical prompt, cached tokens included (PromptTokenStats.total).
  const prompt = m.get("vllm", "prompt_tokens_total");
  c.promptTokens = sum(prompt);
  if (prompt) src.prompt = prompt[0].name;
  // The OffloadingConnector's transfer counters (bytes, seconds), and its
  // tier: host (CPU) memory (CPUOffloadingSpec, the default spec).
  const load = m.get("vllm", "kv_offload_load_bytes_total");
  c.offloadLoadBytes = sum(load);
  c.offloadLoadSeconds = sum(m.get("vllm", "kv_offload_load_time_total"));
  c.offloadStoreBytes = sum(m.get("vllm", "kv_offload_store_bytes_total"));
  c.offloadStoreSeconds = sum(m.get("vllm", "kv_offload_store_time_total"));
  const cachedBySource = m.get("vllm", "prompt_tokens_cached_by_source_total");
  const bySource = m.get("vllm", "prompt_tokens_by_source_total");
  const externalHits = m.get("vllm", "external_prefix_cache_hits_total");
  const externalQueries = m.get("vllm", "external_prefix_cache_queries_total");
  if (cachedBySource) {
    // vllm/v1/metrics/loggers.py (nightlies since October 2026): cached
    // prompt tokens by the tier that served them: device, host, disk, p2p,
    // external_unspecified (pre-merge drafts: cpu, mixed, external).
    const tier = (...names: string[]) =>
      sum(cachedBySource, (l) => names.includes(l.source ?? "")) ?? 0;
    c.deviceHitTokens = tier("device");
    c.hostHitTokens = tier("host", "cpu");
    c.diskHitTokens = tier("disk");
    c.remoteHitTokens = tier("p2p");
    c.offloadHitTokens = (sum(cachedBySource) ?? 0) - c.deviceHitTokens;
    if (c.promptTokens !== undefined) {
      c.computedTokens = c.promptTokens - (sum(cachedBySource) ?? 0);
      src.computed = `${src.prompt} − ${cachedBySource[0].name}`;
    }
    src.device = src.offload = cachedBySource[0].name;
  } else if (bySource) {
    // vllm/v1/metrics/stats.py PromptTokenStats.update_from_output:
    //   local_compute = prompt − cached (the last token, recomputed when the
    //   whole prompt was cached, counts here);
    //   local_cache_hit = cached + recomputed − external, so the recomputed
    //   token is counted twice: take it off the hits
    //   (vllm:prompt_tokens_recomputed_total, where the build has it).
    const source = (name: string) =>
      sum(bySource, (l) => l.source === name) ?? 0;
    const recomputed = sum(m.get("vllm", "prompt_tokens_recomputed_total")) ??
      0;
    c.computedTokens = source("local_compute");
    c.deviceHitTokens = source("local_cache_hit") - recomputed;
    c.offloadHitTokens = source("external_kv_transfer");
    if (load) c.hostHitTokens = c.offloadHitTokens;
    src.computed = src.device = src.offload = bySource[0].name;
  } else {
    // vllm/v1/metrics/loggers.py: "Prefix cache hits, in terms of number of
    // cached tokens." Before 0.9.2 (PR #18354): vllm:gpu_prefix_cache_hits,
    // whose first v1 builds counted "cached blocks": those are turned into
    // tokens by the block size, or left out when it is unknown. Counted when
    // a request is scheduled (KVCacheManager.get_computed_blocks), while the
    // prompt tokens are counted at its first token.
    const hits = m.first("vllm", [
      "prefix_cache_hits_total",
      "gpu_prefix_cache_hits_total",
    ]);
    const inBlocks = /cached blocks/.test(m.help(hits));
    const perHit = inBlocks ? g.blockSize : 1;
    const counted = sum(hits);
    c.deviceHitTokens = counted !== undefined && perHit !== undefined
      ? counted * perHit
      : undefined;
    if (c.deviceHitTokens !== undefined) src.device = hits![0].name;
    // vllm/v1/metrics/loggers.py: "External prefix cache hits from KV
    // connector …" — only with a KV connector (LMCache, OffloadingConnector, …).
    c.offloadHitTokens = sum(externalHits);
    if (externalHits) {
      src.offload = externalHits[0].name;
      if (load) c.hostHitTokens = c.offloadHitTokens;
    }
  }
  // vllm/v1/metrics/loggers.py: "External prefix cache queries …" (since
  // PR #30522: prompt − local hits).
  c.offloadQueryTokens = sum(externalQueries);
  if (externalQueries) src.queries = externalQueries[0].name;
  c.preemptions = sum(m.get("vllm", "num_preemptions_total"));
  c.generationTokens = sum(m.get("vllm", "generation_tokens_total"));

  // vllm/v1/metrics/loggers.py: "KV-cache usage. 1 means 100 percent
  // usage."; vllm:gpu_cache_usage_perc before 0.9.2. One per DP engine.
  const usage = m.first("vllm", [
    "kv_cache_usage_perc",
    "gpu_cache_usage_perc",
  ]);
  g.deviceKvUsage = mean((usage ?? []).map((s) => s.value));
  // sim/metrics.ts: the kvbench simulator's offload capacity.
  g.offloadKvTokens = sum(m.get("kvbench_sim", "offload_capacity_tokens"));
  g.requestsRunning = sum(m.get("vllm", "num_requests_running"));
  g.requestsWaiting = sum(m.get("vllm", "num_requests_waiting"));
  return { counters: c, gauges: g, sources: src };
}

/**
 * SGLang: python/sglang/srt/observability/metrics_collector.py (older trees:
 * python/sglang/srt/metrics/collector.py), `sglang:` or `sglang_`.
 */
function readSglang(m: Scrape): Part {
  const c: TierCounters = {};
  const g: CacheGauges = {};
  // TokenizerMetricsCollector: "Number of prefill tokens processed." — the
  // full prompt of each finished request.
  c.promptTokens = sum(m.get("sglang", "prompt_tokens_total"));
  c.generationTokens = sum(m.get("sglang", "generation_tokens_total"));
  // TokenizerMetricsCollector: "Number of cached prompt tokens by source
  // (device/host/storage)." cache_source = device (GPU radix cache), host
  // (HiCache L2), storage_<backend> (HiCache L3), total (no breakdown).
  // A series appears at its source's first hit, so an absent one is 0.
  const cached = m.get("sglang", "cached_tokens_total") ?? [];
  const kinds = (pick: (source: string) => boolean) => {
    const hits = cached.filter((s) => pick(s.labels.cache_source ?? "total"));
    return sum(hits.length ? hits : undefined);
  };
  const src: MeaningSources = {};
  c.deviceHitTokens = kinds((s) => s === "device");
  // host, storage_* and any other named tier (forks add e.g. shared_hicache).
  c.offloadHitTokens = kinds((s) => s !== "device" && s !== "total");
  c.cachedTokens = kinds((s) => s === "total");
  if (c.offloadHitTokens !== undefined) {
    // HiCache: host = L2 (CPU memory); storage_file = L3 on local disk; the
    // other storage backends (mooncake, hf3fs, nixl, aibrix) are remote.
    c.hostHitTokens = kinds((s) => s === "host") ?? 0;
    c.diskHitTokens = kinds((s) => s === "storage_file") ?? 0;
    c.remoteHitTokens = kinds((s) =>
      s.startsWith("storage_") && s !== "storage_file"
    ) ?? 0;
  }
  if (cached.length > 0) {
    src.device = src.offload = src.cached = cached[0].name;
  }
  if (c.promptTokens !== undefined) {
    c.computedTokens = c.promptTokens - (sum(cached) ?? 0);
    src.prompt = m.get("sglang", "prompt_tokens_total")![0].name;
    src.computed = `${src.prompt} − ${cached[0]?.name ?? "0"}`;
  }
  // SchedulerMetricsCollector gauges: one per scheduler; every TP/PP/EP rank
  // of a pool reports the same pool with --enable-metrics-for-all-schedulers.
  g.deviceKvTokens = total(perPool(m.get("sglang", "max_total_num_tokens")));
  g.deviceKvUsage = mean(perPool(m.get("sglang", "token_usage")));
  // Created only with --enable-hierarchical-cache.
  g.offloadKvTokens = total(
    perPool(m.get("sglang", "hicache_host_total_tokens")),
  );
  g.offloadKvUsedTokens = total(
    perPool(m.get("sglang", "hicache_host_used_tokens")),
  );
  g.requestsRunning = total(perPool(m.get("sglang", "num_running_reqs")));
  g.requestsWaiting = total(perPool(m.get("sglang", "num_queue_reqs")));
  // SchedulerMetricsCollector: cache_config_info{page_size, num_pages}.
  for (const { labels } of m.get("sglang", "cache_config_info") ?? []) {
    g.blockSize ??= labelNumber(labels, "page_size");
  }
  return { counters: c, gauges: g, sources: src };
}

/**
 * llama.cpp server: tools/server/server-context.cpp (the `/metrics`
 * handler; earlier tools/server/server.cpp). No labels. Values are printed
 * with 6 significant digits, so counters above 999 999 are rounded.
 */
function readLlamacpp(m: Scrape): Part {
  // "Number of prompt tokens processed, excluding cached tokens" — only the
  // evaluated ones (verified by deltas on a real server).
  const computed = sum(m.get("llamacpp", "prompt_tokens_total"));
  // "Number of prompt tokens reused from the cache": the slot's KV or the
  // host-RAM prompt cache (--cache-ram), so the tier is unknown. Newer than
  // the builds that lack it.
  const cached = sum(m.get("llamacpp", "prompt_tokens_cached_total"));
  return {
    sources: {
      computed: computed === undefined
        ? undefined
        : "llamacpp:prompt_tokens_total",
      cached: cached === undefined
        ? undefined
        : "llamacpp:prompt_tokens_cached_total",
    },
    counters: {
      computedTokens: computed,
      cachedTokens: cached,
      promptTokens: computed !== undefined && cached !== undefined
        ? computed + cached
        : undefined,
      generationTokens: sum(m.get("llamacpp", "tokens_predicted_total")),
    },
    gauges: {
      requestsRunning: sum(m.get("llamacpp", "requests_processing")),
      requestsWaiting: sum(m.get("llamacpp", "requests_deferred")),
    },
  };
}

/**
 * TensorRT-LLM (`trtllm-serve`, `GET /prometheus/metrics`):
 * tensorrt_llm/metrics/collector.py (`MetricsCollector`).
 */
function readTrtllm(m: Scrape): Part {
  // "Cumulative number of prompt (input) tokens processed." (per finished
  // request, the whole prompt) and "Process-lifetime total prompt tokens
  // served from KV cache." (any tier).
  const prompt = sum(m.get("trtllm", "prompt_tokens_total"));
  const maxBlocks = sum(m.get("trtllm", "kv_cache_max_blocks"));
  const blockSize = m.get("trtllm", "kv_cache_tokens_per_block")?.[0]?.value;
  const counters: TierCounters = {
    promptTokens: prompt,
    generationTokens: sum(m.get("trtllm", "generation_tokens_total")),
  };
  const sources: MeaningSources = {};
  // "Prompt tokens served from KV cache, by cache tier"
  // (prompt_cache_hit_tokens_total{cache_level,cache_tier}): the tier is
  // read from cache_tier (gpu/device/primary, cpu/host/secondary, disk,
  // anything else remote); cache_level is summed over.
  const byTier = m.get("trtllm", "prompt_cache_hit_tokens_total");
  const allTiers = m.get("trtllm", "prompt_cached_tokens_total");
  let hits: number | undefined;
  if (byTier) {
    const tier = (names: string[]) =>
      sum(byTier, (l) => names.includes((l.cache_tier ?? "").toLowerCase())) ??
        0;
    counters.deviceHitTokens = tier(["gpu", "device", "primary"]);
    counters.hostHitTokens = tier(["cpu", "host", "secondary"]);
    counters.diskHitTokens = tier(["disk"]);
    hits = sum(byTier) ?? 0;
    counters.offloadHitTokens = hits - counters.deviceHitTokens;
    counters.remoteHitTokens = counters.offloadHitTokens -
      counters.hostHitTokens - counters.diskHitTokens;
    sources.device = sources.offload = byTier[0].name;
  } else if (allTiers) {
    hits = counters.cachedTokens = sum(allTiers);
    sources.cached = allTiers[0].name;
  }
  if (prompt !== undefined) {
    sources.prompt = m.get("trtllm", "prompt_tokens_total")![0].name;
    if (hits !== undefined) {
      counters.computedTokens = prompt - hits;
      sources.computed = `${sources.prompt} − hits`;
    }
  }
  return {
    counters,
    sources,
    gauges: {
      // kv_cache_utilization = usedNumBlocks / maxNumBlocks.
      deviceKvUsage: mean(
        (m.get("trtllm", "kv_cache_utilization") ?? []).map((s) => s.value),
      ),
      deviceKvTokens: maxBlocks !== undefined && blockSize !== undefined
        ? maxBlocks * blockSize
        : undefined,
      blockSize,
      requestsRunning: sum(m.get("trtllm", "num_requests_running")),
      requestsWaiting: sum(m.get("trtllm", "num_requests_waiting")),
    },
  };
}

/**
 * Read what one scrape says about prompt tokens' origins and the caches.
 *
 * | engine | metric | field |
 * |---|---|---|
 * | vLLM | `prompt_tokens_total` | promptTokens |
 * | vLLM | `prompt_tokens_cached_by_source_total{source=device}` | deviceHitTokens (first in precedence) |
 * | vLLM | `…{source=host\|cpu}`, `…{source=disk}`, `…{source=p2p}` | hostHitTokens, diskHitTokens, remoteHitTokens |
 * | vLLM | every non-device source (external_unspecified, mixed, external: tier not named) | offloadHitTokens |
 * | vLLM | prompt − every cached_by_source series | computedTokens |
 * | vLLM | `prompt_tokens_by_source_total{source=local_compute}` | computedTokens |
 * | vLLM | `…{source=local_cache_hit}` − `prompt_tokens_recomputed_total` | deviceHitTokens |
 * | vLLM | `…{source=external_kv_transfer}` | offloadHitTokens |
 * | vLLM, no by-source | `prefix_cache_hits_total` (`gpu_prefix_cache_hits_total`; × block_size when its HELP says "cached blocks") | deviceHitTokens |
 * | vLLM, no by-source | `external_prefix_cache_hits_total` | offloadHitTokens |
 * | vLLM, no by-source | prompt − device − offload | computedTokens |
 * | vLLM | `external_prefix_cache_queries_total` | offloadQueryTokens |
 * | vLLM | `kv_offload_{load,store}_{bytes,time}_total` (OffloadingConnector: its hits are host memory's) | offloadLoadBytes, offloadLoadSeconds, offloadStoreBytes, offloadStoreSeconds |
 * | vLLM | `num_preemptions_total`, `generation_tokens_total` | preemptions, generationTokens |
 * | vLLM | `kv_cache_usage_perc` (`gpu_cache_usage_perc`), mean | deviceKvUsage |
 * | vLLM | `cache_config_info` num_gpu_blocks × block_size, summed over engines | deviceKvTokens, blockSize |
 * | kvbench simulator | `kvbench_sim:offload_capacity_tokens` | offloadKvTokens |
 * | vLLM | `num_requests_running`, `num_requests_waiting` | requestsRunning, requestsWaiting |
 * | SGLang | `prompt_tokens_total`, `generation_tokens_total` | promptTokens, generationTokens |
 * | SGLang | `cached_tokens_total{cache_source=device}` | deviceHitTokens |
 * | SGLang | `…{cache_source=host\|storage_*}` | offloadHitTokens |
 * | SGLang | `…{cache_source=host}`, `…{storage_file}`, other `storage_*` | hostHitTokens, diskHitTokens, remoteHitTokens |
 * | SGLang | `…{cache_source=total}` | cachedTokens |
 * | SGLang | prompt − every cached_tokens series | computedTokens |
 * | SGLang | `max_total_num_tokens`, `token_usage`, `cache_config_info` page_size | deviceKvTokens, deviceKvUsage, blockSize |
 * | SGLang | `hicache_host_total_tokens`, `hicache_host_used_tokens` | offloadKvTokens, offloadKvUsedTokens |
 * | SGLang | `num_running_reqs`, `num_queue_reqs` | requestsRunning, requestsWaiting |
 * | LMCache MP server, without an engine's offload counters | `mp_lookup_hit_tokens_total` (else L1 + L2), `…_hit_l1_tokens_total`, `mp_lookup_requested_tokens_total` | offloadHitTokens, hostHitTokens, offloadQueryTokens |
 * | LMCache in-process, without an engine's offload counters | `num_hit_tokens_total`, `num_lookup_tokens_total` (the largest `worker_id` per model) | offloadHitTokens, offloadQueryTokens |
 * | llama.cpp | `prompt_tokens_total` (evaluated only) | computedTokens |
 * | llama.cpp | `prompt_tokens_cached_total` | cachedTokens |
 * | llama.cpp | computed + cached | promptTokens |
 * | llama.cpp | `tokens_predicted_total` | generationTokens |
 * | llama.cpp | `requests_processing`, `requests_deferred` | requestsRunning, requestsWaiting |
 * | KVBM, without an engine's or LMCache's offload counters | `kvbm_matched_tokens` | offloadHitTokens |
 * | KVBM | `kvbm_onboard_blocks_h2d`, `kvbm_onboard_blocks_d2d` (blocks) | onboardHostBlocks, onboardDiskBlocks |
 * | TensorRT-LLM | `trtllm_prompt_tokens_total`, `…_generation_tokens_total` | promptTokens, generationTokens |
 * | TensorRT-LLM | `trtllm_prompt_cache_hit_tokens_total{cache_tier=gpu\|device\|primary}` | deviceHitTokens |
 * | TensorRT-LLM | `…{cache_tier=cpu\|host\|secondary}`, `…{cache_tier=disk}`, other tiers | hostHitTokens, diskHitTokens, remoteHitTokens (offloadHitTokens their sum) |
 * | TensorRT-LLM, without per-tier hits | `trtllm_prompt_cached_tokens_total` | cachedTokens (computed = prompt − cached) |
 * | TensorRT-LLM | `…_kv_cache_max_blocks` × `…_kv_cache_tokens_per_block`, `…_kv_cache_utilization` | deviceKvTokens, blockSize, deviceKvUsage |
 * | TensorRT-LLM | `…_num_requests_running`, `…_num_requests_waiting` | requestsRunning, requestsWaiting |
 *
 * @example vLLM with a KV connector: the prompt tokens by source
 * ```ts
 * import { readEngineMetrics } from "./engines.ts";
 * import { parsePrometheusText } from "./prometheus.ts";
 * import assert from "node:assert/strict";
 *
 * const text = [
 *   'vllm:prompt_tokens_total{engine="0",model_name="m"} 1000',
 *   'vllm:prompt_tokens_by_source_total{engine="0",model_name="m",source="local_compute"} 200',
 *   'vllm:prompt_tokens_by_source_total{engine="0",model_name="m",source="local_cache_hit"} 500',
 *   'vllm:prompt_tokens_by_source_total{engine="0",model_name="m",source="external_kv_transfer"} 300',
 *   'vllm:cache_config_info{block_size="16",engine="0",num_gpu_blocks="1024"} 1.0',
 * ].join("\n");
 * const reading = readEngineMetrics(parsePrometheusText(text));
 * assert.deepEqual(reading.engines, ["vllm"]);
 * assert.deepEqual(reading.counters, {
 *   promptTokens: 1000, computedTokens: 200, deviceHitTokens: 500, offloadHitTokens: 300,
 * });
 * assert.deepEqual(reading.gauges, { blockSize: 16, deviceKvTokens: 16384 });
 * ```
 *
 * @example A scrape of no known engine
 * ```ts
 * import { readEngineMetrics } from "./engines.ts";
 * import { parsePrometheusText } from "./prometheus.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   readEngineMetrics(parsePrometheusText("process_cpu_seconds_total 1.5\n")),
 *   { engines: [], counters: {}, gauges: {}, sources: {} },
 * );
 * ```
 */
export function readEngineMetrics(exposition: PromExposition): EngineReading {
  const names = new Set([
    ...exposition.samples.map((s) => s.name),
    ...exposition.types.keys(),
  ]);
  const engines = PREFIXES
    .filter(([, prefixes]) =>
      [...names].some((n) => prefixes.some((p) => n.startsWith(p)))
    )
    .map(([engine]) => engine);
  const m = new Scrape(exposition);
  const counters: TierCounters = {};
  const gauges: CacheGauges = {};
  const sources: MeaningSources = {};
  const add = (part: Part): void => {
    fill(counters, part.counters);
    fill(gauges, part.gauges);
    fill(sources, part.sources ?? {});
  };
  const vllm = engines.includes("vllm");
  if (vllm) add(readVllm(m));
  if (engines.includes("sglang")) add(readSglang(m));
  if (engines.includes("trtllm")) add(readTrtllm(m));
  if (engines.includes("llamacpp")) add(readLlamacpp(m));
  // Connector counters count the tokens vLLM's own offload counters count:
  // read only when no engine counter gave the offload tier, the first of
  // LMCache's multiprocess server, LMCache in-process, KVBM.
  if (counters.offloadHitTokens === undefined) {
    const connector = readConnectors(m, engines);
    if (connector) add(connector);
  }
  if (engines.includes("dynamo-kvbm")) {
    // Onboarded blocks (KVBM's tiers, in blocks): shown beside the split.
    add({
      counters: {
        onboardHostBlocks: sum(m.get("kvbm", "onboard_blocks_h2d")),
        onboardDiskBlocks: sum(m.get("kvbm", "onboard_blocks_d2d")),
      },
      gauges: {},
    });
  }
  if (
    vllm && counters.computedTokens === undefined &&
    counters.promptTokens !== undefined &&
    counters.deviceHitTokens !== undefined
  ) {
    // vLLM without by-source counters: prompt − device − offload (the
    // connector's, LMCache's or KVBM's hits). Not clamped: vLLM counts hits
    // at scheduling and prompt tokens at the first token.
    counters.computedTokens = counters.promptTokens -
      counters.deviceHitTokens - (counters.offloadHitTokens ?? 0);
    sources.computed = `${sources.prompt} − hits`;
  }
  return { engines, counters, gauges, sources };
}

/** The offload tier from a connector's own counters (by precedence), or undefined. */
function readConnectors(
  m: Scrape,
  engines: EngineName[],
): Part | undefined {
  if (engines.includes("lmcache")) {
    // LMCache's multiprocess server (its own port): lookups of the
    // requested tokens, hits by level: L1 = host (CPU) memory, L2 = its
    // storage backends (disk or remote: not said).
    const mpHits = m.get("lmcache", "mp_lookup_hit_tokens_total");
    const l1 = m.get("lmcache", "mp_lookup_hit_l1_tokens_total");
    const l2 = m.get("lmcache", "mp_lookup_hit_l2_tokens_total");
    const mpQueries = m.get("lmcache", "mp_lookup_requested_tokens_total");
    if (mpHits || l1 || l2) {
      const hits = sum(mpHits) ?? (sum(l1) ?? 0) + (sum(l2) ?? 0);
      return {
        counters: {
          offloadHitTokens: hits,
          hostHitTokens: sum(l1),
          offloadQueryTokens: sum(mpQueries),
        },
        gauges: {},
        sources: {
          offload: (mpHits ?? l1 ?? l2)![0].name,
          queries: mpQueries?.[0].name,
        },
      };
    }
    // lmcache/observability.py (LMCacheStatsMonitor / PrometheusLogger), in
    // vLLM's /metrics, one series per tensor-parallel worker (`worker_id`),
    // each counting the same tokens: one worker per model. "Total number of
    // tokens hit in lmcache" (retrieved) for the hits; the lookup pair
    // num_lookup_tokens / num_lookup_hits for the queries (the retrieve
    // path's num_requested_tokens only asks for what a lookup promised).
    const hits = m.get("lmcache", "num_hit_tokens_total");
    const queries = m.get("lmcache", "num_lookup_tokens_total");
    if (hits) {
      return {
        counters: {
          offloadHitTokens: perModel(hits),
          offloadQueryTokens: perModel(queries),
        },
        gauges: {},
        sources: { offload: hits[0].name, queries: queries?.[0].name },
      };
    }
  }
  if (engines.includes("dynamo-kvbm")) {
    // ai-dynamo/dynamo lib/runtime/src/metrics/prometheus_names.rs (mod kvbm):
    // Rust IntCounters without a _total suffix, on their own port
    // (DYN_KVBM_METRICS_PORT). "The number of matched tokens": tokens found
    // in KVBM's host/disk tiers (which one is said only in blocks). KVBM has
    // no prompt total.
    const matched = m.get("kvbm", "matched_tokens");
    if (matched) {
      return {
        counters: { offloadHitTokens: sum(matched) },
        gauges: {},
        sources: { offload: matched[0].name },
      };
    }
  }
  return undefined;
}
