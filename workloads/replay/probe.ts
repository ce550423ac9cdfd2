/**
 * Whether a server takes token-id prompts on `/v1/completions` (vLLM, SGLang
 * and llama.cpp do; some gateways do not): one request of 16 token ids and
 * one output token, before the replay.
 *
 * @module
 */
import { type EndpointConfig, sendRequest } from "../../lib/openai/request.ts";
import type { Vocabulary } from "./token_blocks.ts";

/** What the probe found. */
export interface IdsProbe {
  /** True when the server answered; false when it refused the ids (HTTP 400, 415 or 422). */
  accepted: boolean;
  /** The server's message, when it refused. */
  message?: string;
}

/**
 * Send one token-id prompt; a refusal (HTTP 400, 415, 422) resolves
 * `accepted: false`, any other failure rejects with a one-line error.
 *
 * @example Usage
 * ```ts
 * import { probeTokenIds } from "./probe.ts";
 * import { rangeVocabulary } from "./token_blocks.ts";
 * import { startSimulator } from "../../lib/sim/server.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * const probe = await probeTokenIds({ baseUrl: sim.url, model: sim.model }, rangeVocabulary());
 * assert.deepEqual(probe, { accepted: true });
 * ```
 */
export async function probeTokenIds(
  endpoint: EndpointConfig,
  vocabulary: Vocabulary,
): Promise<IdsProbe> {
  const prompt = Array.from(
    { length: 16 },
    (_, i) => vocabulary.ids[(i * 7919) % vocabulary.ids.length],
  );
  const record = await sendRequest(endpoint, {
    prompt,
    maxTokens: 1,
    stream: false,
  });
  if (record.ok) return { accepted: true };
  const status = record.status;
  if (status === 400 || status === 415 || status === 422) {
    return { accepted: false, message: record.error?.message };
  }
  throw new Error(
    `Cannot check whether ${endpoint.baseUrl} takes token ids: ${
      record.error?.message ?? "the request failed"
    }`,
  );
}
