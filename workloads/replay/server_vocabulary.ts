/**
 * Token ids from the server itself, when no tokenizer is at hand: the ids
 * its `/tokenize` endpoint gives for common English words (vLLM's and
 * SGLang's `{"prompt"}`, llama.cpp's `{"content"}`), without special tokens.
 * Ordinary text of the served model's own vocabulary.
 *
 * @module
 */
import type { Vocabulary } from "./token_blocks.ts";

/** Common English words, each a single token in most vocabularies. */
const WORDS = (
  "the of and to in is that it was for on are with as his they be at one have " +
  "this from by hot word but what some we can out other were all there when up " +
  "use your how said an each she which do their time if will way about many then " +
  "them write would like so these her long make thing see him two has look more " +
  "day could go come did number sound no most people my over know water than call " +
  "first who may down side been now find any new work part take get place made live " +
  "where after back little only round man year came show every good me give our " +
  "under name very through just form sentence great think say help low line differ " +
  "turn cause much mean before move right boy old too same tell does set three want " +
  "air well also play small end put home read hand port large spell add even land " +
  "here must big high such follow act why ask men change went light kind off need " +
  "house picture try us again animal point mother world near build self earth father"
).split(" ");

/** Options of {@linkcode serverVocabulary}. */
export interface ServerVocabularyOptions {
  /** The model, for the request body. */
  model: string;
  /** Sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** Cancels the requests. */
  signal?: AbortSignal;
}

/**
 * The ids the server's `/tokenize` gives for common words, or undefined
 * when it has no such endpoint (or answers with fewer than 32 ids).
 *
 * @example A server with vLLM's /tokenize
 * ```ts
 * import { serverVocabulary } from "./server_vocabulary.ts";
 * import assert from "node:assert/strict";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
 *   if (new URL(req.url).pathname !== "/tokenize") return new Response(null, { status: 404 });
 *   const { prompt } = await req.json();
 *   const words: string[] = prompt.split(" ").filter(Boolean);
 *   return Response.json({ count: words.length, tokens: words.map((_, i) => 500 + i) });
 * });
 * const url = `http://127.0.0.1:${server.addr.port}/v1/`;
 * const vocabulary = await serverVocabulary(url, { model: "m" });
 * assert.equal(vocabulary?.ids[0], 500);
 * assert.equal(vocabulary?.source, "token ids: 194 ids from the server's /tokenize of common English words");
 * await server.shutdown();
 * // No server, or no /tokenize: undefined.
 * assert.equal(await serverVocabulary(url, { model: "m" }), undefined);
 * ```
 */
export async function serverVocabulary(
  baseUrl: string,
  options: ServerVocabularyOptions,
): Promise<Vocabulary | undefined> {
  const url = new URL("/tokenize", baseUrl).href;
  const text = WORDS.map((w) => " " + w).join("");
  const headers: Record<string, string> = {
    "content-type": "application/json",
  };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  const bodies = [
    { model: options.model, prompt: text, add_special_tokens: false },
    { content: text, add_special: false },
  ];
  for (const body of bodies) {
    let json: unknown;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal: options.signal,
      });
      if (!response.ok) {
        await response.body?.cancel();
        continue;
      }
      json = await response.json();
    } catch {
      if (options.signal?.aborted) throw options.signal.reason;
      continue;
    }
    const tokens = (json as { tokens?: unknown } | null)?.tokens;
    if (!Array.isArray(tokens)) continue;
    const ids = [
      ...new Set(
        tokens.filter((t): t is number => Number.isInteger(t) && t >= 0),
      ),
    ];
    if (ids.length < 32) continue;
    return {
      ids: Uint32Array.from(ids),
      source:
        `token ids: ${ids.length} ids from the server's /tokenize of common English words`,
    };
  }
  return undefined;
}
