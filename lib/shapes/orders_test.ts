import { deepStrictEqual, throws } from "node:assert/strict";
import { interleave, randomOrder, shuffled, tile } from "./orders.ts";
import { numberedQuestions, repeatedWordContexts } from "./prompts.ts";

function take<T>(it: Iterable<T>, n: number): T[] {
  const out: T[] = [];
  for (const x of it) {
    out.push(x);
    if (out.length === n) break;
  }
  return out;
}

Deno.test("tile is round-robin, interleave repeats in place", () => {
  deepStrictEqual(take(tile([1, 2, 3]), 7), [1, 2, 3, 1, 2, 3, 1]);
  deepStrictEqual([...tile([1, 2], { rounds: 2 })], [1, 2, 1, 2]);
  deepStrictEqual([...interleave([1, 2, 3], 2, { rounds: 1 })], [
    1,
    1,
    2,
    2,
    3,
    3,
  ]);
  throws(() => take(tile([]), 1), /empty list/);
});

Deno.test("randomOrder and shuffled are reproducible for a seed", () => {
  const a = [...randomOrder([1, 2, 3, 4], { seed: 3, count: 20 })];
  deepStrictEqual([...randomOrder([1, 2, 3, 4], { seed: 3, count: 20 })], a);
  deepStrictEqual(new Set(a).size > 1, true);
  const s = [...shuffled([1, 2, 3, 4, 5], { seed: 9, rounds: 2 })];
  deepStrictEqual(s.slice(0, 5).sort(), [1, 2, 3, 4, 5]);
  deepStrictEqual(s.slice(5).sort(), [1, 2, 3, 4, 5]);
  deepStrictEqual([...shuffled([1, 2, 3, 4, 5], { seed: 9, rounds: 2 })], s);
});

Deno.test("tmesh prompts: numbered contexts of repeated words and numbered questions", () => {
  const [c0, c1] = repeatedWordContexts(2, { tokens: 32000 });
  deepStrictEqual([c0.length, c1.slice(0, 5)], [64001, "1hihi"]);
  deepStrictEqual(
    repeatedWordContexts(2, { tokens: 3, word: "hi", separator: " " }),
    ["0 hi hi hi", "1 hi hi hi"],
  );
  deepStrictEqual(numberedQuestions(2), [
    "0tell me a long story",
    "1tell me a long story",
  ]);
});
