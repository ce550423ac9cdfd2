/**
 * Local files a Job's run reads (a trace, a tokenizer folder, a
 * `model_configs.json`), carried into the pods in a ConfigMap generated into
 * the manifest, or refused with a one-line error when they are too large for
 * one (the pods could not read a path on the machine that printed the Job).
 *
 * @module
 */
import { basename, join } from "node:path";

/** The arguments naming input files: trie's keys and benchmark's flags. */
const INPUT_KEYS = ["workload_path", "tokenizer_model", "hf_config"];
const INPUT_FLAGS = ["--model-configs", "--hf-config"];

/**
 * What a ConfigMap may carry: Kubernetes refuses objects over 1 MiB; the
 * rest is left for the object's metadata.
 */
export const CONFIG_MAP_LIMIT_BYTES = 1_000_000;

/** Where the pods find the inputs. */
export const INPUTS_MOUNT = "/inputs";

/** The inputs of a run, ready for the manifest. */
export interface MountedInputs {
  /** The run's arguments, local paths replaced by their paths in the pods. */
  args: string[];
  /** The ConfigMap holding the files, when the run names some. */
  configMap?: Record<string, unknown>;
  /** The volume's items: each ConfigMap key and its path under {@linkcode INPUTS_MOUNT}. */
  items: { key: string; path: string }[];
}

/** Options of {@linkcode mountInputs}. */
export interface MountInputsOptions {
  /** The ConfigMap's name. */
  name: string;
  /** Its namespace, when the Job has one. */
  namespace?: string;
  /** Labels to give it. */
  labels?: Record<string, string>;
  /** The most bytes of file content it may carry (default {@linkcode CONFIG_MAP_LIMIT_BYTES}). */
  limitBytes?: number;
}

/**
 * Find the run's arguments that name local files or folders, put their
 * files in a ConfigMap, and point the arguments at the mounted copies.
 * Values that are no local path (an alias such as `agentic`, a Hub id) are
 * left as they are. Throws a one-line error when the files exceed the limit.
 *
 * @example Usage
 * ```ts
 * import { mountInputs } from "./k8s_inputs.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/t.jsonl`, '{"num_turns": 0}\n');
 * const mounted = await mountInputs(
 *   ["trie", `workload_path=${dir}/t.jsonl`, "tokenizer_model=Qwen/Qwen3-8B"],
 *   { name: "kvb-inputs" },
 * );
 * assert.deepEqual(mounted.args, [
 *   "trie", "workload_path=/inputs/workload_path/t.jsonl", "tokenizer_model=Qwen/Qwen3-8B",
 * ]);
 * assert.deepEqual(mounted.items, [{ key: "workload_path.t.jsonl", path: "workload_path/t.jsonl" }]);
 * assert.deepEqual(
 *   (mounted.configMap!.data as Record<string, string>)["workload_path.t.jsonl"],
 *   '{"num_turns": 0}\n',
 * );
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function mountInputs(
  args: string[],
  options: MountInputsOptions,
): Promise<MountedInputs> {
  const limit = options.limitBytes ?? CONFIG_MAP_LIMIT_BYTES;
  const out = [...args];
  const items: { key: string; path: string }[] = [];
  const data: Record<string, string> = {};
  const binaryData: Record<string, string> = {};
  let bytes = 0;
  for (let i = 0; i < out.length; i++) {
    const input = inputAt(out, i);
    if (input === undefined) continue;
    const info = await Deno.stat(input.value).catch(() => undefined);
    if (info === undefined) continue;
    const files = info.isDirectory
      ? await filesIn(input.value, input.name)
      : [input.value];
    const folder = input.name;
    for (const file of files) {
      // Sized before it is read: a folder may hold model weights.
      bytes += (await Deno.stat(file)).size;
      if (bytes > limit) {
        throw new Error(
          `Cannot carry ${input.name} "${input.value}" in a ConfigMap: the inputs pass ${limit} bytes (Kubernetes refuses objects over 1 MiB); put it in the image or on the volume and give the pods' path`,
        );
      }
      const content = await Deno.readFile(file);
      const key = `${folder}.${basename(file)}`.replace(
        /[^-._a-zA-Z0-9]/g,
        "_",
      );
      const text = utf8(content);
      if (text === undefined) binaryData[key] = toBase64(content);
      else data[key] = text;
      items.push({ key, path: `${folder}/${basename(file)}` });
    }
    const mounted = info.isDirectory
      ? `${INPUTS_MOUNT}/${folder}`
      : `${INPUTS_MOUNT}/${folder}/${basename(input.value)}`;
    out[input.index] = input.prefix + mounted;
  }
  if (items.length === 0) return { args: out, items };
  return {
    args: out,
    items,
    configMap: {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: options.name,
        ...(options.namespace === undefined
          ? {}
          : { namespace: options.namespace }),
        ...(options.labels === undefined ? {} : { labels: options.labels }),
      },
      ...(Object.keys(data).length ? { data } : {}),
      ...(Object.keys(binaryData).length ? { binaryData } : {}),
    },
  };
}

/** The input named at `args[i]`, if any: where its value is and how it is written. */
function inputAt(
  args: string[],
  i: number,
): { name: string; value: string; index: number; prefix: string } | undefined {
  const arg = args[i];
  for (const key of INPUT_KEYS) {
    for (const prefix of [`${key}=`, `--${key}=`]) {
      if (arg.startsWith(prefix)) {
        return { name: key, value: arg.slice(prefix.length), index: i, prefix };
      }
    }
  }
  for (const flag of INPUT_FLAGS) {
    const name = flag.slice(2).replaceAll("-", "_");
    if (arg.startsWith(`${flag}=`)) {
      return {
        name,
        value: arg.slice(flag.length + 1),
        index: i,
        prefix: `${flag}=`,
      };
    }
    if (arg === flag && i + 1 < args.length) {
      return { name, value: args[i + 1], index: i + 1, prefix: "" };
    }
  }
  return undefined;
}

/**
 * The files directly in a folder, sorted, symbolic links followed (a Hugging
 * Face cache snapshot is links into its blobs); of a model folder given as
 * `hf_config`, its `config.json` only.
 */
async function filesIn(dir: string, name: string): Promise<string[]> {
  if (name === "hf_config") {
    const config = join(dir, "config.json");
    const info = await Deno.stat(config).catch(() => undefined);
    if (!info?.isFile) {
      throw new Error(
        `Cannot carry hf_config "${dir}" into the pods: the folder has no config.json`,
      );
    }
    return [config];
  }
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    const file = entry.isFile ||
      (entry.isSymlink &&
        (await Deno.stat(path).catch(() => undefined))?.isFile);
    if (file) files.push(path);
  }
  return files.sort();
}

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
