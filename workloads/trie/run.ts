/**
 * Running `kvbench trie`: trace sessions cycled in file order under a closed
 * or open loop until a deadline that aborts everything in flight.
 *
 * @module
 */
import {
  closedLoop,
  constantRate,
  type LoadPolicy,
  openLoop,
} from "../../lib/run/load.ts";
import type { EndpointConfig } from "../../lib/openai/request.ts";
import type { Slos } from "../../lib/metrics/distributions.ts";
import { partCount, partLoad } from "../../lib/run/part.ts";
import { type RecordSource, run, type RunPart } from "../../lib/run/runner.ts";
import type { Synthesizer } from "../../lib/text/synth.ts";
import type { RequestRecord, RequestSpec, Session } from "../../lib/types.ts";
import { TrieResult } from "./metrics.ts";
import { describeFailure } from "../../lib/run/fail_fast.ts";
import { type TraceFailure, TrieAccounting } from "./accounting.ts";
import { trieWorkload } from "./session.ts";
import { type OnSent, watchSends } from "./verify.ts";
import type { TraceRow } from "./trace_file.ts";

/** Options of {@linkcode runTrie}. */
export interface TrieRunOptions {
  /** Where requests go. */
  endpoint: EndpointConfig;
  /** Makes prompt text of exact token lengths. */
  synthesizer: Synthesizer;
  /** Closed loop: traces in flight. Exactly one of `concurrency` and `arrivalRate`. */
  concurrency?: number;
  /** Open loop: new traces per second, evenly spaced (trie's `arrival_rate`). */
  arrivalRate?: number;
  /**
   * Any load policy (Poisson or gamma arrivals, a ramp, …), instead of
   * `concurrency` and `arrivalRate`.
   */
  load?: LoadPolicy;
  /** Admit at most this many traces, then let them finish (default: no limit). */
  maxTraces?: number;
  /** Deadline in seconds: admit nothing new and abort everything in flight (default 300). */
  duration?: number;
  /** Stream the responses. */
  stream?: boolean;
  /** `completions` (default, as trie) or `chat`. */
  api?: "completions" | "chat";
  /** Send `ignore_eos` (default true, as trie). */
  ignoreEos?: boolean;
  /** The routing header carrying the trace id (default `X-SMG-Routing-Key`); null sends none. */
  routingHeader?: string | null;
  /** SLOs the distributions count goodput against. */
  slos?: Slos;
  /** Stops the run early (Ctrl+C); the partial result is returned. */
  signal?: AbortSignal;
  /** `performance.now()` of the benchmark start (default: now). */
  startedAt?: number;
  /**
   * The first `sharedPrefixTokens` tokens of every trace's prompt are the
   * same text (a system prompt and tools common to all traces), so hit rates
   * read as a deployment sees them (default 0: each trace's own text). Every
   * row's `input_prompt_length − 1` must hold it.
   */
  sharedPrefixTokens?: number;
  /**
   * Synthesizes the shared prefix (default: `synthesizer`); give every part
   * of a run one seeded alike, so they all send the same prefix.
   */
  prefixSynthesizer?: Synthesizer;
  /** Called when a request fails. */
  onFailure?: (failure: TraceFailure) => void;
  /** Called (at most once) when a streamed trace carried no usage. */
  onUsageMissing?: () => void;
  /** Called with every record as it completes. */
  onRecord?: (record: RequestRecord) => void;
  /** Called when a request goes out. */
  onSend?: () => void;
  /** Called with every request sent and its record, in this process (`verify=`). */
  onSent?: (spec: RequestSpec, record: RequestRecord) => void;
  /** Called after each request with the result so far (for progress displays). */
  onProgress?: (result: TrieResult) => void;
  /**
   * Replay only this part of the traces (a worker, a shard): the traces
   * `index`, `index + count`, … with a `count`-th of the concurrency, of the
   * arrivals and of `maxTraces`, so the parts together are one run.
   */
  part?: RunPart;
  /**
   * Take the records from here instead of sending requests (the parent of
   * worker processes): the accounting and tables are the same.
   */
  source?: RecordSource;
}

/** Options of {@linkcode trieLoad}: exactly one of the two. */
export interface TrieLoadOptions {
  /** Closed loop: traces in flight. */
  concurrency?: number | null;
  /** Open loop: new traces per second. */
  arrivalRate?: number | null;
}

/**
 * The load policy of a trie run: exactly one of a concurrency (closed loop)
 * and an arrival rate (open loop, evenly spaced, first arrival at 0).
 *
 * @example Usage
 * ```ts
 * import { trieLoad } from "./run.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(trieLoad({ concurrency: 8 }), { kind: "closed", concurrency: 8 });
 * assert.equal(trieLoad({ arrivalRate: 2 }).kind, "open");
 * assert.throws(() => trieLoad({ concurrency: 8, arrivalRate: 2 }), TypeError);
 * ```
 */
export function trieLoad(
  options: TrieLoadOptions,
): LoadPolicy {
  const { concurrency, arrivalRate } = options;
  if ((concurrency ?? null) === null === ((arrivalRate ?? null) === null)) {
    throw new TypeError("specify exactly one of concurrency or arrival_rate");
  }
  if (concurrency !== undefined && concurrency !== null) {
    return closedLoop(concurrency);
  }
  return openLoop(constantRate(arrivalRate!), {
    label: `arrival_rate=${arrivalRate}`,
  });
}

/**
 * Replay traces until the deadline and resolve with the accounting; the
 * wall time is taken after the aborted requests settled.
 *
 * @example Usage
 * ```ts
 * import { runTrie } from "./run.ts";
 * import { createSynthesizer } from "../../lib/text/synth.ts";
 * import { startSimulator } from "../../lib/sim/server.ts";
 * import { qwen3Tokenizer } from "../../lib/testing/tokenizers.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * const rows = [{
 *   num_turns: 1, input_prompt_length: 64, assistant_response_length: [16],
 *   tool_call_output_length: [8], tool_call_latency: [0.01], final_assistant_response_length: 32,
 * }];
 * const result = await runTrie(rows, {
 *   endpoint: { baseUrl: sim.url, model: sim.model },
 *   synthesizer: createSynthesizer(qwen3Tokenizer(), { seed: 1 }),
 *   concurrency: 2,
 *   maxTraces: 4, // the run ends once 4 traces are done, long before the deadline
 *   duration: 10,
 *   stream: true,
 * });
 * assert.equal(result.completedTraces, 4);
 * assert.equal(result.failedTraces, 0);
 * assert.equal(result.completedCompletionTokens, 4 * (16 + 32));
 * assert.equal(result.ttfts.length, 4); // streamed: one TTFT per trace
 * ```
 */
export async function runTrie(
  rows: readonly TraceRow[],
  options: TrieRunOptions,
): Promise<TrieResult> {
  if (
    options.load !== undefined &&
    (options.concurrency ?? options.arrivalRate ?? null) !== null
  ) {
    throw new TypeError(
      "specify load, or one of concurrency and arrival_rate, not both",
    );
  }
  const part = options.part;
  const whole = options.load ?? trieLoad(options);
  const load = part === undefined ? whole : partLoad(whole, part);
  const duration = options.duration ?? 300;
  if (!(duration > 0)) {
    throw new RangeError(
      `Cannot run for duration ${duration}: it must be positive`,
    );
  }
  const sharedPrefix = sharedPrefixOf(rows, options);
  const startedAt = options.startedAt ?? performance.now();
  const stream = options.stream ?? false;
  const result = new TrieResult({ stream, startedAt, slos: options.slos });
  let usageWarned = false;
  // The accounting reads the records alone, as a recomputation from a
  // records file does.
  const accounting = new TrieAccounting(rows, {
    result,
    onFailure: options.onFailure,
    onUsageMissing: () => {
      if (!usageWarned) options.onUsageMissing?.();
      usageWarned = true;
    },
  });
  const onRecord = (record: RequestRecord): void => {
    options.onRecord?.(record);
    accounting.add(record);
    result.distributions.add(record);
    options.onProgress?.(result);
  };
  const onSend = options.onSend ?? (() => {});
  const summary = options.source !== undefined
    ? await options.source({ onRecord, onSend })
    : await run(
      watched(
        trieWorkload(rows, {
          synthesizer: options.synthesizer,
          stream,
          api: options.api,
          ignoreEos: options.ignoreEos,
          routingHeader: options.routingHeader,
          part,
          sharedPrefix,
        }),
        options.onSent,
      ),
      {
        endpoint: options.endpoint,
        load,
        startedAt,
        part,
        stop: {
          durationMs: duration * 1000,
          maxSessions: options.maxTraces === undefined || part === undefined
            ? options.maxTraces
            : partCount(options.maxTraces, part),
          signal: options.signal,
        },
        onSend,
        onRecord,
        warn: false, // failures are warned about by onFailure
      },
    );
  result.wallTime = summary.wallTimeMs / 1000;
  result.stopReason = summary.stopReason;
  result.failure = describeFailure(summary);
  return result;
}

/** The sessions, watched by `onSent` when given. */
function watched(
  sessions: Iterable<Session>,
  onSent?: OnSent,
): Iterable<Session> {
  return onSent === undefined ? sessions : watchSends(sessions, onSent);
}

/** The shared prefix of every trace, synthesized once per run (per part). */
function sharedPrefixOf(
  rows: readonly TraceRow[],
  options: TrieRunOptions,
): { text: string; tokens: number } | undefined {
  const tokens = options.sharedPrefixTokens ?? 0;
  if (!Number.isInteger(tokens) || tokens < 0) {
    throw new RangeError(
      `Cannot use shared_prefix_tokens=${tokens}: it must be an integer >= 0`,
    );
  }
  if (tokens === 0) return undefined;
  const short = rows.findIndex((r) => r.input_prompt_length - 1 < tokens);
  if (short >= 0) {
    throw new RangeError(
      `Cannot use shared_prefix_tokens=${tokens}: row ${
        short + 1
      } has input_prompt_length ${
        rows[short].input_prompt_length
      } (the prefix must fit in input_prompt_length - 1)`,
    );
  }
  const synthesizer = options.prefixSynthesizer ?? options.synthesizer;
  return { text: synthesizer.text(tokens), tokens };
}
