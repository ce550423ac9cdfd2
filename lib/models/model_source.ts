/**
 * Find a model's KV layout from what a user names: a `model_configs.json`
 * entry, a `config.json` file or a folder holding one, or a Hugging Face id
 * whose `config.json` is found in the local Hugging Face cache, in kvbench's
 * cache, or downloaded (`HF_ENDPOINT`, `HF_TOKEN`; never with
 * `HF_HUB_OFFLINE`).
 *
 * @module
 */
import { join } from "node:path";
import {
  downloadFile,
  hfEndpoint,
  hfHubCacheDir,
  hfOffline,
  hfToken,
} from "../io/hub.ts";
import { type KvLayout, parseHfConfig } from "./hf_config.ts";
import {
  BUNDLED_MODEL_CONFIGS,
  findModelConfig,
  type ModelConfig,
} from "./model_config.ts";

/** A model's layout and where it was read. */
export interface ModelSource {
  /** The KV layout. */
  layout: KvLayout;
  /** `table`, `file`, `hf-cache` (the Hugging Face cache), `cache` (kvbench's), `hub` (downloaded) or `server` (GGUF metadata a server reports). */
  from: "table" | "file" | "hf-cache" | "cache" | "hub" | "server";
  /** The file read, or the table entry's name. */
  source: string;
  /** The `model_configs.json` entry, when the model is one. */
  entry?: ModelConfig;
}

/** Options of {@linkcode resolveModelLayout}. */
export interface ResolveModelOptions {
  /** The table to look names up in (default: the bundled `model_configs.json`). */
  configs?: readonly ModelConfig[];
  /** Skip the table: read `spec` as a path or a Hugging Face id only. */
  noTable?: boolean;
  /** kvbench's config cache (default {@linkcode configCacheDir}). */
  cacheDir?: string;
  /** The Hugging Face cache (default `hfHubCacheDir()`). */
  hfCacheDir?: string;
  /** The Hub (default `hfEndpoint()`). */
  endpoint?: string;
  /** The Hub token (default `hfToken()`). */
  token?: string;
  /** Do not download (default `hfOffline()`). */
  offline?: boolean;
  /** Cancels a download. */
  signal?: AbortSignal;
}

/**
 * kvbench's cache of downloaded `config.json` files: env
 * `KVBENCH_CONFIG_CACHE`, else `$XDG_CACHE_HOME/kvbench/configs`, else
 * `~/.cache/kvbench/configs`.
 *
 * @example Usage
 * ```ts
 * import { configCacheDir } from "./model_source.ts";
 * import { withEnv } from "../testing/with_env.ts";
 * import assert from "node:assert/strict";
 *
 * await withEnv({ KVBENCH_CONFIG_CACHE: "/data/configs" }, () => {
 *   assert.equal(configCacheDir(), "/data/configs");
 * });
 * ```
 */
export function configCacheDir(): string {
  const env = (name: string): string | undefined =>
    Deno.env.get(name) || undefined;
  return env("KVBENCH_CONFIG_CACHE") ??
    join(
      env("XDG_CACHE_HOME") ?? join(env("HOME") ?? ".", ".cache"),
      "kvbench",
      "configs",
    );
}

/**
 * The layout of a `model_configs.json` entry: one group of full-attention
 * layers; `dtype_size` 1 is an fp8 KV cache, 2 a bf16 one.
 *
 * @example Qwen3-235B-FP8's entry: 94 layers of 4 KV heads in fp8
 * ```ts
 * import { layoutFromModelConfig } from "./model_source.ts";
 * import { findModelConfig } from "./model_config.ts";
 * import assert from "node:assert/strict";
 *
 * const layout = layoutFromModelConfig(
 *   findModelConfig("Qwen/Qwen3-235B-A22B-Instruct-2507-FP8")!,
 * );
 * assert.equal(layout.kvCacheScheme, "fp8");
 * assert.deepEqual(layout.groups[0], {
 *   kind: "full", layers: 94, kvHeads: 4, headDim: 128, vHeadDim: 128,
 * });
 * ```
 */
export function layoutFromModelConfig(entry: ModelConfig): KvLayout {
  const { layers, num_key_value_heads: heads, head_dim: dim } = entry;
  const size = entry.dtype_size;
  if (!layers || !heads || !dim || (size !== 1 && size !== 2)) {
    throw new TypeError(
      `Cannot size "${entry.model_name}": its model_configs.json entry needs layers, num_key_value_heads, head_dim and dtype_size 1 or 2`,
    );
  }
  const layout: KvLayout = {
    modelType: "model_configs.json",
    dtype: "bfloat16",
    dtypeFrom: "model_configs.json dtype_size 2",
    groups: [{
      kind: "full",
      layers,
      kvHeads: heads,
      headDim: dim,
      vHeadDim: dim,
    }],
    mtpLayers: 0,
  };
  if (size === 1) {
    layout.kvCacheScheme = "fp8";
    layout.kvCacheSchemeFrom = "model_configs.json dtype_size 1";
  }
  return layout;
}

async function readConfig(path: string): Promise<KvLayout> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(
      `Cannot read "${path}": ${(error as Error).message.split("\n")[0]}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SyntaxError(`Cannot size "${path}": not valid JSON`);
  }
  return parseHfConfig(json, path);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** `config.json` of `id` in a Hugging Face cache: refs/main's snapshot, else any. */
async function inHfCache(dir: string, id: string): Promise<string | undefined> {
  const repo = join(dir, `models--${id.replace("/", "--")}`);
  try {
    const main = (await Deno.readTextFile(join(repo, "refs", "main"))).trim();
    const path = join(repo, "snapshots", main, "config.json");
    if (await isFile(path)) return path;
  } catch {
    // no refs/main: look at every snapshot
  }
  try {
    for await (const entry of Deno.readDir(join(repo, "snapshots"))) {
      const path = join(repo, "snapshots", entry.name, "config.json");
      if (await isFile(path)) return path;
    }
  } catch {
    // not cached
  }
  return undefined;
}

const HF_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/**
 * Resolve `spec` to a KV layout: a `model_configs.json` name, a
 * `config.json` path or folder, or a Hugging Face id (the Hugging Face cache
 * first, then kvbench's cache, then a download into kvbench's cache).
 *
 * @example A config.json on disk
 * ```ts
 * import { resolveModelLayout } from "./model_source.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({
 *   torch_dtype: "bfloat16", num_hidden_layers: 2, num_attention_heads: 4,
 *   num_key_value_heads: 2, head_dim: 64,
 * }));
 * const model = await resolveModelLayout(dir, { offline: true });
 * assert.equal(model.from, "file");
 * assert.equal(model.layout.groups[0].layers, 2);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function resolveModelLayout(
  spec: string,
  options: ResolveModelOptions = {},
): Promise<ModelSource> {
  if (!options.noTable) {
    const entry = findModelConfig(
      spec,
      options.configs ?? BUNDLED_MODEL_CONFIGS,
    );
    if (entry !== undefined) {
      return {
        layout: layoutFromModelConfig(entry),
        from: "table",
        source: "model_configs.json",
        entry,
      };
    }
  }
  let stat: Deno.FileInfo | undefined;
  try {
    stat = await Deno.stat(spec);
  } catch {
    stat = undefined;
  }
  if (stat !== undefined) {
    const path = stat.isDirectory ? join(spec, "config.json") : spec;
    return { layout: await readConfig(path), from: "file", source: path };
  }
  if (!HF_ID.test(spec)) {
    throw new Error(
      `Cannot find model "${spec}": not in model_configs.json, not a file or folder, and not a Hugging Face id (owner/name)`,
    );
  }
  const cached = await inHfCache(options.hfCacheDir ?? hfHubCacheDir(), spec);
  if (cached !== undefined) {
    return {
      layout: await readConfig(cached),
      from: "hf-cache",
      source: cached,
    };
  }
  const mine = join(
    options.cacheDir ?? configCacheDir(),
    spec.replace("/", "--"),
    "config.json",
  );
  if (await isFile(mine)) {
    return { layout: await readConfig(mine), from: "cache", source: mine };
  }
  if (options.offline ?? hfOffline()) {
    throw new Error(
      `Cannot find model "${spec}": its config.json is not cached and HF_HUB_OFFLINE forbids downloading it`,
    );
  }
  const url = `${
    (options.endpoint ?? hfEndpoint()).replace(/\/+$/, "")
  }/${spec}/resolve/main/config.json`;
  await downloadFile(url, mine, {
    token: options.token ?? hfToken(),
    signal: options.signal,
  });
  return { layout: await readConfig(mine), from: "hub", source: mine };
}
