/**
 * The simulator's `POST /tokenize`, as vLLM and SGLang answer it (`{model,
 * prompt}` → `{tokens, count, max_model_len}`) and as llama.cpp reads it
 * (`{content}`): clients count tokens with the simulator's own tokenizer.
 *
 * @module
 */
import { errorResponse } from "./protocol.ts";
import type { SimTokenizer } from "./token_count.ts";

/** What {@linkcode tokenizeResponse} needs of the simulator. */
export interface TokenizeRouteOptions {
  /** The tokenizer the simulator counts prompts with. */
  tokenizer: SimTokenizer;
  /** The model it serves (a request naming another gets a 404, as vLLM). */
  model: string;
  /** `max_model_len` to report. */
  maxModelLen: number;
}

/**
 * Answer one `POST /tokenize` request.
 *
 * @example Usage
 * ```ts
 * import { tokenizeResponse } from "./tokenize_route.ts";
 * import { approximateTokenizer } from "./token_count.ts";
 * import assert from "node:assert/strict";
 *
 * const request = new Request("http://sim/tokenize", {
 *   method: "POST",
 *   body: JSON.stringify({ model: "m", prompt: "tell me a long story" }),
 * });
 * const response = await tokenizeResponse(request, {
 *   tokenizer: approximateTokenizer, model: "m", maxModelLen: 1000,
 * });
 * const body = await response.json();
 * assert.equal(body.count, 5);
 * assert.equal(body.tokens.length, 5);
 * assert.equal(body.max_model_len, 1000);
 * ```
 */
export async function tokenizeResponse(
  request: Request,
  options: TokenizeRouteOptions,
): Promise<Response> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return errorResponse(400, "The request body is not JSON.");
  }
  const { model, prompt, content } = (body ?? {}) as Record<string, unknown>;
  if (model !== undefined && model !== options.model) {
    return errorResponse(404, `The model \`${model}\` does not exist.`);
  }
  const text = prompt ?? content;
  if (typeof text !== "string") {
    return errorResponse(400, "prompt (or content) must be a string.");
  }
  const tokens = Array.from(options.tokenizer.encode(text));
  return Response.json({
    count: tokens.length,
    max_model_len: options.maxModelLen,
    tokens,
  });
}
