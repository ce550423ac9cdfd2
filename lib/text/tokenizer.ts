/**
 * Hugging Face tokenizers for counting and synthesizing prompt tokens: loaded
 * from a local folder, a `tokenizer.json` file, or a Hub model id (downloaded
 * once into the Hub cache and reused, also offline).
 *
 * Hub cache layout (compatible with `huggingface_hub` for reading): files are
 * looked up in `<cache>/models--<org>--<name>/snapshots/<refs/main>/` (what
 * Python's `huggingface_hub` writes) and then in `…/snapshots/main/`, which is
 * where kvbench downloads them. `<cache>` is `options.cacheDir`, else
 * `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`.
 *
 * @module
 */

import { Tokenizer as HfTokenizer } from "npm:@huggingface/tokenizers@0.2.0";
import { dirname, join } from "node:path";
import {
  downloadFile,
  downloadStatus,
  hfEndpoint,
  hfHubCacheDir,
  hfOffline,
  hfToken,
  progressBar,
} from "../io/hub.ts";

/** A text tokenizer, as kvbench uses it. */
export interface Tokenizer {
  /** What it was loaded from (Hub id or path). */
  name: string;
  /** The base vocabulary size, excluding added tokens (HF's `vocab_size`). */
  vocabSize: number;
  /** Token ids of `text`, without special tokens (no BOS/EOS added). */
  encode(text: string): number[];
  /** Text of `ids`, keeping special tokens and without clean-up of spaces. */
  decode(ids: number[]): string;
}

/** Options of {@linkcode tokenizerFromJson}. */
export interface TokenizerFromJsonOptions {
  /** The tokenizer's name (default `"tokenizer"`). */
  name?: string;
}

/**
 * Build a tokenizer from the parsed contents of `tokenizer.json` and
 * (optionally) `tokenizer_config.json`.
 *
 * @example Usage
 * ```ts
 * import { tokenizerFromJson } from "./tokenizer.ts";
 * import { qwen3TokenizerDir } from "../testing/tokenizers.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await qwen3TokenizerDir(); // a folder holding Qwen3's tokenizer.json
 * const json = JSON.parse(await Deno.readTextFile(`${dir}/tokenizer.json`));
 * const tokenizer = tokenizerFromJson(json, {}, { name: "qwen3" });
 * assert.deepEqual(tokenizer.encode("Hello world"), [9707, 1879]);
 * assert.equal(tokenizer.decode([9707, 1879]), "Hello world");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function tokenizerFromJson(
  tokenizerJson: object,
  config: object = {},
  options: TokenizerFromJsonOptions = {},
): Tokenizer {
  const json: Record<string, unknown> = {
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    ...tokenizerJson,
  };
  const vocabSize = baseVocabSize(json.model);
  const hf = new HfTokenizer(json, config);
  const knownIds = (ids: number[]): number[] =>
    ids.filter((id) => hf.id_to_token(id) !== undefined);
  return {
    name: options.name ?? "tokenizer",
    vocabSize,
    encode(text: string): number[] {
      if (text.length === 0) return [];
      return hf.encode(text, { add_special_tokens: false }).ids;
    },
    decode(ids: number[]): string {
      // Like the Rust tokenizers, ids outside the vocabulary decode to nothing.
      const known = knownIds(ids);
      if (known.length === 0) return "";
      return hf.decode(known, {
        skip_special_tokens: false,
        clean_up_tokenization_spaces: false,
      });
    },
  };
}

function baseVocabSize(model: unknown): number {
  const vocab = (model as { vocab?: unknown } | null)?.vocab;
  if (Array.isArray(vocab)) return vocab.length; // Unigram: [piece, score][]
  if (vocab !== null && typeof vocab === "object") {
    return Object.keys(vocab).length;
  }
  throw new SyntaxError("tokenizer.json has no model.vocab");
}

/** Options of {@linkcode loadTokenizer}. */
export interface LoadTokenizerOptions {
  /** Hub cache folder (default: {@linkcode hfHubCacheDir}). */
  cacheDir?: string;
  /** Hub base URL (default: {@linkcode hfEndpoint}). */
  endpoint?: string;
  /** Hub token (default: {@linkcode hfToken}). */
  token?: string;
  /** Never download; use cached files only (default: `HF_HUB_OFFLINE`). */
  offline?: boolean;
  /** Cancels a download. */
  signal?: AbortSignal;
  /** Draw a progress bar on stderr while downloading, if it is a terminal. */
  progress?: boolean;
}

const TOKENIZER_FILE = "tokenizer.json";
const CONFIG_FILE = "tokenizer_config.json";

/**
 * Load a tokenizer from a folder holding `tokenizer.json` (and optionally
 * `tokenizer_config.json`), from a path to a `tokenizer.json` file, or from a
 * Hub model id such as `Qwen/Qwen3-8B`. Local paths win over Hub ids. Hub
 * files are fetched from `<endpoint>/<id>/resolve/main/…` once and reused from
 * the cache afterwards, even offline. Without a cached copy and with the Hub
 * unreachable (or `HF_HUB_OFFLINE=1`), it throws one error naming the files
 * to provide.
 *
 * @example Usage
 * ```ts
 * import { loadTokenizer } from "./tokenizer.ts";
 * import { qwen3TokenizerDir } from "../testing/tokenizers.ts";
 * import assert from "node:assert/strict";
 *
 * // A folder holding tokenizer.json; a Hub id such as "Qwen/Qwen3-8B" works the same.
 * const dir = await qwen3TokenizerDir();
 * const tokenizer = await loadTokenizer(dir);
 * assert.equal(tokenizer.encode("Hello world").length, 2);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadTokenizer(
  nameOrPath: string,
  options: LoadTokenizerOptions = {},
): Promise<Tokenizer> {
  const path = nameOrPath.startsWith("~/")
    ? join(Deno.env.get("HOME") ?? "~", nameOrPath.slice(2))
    : nameOrPath;
  const info = await statOrNull(path);
  if (info?.isDirectory) {
    const file = join(path, TOKENIZER_FILE);
    if (!(await statOrNull(file))?.isFile) {
      throw new Error(
        `Cannot load tokenizer "${nameOrPath}": the folder has no ${TOKENIZER_FILE}`,
      );
    }
    return await readTokenizer(nameOrPath, path);
  }
  if (info?.isFile) return await readTokenizer(nameOrPath, dirname(path), path);
  if (!isHubId(nameOrPath)) {
    throw new Error(
      `Cannot load tokenizer "${nameOrPath}": no such file or folder`,
    );
  }
  const repoDir = join(
    options.cacheDir ?? hfHubCacheDir(),
    `models--${nameOrPath.replaceAll("/", "--")}`,
  );
  const cached = await cachedSnapshot(repoDir);
  if (cached !== undefined) return await readTokenizer(nameOrPath, cached);
  if (options.offline === true) throw unavailable(nameOrPath, "offline mode");
  if (options.offline === undefined && hfOffline()) {
    throw unavailable(nameOrPath, "offline mode: HF_HUB_OFFLINE is set");
  }
  const snapshot = join(repoDir, "snapshots", "main");
  const base = `${options.endpoint ?? hfEndpoint()}/${nameOrPath}/resolve/main`;
  const download = (file: string): Promise<void> => {
    const bar = options.progress
      ? progressBar(`${nameOrPath}/${file}`)
      : undefined;
    return downloadFile(`${base}/${file}`, join(snapshot, file), {
      token: options.token ?? hfToken(),
      signal: options.signal,
      onProgress: bar?.update,
    }).finally(() => bar?.done());
  };
  try {
    // The config first, so a cached tokenizer.json means the config was fetched too.
    await download(CONFIG_FILE).catch((error) => {
      if (downloadStatus(error) !== 404) throw error; // optional on the Hub
    });
    await download(TOKENIZER_FILE);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw unavailable(nameOrPath, message.replace(/^Cannot download /, ""));
  }
  return await readTokenizer(nameOrPath, snapshot);
}

function unavailable(id: string, reason: string): Error {
  return new Error(
    `Cannot load tokenizer "${id}": no local copy and the Hub is unreachable (${reason}); ` +
      `put ${TOKENIZER_FILE} and ${CONFIG_FILE} in a folder and pass its path`,
  );
}

/** A Hub repo id: `name` or `org/name`, with the characters the Hub allows. */
function isHubId(value: string): boolean {
  return /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/.test(value) &&
    !value.includes("..") && !value.includes("--") && !value.endsWith(".json");
}

/** The snapshot folder of a cached repo that holds tokenizer.json, if any. */
async function cachedSnapshot(repoDir: string): Promise<string | undefined> {
  const candidates: string[] = [];
  try {
    const ref = (await Deno.readTextFile(join(repoDir, "refs", "main")))
      .trim();
    if (/^[\w.-]+$/.test(ref)) candidates.push(join(repoDir, "snapshots", ref));
  } catch {
    // no ref written by huggingface_hub
  }
  candidates.push(join(repoDir, "snapshots", "main"));
  for (const folder of candidates) {
    if ((await statOrNull(join(folder, TOKENIZER_FILE)))?.isFile) return folder;
  }
  return undefined;
}

async function readTokenizer(
  name: string,
  folder: string,
  tokenizerPath = join(folder, TOKENIZER_FILE),
): Promise<Tokenizer> {
  const tokenizerJson = await readJson(name, tokenizerPath);
  const configPath = join(folder, CONFIG_FILE);
  const config = (await statOrNull(configPath))?.isFile
    ? await readJson(name, configPath)
    : {};
  try {
    return tokenizerFromJson(tokenizerJson, config, { name });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Cannot load tokenizer "${name}": ${tokenizerPath} is not supported (${message})`,
    );
  }
}

async function readJson(name: string, path: string): Promise<object> {
  let value: unknown;
  try {
    value = JSON.parse(await Deno.readTextFile(path));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Cannot load tokenizer "${name}": cannot read ${path} (${message})`,
    );
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(
      `Cannot load tokenizer "${name}": ${path} is not a JSON object`,
    );
  }
  return value;
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    if (error instanceof Deno.errors.NotADirectory) return null;
    throw error;
  }
}
