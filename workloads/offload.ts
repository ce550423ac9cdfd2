/**
 * The KV-offload stress workload of `kvbench benchmark` (tmesh-cli's
 * `benchmark`): long contexts sized to fill the offload tier, visited in
 * tile order so every reuse must come from the offload tier, each with a
 * random short question, under a closed loop of `contexts / 3` requests.
 *
 * @module
 */
import { closedLoop } from "../lib/load.ts";
import type { EndpointConfig } from "../lib/request.ts";
import { seededRandom } from "../lib/rng.ts";
import { run, type RunSummary } from "../lib/runner.ts";
import {
  renderTmeshBlock,
  TmeshMetrics,
  type TmeshSnapshot,
} from "../lib/tmesh_metrics.ts";
import type { RequestErrorKind, RequestRecord, Session } from "../lib/types.ts";
import { tile } from "./orders.ts";
import { numberedQuestions, repeatedWordContexts } from "./prompts.ts";
import { singleRequest } from "./sessions.ts";

/** The sized workload: tmesh-cli's "Workload Specifications". */
export interface OffloadSizing {
  /** Model name. */
  model: string;
  /** Offload capacity, GiB. */
  offloadSizeGib: number;
  /** KV bytes per token. */
  bytesPerToken: number;
  /** Number of contexts (= questions). */
  contexts: number;
  /** Size of the shared question pool. */
  questions: number;
  /** Requests in flight at most. */
  maxInFlight: number;
  /** Tokens per context. */
  inputLength: number;
  /** `max_tokens` per request. */
  outputLength: number;
}

/**
 * Size the workload as tmesh-cli: contexts = floor(0.9 × offload /
 * (bytes per token × input length / 1024³)), questions = contexts, in flight
 * = floor(contexts / 3) but at least 1 (tmesh-cli hung below 3 contexts).
 *
 * @example Usage
 * ```ts
 * import { sizeOffloadWorkload } from "./offload.ts";
 * const s = sizeOffloadWorkload("Qwen/Qwen3-30B-A3B-Instruct-2507", {
 *   offloadSizeGib: 100,
 *   bytesPerToken: 98304,
 * });
 * [s.contexts, s.questions, s.maxInFlight]; // [30, 30, 10]
 * ```
 */
export function sizeOffloadWorkload(
  model: string,
  options: {
    offloadSizeGib: number;
    bytesPerToken: number;
    inputLength?: number;
    outputLength?: number;
    fillRatio?: number;
  },
): OffloadSizing {
  const {
    offloadSizeGib,
    bytesPerToken,
    inputLength = 32000,
    outputLength = 100,
    fillRatio = 0.9,
  } = options;
  if (!(offloadSizeGib > 0)) {
    throw new RangeError(
      `Cannot size the workload: offload size ${offloadSizeGib} GiB must be positive`,
    );
  }
  if (!(bytesPerToken > 0)) {
    throw new RangeError(
      `Cannot size the workload: bytes per token ${bytesPerToken} must be positive`,
    );
  }
  const perContextGib = bytesPerToken * inputLength / 1024 ** 3;
  const contexts = Math.floor((fillRatio * offloadSizeGib) / perContextGib);
  if (contexts < 1) {
    throw new RangeError(
      `Cannot size the workload: one ${inputLength}-token context (${
        perContextGib.toFixed(2)
      } GiB) does not fit in ${fillRatio} × ${offloadSizeGib} GiB`,
    );
  }
  return {
    model,
    offloadSizeGib,
    bytesPerToken,
    contexts,
    questions: contexts,
    maxInFlight: Math.max(1, Math.floor(contexts / 3)),
    inputLength,
    outputLength,
  };
}

/**
 * tmesh-cli's "Workload Specifications" block (without the NOTE banner).
 *
 * @example Usage
 * ```ts
 * import { renderWorkloadSpec, sizeOffloadWorkload } from "./offload.ts";
 * renderWorkloadSpec(sizeOffloadWorkload("m", { offloadSizeGib: 100, bytesPerToken: 98304 }));
 * ```
 */
export function renderWorkloadSpec(sizing: OffloadSizing): string {
  return [
    "Workload Specifications:",
    `Model: ${sizing.model}`,
    `Number of Contexts: ${sizing.contexts}`,
    `Number of Questions per Context: ${sizing.questions}`,
    `Max Inflight Requests (Load-Balancing): ${sizing.maxInFlight}`,
    `Input Length: ${sizing.inputLength}`,
    `Output Length: ${sizing.outputLength}`,
    "",
  ].join("\n");
}

/**
 * The endless stream of sessions: context `i` in tile order plus a question
 * drawn uniformly with replacement, one request each.
 *
 * @example Usage
 * ```ts
 * import { offloadWorkload, sizeOffloadWorkload } from "./offload.ts";
 * const sizing = sizeOffloadWorkload("m", { offloadSizeGib: 100, bytesPerToken: 98304 });
 * const sessions = offloadWorkload(sizing, { seed: 1 });
 * ```
 */
export function* offloadWorkload(
  sizing: OffloadSizing,
  options: { seed?: number; ignoreEos?: boolean } = {},
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

/** Options of {@linkcode runOffloadBenchmark}. */
export interface OffloadRunOptions {
  /** Where requests go. */
  endpoint: EndpointConfig;
  /** Seed of the question draw. */
  seed?: number;
  /** Send `ignore_eos` so every request generates exactly the output length. */
  ignoreEos?: boolean;
  /** Stop after this many ms (default: run until `signal`). */
  durationMs?: number;
  /** Stop (Ctrl+C, SIGTERM). */
  signal?: AbortSignal;
  /** Report period (default 5000 ms). */
  intervalMs?: number;
  /** Where report blocks go (default: nowhere). */
  write?: (text: string) => void;
  /** Where one-time warnings go (a failure kind's first occurrence, the characters fallback). */
  warn?: (text: string) => void;
  /** Called with each record as it completes. */
  onRecord?: (record: RequestRecord) => void;
  /** `performance.now()` the elapsed time counts from (default: now). */
  startedAt?: number;
}

/** What a benchmark run measured. */
export interface OffloadResult {
  /** The final snapshot (whole run, and the interval since the last report). */
  final: TmeshSnapshot;
  /** Runner counters. */
  summary: RunSummary;
}

/**
 * Run the workload, printing a report block every interval in which
 * something finished, until the duration or the signal; then resolve with
 * the final snapshot (the caller prints it).
 *
 * @example Usage
 * ```ts ignore
 * import { runOffloadBenchmark, sizeOffloadWorkload } from "./offload.ts";
 * const sizing = sizeOffloadWorkload("m", { offloadSizeGib: 100, bytesPerToken: 98304 });
 * const result = await runOffloadBenchmark(sizing, {
 *   endpoint: { baseUrl: "http://localhost:8000/v1/", model: "m" },
 *   durationMs: 60_000,
 *   write: (text) => console.log(text),
 * });
 * ```
 */
export async function runOffloadBenchmark(
  sizing: OffloadSizing,
  options: OffloadRunOptions,
): Promise<OffloadResult> {
  const startedAt = options.startedAt ?? performance.now();
  const intervalMs = options.intervalMs ?? 5000;
  const intervalSeconds = intervalMs / 1000;
  const metrics = new TmeshMetrics();
  const write = options.write ?? (() => {});
  const warn = options.warn ?? (() => {});
  const warned = new Set<RequestErrorKind | "chars">();
  const elapsed = (): number => (performance.now() - startedAt) / 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = (): void => {
    if (metrics.pending) {
      write(renderTmeshBlock(metrics.report(elapsed()), { intervalSeconds }));
    }
    timer = setTimeout(tick, intervalMs);
  };
  timer = setTimeout(tick, intervalMs);
  try {
    const summary = await run(offloadWorkload(sizing, options), {
      endpoint: options.endpoint,
      load: closedLoop(sizing.maxInFlight),
      stop: { durationMs: options.durationMs, signal: options.signal },
      startedAt,
      onRecord: (record) => {
        options.onRecord?.(record);
        metrics.add(record);
        const kind = record.error?.kind;
        if (kind !== undefined && kind !== "aborted" && !warned.has(kind)) {
          warned.add(kind);
          warn(
            `[WARN] request failed (${kind}): ${
              record.error!.message
            } (further ${kind} failures are counted, not shown)\n`,
          );
        }
        if (
          record.ok && record.completionTokens === undefined &&
          !warned.has("chars")
        ) {
          warned.add("chars");
          warn(
            "[WARN] the server sent no usage: throughput and ITL count characters, not tokens (as tmesh-cli did)\n",
          );
        }
      },
    });
    return { final: metrics.report(elapsed()), summary };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A JSON summary of a benchmark run (for `--output`): the sizing, the final
 * figures in full precision, failures by kind, and how the run ended.
 *
 * @example Usage
 * ```ts ignore
 * import { offloadSummaryJson } from "./offload.ts";
 * await Deno.writeTextFile("summary.json", JSON.stringify(offloadSummaryJson(sizing, result, {}), null, 2));
 * ```
 */
export function offloadSummaryJson(
  sizing: OffloadSizing,
  result: OffloadResult,
  params: Record<string, unknown>,
): Record<string, unknown> {
  const { final, summary } = result;
  const mean = (
    sum: number,
    n: number,
  ): number | null => (n > 0 ? sum / n : null);
  const g = final.global;
  const safe = Object.fromEntries(
    Object.entries(params).filter(([k]) => !/api.?key/i.test(k)),
  );
  return {
    command: "benchmark",
    params: safe,
    workload: sizing,
    elapsed_s: final.elapsed,
    stop_reason: summary.stopReason,
    requests: {
      completed: g.requests,
      failed: g.failed,
      aborted: summary.requests.aborted,
      failures_by_kind: final.failures,
    },
    qps: final.elapsed > 0 ? g.requests / final.elapsed : null,
    units: final.chars ? "characters" : "tokens",
    mean_ttft_s: mean(g.ttftSum, g.ttftN),
    mean_itl_s: mean(g.itlSum, g.itlN),
    mean_prefill_throughput: mean(g.prefillSum, g.prefillN),
    mean_decode_throughput: mean(g.decodeSum, g.decodeN),
    cache_hit_rate: g.cachePromptTokens > 0
      ? g.cachedTokens / g.cachePromptTokens
      : null,
    // Token sums over the requests whose usage reported cached_tokens.
    cache_report_prompt_tokens: g.cachePromptTokens,
    cache_report_cached_tokens: g.cachedTokens,
  };
}
