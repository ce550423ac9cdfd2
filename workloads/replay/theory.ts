/**
 * A trace's theoretical reuse at its block size, before anything is sent:
 * requests taken in trace order (timestamp, then file order), each one's
 * cached tokens are its leading full blocks that an earlier request held
 * with the same prefix (the same chain of block ids), times the block size.
 * A partial last block never counts. The hit rate is the cached tokens over
 * all prompt tokens.
 *
 * Two caches: an unbounded one, and an LRU cache of a given capacity in
 * tokens (whole blocks, rounded down) where a request's blocks are touched
 * last to first, so its first blocks are the most recently used (as vLLM
 * frees a sequence's blocks tail first), and a prefix whose block was
 * evicted stops there.
 *
 * @module
 */
import type { ReplayTrace } from "./trace.ts";

/** Theoretical reuse of a trace. */
export interface Theory {
  /** Per request (by index): cached tokens in the unbounded cache. */
  unbounded: number[];
  /** Per request: cached tokens in the LRU cache, when a capacity was given. */
  lru?: number[];
  /** The LRU capacity, tokens (whole blocks). */
  lruTokens?: number;
  /** Σ input_length. */
  promptTokens: number;
  /** Σ unbounded cached tokens / Σ input_length. */
  unboundedHitRate: number;
  /** Σ LRU cached tokens / Σ input_length, when a capacity was given. */
  lruHitRate?: number;
}

/** Options of {@linkcode theoreticalReuse}. */
export interface TheoryOptions {
  /** Capacity of the LRU cache in tokens (e.g. the server's KV capacity). */
  capacityTokens?: number;
}

/** Requests' chain keys of their full blocks: equal keys, equal prefixes. */
function chainKeys(trace: ReplayTrace): number[][] {
  const root = new Map<number, { key: number; next?: Map<number, unknown> }>();
  let nextKey = 0;
  type Node = { key: number; next?: Map<number, Node> };
  return trace.requests.map((r) => {
    const full = Math.floor(r.inputLength / trace.blockSize);
    const keys: number[] = [];
    let level = root as Map<number, Node>;
    for (let i = 0; i < full; i++) {
      let node = level.get(r.blocks[i]);
      if (node === undefined) level.set(r.blocks[i], node = { key: nextKey++ });
      keys.push(node.key);
      level = node.next ??= new Map();
    }
    return keys;
  });
}

/**
 * Request indexes in trace order: timestamp, then file order.
 *
 * @example Usage
 * ```ts
 * import { traceOrder } from "./theory.ts";
 * import { parseTrace } from "./formats.ts";
 * import assert from "node:assert/strict";
 *
 * const trace = parseTrace(
 *   '{"timestamp": 9, "input_length": 8, "output_length": 1}\n' +
 *     '{"timestamp": 5, "input_length": 7, "output_length": 1}\n',
 *   { name: "t.jsonl" },
 * );
 * assert.deepEqual(traceOrder(trace), [1, 0]);
 * ```
 */
export function traceOrder(trace: ReplayTrace): number[] {
  return trace.requests.map((r) => r.index).sort((a, b) =>
    trace.requests[a].atMs - trace.requests[b].atMs || a - b
  );
}

/**
 * The theoretical cached tokens of every request, and the hit rates.
 *
 * @example Two requests sharing one 4-token block, then a cache of one block
 * ```ts
 * import { theoreticalReuse } from "./theory.ts";
 * import { parseTrace } from "./formats.ts";
 * import assert from "node:assert/strict";
 *
 * const trace = parseTrace(
 *   '{"timestamp": 0, "input_length": 8, "output_length": 1, "hash_ids": [1, 2]}\n' +
 *     '{"timestamp": 5, "input_length": 7, "output_length": 1, "hash_ids": [1, 3]}\n' +
 *     '{"timestamp": 9, "input_length": 8, "output_length": 1, "hash_ids": [1, 2]}\n',
 *   { name: "t.jsonl", blockSize: 4 },
 * );
 * const theory = theoreticalReuse(trace, { capacityTokens: 4 });
 * assert.deepEqual(theory.unbounded, [0, 4, 8]);
 * assert.equal(theory.unboundedHitRate, 12 / 23);
 * // One block: the third request finds block 1 only (block 2 was evicted).
 * assert.deepEqual(theory.lru, [0, 4, 4]);
 * ```
 */
export function theoreticalReuse(
  trace: ReplayTrace,
  options: TheoryOptions = {},
): Theory {
  const keys = chainKeys(trace);
  const order = traceOrder(trace);
  const bs = trace.blockSize;
  const promptTokens = trace.requests.reduce((s, r) => s + r.inputLength, 0);
  const seen = new Set<number>();
  const unbounded = new Array<number>(trace.requests.length).fill(0);
  for (const i of order) {
    let hit = 0;
    while (hit < keys[i].length && seen.has(keys[i][hit])) hit++;
    unbounded[i] = hit * bs;
    for (const k of keys[i]) seen.add(k);
  }
  const theory: Theory = {
    unbounded,
    promptTokens,
    unboundedHitRate: rate(unbounded, promptTokens),
  };
  if (options.capacityTokens !== undefined) {
    const capacity = Math.floor(options.capacityTokens / bs);
    const lru = new Array<number>(trace.requests.length).fill(0);
    const cache = new Set<number>();
    for (const i of order) {
      let hit = 0;
      while (hit < keys[i].length && cache.has(keys[i][hit])) hit++;
      lru[i] = hit * bs;
      for (let b = keys[i].length - 1; b >= 0; b--) {
        cache.delete(keys[i][b]);
        cache.add(keys[i][b]);
      }
      for (const k of cache) {
        if (cache.size <= capacity) break;
        cache.delete(k);
      }
    }
    theory.lru = lru;
    theory.lruTokens = capacity * bs;
    theory.lruHitRate = rate(lru, promptTokens);
  }
  return theory;
}

function rate(cached: number[], total: number): number {
  return total === 0 ? 0 : cached.reduce((s, c) => s + c, 0) / total;
}
