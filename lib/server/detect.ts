/**
 * Which engine serves an endpoint, and its version: metric names and their
 * meaning drift between releases, so a run records what it measured. Read
 * best-effort from what engines serve: vLLM's `/version`, SGLang's
 * `/server_info`, llama.cpp's `/props`, and `/v1/models` (`owned_by`,
 * `max_model_len`).
 *
 * @module
 */

/** What the endpoint says about itself. */
export interface ServerInfo {
  /** The engine (`vllm`, `sglang`, `llamacpp`, `tensorrt_llm`, `kvbench-sim`, or what `owned_by` says). */
  engine?: string;
  /** Its version or build, as it reports it. */
  version?: string;
  /** The served model's context length, when reported. */
  maxModelLen?: number;
  /** llama.cpp: its slots (`/props` `total_slots`), each keeping one prompt's KV. */
  slots?: number;
  /** llama.cpp: tokens of each slot's context (`/props` `default_generation_settings.n_ctx`). */
  slotTokens?: number;
}

/** Options of {@linkcode detectServer}. */
export interface DetectServerOptions {
  /** Sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** Time allowed per probe (default 3 000 ms). */
  timeoutMs?: number;
}

async function getJson(
  url: string,
  options: DetectServerOptions,
): Promise<Record<string, unknown> | undefined> {
  try {
    const response = await fetch(url, {
      headers: options.apiKey
        ? { authorization: `Bearer ${options.apiKey}` }
        : {},
      signal: AbortSignal.timeout(options.timeoutMs ?? 3000),
    });
    if (!response.ok) {
      await response.body?.cancel();
      return undefined;
    }
    const value = await response.json();
    return value !== null && typeof value === "object" ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Probe `baseUrl` (ending in `/v1/`) for its engine and version; never
 * rejects (what it cannot learn stays undefined).
 *
 * @example Against the simulator
 * ```ts
 * import { detectServer } from "./detect.ts";
 * import { startSimulator } from "../sim/server.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * const info = await detectServer(sim.url);
 * assert.equal(info.engine, "kvbench-sim");
 * assert.equal(info.version, "0.1.0");
 * ```
 */
export async function detectServer(
  baseUrl: string,
  options: DetectServerOptions = {},
): Promise<ServerInfo> {
  const origin = new URL(baseUrl).origin;
  const [version, serverInfo, props, models] = await Promise.all([
    getJson(`${origin}/version`, options),
    getJson(`${origin}/server_info`, options),
    getJson(`${origin}/props`, options),
    getJson(new URL("models", baseUrl).href, options),
  ]);
  const info: ServerInfo = {};
  const first = (models?.data as Record<string, unknown>[] | undefined)?.[0];
  const owner = typeof first?.owned_by === "string"
    ? first.owned_by
    : undefined;
  if (typeof first?.max_model_len === "number") {
    info.maxModelLen = first.max_model_len;
  }
  if (typeof version?.version === "string") {
    info.version = version.version;
    info.engine = typeof version.engine === "string"
      ? version.engine
      : owner ?? "vllm";
  } else if (typeof serverInfo?.version === "string") {
    info.engine = "sglang";
    info.version = serverInfo.version;
  } else if (typeof props?.build_info === "string") {
    info.engine = "llamacpp";
    info.version = props.build_info;
    const ctx = (props.default_generation_settings as { n_ctx?: unknown })
      ?.n_ctx;
    if (typeof ctx === "number") {
      info.maxModelLen ??= ctx;
      info.slotTokens = ctx;
    }
    // tools/server/server-context.cpp, the /props handler: total_slots is
    // --parallel (-np); n_ctx above is a slot's context.
    if (typeof props.total_slots === "number") info.slots = props.total_slots;
  } else if (owner !== undefined) {
    info.engine = owner;
  }
  return info;
}
