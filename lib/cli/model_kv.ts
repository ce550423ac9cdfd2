/**
 * The served model's KV bytes per token, found as `kvbench benchmark` finds
 * them (`--hf-config`, `--tp`, `--kv-cache-dtype`): a config.json given,
 * else the model's `model_configs.json` entry, else its config.json in a
 * local cache, else what the server says of it (the `root` folder of its
 * `/v1/models` entry when this host has it, llama.cpp's GGUF metadata in
 * `/props`). Never downloaded unless `--hf-config` names a Hub id, and never
 * guessed: a model none of these knows has an unknown size.
 *
 * @module
 */
import type { KvLayout } from "../models/hf_config.ts";
import { KV_CACHE_DTYPES, type KvSizing, sizeKv } from "../models/kv_size.ts";
import {
  BUNDLED_MODEL_CONFIGS,
  bytesPerToken,
  findModelConfig,
  type ModelConfig,
} from "../models/model_config.ts";
import {
  type ModelSource,
  resolveModelLayout,
} from "../models/model_source.ts";
import { layoutFromGguf } from "../models/gguf_layout.ts";
import { normalizeEndpoint } from "../openai/endpoint.ts";
import { probeServerCapacity } from "../server/capacity.ts";

/** Where a model's KV size came from. */
export type ModelKvFrom = "model_configs.json" | "config file" | "server";

/** A model's KV bytes per token, and where they came from. */
export interface ModelKv {
  /** KV bytes per token over all TP ranks: what the tiers store per token. */
  bytesPerToken: number;
  /** KV bytes per token on one rank. */
  bytesPerTokenPerRank: number;
  /** Tensor-parallel ranks. */
  tp: number;
  /** KV cache dtype. */
  kvDtype: string;
  /** The kind of source. */
  from: ModelKvFrom;
  /** The table entry's name, the file read, or the server's URL. */
  source: string;
  /** One line saying the size and its source. */
  note: string;
}

/** A model's KV size, or why it is unknown. */
export type ModelKvResult =
  | { kv: ModelKv; unknown?: undefined }
  | { kv?: undefined; unknown: string };

/** Options of {@linkcode modelKv}. */
export interface ModelKvOptions {
  /** A config.json, a folder holding one, or a Hugging Face id (`--hf-config`). */
  hfConfig?: string;
  /** Tensor-parallel ranks (default: the table entry's, else 1). */
  tp?: number;
  /** KV cache dtype (default `auto`). */
  kvCacheDtype?: string;
  /** The table (default: the bundled `model_configs.json`). */
  configs?: readonly ModelConfig[];
  /** The server's base URL, to ask it about the model. */
  baseUrl?: string;
  /** Bearer key of the server. */
  apiKey?: string;
  /** The Hugging Face cache (default: `$HF_HUB_CACHE` or its default). */
  hfCacheDir?: string;
  /** kvbench's config cache (default: `$KVBENCH_CONFIG_CACHE` or its default). */
  cacheDir?: string;
  /** Cancels the requests. */
  signal?: AbortSignal;
}

const fmt = (n: number): string => n.toLocaleString("en-US");

/** Options of {@linkcode servedModelSource}. */
export interface ServedModelOptions {
  /** The server's base URL. */
  baseUrl: string;
  /** Bearer key of the server. */
  apiKey?: string;
  /** Cancels the requests (default: a 10 s timeout). */
  signal?: AbortSignal;
}

/**
 * The served model's layout as the server tells it: the `root` folder of
 * its `/v1/models` entry (vLLM: the path it loaded) when this host has its
 * config.json, else the GGUF metadata of llama.cpp's `/props`; undefined
 * when the server tells neither.
 *
 * @example A server that answers nothing tells nothing
 * ```ts
 * import { servedModelSource } from "./model_kv.ts";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const { port } = listener.addr as Deno.NetAddr;
 * listener.close();
 * assert.equal(await servedModelSource("m", { baseUrl: `http://127.0.0.1:${port}` }), undefined);
 * ```
 */
export async function servedModelSource(
  model: string,
  options: ServedModelOptions,
): Promise<ModelSource | undefined> {
  const base = normalizeEndpoint(options.baseUrl);
  const signal = options.signal ?? AbortSignal.timeout(10_000);
  try {
    const response = await fetch(new URL("models", base), {
      headers: options.apiKey
        ? { authorization: `Bearer ${options.apiKey}` }
        : {},
      signal,
    });
    const body = response.ok ? await response.json() : undefined;
    await response.body?.cancel().catch(() => {});
    const root = (body?.data as { id?: string; root?: unknown }[] | undefined)
      ?.find((m) => m.id === model)?.root;
    if (typeof root === "string" && root.startsWith("/")) {
      return await resolveModelLayout(root, { noTable: true, offline: true });
    }
  } catch {
    // no usable /v1/models root: ask /props
  }
  const origin = new URL(base).origin;
  const capacity = await probeServerCapacity(origin, {
    signal,
    headers: options.apiKey
      ? { authorization: `Bearer ${options.apiKey}` }
      : undefined,
  });
  if (capacity?.ggufMetadata === undefined) return undefined;
  return {
    layout: layoutFromGguf(capacity.ggufMetadata),
    from: "server",
    source: `${origin}/props`,
  };
}

function kindOf(found: ModelSource): ModelKvFrom {
  return found.from === "table"
    ? "model_configs.json"
    : found.from === "server"
    ? "server"
    : "config file";
}

function describe(kv: KvSizing, from: ModelKvFrom, source: string): string {
  const formula = kv.groups.map((g) => g.formula)
    .filter((f) => !f.endsWith("request")).join(" + ");
  return `KV ${
    fmt(kv.bytesPerTokenPerRank)
  } B per token per rank (${formula}; ${kv.kvDtype} from ${kv.kvDtypeFrom}) × TP ${kv.tp} = ${
    fmt(kv.bytesPerTokenAllRanks)
  } B per token over all ranks, from ${from}${
    from === "model_configs.json" ? ` (${source})` : ` ${source}`
  }`;
}

/** A table entry given as `bytes_per_tok` only: its bytes, as they are. */
function tableBytes(entry: ModelConfig): ModelKv {
  const bytes = bytesPerToken(entry);
  const tp = Number(entry.tensorParallelSize) || 1;
  return {
    bytesPerToken: bytes,
    bytesPerTokenPerRank: bytes / tp,
    tp,
    kvDtype: "auto",
    from: "model_configs.json",
    source: entry.model_name,
    note: `KV ${
      fmt(bytes)
    } B per token over all ranks (bytes_per_tok of its entry), from model_configs.json (${entry.model_name})`,
  };
}

/**
 * The model's KV bytes per token and their source, or why they are unknown.
 * A bad `kvCacheDtype`, or an `hfConfig` that cannot be read, is an error.
 *
 * @example A model of the table, then one nobody knows
 * ```ts
 * import { modelKv } from "./model_kv.ts";
 * import assert from "node:assert/strict";
 *
 * const { kv } = await modelKv("Qwen/Qwen3-30B-A3B-Instruct-2507");
 * assert.equal(kv?.bytesPerToken, 98_304); // 2 × 48 layers × 4 heads × 128 × 2 B
 * assert.equal(kv?.from, "model_configs.json");
 * const none = await modelKv("nobody/knows-me", { hfCacheDir: "/nonexistent", cacheDir: "/nonexistent" });
 * assert.equal(
 *   none.unknown,
 *   'KV bytes per token unknown: "nobody/knows-me" is not in model_configs.json, its config.json is not on this host and the server does not describe it (give the config with --hf-config / hf_config=)',
 * );
 * ```
 */
export async function modelKv(
  model: string,
  options: ModelKvOptions = {},
): Promise<ModelKvResult> {
  const { kvCacheDtype } = options;
  if (kvCacheDtype !== undefined && !KV_CACHE_DTYPES.includes(kvCacheDtype)) {
    throw new RangeError(
      `Cannot size the KV cache: kv cache dtype "${kvCacheDtype}" is not one of ${
        KV_CACHE_DTYPES.join(", ")
      }`,
    );
  }
  const configs = options.configs ?? BUNDLED_MODEL_CONFIGS;
  const entry = findModelConfig(model, configs);
  let found: ModelSource | undefined;
  if (options.hfConfig !== undefined) {
    found = await resolveModelLayout(options.hfConfig, {
      noTable: true,
      signal: options.signal,
      hfCacheDir: options.hfCacheDir,
      cacheDir: options.cacheDir,
    });
  } else if (
    entry !== undefined && !entry.layers &&
    entry.bytes_per_tok !== undefined && options.tp === undefined &&
    options.kvCacheDtype === undefined
  ) {
    return { kv: tableBytes(entry) };
  } else {
    found = await resolveModelLayout(model, {
      configs,
      offline: true,
      hfCacheDir: options.hfCacheDir,
      cacheDir: options.cacheDir,
    }).catch(() => undefined);
    if (found === undefined && options.baseUrl !== undefined) {
      found = await servedModelSource(model, {
        baseUrl: options.baseUrl,
        apiKey: options.apiKey,
        signal: options.signal,
      }).catch(() => undefined);
    }
  }
  if (found === undefined) {
    return {
      unknown:
        `KV bytes per token unknown: "${model}" is not in model_configs.json, its config.json is not on this host and the server does not describe it (give the config with --hf-config / hf_config=)`,
    };
  }
  return { kv: sized(found, entry, options) };
}

function sized(
  found: ModelSource,
  entry: ModelConfig | undefined,
  options: ModelKvOptions,
): ModelKv {
  const tp = options.tp ??
    (entry === undefined ? 1 : Number(entry.tensorParallelSize) || 1);
  const layout: KvLayout = found.layout;
  const kv = sizeKv(layout, { tp, kvCacheDtype: options.kvCacheDtype });
  const from = kindOf(found);
  const source = from === "model_configs.json"
    ? found.entry?.model_name ?? found.source
    : found.source;
  return {
    bytesPerToken: kv.bytesPerTokenAllRanks,
    bytesPerTokenPerRank: kv.bytesPerTokenPerRank,
    tp: kv.tp,
    kvDtype: kv.kvDtype,
    from,
    source,
    note: describe(kv, from, source),
  };
}
