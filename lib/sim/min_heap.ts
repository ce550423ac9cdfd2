/**
 * A binary min-heap keyed by a number, for the simulator's event queue (the
 * next due event among hundreds of sequences in O(log n)).
 *
 * @module
 */

/**
 * Min-heap of items ordered by `key(item)`; ties leave in insertion order
 * (a sequence number breaks them, so the simulation is deterministic).
 *
 * @example Usage
 * ```ts
 * import { MinHeap } from "./min_heap.ts";
 * import assert from "node:assert/strict";
 *
 * const heap = new MinHeap<{ at: number }>((e) => e.at);
 * heap.push({ at: 5 });
 * heap.push({ at: 2 });
 * assert.equal(heap.pop()?.at, 2);
 * assert.equal(heap.pop()?.at, 5);
 * ```
 */
export class MinHeap<T> {
  #items: { item: T; key: number; seq: number }[] = [];
  #seq = 0;
  #key: (item: T) => number;

  /** Make an empty heap ordered by `key`, read once when an item is pushed. */
  constructor(key: (item: T) => number) {
    this.#key = key;
  }

  /** Number of items. */
  get size(): number {
    return this.#items.length;
  }

  /** The smallest item, without removing it. */
  peek(): T | undefined {
    return this.#items[0]?.item;
  }

  /** Add an item. */
  push(item: T): void {
    const a = this.#items;
    a.push({ item, key: this.#key(item), seq: this.#seq++ });
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(i, parent)) break;
      [a[i], a[parent]] = [a[parent], a[i]];
      i = parent;
    }
  }

  /** Remove and return the smallest item. */
  pop(): T | undefined {
    const a = this.#items;
    if (a.length === 0) return undefined;
    const top = a[0].item;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && this.#less(l, m)) m = l;
        if (r < a.length && this.#less(r, m)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }

  #less(i: number, j: number): boolean {
    const a = this.#items[i], b = this.#items[j];
    return a.key < b.key || (a.key === b.key && a.seq < b.seq);
  }
}
