/**
 * The report's plots over time: inter-token latencies by read, the client's
 * throughput, requests in flight and cache hit rate per time bin, and the
 * server's prompt tokens by tier between scrapes.
 *
 * @module
 */
import { outputReads, type requestFigures } from "../metrics/figures.ts";
import { promptSplit } from "../server/attribution.ts";
import type { TierCounters } from "../server/engines.ts";
import type { RequestRecord } from "../types.ts";
import { frac, ms, type Pairs, round, sec } from "./samples.ts";
import type {
  ItlPoints,
  MetricsFileContents,
  MetricsScrape,
  ServerCacheTimeline,
  Timeline,
} from "./run_types.ts";

/**
 * The ITL plot's points: every read (time, ITL), or the lowest and the
 * highest ITL of each of `limit` / 2 time slices.
 *
 * @example Usage
 * ```ts
 * import { itlPoints } from "./timelines.ts";
 * import { Pairs } from "./samples.ts";
 * import assert from "node:assert/strict";
 *
 * const reads = new Pairs();
 * [[2, 30], [1, 10], [3, 20], [4, 40]].forEach(([t, v]) => reads.push(t, v));
 * assert.deepEqual(itlPoints(reads, 10), {
 *   t: [1, 2, 3, 4], ms: [10, 30, 20, 40], reads: 4, decimated: false,
 * });
 * assert.deepEqual(itlPoints(reads, 2), {
 *   t: [1, 4], ms: [10, 40], reads: 4, decimated: true,
 * });
 * ```
 */
export function itlPoints(reads: Pairs, limit: number): ItlPoints {
  const n = reads.n;
  const t = reads.a.subarray(0, n), v = reads.b.subarray(0, n);
  if (n <= limit) {
    const idx = Array.from({ length: n }, (_, i) => i)
      .sort((a, b) => t[a] - t[b]);
    return {
      t: idx.map((i) => sec(t[i])),
      ms: idx.map((i) => ms(v[i])),
      reads: n,
      decimated: false,
    };
  }
  const slices = Math.max(1, Math.floor(limit / 2));
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < n; i++) {
    if (t[i] < lo) lo = t[i];
    if (t[i] > hi) hi = t[i];
  }
  const width = (hi - lo) / slices || 1;
  const minAt = new Int32Array(slices).fill(-1);
  const maxAt = new Int32Array(slices).fill(-1);
  for (let i = 0; i < n; i++) {
    const s = Math.min(slices - 1, Math.floor((t[i] - lo) / width));
    if (minAt[s] < 0 || v[i] < v[minAt[s]]) minAt[s] = i;
    if (maxAt[s] < 0 || v[i] > v[maxAt[s]]) maxAt[s] = i;
  }
  const out: ItlPoints = { t: [], ms: [], reads: n, decimated: true };
  for (let s = 0; s < slices; s++) {
    const a = minAt[s], b = maxAt[s];
    if (a < 0) continue;
    const pair = a === b ? [a] : t[a] <= t[b] ? [a, b] : [b, a];
    for (const i of pair) {
      out.t.push(sec(t[i]));
      out.ms.push(ms(v[i]));
    }
  }
  return out;
}

/**
 * Per time bin: output tokens per second (each read's share of a request's
 * output tokens), requests in flight (request-seconds per second) and the
 * client's cache hit rate of the requests that ended in it.
 *
 * @example Usage
 * ```ts
 * import { timelineOf } from "./timelines.ts";
 * import { requestFigures } from "../metrics/figures.ts";
 * import { testRecord } from "../testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const records = [testRecord({
 *   sentAt: 0, firstTokenAt: 500, endAt: 1500, chunks: 2, completionTokens: 4,
 *   readGaps: [1000], promptTokens: 100, cachedTokens: 25,
 * })];
 * const timeline = timelineOf(records, records, records.map(requestFigures), {
 *   bins: 2, binS: 1, rel: (_r, t) => t / 1000,
 * });
 * assert.deepEqual(timeline.inFlight, [1, 0.5]);
 * assert.deepEqual(timeline.hit, [null, 0.25]);
 * ```
 */
export function timelineOf(
  all: readonly RequestRecord[],
  counted: readonly RequestRecord[],
  figures: ReturnType<typeof requestFigures>[],
  bins: {
    bins: number;
    binS: number;
    rel: (r: RequestRecord, t: number) => number;
  },
): Timeline {
  const { binS, rel } = bins;
  const n = Math.max(1, bins.bins);
  const tokens = new Float64Array(n);
  const busy = new Float64Array(n); // request-seconds in flight per bin
  const prompt = new Float64Array(n);
  const cached = new Float64Array(n);
  const reported = new Uint8Array(n);
  const bin = (s: number) => Math.min(n - 1, Math.max(0, Math.floor(s / binS)));
  for (const r of all) {
    // In flight from sent to end: the seconds it spent in each bin.
    let a = rel(r, r.sentAt), b = rel(r, r.endAt);
    a = Math.max(0, a);
    b = Math.min(n * binS, b);
    while (a < b) {
      const i = bin(a);
      const edge = Math.min(b, (i + 1) * binS);
      busy[i] += edge - a;
      if (edge <= a) break;
      a = edge;
    }
  }
  for (let i = 0; i < counted.length; i++) {
    const f = figures[i];
    if (!f.ok) continue;
    const r = counted[i];
    if (f.promptTokens !== undefined && f.cachedTokens !== undefined) {
      const j = bin(rel(r, r.endAt));
      prompt[j] += f.promptTokens;
      cached[j] += f.cachedTokens;
      reported[j] = 1;
    }
    const total = f.outputTokens ?? 0;
    if (total === 0) continue;
    // Output tokens by when they arrived: each read's share of the events.
    const outs = outputReads(r);
    const events = outs.reduce((s, o) => s + o.events, 0);
    if (events === 0) {
      tokens[bin(rel(r, r.endAt))] += total;
      continue;
    }
    for (const o of outs) {
      tokens[bin(rel(r, o.at))] += total * o.events / events;
    }
  }
  const out: Timeline = { t: [], outputTokS: [], inFlight: [], hit: [] };
  for (let i = 0; i < n; i++) {
    out.t.push(sec(i * binS));
    out.outputTokS.push(round(tokens[i] / binS, 1));
    out.inFlight.push(round(busy[i] / binS, 2));
    out.hit.push(
      reported[i] && prompt[i] > 0 ? frac(cached[i] / prompt[i]) : null,
    );
  }
  return out;
}

const SPLIT_FIELDS = [
  "promptTokens",
  "computedTokens",
  "deviceHitTokens",
  "offloadHitTokens",
  "cachedTokens",
] as const;

/**
 * The server's prompt tokens between scrapes, by where they came from
 * (computed, device, offload or cached), and its KV usage, on the records'
 * clock when the metrics file names its origin.
 *
 * @example Usage
 * ```ts
 * import { serverTimeline } from "./timelines.ts";
 * import assert from "node:assert/strict";
 *
 * const timeline = serverTimeline({
 *   scrapes: [
 *     { at: 0, elapsedMs: 0, counters: {}, gauges: {} },
 *     { at: 1000, elapsedMs: 1000, counters: { promptTokens: 100, cachedTokens: 40 }, gauges: { deviceKvUsage: 0.5 } },
 *   ],
 * }, undefined, 0);
 * assert.deepEqual(timeline, {
 *   t: [1], computed: [0.6], cached: [0.4], kvUsage: [0.5],
 * });
 * ```
 */
export function serverTimeline(
  metrics: MetricsFileContents,
  recordsOrigin: number | undefined,
  startMs: number,
): ServerCacheTimeline {
  const header = metrics.header;
  const shift = header?.timeOrigin !== undefined && recordsOrigin !== undefined
    ? header.timeOrigin - recordsOrigin
    : undefined;
  const timeOf = (s: MetricsScrape): number =>
    shift !== undefined
      ? (s.at + shift - startMs) / 1000
      : Number.isFinite(s.elapsedMs)
      ? s.elapsedMs / 1000
      : (s.at - (header?.startedAt ?? startMs)) / 1000;
  const scrapes = [...metrics.scrapes].sort((a, b) => a.at - b.at);
  const out: ServerCacheTimeline = { t: [], computed: [] };
  const device: (number | null)[] = [], offload: (number | null)[] = [];
  const cached: (number | null)[] = [], kvUsage: (number | null)[] = [];
  let named = false, unnamed = false, usage = false;
  for (let i = 1; i < scrapes.length; i++) {
    const before = scrapes[i - 1].counters, after = scrapes[i].counters;
    const delta: TierCounters = {};
    for (const field of SPLIT_FIELDS) {
      if (after[field] !== undefined) {
        delta[field] = Math.max(0, after[field]! - (before[field] ?? 0));
      }
    }
    const split = promptSplit(delta);
    const share = (x: number | undefined): number | null =>
      split !== undefined && split.prompt > 0 && x !== undefined
        ? frac(x / split.prompt)
        : null;
    out.t.push(sec(timeOf(scrapes[i])));
    out.computed.push(share(split?.computed));
    device.push(share(split?.device));
    offload.push(share(split?.offload));
    cached.push(share(split?.cached));
    if (split?.device !== undefined || split?.offload !== undefined) {
      named = true;
    }
    if (split?.cached !== undefined) unnamed = true;
    const u = scrapes[i].gauges.deviceKvUsage;
    kvUsage.push(u === undefined ? null : frac(u));
    if (u !== undefined) usage = true;
  }
  if (named) {
    out.device = device;
    out.offload = offload;
  }
  if (unnamed) out.cached = cached;
  if (usage) out.kvUsage = kvUsage;
  return out;
}
