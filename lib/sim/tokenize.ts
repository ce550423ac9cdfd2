/**
 * The simulator's `/tokenize`, as vLLM serves it: `{"prompt": text}` (or
 * llama.cpp's `{"content": text}`) → `{"count", "max_model_len", "tokens"}`,
 * with the token ids the simulator counts prompts with, no special tokens.
 *
 * @module
 */
import { errorResponse } from "./protocol.ts";
import type { SimTokenizer } from "./token_count.ts";

/**
 * Answer a `/tokenize` request body.
 *
 * @example Usage
 * ```ts
 * import { tokenizeResponse } from "./tokenize.ts";
 * import { approximateTokenizer } from "./token_count.ts";
 * import assert from "node:assert/strict";
 *
 * const response = tokenizeResponse({ prompt: "tell me a long story" }, {
 *   tokenizer: approximateTokenizer,
 *   maxModelLen: 4096,
 * });
 * const json = await response.json();
 * assert.equal(json.count, 5);
 * assert.equal(json.tokens.length, 5);
 * assert.equal(json.max_model_len, 4096);
 * assert.equal(tokenizeResponse({}, { tokenizer: approximateTokenizer, maxModelLen: 1 }).status, 400);
 * ```
 */
export function tokenizeResponse(
  body: unknown,
  options: { tokenizer: SimTokenizer; maxModelLen: number },
): Response {
  const b = body as { prompt?: unknown; content?: unknown } | null;
  const text = typeof b?.prompt === "string"
    ? b.prompt
    : typeof b?.content === "string"
    ? b.content
    : undefined;
  if (text === undefined) {
    return errorResponse(400, '"prompt" must be a string');
  }
  const tokens = Array.from(options.tokenizer.encode(text));
  return Response.json({
    count: tokens.length,
    max_model_len: options.maxModelLen,
    tokens,
  });
}
