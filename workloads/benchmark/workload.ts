/**
 * The sessions of `kvbench benchmark`: context `i` in tile order plus a
 * random question, one request each. A thin composition of the shapes
 * library: {@linkcode repeatedWordContexts}, {@linkcode numberedQuestions},
 * {@linkcode tile} and {@linkcode singleRequest}.
 *
 * @module
 */
import { seededRandom } from "../../engine/rng.ts";
import type { Session } from "../../engine/types.ts";
import { tile } from "../../shapes/orders.ts";
import {
  numberedQuestions,
  repeatedWordContexts,
} from "../../shapes/prompts.ts";
import { singleRequest } from "../../shapes/sessions.ts";
import type { BenchmarkSizing } from "./sizing.ts";

/** Options of {@linkcode benchmarkWorkload}. */
export interface BenchmarkWorkloadOptions {
  /** Seed of the question draw (default: random). */
  seed?: number;
  /** Send `ignore_eos` so every request generates exactly the output length. */
  ignoreEos?: boolean;
}

/**
 * The endless stream of sessions: context `i` in tile order plus a question
 * drawn uniformly with replacement, one request each, tagged with the
 * context and question indices.
 *
 * @example The first 31 requests: 30 contexts in tile order, then context 0 again
 * ```ts
 * import { benchmarkWorkload } from "./workload.ts";
 * import { sizeBenchmark } from "./sizing.ts";
 * import { testRecord } from "../../testing/records.ts";
 * import type { RequestSpec, Session } from "../../engine/types.ts";
 * import assert from "node:assert/strict";
 *
 * const sizing = sizeBenchmark("m", { offloadSizeGib: 100, bytesPerToken: 98304 });
 * const sessions = benchmarkWorkload(sizing, { seed: 1 });
 * const sent: RequestSpec[] = [];
 * for (let i = 0; i < 31; i++) {
 *   const session: Session = sessions.next().value;
 *   await session({
 *     id: i,
 *     signal: new AbortController().signal,
 *     now: () => 0,
 *     sleep: async () => {},
 *     send: async (spec) => (sent.push(spec), testRecord()),
 *   });
 * }
 * assert.deepEqual(sent.slice(28).map((s) => s.tags?.context), [28, 29, 0]);
 * assert.ok(sent[0].prompt.toString().startsWith("0hihi"));
 * ```
 */
export function* benchmarkWorkload(
  sizing: BenchmarkSizing,
  options: BenchmarkWorkloadOptions = {},
): Generator<Session> {
  const contexts = repeatedWordContexts(sizing.contexts, {
    tokens: sizing.inputLength,
  });
  const questions = numberedQuestions(sizing.questions);
  const rng = seededRandom(options.seed);
  let index = 0;
  for (const context of tile(contexts)) {
    const q = rng.int(questions.length);
    yield singleRequest({
      prompt: context + questions[q],
      maxTokens: sizing.outputLength,
      ignoreEos: options.ignoreEos,
      tags: { context: index++ % sizing.contexts, question: q },
    });
  }
}
