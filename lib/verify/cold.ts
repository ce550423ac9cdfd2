/**
 * Cold references: how each engine is asked to compute a prompt without
 * reusing cached KV, and to drop its cache.
 *
 * | method    | engine            | what is sent                          | server flag needed                  |
 * |-----------|-------------------|---------------------------------------|-------------------------------------|
 * | `salt`    | vLLM (≥ 0.9)      | `cache_salt` in the request body      | none (prefix caching on)            |
 * | `flush`   | SGLang            | `POST /flush_cache` before the request | none (refused while requests run)   |
 * | `flush`   | vLLM              | `POST /reset_prefix_cache`            | `VLLM_SERVER_DEV_MODE=1`            |
 * | `nocache` | llama.cpp         | `cache_prompt: false` in the body     | none                                |
 *
 * vLLM hashes `cache_salt` into the first block's hash
 * (`vllm/v1/core/kv_cache_utils.py`, `generate_block_hash_extra_keys`), so a
 * new salt shares no block with anything cached; SGLang's
 * `python/sglang/srt/mem_cache/flush_cache.py` posts `/flush_cache`.
 *
 * @module
 */

/** How a cold reference is obtained. */
export type ColdMethod = "salt" | "flush" | "nocache";

/** The methods, in the order the command line lists them. */
export const COLD_METHODS: readonly ColdMethod[] = ["salt", "flush", "nocache"];

/**
 * The cold method an engine supports best: `flush` for SGLang, `nocache` for
 * llama.cpp, `salt` for vLLM, the simulator and anything else (a server that
 * ignores the salt is caught: its cold reference reports cached tokens).
 *
 * @example Usage
 * ```ts
 * import { defaultColdMethod } from "./cold.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(defaultColdMethod("sglang"), "flush");
 * assert.equal(defaultColdMethod("llamacpp"), "nocache");
 * assert.equal(defaultColdMethod("vllm"), "salt");
 * assert.equal(defaultColdMethod(undefined), "salt");
 * ```
 */
export function defaultColdMethod(engine: string | undefined): ColdMethod {
  if (engine === "sglang") return "flush";
  if (engine === "llamacpp") return "nocache";
  return "salt";
}

/**
 * The route that drops an engine's prefix cache: SGLang's `/flush_cache`,
 * else vLLM's `/reset_prefix_cache` (which the simulator also serves).
 *
 * @example Usage
 * ```ts
 * import { flushPath } from "./cold.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(flushPath("sglang"), "/flush_cache");
 * assert.equal(flushPath("vllm"), "/reset_prefix_cache");
 * ```
 */
export function flushPath(engine: string | undefined): string {
  return engine === "sglang" ? "/flush_cache" : "/reset_prefix_cache";
}

/**
 * Fields a cold request adds to its body: a `cache_salt` of its own
 * (`salt`), or `cache_prompt: false` (`nocache`); none for `flush` (the
 * cache is dropped before the request instead).
 *
 * @example Usage
 * ```ts
 * import { coldBody } from "./cold.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(coldBody("salt", "run1-cold-3"), { cache_salt: "run1-cold-3" });
 * assert.deepEqual(coldBody("nocache", "x"), { cache_prompt: false });
 * assert.deepEqual(coldBody("flush", "x"), {});
 * ```
 */
export function coldBody(
  method: ColdMethod,
  salt: string,
): Record<string, unknown> {
  if (method === "salt") return { cache_salt: salt };
  if (method === "nocache") return { cache_prompt: false };
  return {};
}

/** Options of {@linkcode resetCache}. */
export interface ResetCacheOptions {
  /** The detected engine (picks the route, see {@linkcode flushPath}). */
  engine?: string;
  /** Sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** Tries while the server refuses because requests are pending (default 20, 250 ms apart). */
  attempts?: number;
  /** Aborts the waits. */
  signal?: AbortSignal;
}

/**
 * Drop the server's prefix cache (SGLang `POST /flush_cache`, vLLM
 * `POST /reset_prefix_cache`), trying again while it refuses (SGLang
 * refuses while requests are pending). Resolves to the route used; rejects
 * with a one-line Error when the server never accepts.
 *
 * @example Against the simulator
 * ```ts
 * import { resetCache } from "./cold.ts";
 * import { startSimulator } from "../sim/server.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * assert.equal(await resetCache(sim.url), "/reset_prefix_cache");
 * ```
 */
export async function resetCache(
  baseUrl: string,
  options: ResetCacheOptions = {},
): Promise<string> {
  const path = flushPath(options.engine);
  const url = new URL(path, baseUrl).href;
  const attempts = options.attempts ?? 20;
  let last = "";
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 250));
    options.signal?.throwIfAborted();
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: options.apiKey
          ? { authorization: `Bearer ${options.apiKey}` }
          : {},
        signal: options.signal,
      });
    } catch (error) {
      throw new Error(
        `Cannot reset the server's cache: POST ${path} failed: ${
          (error as Error).message
        }`,
      );
    }
    const text = (await response.text()).trim().slice(0, 200);
    if (response.ok) return path;
    last = `HTTP ${response.status}${text ? ` ${text}` : ""}`;
    // 400 while requests are pending (SGLang); anything else will not change.
    if (response.status !== 400 && response.status !== 503) break;
  }
  throw new Error(
    `Cannot reset the server's cache: POST ${path} answered ${last}${
      path === "/reset_prefix_cache"
        ? " (vLLM serves it with VLLM_SERVER_DEV_MODE=1)"
        : ""
    }`,
  );
}
