/**
 * One greedy request (temperature 0, a fixed seed, log-probabilities asked
 * for), not streamed, read token by token: what a reuse check compares.
 *
 * Not sent through `sendRequest`: its records keep the text only, while a
 * check needs each token and its log-probability; the body is built the same
 * way (the endpoint's `model`, `extraBody` and headers, then the request's
 * own fields).
 *
 * @module
 */
import type { EndpointConfig } from "../openai/request.ts";
import type { ChatMessage } from "../types.ts";

export type { EndpointConfig } from "../openai/request.ts";
export type { ChatMessage } from "../types.ts";

/** What to ask for. */
export interface GreedySpec {
  /** Text, token ids (completions), or chat messages (chat). */
  prompt: string | number[] | ChatMessage[];
  /** `max_tokens`. */
  maxTokens: number;
  /** `/v1/completions` (default) or `/v1/chat/completions`. */
  api?: "completions" | "chat";
  /** `seed` (default 0). */
  seed?: number;
  /** Fields merged last (a cold method's `cache_salt`, …). */
  extraBody?: Record<string, unknown>;
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** What came back. */
export interface GreedyAnswer {
  /** The generated text. */
  text: string;
  /** The tokens' texts, when the server sent log-probabilities. */
  tokens?: string[];
  /** Their log-probabilities, when sent. */
  logprobs?: number[];
  /** `usage.prompt_tokens`. */
  promptTokens?: number;
  /** `usage.prompt_tokens_details.cached_tokens`, when reported. */
  cachedTokens?: number;
  /** `finish_reason`. */
  finishReason?: string;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The request body: greedy, seeded, log-probabilities on, ignore_eos off
 * (a divergence may well change the length).
 *
 * @example Usage
 * ```ts
 * import { greedyBody } from "./greedy_request.ts";
 * import assert from "node:assert/strict";
 *
 * const body = greedyBody({ model: "m", extraBody: { temperature: 0.7, top_k: 5 } },
 *   { prompt: "Hi", maxTokens: 4, extraBody: { cache_salt: "s" } });
 * assert.equal(body.temperature, 0);
 * assert.equal(body.top_k, 5);
 * assert.equal(body.logprobs, 1);
 * assert.equal(body.cache_salt, "s");
 * ```
 */
export function greedyBody(
  endpoint: Pick<EndpointConfig, "model" | "extraBody">,
  spec: GreedySpec,
): Record<string, unknown> {
  const chat = spec.api === "chat";
  const body: Json = { model: endpoint.model };
  if (chat) {
    body.messages = typeof spec.prompt === "string"
      ? [{ role: "user", content: spec.prompt }]
      : spec.prompt;
  } else body.prompt = spec.prompt;
  Object.assign(body, endpoint.extraBody ?? {});
  body.max_tokens = spec.maxTokens;
  body.stream = false;
  delete body.stream_options;
  body.temperature = 0;
  body.seed = spec.seed ?? 0;
  if (chat) {
    body.logprobs = true;
    body.top_logprobs = 1;
  } else body.logprobs = 1;
  Object.assign(body, spec.extraBody ?? {});
  return body;
}

/**
 * Read a non-streamed response body: text, tokens and log-probabilities
 * (completions' `tokens` / `token_logprobs`, chat's `content` list), usage.
 * Throws a TypeError when it is not a completion.
 *
 * @example Usage
 * ```ts
 * import { readGreedyAnswer } from "./greedy_request.ts";
 * import assert from "node:assert/strict";
 *
 * const answer = readGreedyAnswer({
 *   choices: [{ text: " a b", logprobs: { tokens: [" a", " b"], token_logprobs: [-0.1, -2] } }],
 *   usage: { prompt_tokens: 9, prompt_tokens_details: { cached_tokens: 8 } },
 * });
 * assert.deepEqual(answer.tokens, [" a", " b"]);
 * assert.equal(answer.cachedTokens, 8);
 * ```
 */
export function readGreedyAnswer(json: unknown): GreedyAnswer {
  const choice = isObject(json) && Array.isArray(json.choices)
    ? json.choices[0]
    : undefined;
  if (!isObject(choice)) {
    throw new TypeError("the response has no choices[0]");
  }
  const message = isObject(choice.message) ? choice.message : undefined;
  const text = typeof choice.text === "string"
    ? choice.text
    : typeof message?.content === "string"
    ? message.content
    : "";
  const answer: GreedyAnswer = { text };
  if (typeof choice.finish_reason === "string") {
    answer.finishReason = choice.finish_reason;
  }
  const lp = isObject(choice.logprobs) ? choice.logprobs : undefined;
  if (Array.isArray(lp?.tokens) && Array.isArray(lp.token_logprobs)) {
    answer.tokens = lp.tokens.map(String);
    answer.logprobs = lp.token_logprobs.map(Number);
  } else if (Array.isArray(lp?.content)) {
    const content = lp.content.filter(isObject);
    answer.tokens = content.map((c) => String(c.token));
    answer.logprobs = content.map((c) => Number(c.logprob));
  }
  const usage = isObject(json) && isObject(json.usage) ? json.usage : {};
  if (typeof usage.prompt_tokens === "number") {
    answer.promptTokens = usage.prompt_tokens;
  }
  const details = isObject(usage.prompt_tokens_details)
    ? usage.prompt_tokens_details
    : {};
  if (typeof details.cached_tokens === "number") {
    answer.cachedTokens = details.cached_tokens;
  }
  return answer;
}

/**
 * Send one greedy request; rejects with a one-line Error on a failure.
 *
 * @example Against the simulator
 * ```ts
 * import { sendGreedy } from "./greedy_request.ts";
 * import { startSimulator } from "../sim/server.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * const endpoint = { baseUrl: sim.url, model: sim.model };
 * const a = await sendGreedy(endpoint, { prompt: "Hello there", maxTokens: 6 });
 * const b = await sendGreedy(endpoint, { prompt: "Hello there", maxTokens: 6 });
 * assert.deepEqual(b.tokens, a.tokens); // greedy: the same answer
 * assert.equal(a.tokens!.join(""), a.text);
 * ```
 */
export async function sendGreedy(
  endpoint: EndpointConfig,
  spec: GreedySpec,
): Promise<GreedyAnswer> {
  const path = spec.api === "chat" ? "chat/completions" : "completions";
  const headers: Record<string, string> = {
    "content-type": "application/json",
    ...endpoint.headers,
  };
  if (endpoint.apiKey) headers.authorization = `Bearer ${endpoint.apiKey}`;
  const timeout = AbortSignal.timeout(endpoint.timeoutMs ?? 600_000);
  let response: Response;
  try {
    response = await fetch(new URL(path, endpoint.baseUrl), {
      method: "POST",
      headers,
      body: JSON.stringify(greedyBody(endpoint, spec)),
      signal: spec.signal ? AbortSignal.any([spec.signal, timeout]) : timeout,
    });
  } catch (error) {
    throw new Error(
      `Cannot send a greedy request: ${(error as Error).message}`,
    );
  }
  const text = await response.text();
  if (!response.ok) {
    throw new Error(
      `Cannot send a greedy request: HTTP ${response.status} ${
        text.trim().replaceAll("\n", " ").slice(0, 200)
      }`,
    );
  }
  try {
    return readGreedyAnswer(JSON.parse(text));
  } catch (error) {
    throw new Error(
      `Cannot read a greedy answer: ${(error as Error).message}`,
    );
  }
}
