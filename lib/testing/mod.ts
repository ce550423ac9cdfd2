/**
 * Test fixtures for kvbench and for scripts built on it: a scripted
 * OpenAI-compatible server (answers, timings, usage and faults chosen per
 * request, everything it received recorded), request records with neutral
 * defaults, and real tokenizers that need no Hub access.
 *
 * @example A scripted server answering with fixed tokens and usage
 * ```ts
 * import { startScriptedServer } from "./mod.ts";
 * import { sendRequest } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const server = startScriptedServer({
 *   script: () => ({ tokens: ["Hi", " there"], usage: { prompt_tokens: 3, completion_tokens: 2 } }),
 * });
 * try {
 *   const record = await sendRequest(
 *     { baseUrl: `${server.origin}/v1/`, model: "test-model" },
 *     { prompt: "Hello", maxTokens: 2 },
 *   );
 *   assert.equal(record.ok, true);
 *   assert.equal(record.completionTokens, 2);
 *   assert.equal(server.received[0].body?.prompt, "Hello");
 * } finally {
 *   await server.close();
 * }
 * ```
 *
 * @module
 */
export {
  type Received,
  type Script,
  type ScriptedServer,
  type ScriptedServerOptions,
  startScriptedServer,
} from "./scripted_server.ts";
export { testRecord } from "./records.ts";
export type { RequestErrorKind, RequestRecord } from "../types.ts";
export type { Tokenizer } from "../text/tokenizer.ts";
export {
  gptossTokenizer,
  QWEN3_TOKENIZER_FILES,
  qwen3Tokenizer,
  qwen3TokenizerDir,
} from "./tokenizers.ts";
