/**
 * Model architecture and offload-tier sizes, as in tmesh-cli's
 * `model_configs.json`, and the KV-cache arithmetic built on them.
 *
 * @module
 */
import bundled from "../../model_configs.json" with { type: "json" };

/** One entry of `model_configs.json` (tmesh-cli's field names, kept for compatibility). */
export interface ModelConfig {
  /** The id the server reports in `/v1/models`. */
  model_name: string;
  /** Tensor-parallel degree; CPU and disk buffers are per TP worker. */
  tensorParallelSize: number | string;
  /** LMCache CPU buffer per TP worker, in GiB (`"100"`, `"100Gi"`, `"100G"`). */
  cpuOffloadingBufferSize: number | string;
  /** LMCache local-disk buffer per TP worker, in GiB. */
  diskOffloadingBufferSize: number | string;
  /** Shared remote store, in GiB. */
  remoteOffloadingBufferSize: number | string;
  /** Key/value heads (GQA groups). */
  num_key_value_heads?: number;
  /** Dimension of one head. */
  head_dim?: number;
  /** Transformer layers. */
  layers?: number;
  /** Bytes per KV element: 2 for bf16, 1 for an FP8 KV cache. */
  dtype_size?: number;
  /** Explicit KV bytes per token; overrides the formula when present. */
  bytes_per_tok?: number | string;
  /** Free-form note. */
  _note?: string;
}

/** The five models shipped with kvbench (embedded, so a compiled binary needs no file). */
export const BUNDLED_MODEL_CONFIGS: readonly ModelConfig[] = bundled;

/**
 * Parse a buffer size in GiB: a number, or a string with an optional
 * `Gi`/`G` suffix. tmesh-cli crashed on `"100Gi"`; we accept it.
 *
 * @example Usage
 * ```ts
 * import { parseGib } from "./model_config.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseGib("100Gi"), 100);
 * assert.equal(parseGib("0.5"), 0.5);
 * assert.equal(parseGib(64), 64);
 * assert.throws(() => parseGib("100MB"), TypeError);
 * ```
 */
export function parseGib(value: number | string, field = "size"): number {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) {
    return value;
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:Gi|G|GiB|GB)?\s*$/.exec(
    String(value),
  );
  if (!match) {
    throw new TypeError(
      `Cannot read ${field} "${value}": expected a number of GiB such as "100" or "100Gi"`,
    );
  }
  return Number(match[1]);
}

/**
 * KV-cache bytes per token of a model: `bytes_per_tok` when the entry states
 * it, else 2 (K and V) × layers × kv heads × head dim × dtype bytes.
 *
 * @example Usage
 * ```ts
 * import { bytesPerToken, findModelConfig } from "./model_config.ts";
 * import assert from "node:assert/strict";
 *
 * const qwen = findModelConfig("Qwen/Qwen3-30B-A3B-Instruct-2507")!;
 * assert.equal(bytesPerToken(qwen), 98304); // 2 × 48 layers × 4 heads × 128 dims × 2 bytes
 * assert.equal(bytesPerToken({ ...qwen, bytes_per_tok: 1024 }), 1024);
 * ```
 */
export function bytesPerToken(config: ModelConfig): number {
  if (config.bytes_per_tok !== undefined) {
    const n = Number(config.bytes_per_tok);
    if (!Number.isInteger(n) || n <= 0) {
      throw new TypeError(
        `Cannot read bytes_per_tok "${config.bytes_per_tok}" of model "${config.model_name}": expected a positive integer`,
      );
    }
    return n;
  }
  const {
    layers,
    num_key_value_heads: heads,
    head_dim: dim,
    dtype_size: dtype,
  } = config;
  if (!layers || !heads || !dim || !dtype) {
    throw new TypeError(
      `Cannot size model "${config.model_name}": it needs bytes_per_tok or all of layers, num_key_value_heads, head_dim, dtype_size`,
    );
  }
  return 2 * layers * heads * dim * dtype;
}

/**
 * Total offload capacity in GiB as tmesh-cli computes it:
 * max(cpu × TP, disk × TP, remote), since CPU and disk buffers are per TP
 * worker and the remote store is shared.
 *
 * @example Usage
 * ```ts
 * import { findModelConfig, offloadSizeGib } from "./model_config.ts";
 * import assert from "node:assert/strict";
 *
 * const qwen = findModelConfig("Qwen/Qwen3-235B-A22B-Instruct-2507-FP8")!;
 * assert.equal(offloadSizeGib(qwen), 800); // 100 GiB of CPU buffer × TP 8
 * ```
 */
export function offloadSizeGib(config: ModelConfig): number {
  const tp = Number(config.tensorParallelSize);
  if (!Number.isInteger(tp) || tp < 1) {
    throw new TypeError(
      `Cannot read tensorParallelSize "${config.tensorParallelSize}" of model "${config.model_name}": expected a positive integer`,
    );
  }
  return Math.max(
    parseGib(config.cpuOffloadingBufferSize, "cpuOffloadingBufferSize") * tp,
    parseGib(config.diskOffloadingBufferSize, "diskOffloadingBufferSize") * tp,
    parseGib(config.remoteOffloadingBufferSize, "remoteOffloadingBufferSize"),
  );
}

/**
 * Find a model by exact id.
 *
 * @example Usage
 * ```ts
 * import { findModelConfig } from "./model_config.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(findModelConfig("openai/gpt-oss-20b")?.layers, 24);
 * assert.equal(findModelConfig("no/such-model"), undefined);
 * ```
 */
export function findModelConfig(
  name: string,
  configs: readonly ModelConfig[] = BUNDLED_MODEL_CONFIGS,
): ModelConfig | undefined {
  return configs.find((c) => c.model_name === name);
}

/**
 * Read a user's `model_configs.json` (same schema: an array of entries).
 *
 * @example Usage
 * ```ts
 * import { bytesPerToken, loadModelConfigs } from "./model_config.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile({ suffix: ".json" });
 * await Deno.writeTextFile(path, JSON.stringify([{
 *   model_name: "my/model", tensorParallelSize: 1, bytes_per_tok: 65536,
 *   cpuOffloadingBufferSize: "50Gi", diskOffloadingBufferSize: 0, remoteOffloadingBufferSize: 0,
 * }]));
 * const configs = await loadModelConfigs(path);
 * assert.equal(configs[0].model_name, "my/model");
 * assert.equal(bytesPerToken(configs[0]), 65536);
 * await Deno.remove(path);
 * ```
 */
export async function loadModelConfigs(path: string): Promise<ModelConfig[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(
      `Cannot load model configs "${path}": ${(error as Error).message}`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new SyntaxError(
      `Cannot load model configs "${path}": not valid JSON`,
    );
  }
  if (!Array.isArray(data)) {
    throw new TypeError(
      `Cannot load model configs "${path}": expected a JSON array of models`,
    );
  }
  data.forEach((entry, i) => {
    if (typeof entry?.model_name !== "string") {
      throw new TypeError(
        `Cannot load model configs "${path}": entry ${i} has no model_name`,
      );
    }
  });
  return data as ModelConfig[];
}
