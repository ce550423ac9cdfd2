/**
 * The run's tag of `kvbench benchmark` (`--context-salt`): a few digits put
 * at the very start of every context, so a run shares no cached prefix with
 * another run on any engine (vLLM, SGLang, llama.cpp, LMCache all key their
 * caches on the prompt's leading tokens: vLLM chains each block's hash from
 * its parent, vllm/v1/core/kv_cache_utils.py `hash_block_tokens`; SGLang's
 * radix tree matches from the first token, sglang/srt/mem_cache/radix_cache.py;
 * llama.cpp reuses a slot's common prefix). The run's `cache_salt`
 * (`--cache-salt`) is derived from the same tag, so workers and shards that
 * share the tag share both.
 *
 * @module
 */
import type { RunPart } from "../../lib/run/runner.ts";

/** Digits of a tag kvbench draws (one token each with Qwen3 and the simulator). */
export const TAG_DIGITS = 6;

/** What `--context-salt` asks for: a tag per run, none, or a given tag (digits). */
export type ContextSaltMode = "run" | "none" | string;

/**
 * `--context-salt`, checked: `run`, `none` or a tag of 1 to 16 digits
 * (digits, so the tokens it adds are known: one per digit with Qwen3).
 * Throws a {@linkcode TypeError} with a one-line message.
 *
 * @example Usage
 * ```ts
 * import { checkContextSalt } from "./context_salt.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(checkContextSalt("042917"), "042917");
 * assert.equal(checkContextSalt("none"), "none");
 * assert.throws(() => checkContextSalt("abc"), /--context-salt abc: expected run, none or a tag of 1 to 16 digits/);
 * ```
 */
export function checkContextSalt(value: string): ContextSaltMode {
  if (value === "run" || value === "none" || /^[0-9]{1,16}$/.test(value)) {
    return value;
  }
  throw new TypeError(
    `--context-salt ${value}: expected run, none or a tag of 1 to 16 digits`,
  );
}

/** 32-bit FNV-1a of a string. */
function _fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}

/** Options of {@linkcode runTag}. */
export interface RunTagOptions {
  /** `--context-salt` (default `run`). */
  mode?: ContextSaltMode;
  /** The tag a parent gave its workers (`--run-tag`): it wins. */
  given?: string;
  /** The run's seed: a shard's tag is derived from it, so every shard agrees. */
  seed?: number;
  /** The part this process runs (`--shard K/N`); none: a whole run. */
  part?: RunPart;
}

/**
 * The run's tag: the parent's (workers), the one given (`--context-salt
 * DIGITS`), one derived from the seed (a shard: every shard has the same
 * `--seed`, so every shard, and every pod of `kvbench k8s`, has the same
 * tag), else 6 random digits (a new tag per run).
 *
 * @example Usage
 * ```ts
 * import { runTag } from "./context_salt.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(runTag({ mode: "123" }), "123");
 * assert.equal(runTag({ given: "777", mode: "none" }), "777");
 * const shard = runTag({ seed: 7, part: { index: 0, count: 2 } });
 * assert.equal(runTag({ seed: 7, part: { index: 1, count: 2 } }), shard);
 * assert.match(shard, /^[0-9]{6}$/);
 * assert.match(runTag({}), /^[0-9]{6}$/);
 * ```
 */
export function runTag(options: RunTagOptions): string {
  if (options.given !== undefined) return options.given;
  const mode = options.mode ?? "run";
  if (mode !== "run" && mode !== "none") return mode;
  const n = options.part !== undefined && options.seed !== undefined
    ? _fnv1a(`kvbench context salt ${options.seed}`)
    : crypto.getRandomValues(new Uint32Array(1))[0];
  return String(n % 10 ** TAG_DIGITS).padStart(TAG_DIGITS, "0");
}

/**
 * The context salt of a run: its tag, unless `--context-salt none`.
 *
 * @example Usage
 * ```ts
 * import { contextSaltOf } from "./context_salt.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(contextSaltOf("none", "123456"), undefined);
 * assert.equal(contextSaltOf("run", "123456"), "123456");
 * ```
 */
export function contextSaltOf(
  mode: ContextSaltMode,
  tag: string,
): string | undefined {
  return mode === "none" ? undefined : tag;
}

/**
 * Tokens the salt adds to every prompt: its digits and the `-` after them
 * (one token each with Qwen3 and the simulator; tokenizers that group
 * digits, as o200k and Llama 3 do by three, count fewer).
 *
 * @example Usage
 * ```ts
 * import { saltTokens } from "./context_salt.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(saltTokens("123456"), 7);
 * assert.equal(saltTokens(undefined), 0);
 * ```
 */
export function saltTokens(salt: string | undefined): number {
  return salt === undefined ? 0 : salt.length + 1;
}

/**
 * The run's `cache_salt` (`--cache-salt run`), derived from its tag:
 * `kvbench-` and 8 hex digits.
 *
 * @example Usage
 * ```ts
 * import { cacheSaltOf } from "./context_salt.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(cacheSaltOf("123456"), /^kvbench-[0-9a-f]{8}$/);
 * assert.equal(cacheSaltOf("1"), cacheSaltOf("1"));
 * assert.notEqual(cacheSaltOf("1"), cacheSaltOf("2"));
 * ```
 */
export function cacheSaltOf(tag: string): string {
  return `kvbench-${
    _fnv1a(`kvbench cache salt ${tag}`).toString(16).padStart(8, "0")
  }`;
}
