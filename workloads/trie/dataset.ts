/**
 * trie's dataset aliases: `agentic`, `qa` and `office` name the workload files
 * of the Hugging Face dataset `lightseekorg/trie-dataset`, downloaded once into
 * a cache folder (`TRIE_DATASET_CACHE`, default `/tmp/trie-dataset`) and
 * reused thereafter. Anything else is a file path.
 *
 * @module
 */

import { join } from "node:path";
import {
  downloadFile,
  hfEndpoint,
  hfToken,
  progressBar,
} from "../../lib/io/hub.ts";

/** The Hugging Face dataset the aliases come from. */
export const TRIE_DATASET_REPO = "lightseekorg/trie-dataset";

/** Workload alias → file name in {@linkcode TRIE_DATASET_REPO}. */
export const TRIE_DATASET_ALIASES: Readonly<Record<string, string>> = Object
  .freeze({
    agentic: "agentic_coding_8k.jsonl",
    qa: "code_qa_8k.jsonl",
    office: "office_work_8k.jsonl",
  });

/** Options of {@linkcode resolveWorkloadPath}. */
export interface ResolveWorkloadOptions {
  /** Cache folder (default: env `TRIE_DATASET_CACHE`, else `/tmp/trie-dataset`). */
  cacheDir?: string;
  /** Hub base URL (default: env `HF_ENDPOINT`, else `https://huggingface.co`). */
  endpoint?: string;
  /** Hub token (default: env `HF_TOKEN`). */
  token?: string;
  /** Cancels a download. */
  signal?: AbortSignal;
  /** Draw a progress bar on stderr while downloading, if it is a terminal (default false). */
  progress?: boolean;
}

/**
 * The dataset cache folder: env `TRIE_DATASET_CACHE`, else `/tmp/trie-dataset`.
 *
 * @example Usage
 * ```ts
 * import { trieDatasetCacheDir } from "./dataset.ts";
 * import { withEnv } from "../../lib/testing/with_env.ts";
 * import assert from "node:assert/strict";
 *
 * await withEnv({ TRIE_DATASET_CACHE: undefined }, () => {
 *   assert.equal(trieDatasetCacheDir(), "/tmp/trie-dataset");
 * });
 * await withEnv({ TRIE_DATASET_CACHE: "/data/trie" }, () => {
 *   assert.equal(trieDatasetCacheDir(), "/data/trie");
 * });
 * ```
 */
export function trieDatasetCacheDir(): string {
  return Deno.env.get("TRIE_DATASET_CACHE") || "/tmp/trie-dataset";
}

/**
 * A local file path for a workload: an alias of
 * {@linkcode TRIE_DATASET_ALIASES} becomes its file in the cache folder,
 * downloaded from
 * `<endpoint>/datasets/lightseekorg/trie-dataset/resolve/main/<file>` only if
 * it is not there yet (atomically: a broken download leaves nothing). An
 * alias always wins over a file of the same name in the current folder.
 * Anything else is returned unchanged, for the caller to read.
 *
 * @example Usage
 * ```ts
 * import { resolveWorkloadPath } from "./dataset.ts";
 * import { serveFakeHub } from "../../lib/testing/fake_hub.ts";
 * import assert from "node:assert/strict";
 *
 * // A stand-in for the Hub on loopback (the default endpoint is https://huggingface.co).
 * const hub = serveFakeHub(() => new Response("<the JSONL traces>\n"));
 * const cacheDir = await Deno.makeTempDir();
 * const path = await resolveWorkloadPath("agentic", { cacheDir, endpoint: hub.url });
 * assert.equal(path, `${cacheDir}/agentic_coding_8k.jsonl`);
 * assert.equal(await Deno.readTextFile(path), "<the JSONL traces>\n");
 * // Downloaded once: the next call finds the file in the cache folder.
 * await resolveWorkloadPath("agentic", { cacheDir, endpoint: hub.url });
 * assert.deepEqual(hub.requests.map((r) => r.path), [
 *   "/datasets/lightseekorg/trie-dataset/resolve/main/agentic_coding_8k.jsonl",
 * ]);
 * // Anything else is a file path, returned unchanged.
 * assert.equal(await resolveWorkloadPath("my_traces.jsonl"), "my_traces.jsonl");
 * await hub.server.shutdown();
 * await Deno.remove(cacheDir, { recursive: true });
 * ```
 */
export async function resolveWorkloadPath(
  pathOrAlias: string,
  options: ResolveWorkloadOptions = {},
): Promise<string> {
  if (!Object.hasOwn(TRIE_DATASET_ALIASES, pathOrAlias)) return pathOrAlias;
  const file = TRIE_DATASET_ALIASES[pathOrAlias];
  const path = join(options.cacheDir ?? trieDatasetCacheDir(), file);
  if (await isFile(path)) return path;
  const url = `${
    (options.endpoint ?? hfEndpoint()).replace(/\/+$/, "")
  }/datasets/${TRIE_DATASET_REPO}/resolve/main/${file}`;
  const bar = options.progress ? progressBar(file) : undefined;
  try {
    await downloadFile(url, path, {
      token: options.token ?? hfToken(),
      signal: options.signal,
      onProgress: bar?.update,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot load workload "${pathOrAlias}": ${message}`, {
      cause: error,
    });
  } finally {
    bar?.done();
  }
  return path;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
