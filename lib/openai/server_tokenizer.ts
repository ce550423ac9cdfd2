/**
 * Token counts without the Hub: a tokenizer calibrated against the server's
 * own `/tokenize`, and the choice between it, a local or Hub tokenizer and
 * the bundled one.
 *
 * The calibrated tokenizer is a word list: the bundled Qwen3 single-token
 * `" word"` pieces (`qwen3_words.ts`) that the server's tokenizer also counts
 * as one token each, checked all joined together. Text made of them (the synthesizer's
 * pool method) has exactly as many tokens on the server as words.
 *
 * @module
 */
import { loadTokenizer, type Tokenizer } from "../text/tokenizer.ts";
import {
  BUNDLED_TOKENIZER,
  bundledTokenizer,
} from "../text/bundled_tokenizer.ts";
import { QWEN3_WORDS } from "../text/qwen3_words.ts";
import { wordTokenizer } from "../text/word_tokenizer.ts";
import { tokenizeRemote, tokenizeUrl } from "./tokenize.ts";

/** The name `tokenizer_model=` takes for the server's tokenizer. */
export const SERVER_TOKENIZER = "server";

/** Options of {@linkcode serverTokenizer}. */
export interface ServerTokenizerOptions {
  /** The model to tokenize for. */
  model?: string;
  /** Sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** Cancels the requests. */
  signal?: AbortSignal;
  /** Words to keep at most (default 4096). */
  maxWords?: number;
}

/**
 * A tokenizer whose vocabulary is words the server's tokenizer counts as one
 * token each (three `/tokenize` requests). Throws when the server has no
 * `/tokenize` or its tokenizer splits the words so that no list is exact.
 *
 * @example Usage
 * ```ts
 * import { serverTokenizer } from "./server_tokenizer.ts";
 * import { tokenizeRemote } from "./tokenize.ts";
 * import { createSynthesizer } from "../text/synth.ts";
 * import { startSimulator } from "../sim/server.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * const tokenizer = await serverTokenizer(sim.url, { model: sim.model });
 * const text = createSynthesizer(tokenizer, { seed: 1 }).text(1000);
 * assert.equal((await tokenizeRemote(sim.url, text)).length, 1000);
 * ```
 */
export async function serverTokenizer(
  baseUrl: string,
  options: ServerTokenizerOptions = {},
): Promise<Tokenizer> {
  const url = tokenizeUrl(baseUrl);
  const remote = (text: string) => tokenizeRemote(baseUrl, text, options);
  const candidates = QWEN3_WORDS;
  const newline = await remote("\n");
  if (newline.length !== 1) {
    throw new Error(
      `Cannot calibrate on ${url}: its tokenizer gives a newline ${newline.length} tokens`,
    );
  }
  const ids = await remote(candidates.join("\n"));
  const groups: number[] = [0];
  for (const id of ids) {
    if (id === newline[0]) groups.push(0);
    else groups[groups.length - 1]++;
  }
  if (groups.length !== candidates.length) {
    throw new Error(
      `Cannot calibrate on ${url}: its tokenizer merges newlines with words`,
    );
  }
  const words = candidates.filter((_, i) => groups[i] === 1)
    .slice(0, options.maxWords ?? 4096);
  const together = words.length < 2 ? [] : await remote(words.join(""));
  if (words.length < 2 || together.length !== words.length) {
    throw new Error(
      `Cannot calibrate on ${url}: no list of words it counts one token each`,
    );
  }
  return wordTokenizer(`server (${url})`, words);
}

/** Options of {@linkcode resolveTokenizer}. */
export interface ResolveTokenizerOptions {
  /** The API base URL (for `server`, and the fallback to it). */
  baseUrl: string;
  /** The served model: the default tokenizer name, and sent to `/tokenize`. */
  model: string;
  /** Sent to the server as `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** Cancels downloads and requests. */
  signal?: AbortSignal;
  /** Show download progress. */
  progress?: boolean;
  /** How the user names the setting, in errors (default `tokenizer_model=`). */
  key?: string;
}

/** A tokenizer and where it came from, in words. */
export interface ResolvedTokenizer {
  /** The tokenizer. */
  tokenizer: Tokenizer;
  /** `"bundled"`, `"server"`, or the folder, file or Hub id it was loaded from. */
  source: string;
  /** Set when the model's own tokenizer could not be loaded and the server's was used. */
  fellBack?: string;
}

/**
 * The tokenizer a run counts tokens with: `spec` is a folder, a
 * `tokenizer.json`, a Hub id, `server` (the server's `/tokenize`) or
 * `bundled` (Qwen3). Without `spec`, the model's name is tried as a folder
 * or Hub id, then the server's `/tokenize`; an error then names the key and
 * the choices.
 *
 * @example Usage
 * ```ts
 * import { resolveTokenizer } from "./server_tokenizer.ts";
 * import { startSimulator } from "../sim/server.ts";
 * import { withEnv } from "../testing/with_env.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * // Offline, the model's name is no tokenizer: the server's /tokenize is used.
 * const resolved = await withEnv({ HF_HUB_OFFLINE: "1" }, () =>
 *   resolveTokenizer(undefined, { baseUrl: sim.url, model: sim.model }));
 * assert.equal(resolved.source, "server");
 * assert.ok(resolved.fellBack?.startsWith(`Cannot load tokenizer "${sim.model}"`));
 * ```
 */
export async function resolveTokenizer(
  spec: string | undefined,
  options: ResolveTokenizerOptions,
): Promise<ResolvedTokenizer> {
  const key = options.key ?? "tokenizer_model=";
  const choices =
    `set ${key} to a folder holding tokenizer.json, a Hugging Face id, ${SERVER_TOKENIZER} (the server's /tokenize) or ${BUNDLED_TOKENIZER} (Qwen3's)`;
  const fromServer = async (): Promise<Tokenizer> =>
    await serverTokenizer(options.baseUrl, {
      model: options.model,
      apiKey: options.apiKey,
      signal: options.signal,
    });
  if (spec === BUNDLED_TOKENIZER) {
    return { tokenizer: bundledTokenizer(), source: BUNDLED_TOKENIZER };
  }
  if (spec === SERVER_TOKENIZER) {
    try {
      return { tokenizer: await fromServer(), source: SERVER_TOKENIZER };
    } catch (error) {
      throw new Error(`${(error as Error).message}; ${choices}`);
    }
  }
  const name = spec ?? options.model;
  try {
    const tokenizer = await loadTokenizer(name, {
      progress: options.progress,
      signal: options.signal,
    });
    return { tokenizer, source: name };
  } catch (error) {
    const message = (error as Error).message;
    if (spec !== undefined || options.signal?.aborted) {
      throw new Error(`${message}; ${choices}`);
    }
    try {
      return {
        tokenizer: await fromServer(),
        source: SERVER_TOKENIZER,
        fellBack: message,
      };
    } catch (serverError) {
      throw new Error(
        `${message}, and ${
          (serverError as Error).message.replace(/^Cannot/, "cannot")
        }; ${choices}`,
      );
    }
  }
}
