/**
 * The sessions of `kvbench benchmark`: context `i` in tile order plus a
 * random question, one request each. A thin composition of the shapes
 * library: {@linkcode repeatedWordContexts}, {@linkcode numberedQuestions},
 * {@linkcode tile} and {@linkcode singleRequest}.
 *
 * @module
 */
import { seededRandom } from "../../lib/rng.ts";
import type { RunPart } from "../../lib/run/runner.ts";
import type { Session } from "../../lib/types.ts";
import { tile } from "../../lib/shapes/orders.ts";
import {
  numberedQuestions,
  repeatedWordContexts,
} from "../../lib/shapes/prompts.ts";
import { singleRequest } from "../../lib/shapes/sessions.ts";
import type { BenchmarkSizing } from "./sizing.ts";
import { saltTokens } from "./context_salt.ts";

/**
 * Tokens of a prompt beyond the context's words, for the prompt-length
 * check: the context's index and the question (`"17tell me a long story"`),
 * 7 or 8 with Qwen3 and o200k tokenizers (32 007 for context 0 + question 5,
 * as measured in the tmesh-cli reference).
 */
const QUESTION_TOKENS = 7;

/** Options of {@linkcode benchmarkWorkload}. */
export interface BenchmarkWorkloadOptions {
  /** Seed of the question draw (default: random). */
  seed?: number;
  /** Send `ignore_eos` so every request generates exactly the output length. */
  ignoreEos?: boolean;
  /** `/v1/completions` (default, as tmesh-cli) or `/v1/chat/completions` (the prompt as one user message). */
  api?: "completions" | "chat";
  /** The first this many requests are a warm-up: sent and recorded, left out of the figures. */
  warmupRequests?: number;
  /**
   * Only this part of the sequence (a worker's, a shard's): the requests
   * `index`, `index + count`, … of the whole tile order, with the same
   * questions the whole run would draw.
   */
  part?: RunPart;
  /**
   * The run's context salt (`--context-salt`): put before every context
   * (`"123456-0hihi…"`), counted in the expected prompt length and tagged
   * on every record (`salt`); none: tmesh-cli's texts.
   */
  contextSalt?: string;
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
 * import { testRecord } from "../../lib/testing/records.ts";
 * import type { RequestSpec, Session } from "../../lib/types.ts";
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
 *     startedAt: 0,
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
  const salt = options.contextSalt;
  const contexts = repeatedWordContexts(sizing.contexts, {
    tokens: sizing.inputLength,
    salt,
  });
  const questions = numberedQuestions(sizing.questions);
  const rng = seededRandom(options.seed);
  const warmup = options.warmupRequests ?? 0;
  const part = options.part;
  let index = 0;
  for (const context of tile(contexts)) {
    const q = rng.int(questions.length);
    if (part !== undefined && index % part.count !== part.index) {
      index++;
      continue;
    }
    yield singleRequest({
      prompt: context + questions[q],
      maxTokens: sizing.outputLength,
      ignoreEos: options.ignoreEos,
      api: options.api,
      // The context's words plus its index, and the question's (≈ 1 token
      // per "hi"), and the salt's digits and "-".
      expectedPromptTokens: sizing.inputLength + QUESTION_TOKENS +
        saltTokens(salt),
      warmup: index < warmup || undefined,
      tags: {
        context: index % sizing.contexts,
        question: q,
        index,
        ...(salt === undefined ? {} : { salt }),
      },
    });
    index++;
  }
}
