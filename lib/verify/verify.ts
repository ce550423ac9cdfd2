/**
 * Is the reused KV right? For each context, a greedy request served from
 * the cache (warm) against a cold reference of the same prompt, and a second
 * cold reference as the control that measures the engine's own
 * nondeterminism; compared token by token.
 *
 * The warm requests go first, one after another (each finds its context
 * where the run left it: after a run that cycles more contexts than GPU
 * memory holds, in the offload tier), then each context's two cold
 * references. With the `flush` method the cache is dropped before each cold
 * request, which is why the warm requests all go first.
 *
 * @module
 */
import type { EndpointConfig } from "../openai/request.ts";
import type { ChatMessage } from "../types.ts";
import { coldBody, type ColdMethod, flushPath, resetCache } from "./cold.ts";
import {
  compareAnswers,
  type Divergence,
  judgePair,
  type Outcome,
  type VerifyVerdict,
  verifyVerdict,
} from "./compare.ts";
import { type GreedyAnswer, sendGreedy } from "./greedy_request.ts";

export type { ColdMethod } from "./cold.ts";
export type { Divergence, Outcome, VerifyVerdict } from "./compare.ts";
export type { GreedyAnswer } from "./greedy_request.ts";
export type { EndpointConfig } from "../openai/request.ts";
export type { ChatMessage } from "../types.ts";

/** One context to check. */
export interface VerifyContext {
  /** Its name in the pairs (the workload's context index). */
  id: number | string;
  /** The prompt; its context must already be cached for the warm request to reuse it. */
  prompt: string | number[] | ChatMessage[];
  /** Body fields of this context's requests, after `warmBody` (its run's `cache_salt`). */
  body?: Record<string, unknown>;
  /** `max_tokens` of this context's requests (default: the options'). */
  maxTokens?: number;
}

/** Options of {@linkcode verifyReuse}. */
export interface VerifyOptions {
  /** The contexts. */
  contexts: readonly VerifyContext[];
  /** How cold references are made. */
  method: ColdMethod;
  /** The detected engine (picks the flush route). */
  engine?: string;
  /** `max_tokens` of every request whose context says none (default 32). */
  maxTokens?: number;
  /** `/v1/completions` (default) or `/v1/chat/completions`. */
  api?: "completions" | "chat";
  /** `seed` of every request (default 0). */
  seed?: number;
  /** Body fields of the warm requests: the run's own (its `cache_salt`, so they find its cache). */
  warmBody?: Record<string, unknown>;
  /** Prefix of the cold references' salts, unique per check (default: random). */
  saltPrefix?: string;
  /** Aborts the check. */
  signal?: AbortSignal;
  /** Called with each context's pair once it is judged. */
  onPair?: (pair: VerifyPair) => void;
}

/** What one context gave. */
export interface VerifyPair {
  /** The context. */
  context: number | string;
  /** Its outcome. */
  outcome: Outcome;
  /** The answer served from the cache. */
  warm?: GreedyAnswer;
  /** The cold reference. */
  cold?: GreedyAnswer;
  /** The second cold reference (the control). */
  control?: GreedyAnswer;
  /** Warm against cold. */
  warmVsCold?: Divergence;
  /** Cold against the control. */
  coldVsControl?: Divergence;
  /** Why a request failed. */
  error?: string;
}

/** The check's pairs and verdict. */
export interface VerifyResult {
  /** One per context, in order. */
  pairs: VerifyPair[];
  /** The verdict. */
  verdict: VerifyVerdict;
  /** How the cold references were made, as the verdict names it. */
  cold: string;
}

/**
 * How a cold method is named in the verdict.
 *
 * @example Usage
 * ```ts
 * import { describeCold } from "./verify.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(describeCold("salt"), "cache_salt");
 * assert.equal(describeCold("flush", "sglang"), "POST /flush_cache");
 * assert.equal(describeCold("nocache"), "cache_prompt: false");
 * ```
 */
export function describeCold(method: ColdMethod, engine?: string): string {
  if (method === "salt") return "cache_salt";
  if (method === "nocache") return "cache_prompt: false";
  return `POST ${flushPath(engine)}`;
}

/**
 * Check reused contexts against cold compute.
 *
 * @example Against the simulator
 * ```ts
 * import { verifyReuse } from "./verify.ts";
 * import { startSimulator } from "../sim/server.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * const endpoint = { baseUrl: sim.url, model: sim.model };
 * const contexts = [0, 1].map((id) => ({ id, prompt: `context ${id} `.repeat(40) }));
 * // Cache them first (a run would have).
 * for (const c of contexts) await fetch(sim.url + "completions", { method: "POST", body: JSON.stringify({ prompt: c.prompt, max_tokens: 1 }) }).then((r) => r.text());
 * const result = await verifyReuse(endpoint, { contexts, method: "salt", maxTokens: 8 });
 * assert.equal(result.verdict.text, "verify: 2 of 2 reused contexts gave outputs identical to cold compute (cold reference: cache_salt)");
 * ```
 */
export async function verifyReuse(
  endpoint: EndpointConfig,
  options: VerifyOptions,
): Promise<VerifyResult> {
  const { contexts, method, signal } = options;
  const prefix = options.saltPrefix ??
    `kvbench-verify-${crypto.randomUUID().slice(0, 8)}`;
  const send = (c: VerifyContext, cold = {}) =>
    sendGreedy(endpoint, {
      prompt: c.prompt,
      maxTokens: c.maxTokens ?? options.maxTokens ?? 32,
      api: options.api,
      seed: options.seed,
      extraBody: { ...options.warmBody, ...c.body, ...cold },
      signal,
    });
  const attempt = async <T>(f: () => Promise<T>) => {
    try {
      return { value: await f() };
    } catch (error) {
      signal?.throwIfAborted();
      return { error: (error as Error).message };
    }
  };
  const warm = [];
  for (const c of contexts) warm.push(await attempt(() => send(c)));
  const pairs: VerifyPair[] = [];
  for (const [i, c] of contexts.entries()) {
    const cold = (name: string) =>
      attempt(async () => {
        if (method === "flush") {
          await resetCache(endpoint.baseUrl, {
            engine: options.engine,
            apiKey: endpoint.apiKey,
            signal,
          });
        }
        return await send(c, coldBody(method, `${prefix}-${name}-${i}`));
      });
    const reference = await cold("cold");
    const control = await cold("control");
    const pair: VerifyPair = {
      context: c.id,
      outcome: "failed",
      warm: warm[i].value,
      cold: reference.value,
      control: control.value,
    };
    const error = warm[i].error ?? reference.error ?? control.error;
    if (error !== undefined) pair.error = error;
    else judge(pair);
    pairs.push(pair);
    options.onPair?.(pair);
  }
  const cold = describeCold(method, options.engine);
  return { pairs, verdict: verifyVerdict(pairs, { cold }), cold };
}

function judge(pair: VerifyPair): void {
  const warm = pair.warm!, cold = pair.cold!, control = pair.control!;
  pair.warmVsCold = compareAnswers(warm, cold);
  pair.coldVsControl = compareAnswers(cold, control);
  if ((cold.cachedTokens ?? 0) > 0 || (control.cachedTokens ?? 0) > 0) {
    pair.outcome = "not_cold";
  } else if (warm.cachedTokens === 0) {
    pair.outcome = "not_reused";
  } else {
    pair.outcome = judgePair({
      warmVsCold: pair.warmVsCold,
      coldVsControl: pair.coldVsControl,
    });
  }
}

/**
 * A pair as one line of `verify.jsonl` (snake_case, as the run's files).
 *
 * @example Usage
 * ```ts
 * import { pairJson } from "./verify.ts";
 * import assert from "node:assert/strict";
 *
 * const line = pairJson({ context: 3, outcome: "failed", error: "HTTP 500" });
 * assert.deepEqual(line, { context: 3, outcome: "failed", error: "HTTP 500", warm: null, cold: null, control: null, warm_vs_cold: null, cold_vs_control: null });
 * ```
 */
export function pairJson(pair: VerifyPair): Record<string, unknown> {
  const answer = (a?: GreedyAnswer) =>
    a === undefined ? null : {
      cached_tokens: a.cachedTokens ?? null,
      prompt_tokens: a.promptTokens ?? null,
      finish_reason: a.finishReason ?? null,
      text: a.text,
      tokens: a.tokens ?? null,
      logprobs: a.logprobs ?? null,
    };
  const divergence = (d?: Divergence) =>
    d === undefined ? null : {
      unit: d.unit,
      compared: d.compared,
      first_at: d.firstAt ?? null,
      max_logprob_diff: d.maxLogprobDiff ?? null,
    };
  return {
    context: pair.context,
    outcome: pair.outcome,
    ...(pair.error === undefined ? {} : { error: pair.error }),
    warm: answer(pair.warm),
    cold: answer(pair.cold),
    control: answer(pair.control),
    warm_vs_cold: divergence(pair.warmVsCold),
    cold_vs_control: divergence(pair.coldVsControl),
  };
}
