/**
 * One load level (one speed) of `kvbench replay`: the trace's theory, the
 * replay, its distributions, the server's view, the fidelity and the
 * summary; the pipeline (`lib/cli/pipeline.ts`) runs the levels, their
 * workers and their files.
 *
 * @module
 */
import {
  distributionsJson,
  serverJson,
  SUMMARY_SCHEMA_VERSION,
} from "../../lib/metrics/summary_json.ts";
import { endpointConfig, FLAGS_VOICE } from "../../lib/cli/flags_workload.ts";
import {
  LatencyDistributions,
  renderDistributions,
} from "../../lib/metrics/distributions.ts";
import type { Tokenizer } from "../../lib/text/tokenizer.ts";
import type { Transport } from "../../lib/transport/transport.ts";
import { err, out } from "../../lib/cli/common.ts";
import type { LevelContext, LevelOutcome } from "../../lib/cli/pipeline.ts";
import { openLevel } from "../../lib/cli/level_io.ts";
import { scrapeEveryMs } from "../../lib/cli/server_metrics.ts";
import { runParams } from "../../lib/cli/options.ts";
import {
  fixed,
  LATENCY_COLUMNS,
  outputTokensPerS,
  percent,
  type SweepColumn,
} from "../../lib/cli/sweep.ts";
import { traceLines } from "./describe.ts";
import {
  fidelityLines,
  type FidelitySummary,
  mismatchTable,
  type RequestFidelity,
} from "./fidelity.ts";
import { type Options, REPLAY_OPTIONS } from "./options.ts";
import { type ReplayOptions, type ReplayResult, replayTrace } from "./run.ts";
import { theoreticalReuse, type Theory } from "./theory.ts";
import type { Vocabulary } from "./token_blocks.ts";
import type { RequestRecord } from "../../lib/types.ts";
import type { ReplayTrace } from "./trace.ts";
import type { ModelKvResult } from "../../lib/cli/model_kv.ts";
import {
  capacitiesOf,
  type TracePreflight,
} from "../../lib/cli/trace_preflight.ts";
import { replayPreflight } from "./preflight.ts";

/** One level of a run: the speed it replays at. */
export interface Level {
  /** How the sweep table and the headers name it. */
  label: string;
  /** Schedule speed-up. */
  speed: number;
  /** The prompts' salt at this level: a level never hits the cache an earlier one left. */
  salt: string;
}

/** What every level of one replay run shares. */
export interface ReplayRun {
  /** The parsed command line. */
  opts: Options;
  /** The trace. */
  trace: ReplayTrace;
  /** The model's tokenizer, when given. */
  tokenizer?: Tokenizer;
  /** The token ids prompts are drawn from. */
  vocabulary: Vocabulary;
  /** Whether prompts go as text (chat, `--text`). */
  text: boolean;
  /** The endpoint's base URL. */
  baseUrl: string;
  /** The model sent. */
  model: string;
  /** The model's KV size for the pre-flight (none in a worker). */
  kv?: ModelKvResult;
  /** The transport. */
  transport: Transport;
  /** The transport's name in reports. */
  label: string;
  /** Stops the run. */
  signal: AbortSignal;
  /** The command line, for `run.json`. */
  argv: string[];
  /** Told every finished record of a level (`--verify`). */
  onRecord?: (record: RequestRecord, level: Level) => void;
}

/** The sweep table's columns after "Level". */
export const REPLAY_SWEEP: readonly SweepColumn[] = [
  { header: "req/s", cell: (s) => fixed(s.qps, 2) },
  { header: "output\ntok/s", cell: outputTokensPerS },
  ...LATENCY_COLUMNS,
  {
    header: "cached\ntheory",
    cell: (s) => percent((s.fidelity as FidelityJson).theory_hit_rate),
  },
  {
    header: "cached\nserver",
    cell: (s) => percent((s.fidelity as FidelityJson).server_hit_rate),
  },
  {
    header: "failed",
    cell: (s) => String((s.requests as { failed: number }).failed),
  },
];

/** The fidelity block of `summary.json` (docs/summary_json.md's key style). */
export interface FidelityJson {
  /** Completed requests compared. */
  requests: number;
  /** Of those, with a `prompt_tokens`. */
  with_prompt_tokens: number;
  /** Of those, `prompt_tokens ≠ input_length`. */
  length_mismatches: number;
  /** Σ (prompt_tokens − input_length): the length drift. */
  length_drift_tokens: number;
  /** Σ input_length over requests with `prompt_tokens`. */
  intended_tokens: number;
  /** Of the compared requests, with a `cached_tokens`. */
  with_cached_tokens: number;
  /** Of those, `cached_tokens ≠` theoretical. */
  cached_mismatches: number;
  /** Σ theoretical cached tokens over requests with `cached_tokens`. */
  theoretical_cached_tokens: number;
  /** Σ reported `cached_tokens`. */
  reported_cached_tokens: number;
  /** Σ theoretical cached / Σ input_length, over requests with `cached_tokens`; null when none. */
  theory_hit_rate: number | null;
  /** Σ cached_tokens / Σ prompt_tokens, over requests with `cached_tokens`; null when none. */
  server_hit_rate: number | null;
}

/**
 * The fidelity block of a summary: the counts, and both hit rates over the
 * requests that reported `cached_tokens` (null when none did).
 *
 * @example Usage
 * ```ts
 * import { fidelityJson } from "./level.ts";
 * import assert from "node:assert/strict";
 *
 * const json = fidelityJson({
 *   requests: 2, withPromptTokens: 2, lengthMismatches: 0, lengthDrift: 0, intendedTokens: 200,
 *   withCachedTokens: 2, cachedMismatches: 1, theoreticalCached: 64, reportedCached: 80,
 *   cachedIntendedTokens: 200, reportedPromptTokens: 200,
 * });
 * assert.equal(json.cached_mismatches, 1);
 * assert.equal(json.theory_hit_rate, 0.32);
 * assert.equal(json.server_hit_rate, 0.4);
 * ```
 */
export function fidelityJson(s: FidelitySummary): FidelityJson {
  return {
    requests: s.requests,
    with_prompt_tokens: s.withPromptTokens,
    length_mismatches: s.lengthMismatches,
    length_drift_tokens: s.lengthDrift,
    intended_tokens: s.intendedTokens,
    with_cached_tokens: s.withCachedTokens,
    cached_mismatches: s.cachedMismatches,
    theoretical_cached_tokens: s.theoreticalCached,
    reported_cached_tokens: s.reportedCached,
    theory_hit_rate: s.cachedIntendedTokens === 0
      ? null
      : s.theoreticalCached / s.cachedIntendedTokens,
    server_hit_rate: s.reportedPromptTokens === 0
      ? null
      : s.reportedCached / s.reportedPromptTokens,
  };
}

/**
 * The `replayTrace` options of a run at a level, without its clock and
 * source.
 *
 * @example Usage
 * ```ts
 * import { replayOptions, type ReplayRun } from "./level.ts";
 * import { parse } from "./options.ts";
 * import { rangeVocabulary } from "./token_blocks.ts";
 * import assert from "node:assert/strict";
 *
 * const opts = parse(["t.jsonl", "--endpoint", "x", "--max-sessions", "5"])!;
 * const run = { opts, baseUrl: "http://x/v1/", model: "m", vocabulary: rangeVocabulary(), text: false } as ReplayRun;
 * const options = replayOptions(run, { label: "", speed: 2, salt: "s" });
 * assert.equal(options.speed, 2);
 * assert.equal(options.salt, "s");
 * assert.equal(options.maxSessions, 5);
 * ```
 */
export function replayOptions(run: ReplayRun, level: Level): ReplayOptions {
  const { opts } = run;
  return {
    endpoint: endpointConfig(opts, run),
    tokenizer: run.tokenizer,
    vocabulary: run.vocabulary,
    api: opts.api,
    text: run.text,
    speed: level.speed,
    salt: level.salt,
    ignoreEos: opts.ignoreEos,
    maxInFlight: opts.maxInFlight,
    maxSessions: opts.maxSessions,
    durationMs: opts.duration === undefined ? undefined : opts.duration * 1000,
    part: opts.part,
  };
}

/** Run one level: the trace's theory, the replay, its reports and files. */
export async function runReplayLevel(
  run: ReplayRun,
  c: LevelContext<Level>,
): Promise<LevelOutcome> {
  const { opts, trace } = run;
  const speed = c.level.speed;
  let capacity = opts.capacityTokens;
  let theory: Theory | undefined;
  let preflight: TracePreflight["record"] | null = null;
  // Said before the start (the start time is the schedule's zero).
  const announce = (): Theory => {
    theory = theoreticalReuse(trace, { capacityTokens: capacity });
    if (c.index > 0) return theory;
    out(
      traceLines(trace, theory, { speed }).map((l) => `[INFO] ${l}\n`).join(""),
    );
    if (capacity === undefined) {
      out(
        "[INFO] The server's KV capacity is unknown (no metrics, no --capacity-tokens): no LRU theory\n",
      );
    }
    out(`[INFO] ${run.vocabulary.source}${run.text ? ", sent as text" : ""}\n`);
    return theory;
  };
  if (!opts.metrics) announce();
  const io = await openLevel(c, {
    baseUrl: run.baseUrl,
    apiKey: opts.apiKey,
    scale: opts,
    voice: FLAGS_VOICE,
    records: opts.records,
    metricsOut: opts.metricsOut,
    metrics: opts.metrics
      ? {
        urls: opts.metricsUrls,
        everyMs: scrapeEveryMs(opts.scrapeInterval),
      }
      : undefined,
    onMetrics: (metrics) => {
      capacity ??= metrics.last?.gauges.deviceKvTokens;
      const t = announce();
      if (run.kv === undefined) return;
      // The working set against the server's capacities; the run goes on.
      const check = replayPreflight(trace, t, {
        kv: run.kv,
        capacities: capacitiesOf(metrics),
        capacityTokens: opts.capacityTokens,
      });
      if (c.index === 0) {
        err(
          check.lines.map((l) => l.startsWith("[") ? l : `[INFO] ${l}`)
            .join("\n") + "\n",
        );
      }
      preflight = check.record;
    },
    signal: run.signal,
  });
  const { serverMetrics, startedAt } = io;
  theory ??= announce();
  const params = {
    trace: opts.trace,
    endpoint: run.baseUrl,
    model: run.model,
    context_salt: c.level.salt,
    // The capacity the LRU theory used (the flag's, or the server's).
    theory_capacity_tokens: capacity ?? null,
    preflight,
    speed,
    started_at: new Date(performance.timeOrigin + startedAt).toISOString(),
    ...runParams(REPLAY_OPTIONS, { ...opts, goodput: opts.slos }),
  };
  await io.writeRunInfo({
    command: "replay",
    argv: run.argv,
    params,
    workload: { format: trace.format, block_size: trace.blockSize },
  });
  const distributions = new LatencyDistributions({ slos: opts.slos });
  let result: ReplayResult;
  try {
    result = await replayTrace(trace, {
      ...replayOptions(run, c.level),
      capacityTokens: capacity,
      signal: run.signal,
      startedAt,
      source: io.source,
      onRecord: (record) => {
        // Workers' records are copied as they wrote them.
        if (c.pool === undefined) {
          for (const file of io.records) file.write(record);
        }
        serverMetrics?.add(record);
        distributions.add(record);
        run.onRecord?.(record, c.level);
      },
    });
    io.end({
      startedAt,
      elapsedMs: result.summary.wallTimeMs,
      stopReason: result.summary.stopReason,
    });
    await serverMetrics?.finish();
  } finally {
    io.close();
  }
  try {
    return await closeLevel(run, {
      c,
      result,
      theory: theory!,
      distributions,
      params,
      writeSummary: io.writeSummary,
      serverMetrics,
    });
  } finally {
    serverMetrics?.close();
  }
}

async function closeLevel(
  run: ReplayRun,
  l: {
    c: LevelContext<Level>;
    result: ReplayResult;
    theory: Theory;
    distributions: LatencyDistributions;
    params: Record<string, unknown>;
    writeSummary: (
      json: Record<string, unknown>,
      output?: string,
    ) => Promise<string | undefined>;
    serverMetrics?: { render(): string; server: object; split(): unknown };
  },
): Promise<LevelOutcome> {
  const { opts, trace } = run;
  const { result } = l;
  const { requests, wallTimeMs } = result.summary;
  out(
    `\n[INFO] Replayed ${requests.ok} of ${trace.requests.length} requests in ${
      (wallTimeMs / 1000).toFixed(1)
    } s (${requests.failed} failed, ${requests.aborted} aborted)\n`,
  );
  const dist = l.distributions.summary({
    percentiles: opts.percentiles,
    elapsedMs: wallTimeMs,
  });
  out(renderDistributions(dist, { transport: run.label }));
  if (l.serverMetrics !== undefined) out(l.serverMetrics.render());
  out("\n" + fidelityLines(result.fidelitySummary).join("\n") + "\n");
  const table = mismatchTable(trace, result.fidelity);
  if (table !== "") out(table);
  if (l.c.dir !== undefined) {
    await Deno.writeTextFile(
      `${l.c.dir}/fidelity.jsonl`,
      result.fidelity.map((f: RequestFidelity) => JSON.stringify(f) + "\n")
        .join(""),
    );
    l.c.written.push(
      `[INFO] Per-request fidelity written to ${l.c.dir}/fidelity.jsonl\n`,
    );
  }
  const summary = {
    schema_version: SUMMARY_SCHEMA_VERSION,
    command: "replay",
    params: l.params,
    trace: {
      file: opts.trace,
      format: trace.format,
      block_size: trace.blockSize,
      requests: trace.requests.length,
      sessions: trace.sessions.length,
    },
    theory: {
      unbounded_hit_rate: l.theory.unboundedHitRate,
      lru_hit_rate: l.theory.lruHitRate ?? null,
      lru_tokens: l.theory.lruTokens ?? null,
    },
    qps: wallTimeMs > 0 ? requests.ok / (wallTimeMs / 1000) : null,
    requests: {
      sent: requests.sent,
      completed: requests.ok,
      failed: requests.failed,
      aborted: requests.aborted,
    },
    stop_reason: result.summary.stopReason,
    fidelity: fidelityJson(result.fidelitySummary),
    transport: run.label,
    server: l.serverMetrics === undefined ? null : serverJson({
      ...l.serverMetrics.server,
      split: l.serverMetrics.split() ?? null,
    }),
    distributions: distributionsJson(dist),
  };
  const output = await l.writeSummary(summary, opts.output);
  if (output !== undefined) {
    l.c.written.push(`[INFO] Summary written to ${output}\n`);
  }
  let code = 0;
  if (requests.ok === 0 && requests.failed > 0) {
    err(
      `[ERROR] every request failed (${requests.failed}): nothing was measured\n`,
    );
    code = 1;
  }
  return { summary, code };
}
