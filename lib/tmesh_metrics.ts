/**
 * The metrics of `kvbench benchmark` (tmesh-cli's 12-line block): running
 * sums, never arrays, so a run can go on forever in flat memory.
 *
 * Units are tokens from the server's `usage`: TTFT = first token − sent,
 * prefill throughput = prompt tokens / TTFT, decode throughput = completion
 * tokens / decode time, ITL = decode time / (completion tokens − 1). A
 * request whose server sent no usage falls back to tmesh-cli's characters
 * (prompt chars / TTFT, output chars / decode time, decode time / (output
 * chars + 1)). A value whose denominator is zero is left out of its mean.
 *
 * @module
 */
import type { RequestErrorKind, RequestRecord } from "./types.ts";

/** Sums behind one window (the whole run, or one interval). */
export interface TmeshWindow {
  /** Requests completed. */
  requests: number;
  /** Requests failed (aborted ones are not failures). */
  failed: number;
  /** Sum and count of TTFT, seconds. */
  ttftSum: number;
  /** Count of TTFT samples. */
  ttftN: number;
  /** Sum of ITL, seconds. */
  itlSum: number;
  /** Count of ITL samples. */
  itlN: number;
  /** Sum of per-request prefill throughput. */
  prefillSum: number;
  /** Count of prefill samples. */
  prefillN: number;
  /** Sum of per-request decode throughput. */
  decodeSum: number;
  /** Count of decode samples. */
  decodeN: number;
  /** Sum of `usage.prompt_tokens` over requests that reported `cached_tokens`. */
  cachePromptTokens: number;
  /** Sum of `cached_tokens`. */
  cachedTokens: number;
}

function emptyWindow(): TmeshWindow {
  return {
    requests: 0,
    failed: 0,
    ttftSum: 0,
    ttftN: 0,
    itlSum: 0,
    itlN: 0,
    prefillSum: 0,
    prefillN: 0,
    decodeSum: 0,
    decodeN: 0,
    cachePromptTokens: 0,
    cachedTokens: 0,
  };
}

/** Per-request values derived from one record. */
export interface TmeshSample {
  /** Time to first token, seconds. */
  ttft: number;
  /** Inter-token latency, seconds; undefined when it cannot be computed. */
  itl?: number;
  /** Prompt tokens (or chars) per second of TTFT. */
  prefill?: number;
  /** Completion tokens (or chars) per second of decode. */
  decode?: number;
  /** True when the values count characters (no usage from the server). */
  chars: boolean;
}

/**
 * Derive tmesh's per-request values from a successful streamed record;
 * undefined when the record has no first token.
 *
 * @example Usage
 * ```ts
 * import { tmeshSample } from "./tmesh_metrics.ts";
 * tmeshSample({
 *   session: 0, turn: 0, scheduledAt: 0, sentAt: 0, firstTokenAt: 500, endAt: 1500,
 *   chunks: 11, promptChars: 0, outputChars: 0, maxTokens: 11, ok: true, retries: 0,
 *   promptTokens: 1000, completionTokens: 11,
 * }); // { ttft: 0.5, prefill: 2000, decode: 11, itl: 0.1, chars: false }
 * ```
 */
export function tmeshSample(record: RequestRecord): TmeshSample | undefined {
  if (record.firstTokenAt === undefined) return undefined;
  const ttft = (record.firstTokenAt - record.sentAt) / 1000;
  const decodeTime = (record.endAt - record.firstTokenAt) / 1000;
  const chars = record.completionTokens === undefined ||
    record.promptTokens === undefined;
  const input = chars ? record.promptChars : record.promptTokens!;
  const output = chars ? record.outputChars : record.completionTokens!;
  const gaps = chars ? output + 1 : output - 1;
  const sample: TmeshSample = { ttft, chars };
  if (ttft > 0) sample.prefill = input / ttft;
  if (decodeTime > 0) sample.decode = output / decodeTime;
  if (decodeTime > 0 && gaps > 0) sample.itl = decodeTime / gaps;
  return sample;
}

/** One printed report. */
export interface TmeshSnapshot {
  /** Seconds since the run started. */
  elapsed: number;
  /** Whole run. */
  global: TmeshWindow;
  /** Since the last report. */
  interval: TmeshWindow;
  /** Failures by kind, whole run. */
  failures: Partial<Record<RequestErrorKind, number>>;
  /** True once any completed request counted characters (no usage). */
  chars: boolean;
}

/**
 * Running aggregates of the benchmark: feed every record with
 * {@linkcode TmeshMetrics.add}, take a report with
 * {@linkcode TmeshMetrics.report} (which starts a new interval).
 *
 * @example Usage
 * ```ts
 * import { TmeshMetrics, renderTmeshBlock } from "./tmesh_metrics.ts";
 * const metrics = new TmeshMetrics();
 * // metrics.add(record) for each record, then every 5 s:
 * const text = renderTmeshBlock(metrics.report(5));
 * ```
 */
export class TmeshMetrics {
  #global = emptyWindow();
  #interval = emptyWindow();
  #failures: Partial<Record<RequestErrorKind, number>> = {};
  #chars = false;

  /** Count one finished request; aborted ones are ignored. */
  add(record: RequestRecord): void {
    if (!record.ok) {
      const kind = record.error?.kind;
      if (kind === undefined || kind === "aborted") return;
      this.#failures[kind] = (this.#failures[kind] ?? 0) + 1;
      this.#global.failed++;
      this.#interval.failed++;
      return;
    }
    const sample = tmeshSample(record);
    if (sample === undefined) return;
    if (sample.chars) this.#chars = true;
    addSample(this.#global, sample, record);
    addSample(this.#interval, sample, record);
  }

  /** True when something finished (or failed) since the last report. */
  get pending(): boolean {
    return this.#interval.requests > 0 || this.#interval.failed > 0;
  }

  /** Total completed requests. */
  get completed(): number {
    return this.#global.requests;
  }

  /** Take a report at `elapsed` seconds and start a new interval. */
  report(elapsed: number): TmeshSnapshot {
    const snapshot: TmeshSnapshot = {
      elapsed,
      global: { ...this.#global },
      interval: this.#interval,
      failures: { ...this.#failures },
      chars: this.#chars,
    };
    this.#interval = emptyWindow();
    return snapshot;
  }
}

function addSample(w: TmeshWindow, s: TmeshSample, r: RequestRecord): void {
  w.requests++;
  w.ttftSum += s.ttft;
  w.ttftN++;
  if (s.itl !== undefined) {
    w.itlSum += s.itl;
    w.itlN++;
  }
  if (s.prefill !== undefined) {
    w.prefillSum += s.prefill;
    w.prefillN++;
  }
  if (s.decode !== undefined) {
    w.decodeSum += s.decode;
    w.decodeN++;
  }
  if (r.cachedTokens !== undefined && r.promptTokens !== undefined) {
    w.cachePromptTokens += r.promptTokens;
    w.cachedTokens += r.cachedTokens;
  }
}

/** Means of a window; undefined where there is no sample. */
export interface TmeshAverages {
  /** Mean TTFT, seconds. */
  ttft?: number;
  /** Mean ITL, seconds. */
  itl?: number;
  /** Mean prefill throughput. */
  prefill?: number;
  /** Mean decode throughput. */
  decode?: number;
  /** Σ cached / Σ prompt tokens, as a fraction. */
  cacheHitRate?: number;
}

/**
 * The means of a window.
 *
 * @example Usage
 * ```ts
 * import { TmeshMetrics, tmeshAverages } from "./tmesh_metrics.ts";
 * tmeshAverages(new TmeshMetrics().report(0).global); // {}
 * ```
 */
export function tmeshAverages(w: TmeshWindow): TmeshAverages {
  const avg: TmeshAverages = {};
  if (w.ttftN) avg.ttft = w.ttftSum / w.ttftN;
  if (w.itlN) avg.itl = w.itlSum / w.itlN;
  if (w.prefillN) avg.prefill = w.prefillSum / w.prefillN;
  if (w.decodeN) avg.decode = w.decodeSum / w.decodeN;
  if (w.cachePromptTokens) {
    avg.cacheHitRate = w.cachedTokens / w.cachePromptTokens;
  }
  return avg;
}

function fixed(value: number | undefined, digits: number): string {
  return value === undefined ? "-" : value.toFixed(digits);
}

/**
 * Render the report block: tmesh-cli's 12 lines with its labels (numbers as
 * its documentation shows them: 2 decimals, ITL 3), then kvbench's extra
 * lines (failures; cache hit rate when the server reports `cached_tokens`),
 * then an empty line.
 *
 * @example Usage
 * ```ts
 * import { TmeshMetrics, renderTmeshBlock } from "./tmesh_metrics.ts";
 * renderTmeshBlock(new TmeshMetrics().report(5)).startsWith("Elapsed Time: 5.00\n"); // true
 * ```
 */
export function renderTmeshBlock(
  snapshot: TmeshSnapshot,
  options: { intervalSeconds?: number } = {},
): string {
  const g = tmeshAverages(snapshot.global);
  const i = tmeshAverages(snapshot.interval);
  const qps = snapshot.elapsed > 0
    ? snapshot.global.requests / snapshot.elapsed
    : 0;
  const lines = [
    `Elapsed Time: ${snapshot.elapsed.toFixed(2)}`,
    `Total Number of Requests Processed: ${snapshot.global.requests}`,
    `QPS: ${qps.toFixed(2)}`,
    `Global Average TTFT: ${fixed(g.ttft, 2)}`,
    `Global Average ITL: ${fixed(g.itl, 3)}`,
    `Global Average Prefill Throughput: ${fixed(g.prefill, 2)}`,
    `Global Average Decode Throughput: ${fixed(g.decode, 2)}`,
    `Requests Processed in Last ${
      options.intervalSeconds ?? 5
    } second Interval: ${snapshot.interval.requests}`,
    `Interval Average TTFT: ${fixed(i.ttft, 2)}`,
    `Interval Average ITL: ${fixed(i.itl, 3)}`,
    `Interval Average Prefill Throughput: ${fixed(i.prefill, 2)}`,
    `Interval Average Decode Throughput: ${fixed(i.decode, 2)}`,
    `Failed Requests: ${snapshot.global.failed} (${snapshot.interval.failed} in interval)`,
  ];
  if (g.cacheHitRate !== undefined) {
    lines.push(`Global Cache Hit Rate: ${percent(g.cacheHitRate)}`);
    lines.push(`Interval Cache Hit Rate: ${percent(i.cacheHitRate)}`);
  }
  return lines.join("\n") + "\n\n";
}

function percent(x: number | undefined): string {
  return x === undefined ? "-" : `${(x * 100).toFixed(2)}%`;
}
