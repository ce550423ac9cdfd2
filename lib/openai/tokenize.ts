/**
 * The server's own tokenizer over HTTP: `POST /tokenize`, as vLLM, SGLang
 * and llama.cpp serve it beside the OpenAI API.
 *
 * - vLLM (`vllm/entrypoints/openai/api_server.py`, `TokenizeCompletionRequest`):
 *   `{model, prompt, add_special_tokens}` → `{tokens, count, max_model_len}`;
 * - SGLang (`sglang/srt/entrypoints/http_server.py`): `{model, prompt}` →
 *   `{tokens, count, max_model_len}`;
 * - llama.cpp (`tools/server/server.cpp`, `handle_tokenize`): `{content,
 *   add_special}` → `{tokens}`.
 *
 * One body carries both spellings (`prompt` and `content`); each server reads
 * its own and ignores the other. A server that refuses the unknown fields
 * (HTTP 400 or 422) is asked again with each spelling alone.
 *
 * @module
 */
import { networkErrorText } from "../transport/network_error.ts";
import { requestInit } from "./_request_init.ts";

/** Options of {@linkcode tokenizeRemote}. */
export interface TokenizeOptions {
  /** The model to tokenize for (vLLM and SGLang check it). */
  model?: string;
  /** Sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** Give up after this many milliseconds (default 30 000). */
  timeoutMs?: number;
  /** Cancels the request. */
  signal?: AbortSignal;
}

/**
 * The URL of the server's `/tokenize` for an API base URL: beside `/v1/`
 * (`http://host:8000/v1/` → `http://host:8000/tokenize`), keeping a path
 * prefix.
 *
 * @example Usage
 * ```ts
 * import { tokenizeUrl } from "./tokenize.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(tokenizeUrl("http://localhost:8000/v1/"), "http://localhost:8000/tokenize");
 * assert.equal(tokenizeUrl("https://h/inference/v1/"), "https://h/inference/tokenize");
 * ```
 */
export function tokenizeUrl(baseUrl: string): string {
  return new URL("../tokenize", baseUrl).href;
}

/**
 * The token ids the server's tokenizer gives `text`, without special tokens.
 * Throws an `Error` whose `cause` is `{ kind: "connect" | "http" | "invalid",
 * status? }`; a 404 or 405 means the server has no `/tokenize`.
 *
 * @example Usage
 * ```ts
 * import { tokenizeRemote } from "./tokenize.ts";
 * import { startSimulator } from "../sim/server.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * const ids = await tokenizeRemote(sim.url, "tell me a long story", { model: sim.model });
 * assert.equal(ids.length, 5);
 * ```
 */
export async function tokenizeRemote(
  baseUrl: string,
  text: string,
  options: TokenizeOptions = {},
): Promise<number[]> {
  const url = tokenizeUrl(baseUrl);
  const { headers, signal, timeoutMs } = requestInit({
    "content-type": "application/json",
    accept: "application/json",
  }, options);
  const model = options.model === undefined ? {} : { model: options.model };
  const bodies = [
    {
      ...model,
      prompt: text,
      content: text,
      add_special_tokens: false,
      add_special: false,
    },
    { ...model, prompt: text, add_special_tokens: false },
    { content: text, add_special: false },
  ];
  let response: Response | undefined;
  let answer = "";
  for (const body of bodies) {
    try {
      response = await fetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal,
      });
    } catch (error) {
      const reason = signal.aborted
        ? `no answer within ${timeoutMs} ms`
        : networkErrorText(error);
      throw new Error(`Cannot reach ${url}: ${reason}`, {
        cause: { kind: "connect" },
      });
    }
    answer = await response.text().catch(() => "");
    if (response.status !== 400 && response.status !== 422) break;
  }
  if (!response!.ok) {
    throw new Error(`HTTP ${response!.status} from POST ${url}`, {
      cause: { kind: "http", status: response!.status },
    });
  }
  let tokens: unknown;
  try {
    tokens = (JSON.parse(answer) as { tokens?: unknown }).tokens;
  } catch {
    tokens = undefined;
  }
  if (
    !Array.isArray(tokens) || !tokens.every((t) => typeof t === "number")
  ) {
    throw new Error(`POST ${url} did not answer with {"tokens": [ids]}`, {
      cause: { kind: "invalid" },
    });
  }
  return tokens as number[];
}
