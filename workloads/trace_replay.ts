/**
 * The multi-turn agentic trace replay of `kvbench trie` (successor of trie /
 * tokenspeed-trie): each JSONL row becomes a {@linkcode multiTurn} session of
 * `num_turns + 1` requests over a growing prompt of synthesized text and the
 * server's actual answers, with the tool latencies waited between turns;
 * rows are cycled in file order under a closed or open loop until a deadline
 * that aborts everything in flight.
 *
 * @module
 */
import { resolveWorkloadPath } from "../lib/dataset.ts";
import { normalizeEndpoint } from "../lib/endpoint.ts";
import {
  closedLoop,
  constantRate,
  type LoadPolicy,
  openLoop,
} from "../lib/load.ts";
import type { EndpointConfig } from "../lib/request.ts";
import { run } from "../lib/runner.ts";
import { createSynthesizer, type Synthesizer } from "../lib/synth.ts";
import { loadTokenizer } from "../lib/tokenizer.ts";
import {
  TraceAccumulator,
  TraceReplayResult,
  type TraceRow,
} from "../lib/trace_metrics.ts";
import type { RequestRecord, Session } from "../lib/types.ts";
import { loadTraceFile, validateRow } from "./trace_file.ts";
import { tile } from "./orders.ts";
import { multiTurn, type TurnSpec } from "./sessions.ts";

/** Why a trace stopped early, for the `request failed` warning. */
export interface TraceFailure {
  /** The trace (session) id. */
  traceId: number;
  /** Tool-use turns completed before the failing request. */
  turn: number;
  /** The failing request's record. */
  record: RequestRecord;
}

/** Options of {@linkcode traceSession}. */
export interface TraceSessionOptions {
  /** Makes prompt text of exact token lengths. */
  synthesizer: Synthesizer;
  /** Where the trace's accounting goes. */
  result: TraceReplayResult;
  /** Stream the responses (TTFT, TTFAT, decode rate need it). */
  stream?: boolean;
  /** Trace id, sent as `X-SMG-Routing-Key` for session affinity in routers. */
  traceId?: number;
  /** Called when a request fails (not when the run aborts it). */
  onFailure?: (failure: TraceFailure) => void;
  /** Called when a streamed trace succeeded without any usage. */
  onUsageMissing?: () => void;
}

/**
 * One trace as a session: the initial prompt of `input_prompt_length − 1`
 * synthesized tokens (the server adds BOS), then for each turn a request with
 * `max_tokens = assistant_response_length[i]` and `ignore_eos`, the answer
 * appended, `tool_call_latency[i]` waited, `tool_call_output_length[i]`
 * synthesized tokens appended; then the final request. The trace start is
 * taken before any synthesis.
 *
 * @example Usage
 * ```ts ignore
 * import { traceSession } from "./trace_replay.ts";
 * const session = traceSession(row, { synthesizer, result, stream: true });
 * ```
 */
export function traceSession(
  row: TraceRow,
  options: TraceSessionOptions,
): Session {
  const { synthesizer, result } = options;
  const n = row.num_turns;
  const turns: TurnSpec[] = row.assistant_response_length.map((
    maxTokens,
    i,
  ) => ({
    maxTokens,
    waitMs: row.tool_call_latency[i] * 1000,
    append: () => synthesizer.text(row.tool_call_output_length[i]),
  }));
  turns.push({ maxTokens: row.final_assistant_response_length });
  let trace: TraceAccumulator;
  const headers = options.traceId === undefined
    ? undefined
    : { "X-SMG-Routing-Key": String(options.traceId) };
  return multiTurn({
    prompt: () => synthesizer.text(Math.max(row.input_prompt_length - 1, 0)),
    turns,
    request: { ignoreEos: true, stream: options.stream ?? false, headers },
    onStart: () => {
      trace = new TraceAccumulator(performance.now());
    },
    onRecord: (record, turn, ctx) => {
      if (!record.ok) {
        if (record.error?.kind !== "aborted") {
          result.recordFailure();
          options.onFailure?.({ traceId: ctx.id, turn, record });
        }
        return;
      }
      trace.add(record);
      const at = ctx.now() / 1000;
      if (turn < n) {
        result.recordTurn(row, turn, { at });
      } else if (
        !result.recordSuccess(row, trace, { at }).serverMetricsRecorded
      ) {
        options.onUsageMissing?.();
      }
    },
  });
}

/**
 * The endless stream of trace sessions: rows in file order, cycled.
 *
 * @example Usage
 * ```ts ignore
 * import { traceReplayWorkload } from "./trace_replay.ts";
 * const sessions = traceReplayWorkload(rows, { synthesizer, result, stream: true });
 * ```
 */
export function* traceReplayWorkload(
  rows: readonly TraceRow[],
  options: Omit<TraceSessionOptions, "traceId">,
): Generator<Session> {
  let traceId = 0;
  for (const row of tile(rows)) {
    yield traceSession(row, { ...options, traceId: traceId++ });
  }
}

/** Options of {@linkcode runTraceReplay}. */
export interface TraceReplayRunOptions {
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
  /** Stops the run early (Ctrl+C); the partial result is returned. */
  signal?: AbortSignal;
  /** `performance.now()` of the benchmark start (default: now). */
  startedAt?: number;
  /** Called when a request fails. */
  onFailure?: (failure: TraceFailure) => void;
  /** Called (at most once) when a streamed trace carried no usage. */
  onUsageMissing?: () => void;
  /** Called with every record as it completes. */
  onRecord?: (record: RequestRecord) => void;
  /** Called after each request with the result so far (for progress displays). */
  onProgress?: (result: TraceReplayResult) => void;
}

/**
 * The load policy of a trie run: exactly one of a concurrency (closed loop)
 * and an arrival rate (open loop, evenly spaced, first arrival at 0).
 *
 * @example Usage
 * ```ts
 * import { traceLoad } from "./trace_replay.ts";
 * traceLoad({ concurrency: 8 }); // { kind: "closed", concurrency: 8 }
 * ```
 */
export function traceLoad(
  options: { concurrency?: number | null; arrivalRate?: number | null },
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
 * ```ts ignore
 * import { runTraceReplay } from "./trace_replay.ts";
 * const result = await runTraceReplay(rows, {
 *   endpoint: { baseUrl: "http://localhost:8000/v1/", model: "m" },
 *   synthesizer,
 *   concurrency: 8,
 *   duration: 180,
 *   stream: true,
 * });
 * console.log(result.steadyStateRates().completionTokS);
 * ```
 */
export async function runTraceReplay(
  rows: readonly TraceRow[],
  options: TraceReplayRunOptions,
): Promise<TraceReplayResult> {
  if (
    options.load !== undefined &&
    (options.concurrency ?? options.arrivalRate ?? null) !== null
  ) {
    throw new TypeError(
      "specify load, or one of concurrency and arrival_rate, not both",
    );
  }
  const load = options.load ?? traceLoad(options);
  const duration = options.duration ?? 300;
  if (!(duration > 0)) {
    throw new RangeError(
      `Cannot run for duration ${duration}: it must be positive`,
    );
  }
  const startedAt = options.startedAt ?? performance.now();
  const stream = options.stream ?? false;
  const result = new TraceReplayResult({ stream, startedAt });
  let usageWarned = false;
  const summary = await run(
    traceReplayWorkload(rows, {
      synthesizer: options.synthesizer,
      result,
      stream,
      onFailure: options.onFailure,
      onUsageMissing: () => {
        if (!usageWarned) options.onUsageMissing?.();
        usageWarned = true;
      },
    }),
    {
      endpoint: options.endpoint,
      load,
      startedAt,
      stop: {
        durationMs: duration * 1000,
        maxSessions: options.maxTraces,
        signal: options.signal,
      },
      onRecord: (record) => {
        options.onRecord?.(record);
        options.onProgress?.(result);
      },
    },
  );
  result.wallTime = summary.wallTimeMs / 1000;
  return result;
}

/** Options of {@linkcode Client}. */
export interface ClientOptions {
  /** OpenAI-compatible base URL, e.g. `http://localhost:8000/v1`. */
  endpoint: string;
  /** Model name sent in requests (and the tokenizer, unless `tokenizerModel`). */
  model: string;
  /** Tokenizer: a folder with `tokenizer.json`, or a Hub id (default: `model`). */
  tokenizerModel?: string;
  /** Bearer key (default: `$OPENAI_API_KEY`, or none). */
  apiKey?: string;
  /** Seed of the synthesized text. */
  seed?: number;
  /** Retries of a failed request before the trace fails (default 2, as trie). */
  maxRetries?: number;
  /** Total timeout of one request, seconds (default 600). */
  timeout?: number;
}

/** Options of {@linkcode Client.run}. */
export type ClientRunOptions = Omit<
  TraceReplayRunOptions,
  "endpoint" | "synthesizer"
>;

/**
 * trie's Python `Client`, for scripts: set the endpoint once, then run
 * workloads (an alias, a JSONL path, or trace objects).
 *
 * @example Usage
 * ```ts ignore
 * import { Client, renderTrieReport } from "@kvbench/cli";
 * const client = new Client({ endpoint: "http://localhost:8000/v1", model: "Qwen/Qwen3-8B" });
 * const result = await client.run("agentic", { concurrency: 8, duration: 180, stream: true });
 * console.log(renderTrieReport(result, { numGpus: 1 }));
 * ```
 */
export class Client {
  /** The options it was made with. */
  readonly options: Readonly<ClientOptions>;
  #synthesizer?: Promise<Synthesizer>;

  /** Make a client; nothing is loaded or sent until {@linkcode Client.run}. */
  constructor(options: ClientOptions) {
    this.options = options;
  }

  /** The synthesizer of the client's tokenizer (loaded once). */
  synthesizer(): Promise<Synthesizer> {
    this.#synthesizer ??= loadTokenizer(
      this.options.tokenizerModel ?? this.options.model,
    ).then((t) => createSynthesizer(t, { seed: this.options.seed }));
    return this.#synthesizer;
  }

  /** Replay a workload and resolve with its result. */
  async run(
    workload: string | readonly TraceRow[],
    options: ClientRunOptions,
  ): Promise<TraceReplayResult> {
    const rows = typeof workload === "string"
      ? await loadTraceFile(await resolveWorkloadPath(workload))
      : workload.map((row, i) => validateRow(row, `trace ${i}`));
    return await runTraceReplay(rows, {
      ...options,
      endpoint: {
        baseUrl: normalizeEndpoint(this.options.endpoint),
        model: this.options.model,
        apiKey: this.options.apiKey ?? Deno.env.get("OPENAI_API_KEY"),
        maxRetries: this.options.maxRetries ?? 2,
        timeoutMs: (this.options.timeout ?? 600) * 1000,
      },
      synthesizer: await this.synthesizer(),
    });
  }
}
