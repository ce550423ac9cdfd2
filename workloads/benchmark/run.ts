/**
 * Running `kvbench benchmark`: the workload under a closed loop of
 * `maxInFlight` requests, a report block every interval in which something
 * finished, until the duration or the signal.
 *
 * @module
 */
import {
  LatencyDistributions,
  type Slos,
} from "../../lib/metrics/distributions.ts";
import { closedLoop, type LoadPolicy } from "../../lib/run/load.ts";
import { MAX_TIMER_MS } from "../../lib/timer.ts";
import type { EndpointConfig } from "../../lib/openai/request.ts";
import { partConcurrency, partCount, partLoad } from "../../lib/run/part.ts";
import { type RecordSource, run, type RunPart } from "../../lib/run/runner.ts";
import type {
  RequestErrorKind,
  RequestRecord,
  RequestSpec,
} from "../../lib/types.ts";
import { BenchmarkMetrics } from "./metrics.ts";
import { type BenchmarkRunResult, renderBenchmarkBlock } from "./report.ts";
import type { BenchmarkSizing } from "./sizing.ts";
import { benchmarkWorkload } from "./workload.ts";
import { shapeRequests } from "./controls.ts";

/**
 * How long a report waits for records read from other processes' files
 * (written every 200 ms, read every 200 ms) before it counts those that
 * ended by its time.
 */
const SOURCE_LAG_MS = 500;

/** Options of {@linkcode runBenchmark}. */
export interface BenchmarkRunOptions {
  /** Where requests go. */
  endpoint: EndpointConfig;
  /** Seed of the question draw. */
  seed?: number;
  /** Send `ignore_eos` so every request generates exactly the output length. */
  ignoreEos?: boolean;
  /** `/v1/completions` (default) or `/v1/chat/completions`. */
  api?: "completions" | "chat";
  /**
   * How requests are admitted (default: a closed loop of the sizing's
   * `maxInFlight`). An open loop (`openLoop(gamma(rate, burstiness))`) still
   * keeps at most `maxInFlight` in flight; the rest wait in the client, which
   * shows as client lag.
   */
  load?: LoadPolicy;
  /** Stop after this many requests, the warm-up not counted (default: no limit). */
  maxRequests?: number;
  /** The first this many requests are a warm-up, left out of every figure. */
  warmupRequests?: number;
  /** SLOs the distributions count goodput against. */
  slos?: Slos;
  /** Stop after this many ms (default: run until `signal`). */
  durationMs?: number;
  /** Stop (Ctrl+C, SIGTERM). */
  signal?: AbortSignal;
  /** Report period (default 5000 ms). */
  intervalMs?: number;
  /** Where report blocks go (default: nowhere). */
  write?: (text: string) => void;
  /** Where one-time warnings go (a failure kind's first occurrence, a server without usage). */
  warn?: (text: string) => void;
  /** Called with each record as it completes. */
  onRecord?: (record: RequestRecord) => void;
  /** Called when a report block was written, with its elapsed time (ms). */
  onReport?: (elapsedMs: number) => void;
  /** Called when a request goes out. */
  onSend?: () => void;
  /** `performance.now()` the elapsed time counts from (default: now). */
  startedAt?: number;
  /**
   * Run only this part of the workload (a worker, a shard): every
   * `count`-th request of the tile order, a `count`-th of the in-flight cap,
   * of `maxRequests` and of the arrivals, so the parts together are one run.
   */
  part?: RunPart;
  /**
   * Take the records from here instead of sending requests (the parent of
   * worker processes): the reports, figures and warnings are the same.
   */
  source?: RecordSource;
  /**
   * The run's context salt (`--context-salt`), put before every context so
   * no other run's cache holds them (see `context_salt.ts`); none:
   * tmesh-cli's texts, the same on every run.
   */
  contextSalt?: string;
  /** Change each request before it is sent (`--cache-salt`, `--controls`: see `controls.ts`). */
  shapeRequest?: (spec: RequestSpec, session: number) => RequestSpec;
}

/**
 * Run the workload, printing a report block every interval in which
 * something finished, until the duration or the signal; then resolve with
 * the final snapshot (the caller prints it).
 *
 * @example Against the simulator, for half a second
 * ```ts
 * import { runBenchmark } from "./run.ts";
 * import { sizeBenchmark } from "./sizing.ts";
 * import { startSimulator } from "../../lib/sim/server.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * const sizing = sizeBenchmark(sim.model, {
 *   offloadSizeGib: 1, bytesPerToken: 98304, inputLength: 1000, outputLength: 8,
 * });
 * const result = await runBenchmark(sizing, {
 *   endpoint: { baseUrl: sim.url, model: sim.model },
 *   durationMs: 500,
 *   seed: 1,
 * });
 * assert.ok(result.final.global.requests > 0);
 * assert.equal(result.final.global.failed, 0);
 * ```
 */
export async function runBenchmark(
  sizing: BenchmarkSizing,
  options: BenchmarkRunOptions,
): Promise<BenchmarkRunResult> {
  const startedAt = options.startedAt ?? performance.now();
  const intervalMs = options.intervalMs ?? 5000;
  const intervalSeconds = intervalMs / 1000;
  const metrics = new BenchmarkMetrics();
  const distributions = new LatencyDistributions({ slos: options.slos });
  const write = options.write ?? (() => {});
  const warn = options.warn ?? (() => {});
  const warned = new Set<RequestErrorKind | "usage">();
  // Never negative: a run interrupted while it waits for its start time
  // (--start-at) ends at its start.
  const elapsed = (): number =>
    Math.max(0, performance.now() - startedAt) / 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Set<ReturnType<typeof setTimeout>>();
  const emit = (seconds: number): void => {
    if (!metrics.pending) return;
    const snapshot = metrics.report(seconds);
    write(renderBenchmarkBlock(snapshot, { intervalSeconds }));
    options.onReport?.(snapshot.elapsed * 1000);
  };
  // Reports every interval on the run's clock, from its start. Records read
  // from other processes' files (late) are assigned by their end: report k
  // waits SOURCE_LAG_MS, counts those that ended by its time, k intervals
  // into the run, and holds back the later ones.
  let ticks = 1;
  const due = (k: number): number => startedAt + k * intervalMs;
  if (options.source !== undefined) metrics.holdAfter(due(1));
  const tick = (): void => {
    const k = ticks;
    // A timer cannot wait longer than MAX_TIMER_MS: wait again.
    if (performance.now() < due(k) - 1) return arm();
    ticks++;
    if (options.source === undefined) emit(elapsed());
    else {
      const id = setTimeout(() => {
        late.delete(id);
        emit((k * intervalMs) / 1000);
        metrics.holdAfter(due(k + 1));
      }, SOURCE_LAG_MS);
      late.add(id);
    }
    arm();
  };
  const arm = (): void => {
    const wait = Math.max(0, due(ticks) - performance.now());
    timer = setTimeout(tick, Math.min(wait, MAX_TIMER_MS));
  };
  arm();
  try {
    const part = options.part;
    const whole = options.load ?? closedLoop(sizing.maxInFlight);
    const load = part === undefined ? whole : partLoad(whole, part);
    const warmup = options.warmupRequests ?? 0;
    const maxRequests = options.maxRequests === undefined
      ? undefined
      : options.maxRequests + warmup;
    const onRecord = (record: RequestRecord): void => {
      options.onRecord?.(record);
      metrics.add(record);
      distributions.add(record);
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
        !warned.has("usage")
      ) {
        warned.add("usage");
        warn(
          "[WARN] the server sent no usage: output tokens are estimated (max_tokens when it stopped at the limit, else one per event) and prefill throughput is not measured\n",
        );
      }
    };
    const onSend = options.onSend ?? (() => {});
    const workload = shapeRequests(
      benchmarkWorkload(sizing, options),
      options.shapeRequest,
    );
    const summary = options.source !== undefined
      ? await options.source({ onRecord, onSend })
      : await run(workload, {
        endpoint: options.endpoint,
        load,
        maxInFlight: load.kind === "closed"
          ? undefined
          : part === undefined
          ? sizing.maxInFlight
          : partConcurrency(sizing.maxInFlight, part),
        stop: {
          durationMs: options.durationMs,
          signal: options.signal,
          maxRequests: maxRequests === undefined || part === undefined
            ? maxRequests
            : partCount(maxRequests, part),
        },
        startedAt,
        part,
        onSend,
        onRecord,
        warn: false, // failures are warned about here
      });
    // Records from elsewhere end when their processes' runs ended, not when
    // they were all read here.
    const end = options.source === undefined
      ? elapsed()
      : Math.max(0, summary.endedAt - startedAt) / 1000;
    for (const id of late) clearTimeout(id);
    metrics.holdAfter(Infinity);
    return { final: metrics.report(end), summary, distributions };
  } finally {
    clearTimeout(timer);
    for (const id of late) clearTimeout(id);
  }
}
