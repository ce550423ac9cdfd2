/**
 * Prompts of a trace as token ids: every block id becomes a fixed run of
 * `blockSize` token ids, so equal block ids give identical blocks and
 * different ones different blocks, and a partial last block is the start of
 * its full block. A request's prompt is its blocks, cut to exactly
 * `input_length` ids.
 *
 * Token `j` of block `b` is drawn from a vocabulary by a hash of the run's
 * salt, `b` and `j`: nothing is stored per block, and a new salt gives every
 * block new tokens (a rerun then cannot hit the previous run's cache). Two
 * different blocks share a server block (16 tokens and more) with
 * probability below vocabulary⁻¹⁶, nil in practice.
 *
 * The vocabulary is ordinary text, never special tokens:
 * - with a tokenizer, its whole-word tokens (a space and three or more
 *   lowercase ASCII letters, 24,206 ids of Qwen3's): decoded and encoded
 *   again they give the same ids, so a text prompt keeps its length;
 * - without one, the ids {@linkcode DEFAULT_ID_RANGE} (1,000 to 29,999),
 *   ordinary text pieces in the Qwen, Llama 3, Mistral, DeepSeek and
 *   gpt-oss vocabularies, whose special and control tokens lie outside it.
 *
 * @module
 */
import type { Tokenizer } from "../../lib/text/tokenizer.ts";
import type { TraceRequest } from "./trace.ts";

/**
 * Token ids used without a tokenizer: `[start, end)`.
 *
 * @example Usage
 * ```ts
 * import { DEFAULT_ID_RANGE } from "./token_blocks.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(DEFAULT_ID_RANGE, { start: 1000, end: 30_000 });
 * ```
 */
export const DEFAULT_ID_RANGE: {
  readonly start: number;
  readonly end: number;
} = {
  start: 1000,
  end: 30_000,
};

/** Token ids prompts are drawn from, and a line saying where they come from. */
export interface Vocabulary {
  /** The ids. */
  ids: Uint32Array;
  /** One line for the output: where the ids come from. */
  source: string;
}

/**
 * The whole-word tokens of a tokenizer (` word`: a space and three or more
 * lowercase ASCII letters), ids below its base vocabulary size.
 *
 * @example Usage
 * ```ts
 * import { tokenizerVocabulary } from "./token_blocks.ts";
 * import { qwen3Tokenizer } from "../../lib/testing/tokenizers.ts";
 * import assert from "node:assert/strict";
 *
 * const tokenizer = qwen3Tokenizer();
 * const vocabulary = tokenizerVocabulary(tokenizer);
 * assert.equal(vocabulary.ids.length, 24_206);
 * assert.match(tokenizer.decode([vocabulary.ids[0]]), /^ [a-z]{3,}$/);
 * ```
 */
export function tokenizerVocabulary(tokenizer: Tokenizer): Vocabulary {
  const ids: number[] = [];
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    if (/^ [a-z]{3,}$/.test(tokenizer.decode([id]))) ids.push(id);
  }
  if (ids.length < 1000) {
    throw new RangeError(
      `Cannot draw prompts from tokenizer "${tokenizer.name}": it has only ${ids.length} whole-word tokens`,
    );
  }
  return {
    ids: Uint32Array.from(ids),
    source:
      `token ids: ${ids.length} whole-word tokens of tokenizer ${tokenizer.name}`,
  };
}

/**
 * The ids {@linkcode DEFAULT_ID_RANGE}, for when no tokenizer is at hand.
 *
 * @example Usage
 * ```ts
 * import { rangeVocabulary } from "./token_blocks.ts";
 * import assert from "node:assert/strict";
 *
 * const vocabulary = rangeVocabulary();
 * assert.equal(vocabulary.ids.length, 29_000);
 * assert.equal(vocabulary.ids[0], 1000);
 * ```
 */
export function rangeVocabulary(): Vocabulary {
  const { start, end } = DEFAULT_ID_RANGE;
  return {
    ids: Uint32Array.from({ length: end - start }, (_, i) => start + i),
    source: `token ids: no tokenizer, ids ${start}-${
      end - 1
    } (ordinary text in the Qwen, Llama 3, Mistral, DeepSeek and gpt-oss vocabularies)`,
  };
}

/** A 32-bit FNV-1a hash of a salt string. */
function saltHash(salt: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < salt.length; i++) {
    h = Math.imul(h ^ salt.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}

/** murmur3's 32-bit finaliser. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Options of {@linkcode BlockPrompts}. */
export interface BlockPromptsOptions {
  /** Tokens per block. */
  blockSize: number;
  /** Where token ids are drawn from. */
  vocabulary: Vocabulary;
  /** The run's salt: the same salt gives the same prompts. */
  salt: string;
}

/**
 * Token-id prompts of a trace's requests.
 *
 * @example Two requests sharing their first block
 * ```ts
 * import { BlockPrompts, rangeVocabulary } from "./token_blocks.ts";
 * import assert from "node:assert/strict";
 *
 * const prompts = new BlockPrompts({ blockSize: 4, vocabulary: rangeVocabulary(), salt: "run 1" });
 * const a = prompts.ids({ inputLength: 6, blocks: [0, 1] });
 * const b = prompts.ids({ inputLength: 8, blocks: [0, 2] });
 * assert.equal(a.length, 6);
 * assert.deepEqual(a.slice(0, 4), b.slice(0, 4)); // block 0 in both
 * assert.notDeepEqual(a.slice(4), b.slice(4, 6)); // block 1 is not block 2
 * // A partial block is the start of its full block.
 * assert.deepEqual(a.slice(4), prompts.ids({ inputLength: 8, blocks: [0, 1] }).slice(4, 6));
 * ```
 */
export class BlockPrompts {
  readonly #blockSize: number;
  readonly #ids: Uint32Array;
  readonly #salt: number;

  /** Prompts drawn from `options.vocabulary`. */
  constructor(options: BlockPromptsOptions) {
    this.#blockSize = options.blockSize;
    this.#ids = options.vocabulary.ids;
    this.#salt = saltHash(options.salt);
  }

  /** Exactly `request.inputLength` token ids, block by block. */
  ids(request: Pick<TraceRequest, "inputLength" | "blocks">): number[] {
    const out = new Array<number>(request.inputLength);
    const bs = this.#blockSize, vocab = this.#ids, n = vocab.length;
    for (let i = 0; i < request.inputLength; i++) {
      const block = request.blocks[Math.floor(i / bs)];
      const h = mix(
        mix(this.#salt ^ mix(block + 0x9e3779b9)) ^
          Math.imul(i % bs, 0x27d4eb2f),
      );
      out[i] = vocab[h % n];
    }
    return out;
  }
}
