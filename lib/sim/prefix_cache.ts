/**
 * The simulator's KV cache: fixed-size token blocks chained by hash (as in
 * vLLM's automatic prefix caching), held in two tiers, GPU and offload
 * (as LMCache's CPU buffer), with LRU eviction GPU → offload → dropped.
 *
 * Blocks used by a running sequence are pinned in the GPU tier; unpinned GPU
 * blocks stay cached until evicted. A sequence releases its blocks tail
 * first, so a prompt's later blocks are evicted before its earlier ones (as
 * vLLM frees them), and a shared prefix outlives the unique suffixes.
 *
 * @module
 */

/**
 * Chained hashes of the full `blockSize`-token blocks of `ids`: each block's
 * hash covers its tokens and the previous block's hash, so equal hashes mean
 * an equal prefix. A 53-bit hash (two 32-bit multiply-xor lanes, as in
 * cyrb53): collisions stay unlikely among millions of blocks, and 32k tokens
 * hash in well under a millisecond.
 *
 * `options.prev` continues a chain (the hash of the block before `ids[0]`).
 *
 * @example Usage
 * ```ts
 * import { blockHashes } from "./prefix_cache.ts";
 * import assert from "node:assert/strict";
 *
 * const a = blockHashes([1, 2, 3, 4, 5, 6, 7, 8, 9], 4);
 * const b = blockHashes([1, 2, 3, 4, 5, 6, 7, 0], 4);
 * assert.equal(a.length, 2); // the ninth token is not a full block
 * assert.equal(a[0], b[0]); // same first block
 * assert.notEqual(a[1], b[1]); // the second blocks differ
 * ```
 */
export function blockHashes(
  ids: ArrayLike<number>,
  blockSize: number,
  options: { prev?: number } = {},
): number[] {
  const hashes: number[] = [];
  let prev = options.prev ?? 0;
  for (let start = 0; start + blockSize <= ids.length; start += blockSize) {
    let h1 = 0xdeadbeef ^ (prev >>> 0);
    let h2 = 0x41c6ce57 ^ Math.floor(prev / 2 ** 32);
    for (let i = start; i < start + blockSize; i++) {
      const id = ids[i];
      h1 = Math.imul(h1 ^ id, 2654435761);
      h2 = Math.imul(h2 ^ id, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^
      Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^
      Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    prev = 2097152 * (h2 & 2097151) + (h1 >>> 0);
    hashes.push(prev);
  }
  return hashes;
}

/** Leading blocks of a prompt found in the cache, by tier. */
export interface CacheHit {
  /** Blocks found in the GPU tier. */
  gpuBlocks: number;
  /** Blocks found in the offload tier (to be loaded back). */
  offloadBlocks: number;
}

/** Capacities of the two tiers, in blocks. */
export interface PrefixCacheOptions {
  /** GPU KV capacity in blocks. */
  gpuBlocks: number;
  /** Offload capacity in blocks; 0 disables the tier. */
  offloadBlocks: number;
}

/**
 * Two-tier LRU block cache with pinning.
 *
 * @example Usage
 * ```ts
 * import { blockHashes, PrefixCache } from "./prefix_cache.ts";
 * import assert from "node:assert/strict";
 *
 * const cache = new PrefixCache({ gpuBlocks: 4, offloadBlocks: 8 });
 * const prompt = blockHashes(Array.from({ length: 32 }, (_, i) => i), 16);
 * assert.deepEqual(cache.lookup(prompt), { gpuBlocks: 0, offloadBlocks: 0 });
 * cache.pin(prompt);
 * cache.unpin(prompt);
 * // Unpinned blocks stay cached for the next request with this prefix.
 * assert.deepEqual(cache.lookup(prompt), { gpuBlocks: 2, offloadBlocks: 0 });
 * ```
 */
export class PrefixCache {
  /** GPU capacity in blocks. */
  readonly gpuCapacity: number;
  /** Offload capacity in blocks. */
  readonly offloadCapacity: number;
  /** GPU blocks by hash → number of running sequences using each. */
  #gpu = new Map<number, number>();
  /** Unpinned GPU blocks, least recently used first (a Set keeps insertion order). */
  #evictable = new Set<number>();
  /** Offload blocks, least recently used first. */
  #offload = new Set<number>();
  // Where the least recently used entries are: a new iterator per eviction
  // would skip every entry deleted from the front since the set's last
  // rehash, which made evictions quadratic (a ~1 s stall of the demo's
  // server once its offload tier filled up).
  #evictableCursor = new OldestCursor(this.#evictable);
  #offloadCursor = new OldestCursor(this.#offload);
  /** Slots reserved for unhashed tokens (partial blocks, generated tokens). */
  #reserved = 0;
  /** Pinned hashed blocks. */
  #pinned = 0;

  /** Make an empty cache. */
  constructor(options: PrefixCacheOptions) {
    for (const [name, value] of Object.entries(options)) {
      if (!Number.isInteger(value) || value < 0) {
        throw new RangeError(
          `Cannot make a prefix cache: ${name} must be an integer >= 0, got ${value}`,
        );
      }
    }
    this.gpuCapacity = options.gpuBlocks;
    this.offloadCapacity = options.offloadBlocks;
  }

  /** GPU slots in use by running sequences (pinned blocks + reserved slots). */
  get gpuPinned(): number {
    return this.#pinned + this.#reserved;
  }

  /** GPU slots holding data (pinned, reserved, or cached for reuse). */
  get gpuUsed(): number {
    return this.#gpu.size + this.#reserved;
  }

  /** Offload blocks in use. */
  get offloadUsed(): number {
    return this.#offload.size;
  }

  /** Where a block is: `"gpu"`, `"offload"`, or undefined when not cached. */
  tierOf(hash: number): "gpu" | "offload" | undefined {
    return this.#gpu.has(hash)
      ? "gpu"
      : this.#offload.has(hash)
      ? "offload"
      : undefined;
  }

  /**
   * Count the leading blocks of `hashes` present in either tier, stopping at
   * the first miss; `limit` caps how many blocks may hit.
   */
  lookup(hashes: readonly number[], limit: number = hashes.length): CacheHit {
    const hit: CacheHit = { gpuBlocks: 0, offloadBlocks: 0 };
    for (let i = 0; i < Math.min(limit, hashes.length); i++) {
      if (this.#gpu.has(hashes[i])) hit.gpuBlocks++;
      else if (this.#offload.has(hashes[i])) hit.offloadBlocks++;
      else break;
    }
    return hit;
  }

  /**
   * GPU slots that pinning `hashes` and reserving `extra` more would add to
   * {@linkcode gpuPinned} (blocks already pinned by another sequence are shared).
   */
  pinCost(hashes: readonly number[], extra = 0): number {
    let cost = extra;
    for (const h of hashes) if (!this.#gpu.get(h)) cost++;
    return cost;
  }

  /**
   * Pin blocks for a running sequence: blocks in GPU gain a user; blocks in
   * offload move back to GPU; missing blocks are added to GPU. Evicts as
   * needed; throws a RangeError when pinned blocks fill the GPU tier.
   */
  pin(hashes: readonly number[]): void {
    // Pin what is already in GPU first, so making room for the rest cannot evict it.
    for (const h of hashes) {
      const users = this.#gpu.get(h);
      if (users === undefined) continue;
      if (users === 0) {
        this.#evictable.delete(h);
        this.#pinned++;
      }
      this.#gpu.set(h, users + 1);
    }
    for (const h of hashes) {
      if (this.#gpu.has(h)) continue;
      this.#offload.delete(h);
      this.#makeRoom(1);
      this.#gpu.set(h, 1);
      this.#pinned++;
    }
  }

  /** Release blocks pinned by {@linkcode pin}, tail first, so the head is most recently used. */
  unpin(hashes: readonly number[]): void {
    for (let i = hashes.length - 1; i >= 0; i--) {
      const h = hashes[i];
      const users = this.#gpu.get(h);
      if (!users) {
        throw new RangeError(`Cannot unpin block ${h}: it is not pinned`);
      }
      this.#gpu.set(h, users - 1);
      if (users === 1) {
        this.#evictable.add(h);
        this.#pinned--;
      }
    }
  }

  /**
   * Cache blocks without pinning them (a finished sequence's generated
   * blocks), tail first; blocks already cached are only refreshed.
   */
  insert(hashes: readonly number[]): void {
    for (let i = hashes.length - 1; i >= 0; i--) {
      const h = hashes[i];
      const users = this.#gpu.get(h);
      if (users === undefined) {
        this.#offload.delete(h);
        this.#makeRoom(1);
        this.#gpu.set(h, 0);
        this.#evictable.add(h);
      } else if (users === 0) {
        this.#evictable.delete(h);
        this.#evictable.add(h);
      }
    }
  }

  /** Drop every cached block of both tiers; throws a RangeError while any is pinned or reserved. */
  clear(): void {
    if (this.gpuPinned > 0) {
      throw new RangeError(
        `Cannot clear the cache: ${this.gpuPinned} GPU slots are in use`,
      );
    }
    this.#gpu.clear();
    this.#evictable.clear();
    this.#offload.clear();
  }

  /** Reserve GPU slots for tokens that are not hashed blocks yet; evicts as needed. */
  reserve(slots: number): void {
    this.#makeRoom(slots);
    this.#reserved += slots;
  }

  /** Give back slots taken by {@linkcode reserve}. */
  unreserve(slots: number): void {
    if (slots > this.#reserved) {
      throw new RangeError(
        `Cannot unreserve ${slots} slots: only ${this.#reserved} reserved`,
      );
    }
    this.#reserved -= slots;
  }

  /**
   * Evict up to `count` least recently used unpinned GPU blocks to the
   * offload tier (dropping its least recently used blocks when full, or the
   * evicted blocks themselves when it is disabled). Returns how many left GPU.
   */
  evict(count: number): number {
    let evicted = 0;
    while (evicted < count) {
      const h = this.#evictableCursor.oldest();
      if (h === undefined) break;
      this.#evictable.delete(h);
      this.#gpu.delete(h);
      evicted++;
      if (this.offloadCapacity === 0) continue;
      if (this.#offload.size >= this.offloadCapacity) {
        this.#offload.delete(this.#offloadCursor.oldest()!);
      }
      this.#offload.add(h);
    }
    return evicted;
  }

  #makeRoom(slots: number): void {
    const over = this.gpuUsed + slots - this.gpuCapacity;
    if (over > 0 && this.evict(over) < over) {
      throw new RangeError(
        `Cannot place ${slots} blocks in the GPU tier: ${this.gpuPinned} of ${this.gpuCapacity} are in use`,
      );
    }
  }
}

/**
 * The oldest entry of a set whose entries are only ever taken from the front
 * by this cursor (or deleted, or moved to the end, anywhere): one live
 * iterator kept across calls, so each call costs O(1) amortized.
 */
class OldestCursor {
  #set: Set<number>;
  #iterator: Iterator<number> | undefined;
  constructor(set: Set<number>) {
    this.#set = set;
  }
  /** The oldest entry (left in the set: the caller deletes it); undefined when empty. */
  oldest(): number | undefined {
    let next = this.#iterator?.next();
    if (next === undefined || next.done) {
      this.#iterator = this.#set.values();
      next = this.#iterator.next();
    }
    if (next.done) {
      this.#iterator = undefined;
      return undefined;
    }
    return next.value;
  }
}
