/**
 * The OpenAI wire format as the simulator speaks it: reading a completions
 * or chat request body, and writing responses, stream chunks, usage and
 * errors (shaped as OpenAI's, with vLLM's extra fields).
 *
 * @module
 */

/** Which endpoint a request came to. */
export type SimApi = "completions" | "chat";

/** `max_tokens` when a request has none (OpenAI's legacy completions default). */
export const DEFAULT_MAX_TOKENS = 16;

/** A request body, checked and normalised. */
export interface ParsedRequest {
  /** The endpoint. */
  api: SimApi;
  /** `model`, when given. */
  model?: string;
  /** Text or token ids; chat messages are rendered to text by {@linkcode renderChat}. */
  prompt: string | number[];
  /** `stream`. */
  stream: boolean;
  /** `stream_options.include_usage`. */
  includeUsage: boolean;
  /** `max_tokens` (or `max_completion_tokens`), default {@linkcode DEFAULT_MAX_TOKENS}. */
  maxTokens: number;
  /** `min_tokens`, default 0. */
  minTokens: number;
  /** `ignore_eos`, default false. */
  ignoreEos: boolean;
  /** `temperature`, when given (0: greedy, the same words for the same prompt). */
  temperature?: number;
  /** `seed`, when given (the same words for the same prompt and seed). */
  seed?: number;
  /**
   * Log-probabilities asked for: the number of alternatives per token
   * (completions' `logprobs`, chat's `top_logprobs` when `logprobs` is true);
   * undefined when none are asked for.
   */
  logprobs?: number;
  /** vLLM's `cache_salt`: requests with different salts share no cached KV. */
  cacheSalt?: string;
  /** llama.cpp's `cache_prompt` (default true); false reuses no cached KV. */
  cachePrompt: boolean;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optional<T>(
  body: Json,
  key: string,
  check: (v: unknown) => v is T,
  expected: string,
): T | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (!check(value)) throw new TypeError(`"${key}" must be ${expected}`);
  return value;
}

const isBool = (v: unknown): v is boolean => typeof v === "boolean";
const isString = (v: unknown): v is string => typeof v === "string";
const isCount = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= 0;
const isNonNegative = (v: unknown): v is number =>
  typeof v === "number" && Number.isFinite(v) && v >= 0;
const isSafeInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isSalt = (v: unknown): v is string => typeof v === "string" && v !== "";

/**
 * Render chat messages as one ChatML prompt (the Qwen template without tools
 * or thinking), ending with the assistant's turn opening.
 *
 * @example Usage
 * ```ts
 * import { renderChat } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   renderChat([{ role: "user", content: "hi" }]),
 *   "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
 * );
 * ```
 */
export function renderChat(
  messages: readonly { role: string; content: string }[],
): string {
  return messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`)
    .join("") +
    "<|im_start|>assistant\n";
}

function parseMessages(value: unknown): { role: string; content: string }[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new TypeError('"messages" must be a non-empty array');
  }
  return value.map((m, i) => {
    if (!isObject(m) || typeof m.role !== "string") {
      throw new TypeError(
        `"messages[${i}]" must be an object with a string "role"`,
      );
    }
    const { content } = m;
    if (content === undefined || content === null) {
      return { role: m.role, content: "" };
    }
    if (typeof content === "string") return { role: m.role, content };
    if (Array.isArray(content)) {
      return {
        role: m.role,
        content: content.map((part) =>
          isObject(part) && typeof part.text === "string" ? part.text : ""
        ).join(""),
      };
    }
    throw new TypeError(
      `"messages[${i}].content" must be a string or an array of parts`,
    );
  });
}

function parsePrompt(value: unknown): string | number[] {
  if (typeof value === "string" && value.length > 0) return value;
  if (
    Array.isArray(value) && value.length > 0 && value.every((v) => isCount(v))
  ) return value;
  throw new TypeError(
    '"prompt" must be a non-empty string or a non-empty array of token ids',
  );
}

/**
 * Check a request body; throws a TypeError whose message suits a 400 answer.
 *
 * @example Usage
 * ```ts
 * import { parseRequest } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * const req = parseRequest("completions", { model: "m", prompt: "Hello", max_tokens: 5, stream: true });
 * assert.equal(req.maxTokens, 5);
 * assert.equal(req.stream, true);
 * assert.throws(() => parseRequest("completions", { prompt: "" }), TypeError);
 * ```
 */
export function parseRequest(api: SimApi, body: unknown): ParsedRequest {
  if (!isObject(body)) {
    throw new TypeError("the request body must be a JSON object");
  }
  const prompt = api === "chat"
    ? renderChat(parseMessages(body.messages))
    : parsePrompt(body.prompt);
  const n = optional(body, "n", isCount, "an integer");
  if (n !== undefined && n !== 1) {
    throw new TypeError('"n" other than 1 is not supported');
  }
  const maxTokens = optional(body, "max_tokens", isCount, "an integer >= 1") ??
    (api === "chat"
      ? optional(body, "max_completion_tokens", isCount, "an integer >= 1")
      : undefined) ??
    DEFAULT_MAX_TOKENS;
  if (maxTokens < 1) {
    throw new TypeError('"max_tokens" must be an integer >= 1');
  }
  const minTokens = optional(body, "min_tokens", isCount, "an integer >= 0") ??
    0;
  if (minTokens > maxTokens) {
    throw new TypeError('"min_tokens" must not exceed "max_tokens"');
  }
  const streamOptions = optional(body, "stream_options", isObject, "an object");
  return {
    api,
    model: optional(body, "model", isString, "a string"),
    prompt,
    stream: optional(body, "stream", isBool, "a boolean") ?? false,
    includeUsage: streamOptions
      ? optional(streamOptions, "include_usage", isBool, "a boolean") ?? false
      : false,
    maxTokens,
    minTokens,
    ignoreEos: optional(body, "ignore_eos", isBool, "a boolean") ?? false,
    ..._sampling(api, body),
  };
}

/** Sampling, log-probability and cache fields of a request body. */
function _sampling(
  api: SimApi,
  body: Json,
): Pick<
  ParsedRequest,
  "temperature" | "seed" | "logprobs" | "cacheSalt" | "cachePrompt"
> {
  let logprobs: number | undefined;
  if (api === "chat") {
    if (optional(body, "logprobs", isBool, "a boolean")) {
      logprobs = optional(body, "top_logprobs", isCount, "an integer >= 0") ??
        0;
    }
  } else {
    logprobs = optional(body, "logprobs", isCount, "an integer >= 0");
  }
  return {
    temperature: optional(body, "temperature", isNonNegative, "a number >= 0"),
    seed: optional(body, "seed", isSafeInt, "an integer"),
    logprobs,
    // As vLLM: "Parameter 'cache_salt' must be a non-empty string if provided."
    cacheSalt: optional(body, "cache_salt", isSalt, "a non-empty string"),
    cachePrompt: optional(body, "cache_prompt", isBool, "a boolean") ?? true,
  };
}

/** Token counts of one response. */
export interface Usage {
  /** Prompt tokens. */
  promptTokens: number;
  /** Generated tokens. */
  completionTokens: number;
  /** Prompt tokens served from either cache tier. */
  cachedTokens: number;
}

function usageJson(u: Usage): Json {
  return {
    prompt_tokens: u.promptTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    completion_tokens: u.completionTokens,
    prompt_tokens_details: { cached_tokens: u.cachedTokens },
  };
}

/**
 * The JSON texts of one response, streamed or not. Token chunks are built by
 * string concatenation around a precomputed head, to keep per-token work small.
 *
 * @example Usage
 * ```ts
 * import { ResponseFormat } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * const format = new ResponseFormat("completions", { id: "cmpl-1", created: 0, model: "m" });
 * const chunk = JSON.parse(format.chunk(" the"));
 * assert.equal(chunk.id, "cmpl-1");
 * assert.equal(chunk.choices[0].text, " the");
 * ```
 */
export class ResponseFormat {
  readonly #api: SimApi;
  readonly #head: Json;
  readonly #chunkHead: string;

  /** Formats for one response `id`, `created` (Unix seconds) and `model`. */
  constructor(
    api: SimApi,
    meta: { id: string; created: number; model: string },
  ) {
    this.#api = api;
    const object = api === "chat" ? "chat.completion" : "text_completion";
    this.#head = {
      id: meta.id,
      object,
      created: meta.created,
      model: meta.model,
    };
    const chunkObject = api === "chat"
      ? "chat.completion.chunk"
      : "text_completion";
    this.#chunkHead =
      JSON.stringify({ ...this.#head, object: chunkObject }).slice(0, -1) +
      (api === "chat"
        ? ',"choices":[{"index":0,"delta":{"content":'
        : ',"choices":[{"index":0,"text":');
  }

  /**
   * A stream chunk carrying `text`; the last one also carries
   * `finishReason`; `logprobs`, when asked for, the token's log-probability.
   */
  chunk(text: string, finishReason?: string, logprobs?: TokenLogprobs): string {
    return this.#chunkHead + JSON.stringify(text) +
      (this.#api === "chat" ? "}" : "") +
      `,"logprobs":${
        logprobs ? JSON.stringify(logprobsJson(this.#api, logprobs)) : "null"
      },"finish_reason":${
        finishReason ? JSON.stringify(finishReason) : "null"
      }}]}`;
  }

  /** The chat stream's first chunk, announcing the assistant role (sent with the first token). */
  roleChunk(): string {
    return JSON.stringify({
      ...this.#head,
      object: "chat.completion.chunk",
      choices: [{
        index: 0,
        delta: { role: "assistant", content: "" },
        logprobs: null,
        finish_reason: null,
      }],
    });
  }

  /** The stream's usage chunk (`choices: []`), sent last when `include_usage` is set. */
  usageChunk(usage: Usage): string {
    const object = this.#api === "chat"
      ? "chat.completion.chunk"
      : "text_completion";
    return JSON.stringify({
      ...this.#head,
      object,
      choices: [],
      usage: usageJson(usage),
    });
  }

  /** The whole non-streamed response; `logprobs` when they were asked for. */
  full(
    text: string,
    finishReason: string,
    usage: Usage,
    logprobs?: TokenLogprobs,
  ): string {
    const lp = logprobs ? logprobsJson(this.#api, logprobs) : null;
    const choice = this.#api === "chat"
      ? {
        index: 0,
        message: { role: "assistant", content: text },
        logprobs: lp,
        finish_reason: finishReason,
      }
      : {
        index: 0,
        text,
        logprobs: lp,
        finish_reason: finishReason,
        stop_reason: null,
      };
    return JSON.stringify({
      ...this.#head,
      choices: [choice],
      usage: usageJson(usage),
    });
  }
}

/** Log-probabilities of generated tokens, as a response carries them. */
export interface TokenLogprobs {
  /** The tokens' texts. */
  tokens: readonly string[];
  /** Their log-probabilities. */
  logprobs: readonly number[];
  /** Alternatives asked for per token (only the chosen token is listed). */
  top: number;
  /** Characters of text before the first token (completions' `text_offset`). */
  offset: number;
}

/**
 * The `logprobs` object of a choice: completions' `tokens` / `token_logprobs`
 * / `top_logprobs` / `text_offset` arrays, or chat's `content` list (as vLLM
 * and OpenAI write them).
 *
 * @example Usage
 * ```ts
 * import { logprobsJson } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * const lp = { tokens: [" a", " b"], logprobs: [-0.5, -1], top: 0, offset: 0 };
 * assert.deepEqual(logprobsJson("completions", lp).token_logprobs, [-0.5, -1]);
 * assert.deepEqual(logprobsJson("completions", lp).text_offset, [0, 2]);
 * assert.equal((logprobsJson("chat", lp).content as { logprob: number }[])[1].logprob, -1);
 * ```
 */
export function logprobsJson(
  api: SimApi,
  lp: TokenLogprobs,
): Record<string, unknown> {
  if (api === "chat") {
    return {
      content: lp.tokens.map((token, i) => {
        const entry = {
          token,
          logprob: lp.logprobs[i],
          bytes: [...new TextEncoder().encode(token)],
        };
        return { ...entry, top_logprobs: lp.top > 0 ? [entry] : [] };
      }),
    };
  }
  let offset = lp.offset;
  return {
    text_offset: lp.tokens.map((t) => {
      const at = offset;
      offset += t.length;
      return at;
    }),
    token_logprobs: [...lp.logprobs],
    tokens: [...lp.tokens],
    top_logprobs: lp.top > 0
      ? lp.tokens.map((t, i) => ({ [t]: lp.logprobs[i] }))
      : null,
  };
}

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  404: "not_found_error",
  405: "invalid_request_error",
  429: "rate_limit_error",
  500: "server_error",
  503: "server_error",
};

/**
 * An OpenAI-shaped JSON error response.
 *
 * @example Usage
 * ```ts
 * import { errorResponse } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * const response = errorResponse(404, 'The model "x" does not exist.');
 * assert.equal(response.status, 404);
 * assert.equal((await response.json()).error.type, "not_found_error");
 * ```
 */
export function errorResponse(
  status: number,
  message: string,
  headers: Record<string, string> = {},
): Response {
  const error = {
    message,
    type: ERROR_TYPES[status] ?? "server_error",
    param: null,
    code: status,
  };
  return Response.json({ error }, { status, headers });
}
