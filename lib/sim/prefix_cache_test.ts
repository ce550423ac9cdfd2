import {
  deepStrictEqual,
  notStrictEqual,
  strictEqual,
  throws,
} from "node:assert/strict";
import { blockHashes, PrefixCache } from "./prefix_cache.ts";

const BS = 4;
const range = (from: number, n: number): number[] =>
  Array.from({ length: n }, (_, i) => from + i);

Deno.test("blockHashes chains: equal hashes only for an equal prefix", () => {
  const a = blockHashes(range(0, 12), BS);
  strictEqual(a.length, 3);
  // Same third block, different first block: every hash differs.
  const b = blockHashes([9, ...range(1, 11)], BS);
  for (let i = 0; i < 3; i++) notStrictEqual(a[i], b[i]);
  // A partial trailing block is not hashed; continuing a chain gives the same hashes.
  deepStrictEqual(blockHashes(range(0, 14), BS), a);
  deepStrictEqual(blockHashes(range(4, 8), BS, { prev: a[0] }), a.slice(1));
  // A block equal in content but at another position hashes differently.
  notStrictEqual(blockHashes(range(4, 4), BS)[0], a[1]);
  for (const h of a) strictEqual(Number.isSafeInteger(h) && h >= 0, true);
});

Deno.test("exact reuse hits every block; a partial shared prefix hits only up to the first difference", () => {
  const cache = new PrefixCache({ gpuBlocks: 16, offloadBlocks: 0 });
  const prompt = blockHashes(range(0, 16), BS);
  deepStrictEqual(cache.lookup(prompt), { gpuBlocks: 0, offloadBlocks: 0 });
  cache.pin(prompt);
  cache.unpin(prompt);
  deepStrictEqual(cache.lookup(prompt), { gpuBlocks: 4, offloadBlocks: 0 });
  // Shares the first 9 tokens: 2 full blocks.
  const other = blockHashes([...range(0, 9), 99, ...range(10, 6)], BS);
  deepStrictEqual(cache.lookup(other), { gpuBlocks: 2, offloadBlocks: 0 });
  // The lookup limit caps the hit (the last prompt token is always computed).
  deepStrictEqual(cache.lookup(prompt, 3), { gpuBlocks: 3, offloadBlocks: 0 });
  // A block cached alone, without its prefix, does not hit.
  const suffixOnly = [prompt[1]];
  deepStrictEqual(cache.lookup([12345, ...suffixOnly]), {
    gpuBlocks: 0,
    offloadBlocks: 0,
  });
});

Deno.test("eviction: LRU from GPU to offload, then dropped; a hit in offload moves back to GPU", () => {
  const cache = new PrefixCache({ gpuBlocks: 4, offloadBlocks: 4 });
  const a = blockHashes(range(0, 8), BS); // 2 blocks
  const b = blockHashes(range(100, 8), BS);
  const c = blockHashes(range(200, 8), BS);
  const d = blockHashes(range(300, 8), BS);
  for (const p of [a, b]) {
    cache.pin(p);
    cache.unpin(p);
  }
  strictEqual(cache.gpuUsed, 4);
  // c needs 2 blocks: a (least recently used) goes to offload, tail first.
  cache.pin(c);
  cache.unpin(c);
  deepStrictEqual(a.map((h) => cache.tierOf(h)), ["offload", "offload"]);
  deepStrictEqual(b.map((h) => cache.tierOf(h)), ["gpu", "gpu"]);
  deepStrictEqual(cache.lookup(a), { gpuBlocks: 0, offloadBlocks: 2 });
  // d evicts b to offload: offload holds a and b (4 blocks, full).
  cache.pin(d);
  cache.unpin(d);
  strictEqual(cache.offloadUsed, 4);
  // Using a again loads it back to GPU (leaving the offload tier) and
  // evicts c to offload.
  cache.pin(a);
  cache.unpin(a);
  deepStrictEqual(a.map((h) => cache.tierOf(h)), ["gpu", "gpu"]);
  deepStrictEqual(c.map((h) => cache.tierOf(h)), ["offload", "offload"]);
  deepStrictEqual(b.map((h) => cache.tierOf(h)), ["offload", "offload"]);
  strictEqual(cache.offloadUsed, 4);
  // e evicts d (GPU's least recently used) into a full offload tier, which
  // drops its own least recently used blocks: b's.
  const e = blockHashes(range(400, 8), BS);
  cache.pin(e);
  cache.unpin(e);
  deepStrictEqual(d.map((h) => cache.tierOf(h)), ["offload", "offload"]);
  deepStrictEqual(b.map((h) => cache.tierOf(h)), [undefined, undefined]);
  deepStrictEqual(c.map((h) => cache.tierOf(h)), ["offload", "offload"]);
  strictEqual(cache.offloadUsed, 4);
});

Deno.test("unpinning releases the tail first, so a prompt's head outlives its tail", () => {
  const cache = new PrefixCache({ gpuBlocks: 3, offloadBlocks: 0 });
  const p = blockHashes(range(0, 12), BS); // 3 blocks, fills GPU
  cache.pin(p);
  cache.unpin(p);
  cache.reserve(1); // evicts one block: the tail
  deepStrictEqual(p.map((h) => cache.tierOf(h)), ["gpu", "gpu", undefined]);
  deepStrictEqual(cache.lookup(p), { gpuBlocks: 2, offloadBlocks: 0 });
  cache.unreserve(1);
});

Deno.test("offload disabled: evicted blocks are dropped", () => {
  const cache = new PrefixCache({ gpuBlocks: 2, offloadBlocks: 0 });
  const a = blockHashes(range(0, 8), BS);
  const b = blockHashes(range(100, 8), BS);
  cache.pin(a);
  cache.unpin(a);
  cache.pin(b);
  cache.unpin(b);
  deepStrictEqual(cache.lookup(a), { gpuBlocks: 0, offloadBlocks: 0 });
  strictEqual(cache.offloadUsed, 0);
  deepStrictEqual(cache.lookup(b), { gpuBlocks: 2, offloadBlocks: 0 });
});

Deno.test("pinned blocks are never evicted; shared pinned blocks cost nothing twice", () => {
  const cache = new PrefixCache({ gpuBlocks: 3, offloadBlocks: 8 });
  const a = blockHashes(range(0, 8), BS);
  cache.pin(a);
  strictEqual(cache.pinCost(a), 0);
  strictEqual(cache.pinCost(blockHashes(range(0, 12), BS), 1), 2);
  cache.reserve(1);
  strictEqual(cache.gpuPinned, 3);
  throws(
    () => cache.reserve(1),
    /Cannot place 1 blocks in the GPU tier: 3 of 3 are in use/,
  );
  deepStrictEqual(a.map((h) => cache.tierOf(h)), ["gpu", "gpu"]);
  throws(() => cache.unpin(blockHashes(range(50, 4), BS)), /not pinned/);
  throws(
    () => new PrefixCache({ gpuBlocks: -1, offloadBlocks: 0 }),
    /gpuBlocks must be an integer >= 0/,
  );
});
