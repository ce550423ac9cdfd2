/**
 * The report's data derived from a run's contents: which records count, the
 * run's start on one clock, per-request points, CDFs, per-turn means, the
 * server's view, cache totals and reuse (see `./data.ts` for the figures'
 * definitions).
 *
 * @module
 */
import { basename } from "node:path";
import {
  DEFAULT_PERCENTILES,
  LatencyDistributions,
  slosOfParams,
} from "../metrics/distributions.ts";
import {
  interTokenLatencies,
  outputReads,
  requestFigures,
} from "../metrics/figures.ts";
import type { RunEnd } from "../run/records_file.ts";
import { type PromptSplit, promptSplit } from "../server/attribution.ts";
import type { RequestRecord } from "../types.ts";
import { fidelityData } from "./fidelity.ts";
import { preflightOf } from "./preflight.ts";
import { benchmarkVerdict, ReuseTracker } from "../server/verdict.ts";
import {
  cdf,
  frac,
  isObject,
  ms,
  orNull,
  Pairs,
  sec,
  Values,
} from "./samples.ts";
import { itlPoints, serverTimeline, timelineOf } from "./timelines.ts";
import type {
  RequestPoints,
  RunData,
  RunDataOptions,
  RunInfo,
  RunInput,
  ServerCacheTimeline,
  TurnFigures,
} from "./run_types.ts";

const DEFAULT_REPORT_PERCENTILES: readonly number[] = [
  ...DEFAULT_PERCENTILES.slice(0, 2),
  95,
  ...DEFAULT_PERCENTILES.slice(2),
];

type Figures = ReturnType<typeof requestFigures>;
type Clock = ReturnType<typeof clockOf>;
type Rel = (r: RequestRecord, t: number) => number;

/** Offsets that put every record on one clock (the first record's). */
function clockOf(records: readonly RequestRecord[]): {
  origin: number | undefined;
  shift: (r: RequestRecord) => number;
} {
  const origin = records.find((r) => r.timeOrigin !== undefined)?.timeOrigin;
  return {
    origin,
    shift: (r) =>
      origin === undefined || r.timeOrigin === undefined
        ? 0
        : r.timeOrigin - origin,
  };
}

function groupOf(
  record: RequestRecord,
  groupBy: "context" | "turn" | undefined,
  ids: Map<string | number, number>,
): number | null {
  if (groupBy === "turn") return record.turn;
  if (groupBy !== "context") return null;
  const context = record.tags?.context;
  if (context === undefined) return null;
  if (typeof context === "number") return context;
  let id = ids.get(context);
  if (id === undefined) ids.set(context, id = ids.size);
  return id;
}

/** The command that wrote the run, and what its points are coloured by. */
function commandOf(input: RunInput): {
  command: string | undefined;
  groupBy: "context" | "turn" | undefined;
} {
  const all = input.records.records;
  const info = input.info ?? {};
  const summary = input.summary;
  let command = typeof info.command === "string" ? info.command : undefined;
  if (command === undefined && typeof summary?.command === "string") {
    command = summary.command;
  }
  if (command === undefined) {
    if (all.some((r) => r.tags?.context !== undefined)) command = "benchmark";
    else if (all.some((r) => r.turn > 0)) command = "trie";
  }
  const groupBy = command === "trie"
    ? "turn"
    : all.some((r) => r.tags?.context !== undefined)
    ? "context"
    : undefined;
  return { command, groupBy };
}

/** The run's start on the records' clock (milliseconds). */
function startOf(
  all: readonly RequestRecord[],
  info: RunInfo,
  end: RunEnd | undefined,
  clock: Clock,
): number {
  let startMs: number | undefined;
  if (
    typeof info.runStartedAt === "number" &&
    (info.timeOrigin === undefined || clock.origin !== undefined)
  ) {
    startMs = info.runStartedAt +
      (typeof info.timeOrigin === "number" && clock.origin !== undefined
        ? info.timeOrigin - clock.origin
        : 0);
  }
  if (startMs === undefined) {
    for (const r of all) {
      if (r.runStartedAt === undefined) continue;
      const at = r.runStartedAt + clock.shift(r);
      if (startMs === undefined || at < startMs) startMs = at;
    }
  }
  if (startMs === undefined && end !== undefined) {
    // The run's line, on its own clock when it names one.
    const origin = (end as { timeOrigin?: number }).timeOrigin;
    startMs = end.startedAt +
      (origin !== undefined && clock.origin !== undefined
        ? origin - clock.origin
        : 0);
  }
  if (startMs === undefined) {
    for (const r of all) {
      const at = Math.min(r.scheduledAt, r.sentAt) + clock.shift(r);
      if (startMs === undefined || at < startMs) startMs = at;
    }
  }
  return startMs ?? 0;
}

/** Per-request points, by send time, and how many groups they fall in. */
function requestPoints(
  counted: readonly RequestRecord[],
  figures: readonly Figures[],
  groupBy: "context" | "turn" | undefined,
  rel: Rel,
): { requests: RequestPoints; groups: number } {
  const ids = new Map<string | number, number>();
  const order = counted.map((r, i) => ({ t: rel(r, r.sentAt), i }))
    .sort((a, b) => a.t - b.t || a.i - b.i);
  const requests: RequestPoints = {
    t: [],
    ttftMs: [],
    e2eMs: [],
    tpotMs: [],
    group: [],
    hit: [],
    ok: [],
    lagMs: [],
  };
  const groupSet = new Set<number>();
  for (const { t, i } of order) {
    const f = figures[i];
    const group = groupOf(counted[i], groupBy, ids);
    if (group !== null) groupSet.add(group);
    requests.t.push(sec(t));
    requests.ttftMs.push(f.ok ? orNull(f.ttftMs, ms) : null);
    requests.e2eMs.push(ms(f.e2eMs));
    requests.tpotMs.push(f.ok ? orNull(f.tpotMs, ms) : null);
    requests.group.push(group);
    requests.hit.push(orNull(f.cacheHitRate, frac));
    requests.ok.push(f.ok ? 1 : 0);
    requests.lagMs.push(ms(f.lagMs));
  }
  return {
    requests,
    groups: groupSet.size === 0 ? 0 : Math.max(...groupSet) + 1,
  };
}

/**
 * The CDFs of completed requests (as the distributions take them) and one
 * ITL point per output read after the first: its time, and its events' ITL.
 */
function samplesOf(
  counted: readonly RequestRecord[],
  figures: readonly Figures[],
  rel: Rel,
  cdfPoints: number,
): { cdfs: RunData["cdf"]; reads: Pairs } {
  const ttft = new Values(), tpot = new Values(), e2e = new Values();
  const itlSamples = new Values();
  const reads = new Pairs();
  for (let i = 0; i < counted.length; i++) {
    const f = figures[i];
    if (!f.ok) continue;
    const r = counted[i];
    e2e.push(f.e2eMs);
    if (f.ttftMs !== undefined) ttft.push(f.ttftMs);
    if (f.tpotMs !== undefined) tpot.push(f.tpotMs);
    const itl = interTokenLatencies(r);
    for (const x of itl) itlSamples.push(x);
    const outs = outputReads(r);
    let k = 0;
    for (let j = 1; j < outs.length && k < itl.length; j++) {
      reads.push(rel(r, outs[j].at), itl[k]);
      k += outs[j].events;
    }
  }
  const cdfs: RunData["cdf"] = {};
  const put = (key: keyof RunData["cdf"], v: Values) => {
    const c = cdf(v.v.subarray(0, v.n), cdfPoints);
    if (c !== undefined) cdfs[key] = c;
  };
  put("ttftMs", ttft);
  put("tpotMs", tpot);
  put("itlMs", itlSamples);
  put("e2eMs", e2e);
  return { cdfs, reads };
}

/** Mean TTFT and hit rate of each turn's completed requests (trie). */
function perTurnOf(
  counted: readonly RequestRecord[],
  figures: readonly Figures[],
): TurnFigures {
  const byTurn = new Map<
    number,
    { ttft: number; nt: number; hit: number; nh: number; n: number }
  >();
  for (let i = 0; i < counted.length; i++) {
    const f = figures[i];
    if (!f.ok) continue;
    const turn = counted[i].turn;
    let s = byTurn.get(turn);
    if (s === undefined) {
      byTurn.set(turn, s = { ttft: 0, nt: 0, hit: 0, nh: 0, n: 0 });
    }
    s.n++;
    if (f.ttftMs !== undefined) {
      s.ttft += f.ttftMs;
      s.nt++;
    }
    if (f.cacheHitRate !== undefined) {
      s.hit += f.cacheHitRate;
      s.nh++;
    }
  }
  const turns = [...byTurn.keys()].sort((a, b) => a - b);
  return {
    turn: turns,
    ttftMs: turns.map((t) => {
      const s = byTurn.get(t)!;
      return s.nt > 0 ? ms(s.ttft / s.nt) : null;
    }),
    hit: turns.map((t) => {
      const s = byTurn.get(t)!;
      return s.nh > 0 ? frac(s.hit / s.nh) : null;
    }),
    requests: turns.map((t) => byTurn.get(t)!.n),
  };
}

/** The server's view: its cache over time, the prompt split, its engine. */
function serverOf(
  input: RunInput,
  clock: Clock,
  start: number,
): {
  serverSummary: Record<string, unknown> | undefined;
  serverCache: ServerCacheTimeline | undefined;
  split: PromptSplit | undefined;
  engine: string | undefined;
  engineVersion: string | undefined;
} {
  const info = input.info ?? {};
  const summary = input.summary;
  const serverSummary = isObject(summary?.server) ? summary.server : undefined;
  const serverCache = input.metrics === undefined
    ? undefined
    : serverTimeline(input.metrics, clock.origin, start);
  let split = isObject(serverSummary?.split)
    ? serverSummary.split as unknown as PromptSplit
    : undefined;
  const lastScrape = input.metrics?.scrapes.at(-1);
  if (split === undefined && lastScrape !== undefined) {
    split = promptSplit(lastScrape.counters);
  }
  const infoServer = isObject(info.server) ? info.server : undefined;
  const headerServer = input.metrics?.header?.server;
  const engineOf = (key: "engine" | "version"): string | undefined => {
    for (const s of [infoServer, serverSummary, headerServer]) {
      if (typeof s?.[key] === "string") return s[key] as string;
    }
    return undefined;
  };
  return {
    serverSummary,
    serverCache,
    split,
    engine: engineOf("engine"),
    engineVersion: engineOf("version"),
  };
}

/** The client's cached tokens over its prompt tokens, when reported. */
function cacheOf(figures: readonly Figures[]): RunData["cache"] {
  let promptTokens = 0, cachedTokens = 0;
  for (const f of figures) {
    if (!f.ok || f.promptTokens === undefined) continue;
    if (f.cachedTokens === undefined) continue;
    promptTokens += f.promptTokens;
    cachedTokens += f.cachedTokens;
  }
  if (promptTokens === 0) return undefined;
  return { promptTokens, cachedTokens, hitRate: cachedTokens / promptTokens };
}

/** Reuses of a context (benchmark): mean TTFTs and the offload's share. */
function reuseOf(
  all: readonly RequestRecord[],
  split: PromptSplit | undefined,
): RunData["reuse"] {
  const tracker = new ReuseTracker();
  for (const r of all) tracker.add(r);
  const reuse = tracker.figures();
  const mean = (xs: number[]) =>
    xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length;
  const verdict = split === undefined || reuse.reuses === 0
    ? undefined
    : benchmarkVerdict(reuse, { split });
  return {
    reuses: reuse.reuses,
    meanReuseTtftMs: mean(reuse.reuseTtftMs),
    meanHitTtftMs: mean(reuse.hitTtftMs),
    meanColdTtftMs: mean(reuse.coldTtftMs),
    offloadShare: verdict?.offloadShare,
    deviceShare: verdict?.offloadShare === undefined
      ? undefined
      : verdict.deviceShare,
  };
}

/**
 * Derive the report's data from a run's contents (what
 * {@linkcode loadRun} does once the files are read).
 *
 * @example A trie run: points coloured by turn, means per turn
 * ```ts
 * import { runData } from "./run_data.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const records = [0, 1].flatMap((session) => [0, 1].map((turn) => testRecord({
 *   session, turn, sentAt: turn * 500, firstTokenAt: turn * 500 + 100 + turn * 20,
 *   endAt: turn * 500 + 300, chunks: 2, completionTokens: 2, readGaps: [500],
 *   promptTokens: 1000, cachedTokens: turn * 900, runStartedAt: 0,
 * })));
 * const run = runData(
 *   { source: "x", records: { records, reports: [] }, info: { command: "trie" } },
 *   { name: "trie run" },
 * );
 * assert.equal(run.groupBy, "turn");
 * assert.deepEqual(run.perTurn, {
 *   turn: [0, 1], ttftMs: [100, 120], hit: [0, 0.9], requests: [2, 2],
 * });
 * assert.deepEqual(run.cdf.itlMs, { x: [50], p: [1], count: 4 });
 * ```
 */
export function runData(
  input: RunInput,
  options: RunDataOptions = {},
): RunData {
  const all = input.records.records;
  const info = input.info ?? {};
  const summary = input.summary;
  const end = input.records.run;
  const percentiles = [...(options.percentiles ?? DEFAULT_REPORT_PERCENTILES)];
  const { command, groupBy } = commandOf(input);

  // One clock for every record; the run's start on it.
  const clock = clockOf(all);
  const start = startOf(all, info, end, clock);
  const rel = (r: RequestRecord, t: number): number =>
    (t + clock.shift(r) - start) / 1000;

  // Which records the figures count, as LatencyDistributions counts them;
  // goodput against the SLOs the run was given.
  const runParams = isObject(info.params)
    ? info.params
    : isObject(summary?.params)
    ? summary.params
    : undefined;
  const distributions = new LatencyDistributions({
    slos: slosOfParams(runParams),
  });
  const counted: RequestRecord[] = [];
  let warmup = 0, aborted = 0, lastEnd = 0;
  for (const r of all) {
    distributions.add(r);
    lastEnd = Math.max(lastEnd, rel(r, r.endAt));
    if (r.warmup === true) warmup++;
    else if (r.error?.kind === "aborted") aborted++;
    else counted.push(r);
  }
  // Exact: the per-second figures divide by it as the terminal did.
  const elapsedMs = end?.elapsedMs !== undefined
    ? end.elapsedMs
    : lastEnd * 1000;
  const elapsedS = elapsedMs / 1000;

  const figures = counted.map((r) => requestFigures(r));
  const { requests, groups } = requestPoints(counted, figures, groupBy, rel);
  const { cdfs, reads } = samplesOf(
    counted,
    figures,
    rel,
    options.cdfPoints ?? 1000,
  );
  const itl = itlPoints(reads, options.itlPoints ?? 200_000);

  // Time bins.
  const spanS = Math.max(elapsedS, lastEnd, 1e-3);
  const binS = spanS > 3600 ? Math.ceil(spanS / 3600) : 1;
  const timeline = timelineOf(all, counted, figures, {
    bins: Math.ceil(spanS / binS),
    binS,
    rel,
  });

  const server = serverOf(input, clock, start);
  const workload = info.workload ?? summary?.workload ?? undefined;
  const distributionSummary = distributions.summary({
    percentiles,
    elapsedMs,
  });
  const data: RunData = {
    name: options.name ?? basename(input.source),
    source: input.source,
    command,
    groupBy,
    groups,
    run: {
      startedAt: typeof info.startedAt === "string"
        ? info.startedAt
        : clock.origin !== undefined
        ? new Date(clock.origin + start).toISOString()
        : undefined,
      elapsedS: sec(elapsedS),
      stopReason: end?.stopReason,
      argv: Array.isArray(info.argv) ? info.argv : undefined,
      kvbench: info.kvbench,
      deno: info.deno,
      params: runParams,
      workload: workload === null ? undefined : workload,
      engine: server.engine,
      engineVersion: server.engineVersion,
      machine: isObject(info.machine) ? info.machine : undefined,
    },
    records: { total: all.length, warmup, aborted },
    requests,
    itl,
    cdf: cdfs,
    binS,
    timeline,
    distributions: distributionSummary,
    percentiles,
  };
  const measuredMs = distributionSummary.measuredMs ?? 0;
  if (measuredMs > 0) {
    data.run.requestsPerS = distributionSummary.completed / (measuredMs / 1000);
  }
  if (server.serverCache !== undefined && server.serverCache.t.length > 0) {
    data.serverCache = server.serverCache;
  }
  if (groupBy === "turn") data.perTurn = perTurnOf(counted, figures);
  const cache = cacheOf(figures);
  if (cache !== undefined) data.cache = cache;
  if (typeof server.serverSummary?.verdict === "string") {
    data.verdict = server.serverSummary.verdict;
  }
  if (server.split !== undefined) data.split = server.split;
  const preflight = preflightOf(runParams);
  if (preflight !== undefined) data.preflight = preflight;
  if (input.verify !== undefined) data.verify = input.verify;
  if (groupBy === "context") data.reuse = reuseOf(all, server.split);
  if (input.fidelity !== undefined) {
    data.fidelity = fidelityData(input.fidelity);
  }
  return JSON.parse(JSON.stringify(data));
}
