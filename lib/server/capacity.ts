/**
 * The KV capacity a server states about itself, where it can tell: vLLM's
 * `cache_config_info` gauge (num_gpu_blocks × block_size, cache_dtype),
 * SGLang's `max_total_num_tokens` and HiCache host tokens, the kvbench
 * simulator's offload capacity, and llama.cpp's `/props` (each slot's
 * context × total_slots, and GGUF metadata when the server gives it), and
 * its comparison with the figures kvbench computes from the model's config.
 *
 * @module
 */
import { parsePrometheusText, type PromExposition } from "./prometheus.ts";
import { readEngineMetrics } from "./engines.ts";

/** What a server says about its KV capacity. */
export interface ServerCapacity {
  /** The engine it looks like (`vllm`, `sglang`, `llamacpp`, …), when known. */
  engine?: string;
  /** Device KV capacity in tokens. */
  deviceKvTokens?: number;
  /** Offload capacity in tokens (SGLang HiCache host, the simulator). */
  offloadKvTokens?: number;
  /** Tokens per KV block. */
  blockSize?: number;
  /** The KV cache dtype the server runs (vLLM `cache_dtype`: `auto`, `fp8`, …). */
  cacheDtype?: string;
  /** llama.cpp: parallel slots. */
  slots?: number;
  /** llama.cpp: GGUF metadata (`general.architecture`, `<arch>.block_count`, …) when `/props` carries it. */
  ggufMetadata?: Record<string, unknown>;
  /** Where each figure comes from, for the text. */
  from: string;
}

/**
 * Read the capacity from a Prometheus scrape (vLLM, SGLang, the simulator).
 *
 * @example vLLM with an fp8 KV cache
 * ```ts
 * import { capacityFromMetrics } from "./capacity.ts";
 * import { parsePrometheusText } from "./prometheus.ts";
 * import assert from "node:assert/strict";
 *
 * const c = capacityFromMetrics(parsePrometheusText(
 *   'vllm:cache_config_info{block_size="16",cache_dtype="fp8",num_gpu_blocks="4096"} 1\n',
 * ));
 * assert.deepEqual(
 *   [c.engine, c.deviceKvTokens, c.blockSize, c.cacheDtype],
 *   ["vllm", 65_536, 16, "fp8"],
 * );
 * ```
 */
export function capacityFromMetrics(
  exposition: PromExposition,
): ServerCapacity {
  const reading = readEngineMetrics(exposition);
  const g = reading.gauges;
  const capacity: ServerCapacity = { from: "/metrics" };
  const engine = reading.engines[0];
  if (engine !== undefined) capacity.engine = engine;
  if (g.deviceKvTokens !== undefined) {
    capacity.deviceKvTokens = g.deviceKvTokens;
  }
  if (g.offloadKvTokens !== undefined) {
    capacity.offloadKvTokens = g.offloadKvTokens;
  }
  if (g.blockSize !== undefined) capacity.blockSize = g.blockSize;
  // vllm/config/cache.py CacheConfig.metrics_info: every field as a label.
  for (const s of exposition.samples) {
    if (/^vllm[:_]cache_config_info$/.test(s.name) && s.labels.cache_dtype) {
      capacity.cacheDtype = s.labels.cache_dtype;
      capacity.from = "/metrics cache_config_info";
      break;
    }
  }
  return capacity;
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

/**
 * Read llama.cpp's `GET /props`: `default_generation_settings.n_ctx` is one
 * slot's context, so the device holds n_ctx × `total_slots` tokens
 * (tools/server/server.cpp, `handle_props`); GGUF metadata is kept when the
 * answer has a `general.architecture` key (at the top or under `metadata`).
 *
 * @example Four slots of 8,192 tokens
 * ```ts
 * import { capacityFromProps } from "./capacity.ts";
 * import assert from "node:assert/strict";
 *
 * const c = capacityFromProps({
 *   default_generation_settings: { n_ctx: 8192 }, total_slots: 4,
 * });
 * assert.deepEqual([c.engine, c.deviceKvTokens, c.slots], ["llamacpp", 32_768, 4]);
 * ```
 */
export function capacityFromProps(props: unknown): ServerCapacity {
  const capacity: ServerCapacity = { engine: "llamacpp", from: "/props" };
  if (!isObject(props)) return capacity;
  const settings = isObject(props.default_generation_settings)
    ? props.default_generation_settings
    : {};
  const nCtx = settings.n_ctx ?? props.n_ctx;
  const slots = props.total_slots;
  if (typeof slots === "number" && Number.isInteger(slots) && slots > 0) {
    capacity.slots = slots;
  }
  if (typeof nCtx === "number" && Number.isInteger(nCtx) && nCtx > 0) {
    capacity.deviceKvTokens = nCtx * (capacity.slots ?? 1);
  }
  for (const candidate of [props, props.metadata, props.gguf]) {
    if (isObject(candidate) && "general.architecture" in candidate) {
      capacity.ggufMetadata = candidate;
      break;
    }
  }
  return capacity;
}

/** Options of {@linkcode probeServerCapacity}. */
export interface ProbeOptions {
  /** Extra request headers (an API key). */
  headers?: Record<string, string>;
  /** Cancels the requests. */
  signal?: AbortSignal;
}

async function getText(
  url: string,
  options: ProbeOptions,
): Promise<string | undefined> {
  try {
    const response = await fetch(url, {
      headers: options.headers,
      signal: options.signal ?? AbortSignal.timeout(10_000),
    });
    if (!response.ok) {
      await response.body?.cancel();
      return undefined;
    }
    return await response.text();
  } catch {
    return undefined;
  }
}

/**
 * Ask a server at `origin` for its capacity: `/metrics` first (vLLM,
 * SGLang, the simulator), then llama.cpp's `/props`; `undefined` when
 * neither tells anything.
 *
 * @example Against a server answering /props only
 * ```ts
 * import { probeServerCapacity } from "./capacity.ts";
 * import assert from "node:assert/strict";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) =>
 *   new URL(req.url).pathname === "/props"
 *     ? Response.json({ default_generation_settings: { n_ctx: 4096 }, total_slots: 2 })
 *     : new Response("not found", { status: 404 }));
 * const c = await probeServerCapacity(`http://127.0.0.1:${server.addr.port}`);
 * assert.equal(c?.deviceKvTokens, 8192);
 * await server.shutdown();
 * ```
 */
export async function probeServerCapacity(
  origin: string,
  options: ProbeOptions = {},
): Promise<ServerCapacity | undefined> {
  const base = origin.replace(/\/+$/, "");
  const metrics = await getText(`${base}/metrics`, options);
  if (metrics !== undefined) {
    try {
      const capacity = capacityFromMetrics(parsePrometheusText(metrics));
      if (
        capacity.deviceKvTokens !== undefined ||
        capacity.offloadKvTokens !== undefined
      ) return capacity;
    } catch {
      // not a Prometheus exposition: try /props
    }
  }
  const props = await getText(`${base}/props`, options);
  if (props === undefined) return undefined;
  try {
    const capacity = capacityFromProps(JSON.parse(props));
    return capacity.deviceKvTokens === undefined ? undefined : capacity;
  } catch {
    return undefined;
  }
}

/** The figures kvbench computed, to compare with the server's. */
export interface ComputedCapacity {
  /** The KV dtype the sizing used, when known. */
  kvDtype?: string;
  /** Offload tokens the sizing computed (offload size / bytes per token), when known. */
  offloadKvTokens?: number;
  /** Device tokens computed from a GPU KV size, when known. */
  deviceKvTokens?: number;
}

const family = (dtype: string): string =>
  dtype.startsWith("fp8") ? "fp8" : dtype === "nvfp4" ? "nvfp4" : "16-bit";

const n = (x: number): string => Math.round(x).toLocaleString("en-US");

/** Whether two counts differ by more than 5 % of the larger. */
const differ = (a: number, b: number): boolean =>
  Math.abs(a - b) > 0.05 * Math.max(a, b);

/**
 * Say where the server's figures and kvbench's disagree: the KV dtype
 * family (fp8, nvfp4, 16-bit; vLLM's `auto` is the model's 16-bit dtype),
 * and the offload and device token capacities (more than 5 % apart). An
 * empty list when they agree or the server does not tell.
 *
 * @example The server runs an fp8 KV cache; kvbench assumed bf16
 * ```ts
 * import { compareCapacity } from "./capacity.ts";
 * import assert from "node:assert/strict";
 *
 * const lines = compareCapacity(
 *   { engine: "vllm", cacheDtype: "fp8", offloadKvTokens: 1_000_000, from: "/metrics" },
 *   { kvDtype: "bfloat16", offloadKvTokens: 400_000 },
 * );
 * assert.equal(lines.length, 2);
 * assert.ok(lines[0].startsWith("[WARN] The server's KV cache is fp8"));
 * assert.ok(lines[1].includes("1,000,000 offload tokens"));
 * ```
 */
export function compareCapacity(
  server: ServerCapacity,
  computed: ComputedCapacity,
): string[] {
  const lines: string[] = [];
  if (
    server.cacheDtype !== undefined && computed.kvDtype !== undefined &&
    family(server.cacheDtype) !== family(computed.kvDtype)
  ) {
    lines.push(
      `[WARN] The server's KV cache is ${server.cacheDtype} (cache_config_info cache_dtype), the sizing's ${computed.kvDtype}: give --kv-cache-dtype ${
        server.cacheDtype === "auto" ? "auto" : server.cacheDtype
      }`,
    );
  }
  const pairs: [string, number | undefined, number | undefined][] = [
    ["offload", server.offloadKvTokens, computed.offloadKvTokens],
    ["GPU KV", server.deviceKvTokens, computed.deviceKvTokens],
  ];
  for (const [name, theirs, ours] of pairs) {
    if (theirs !== undefined && ours !== undefined && differ(theirs, ours)) {
      lines.push(
        `[WARN] The server reports ${n(theirs)} ${
          name === "offload" ? "offload" : "GPU KV"
        } tokens (${server.from}), the sizing computed ${
          n(ours)
        }: check the ${name} size, TP and KV dtype given`,
      );
    }
  }
  return lines;
}
