/**
 * Synthetic runs for the report's tests, examples and size measurements: a
 * `benchmark` run (contexts in tile order, a cold prefill then reuses from
 * the offload tier) or a `trie` run (traces of turns that reuse their
 * prefix), with records as the runner writes them, the server's scrapes and
 * a summary, written as a run directory. Deterministic for a seed.
 *
 * @module
 */
import type { RequestRecord } from "../../lib/types.ts";
import type {
  MetricsFileContents,
  MetricsScrape,
} from "../../lib/report/data.ts";

export type { RequestErrorKind } from "../../lib/types.ts";
export type { RequestRecord };

/** Options of {@linkcode syntheticRun}. */
export interface SyntheticRunOptions {
  /** `benchmark` (default) or `trie`. */
  command?: "benchmark" | "trie";
  /** Requests (default 200). */
  requests?: number;
  /** Contexts (benchmark, default 6) or turns per trace (trie, default 5). */
  groups?: number;
  /** Requests in flight (default 2). */
  inFlight?: number;
  /** Output tokens per request (default 16). */
  outputTokens?: number;
  /** Prompt tokens per request (default 32 000). */
  promptTokens?: number;
  /** Warm-up requests at the start (default 0). */
  warmup?: number;
  /** Every n-th request fails (default: none). */
  failEvery?: number;
  /** Seconds between scrapes (default 5). */
  scrapeEveryS?: number;
  /** Seed (default 1). */
  seed?: number;
  /** The clock's Unix time origin (default 1.8e12). */
  timeOrigin?: number;
}

/** A synthetic run: its files' contents. */
export interface SyntheticRun {
  /** run.json. */
  info: Record<string, unknown>;
  /** The records, in completion order. */
  records: RequestRecord[];
  /** The run's last line. */
  end: { startedAt: number; elapsedMs: number; stopReason: string };
  /** metrics.jsonl: the header, then the scrapes. */
  metrics: Required<MetricsFileContents>;
  /** summary.json. */
  summary: Record<string, unknown>;
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/**
 * Make a synthetic run.
 *
 * @example A benchmark run of 60 requests over 6 contexts
 * ```ts
 * import { syntheticRun } from "./synthetic.ts";
 * import assert from "node:assert/strict";
 *
 * const run = syntheticRun({ requests: 60, groups: 6 });
 * assert.equal(run.records.length, 60);
 * assert.equal(run.records.filter((r) => r.cachedTokens === 0).length, 6); // one cold prefill per context
 * assert.equal(run.info.command, "benchmark");
 * ```
 */
export function syntheticRun(options: SyntheticRunOptions = {}): SyntheticRun {
  const command = options.command ?? "benchmark";
  const n = options.requests ?? 200;
  const groups = options.groups ?? (command === "trie" ? 5 : 6);
  const lanes = options.inFlight ?? 2;
  const output = options.outputTokens ?? 16;
  const prompt = options.promptTokens ?? 32_000;
  const warmup = options.warmup ?? 0;
  const random = rng(options.seed ?? 1);
  const timeOrigin = options.timeOrigin ?? 1.8e12;
  const runStartedAt = 1000.25;
  const free = Array.from({ length: lanes }, () => runStartedAt + 2);
  const records: RequestRecord[] = [];
  const seen = new Set<number>();
  let device = 0, offload = 0, computed = 0;
  for (let i = 0; i < n; i++) {
    // The lane that frees first sends the next request.
    let lane = 0;
    for (let l = 1; l < lanes; l++) if (free[l] < free[lane]) lane = l;
    const scheduledAt = free[lane];
    const sentAt = scheduledAt + random() * 0.8;
    let group: number, session: number, turn: number, cold: boolean;
    let promptTokens: number;
    if (command === "trie") {
      session = Math.floor(i / groups);
      turn = i % groups;
      group = turn;
      promptTokens = 2000 + turn * 1500;
      cold = turn === 0;
    } else {
      session = i;
      turn = 0;
      group = i % groups;
      promptTokens = prompt + 8;
      cold = !seen.has(group);
      seen.add(group);
    }
    const cached = cold
      ? 0
      : command === "trie"
      ? 2000 + (turn - 1) * 1500
      : Math.floor(promptTokens / 16) * 16 - 16;
    const ttft = (cold ? 300 + random() * 60 : 40 + random() * 25) *
      (command === "trie" ? 0.3 : 1);
    const fails = options.failEvery !== undefined &&
      i % options.failEvery === options.failEvery - 1;
    const firstTokenAt = sentAt + ttft;
    const readGaps: number[] = [];
    const readEvents: number[] = [1];
    let tokens = 1;
    while (tokens < output) {
      const k = random() < 0.2 ? 2 : 1;
      readGaps.push(Math.round((6 + random() * 4) * 10 * k));
      readEvents.push(k);
      tokens += k;
    }
    const endAt = firstTokenAt + readGaps.reduce((a, b) => a + b, 0) / 10 +
      0.5;
    const record: RequestRecord = {
      session,
      turn,
      scheduledAt,
      sentAt,
      endAt: fails ? sentAt + ttft * 0.5 : endAt,
      chunks: fails ? 0 : tokens,
      promptChars: promptTokens * 2,
      outputChars: fails ? 0 : tokens * 4,
      maxTokens: output,
      ok: !fails,
      retries: 0,
      runStartedAt,
      sessionStartedAt: sentAt,
      timeOrigin,
    };
    if (command === "benchmark") record.tags = { context: group, index: i };
    if (i < warmup) record.warmup = true;
    if (fails) {
      record.status = 500;
      record.error = { kind: "http", message: "HTTP 500" };
    } else {
      Object.assign(record, {
        firstTokenAt,
        firstAnswerAt: firstTokenAt,
        readGaps,
        readEvents: readEvents.some((k) => k > 1) ? readEvents : undefined,
        promptTokens,
        completionTokens: tokens,
        cachedTokens: cached,
        finishReason: "length",
        status: 200,
      });
      computed += promptTokens - cached;
      if (command === "trie") device += cached;
      else offload += cached;
    }
    records.push(record);
    free[lane] = record.endAt;
  }
  records.sort((a, b) => a.endAt - b.endAt);
  const last = records.reduce((m, r) => Math.max(m, r.endAt), runStartedAt);
  const elapsedMs = last - runStartedAt + 1;
  const metrics = syntheticScrapes(records, {
    command,
    runStartedAt,
    timeOrigin,
    last,
    everyMs: (options.scrapeEveryS ?? 5) * 1000,
  });
  const split = {
    prompt: computed + device + offload,
    computed,
    device,
    offload,
  };
  const info = syntheticInfo(options, {
    command,
    groups,
    prompt,
    output,
    timeOrigin,
    runStartedAt,
  });
  const summary = {
    command,
    server: {
      engine: "kvbench-sim",
      version: "0.1.0",
      split,
      verdict: command === "benchmark"
        ? `Verdict: the offload tier served ${
          (offload / Math.max(1, offload + computed) * 100).toFixed(1)
        }% of the reusable prompt tokens.`
        : undefined,
    },
  };
  return {
    info,
    records,
    end: { startedAt: runStartedAt, elapsedMs, stopReason: "duration" },
    metrics,
    summary,
  };
}

/** Scrapes every `everyMs`: counters summed over the requests ended by each. */
function syntheticScrapes(
  records: readonly RequestRecord[],
  at: {
    command: "benchmark" | "trie";
    runStartedAt: number;
    timeOrigin: number;
    last: number;
    everyMs: number;
  },
): Required<MetricsFileContents> {
  const { command, runStartedAt, timeOrigin, last } = at;
  const every = at.everyMs;
  const metrics: Required<MetricsFileContents> = {
    header: {
      server: { engine: "kvbench-sim", version: "0.1.0" },
      urls: ["http://127.0.0.1:8000/metrics"],
      timeOrigin,
      startedAt: runStartedAt - 5,
    },
    scrapes: [],
  };
  const ended = records.filter((r) => r.ok).sort((a, b) => a.endAt - b.endAt);
  const scrapeTimes: number[] = [];
  for (let at = runStartedAt - 1; at < last + every; at += every) {
    scrapeTimes.push(Math.min(at, last + 1));
    if (at >= last) break;
  }
  for (const at of scrapeTimes) {
    let p = 0, c = 0, hitsDevice = 0, hitsOffload = 0;
    for (const r of ended) {
      if (r.endAt > at) break;
      p += r.promptTokens!;
      c += r.promptTokens! - r.cachedTokens!;
      if (command === "trie") hitsDevice += r.cachedTokens!;
      else hitsOffload += r.cachedTokens!;
    }
    const scrape: MetricsScrape = {
      at,
      elapsedMs: at - (runStartedAt - 5),
      ok: 1,
      failed: [],
      engines: ["vllm"],
      counters: {
        promptTokens: p,
        computedTokens: c,
        deviceHitTokens: hitsDevice,
        offloadHitTokens: hitsOffload,
      },
      gauges: { deviceKvUsage: Math.min(1, p / 4e6), deviceKvTokens: 43680 },
      resets: 0,
    };
    metrics.scrapes.push(scrape);
  }
  return metrics;
}

/** run.json of a synthetic run. */
function syntheticInfo(
  options: SyntheticRunOptions,
  run: {
    command: "benchmark" | "trie";
    groups: number;
    prompt: number;
    output: number;
    timeOrigin: number;
    runStartedAt: number;
  },
): Record<string, unknown> & { command: string; runStartedAt: number } {
  const { command, groups, prompt, output, timeOrigin, runStartedAt } = run;
  return {
    command,
    argv: command === "trie"
      ? ["workload_path=traces.jsonl", "endpoint=http://127.0.0.1:8000/v1"]
      : ["--endpoint", "http://127.0.0.1:8000", "--duration", "30"],
    kvbench: "0.1.0",
    deno: "2.9.6",
    startedAt: new Date(timeOrigin + runStartedAt).toISOString(),
    timeOrigin,
    runStartedAt,
    params: {
      endpoint: "http://127.0.0.1:8000/v1/",
      model: "Qwen/Qwen3-30B-A3B-Instruct-2507",
      seed: options.seed ?? 1,
    },
    workload: command === "benchmark"
      ? { contexts: groups, inputLength: prompt, outputLength: output }
      : null,
    server: { engine: "kvbench-sim", version: "0.1.0" },
    machine: { hostname: "test", os: "linux", arch: "x86_64", cpus: 2 },
  };
}

/**
 * Write a synthetic run as a run directory (`run.json`, `records.jsonl`,
 * `metrics.jsonl`, `summary.json`); returns it.
 *
 * @example Usage
 * ```ts
 * import { syntheticRun, writeRunDir } from "./synthetic.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeRunDir(dir, syntheticRun({ requests: 10 }));
 * const lines = (await Deno.readTextFile(`${dir}/records.jsonl`)).trimEnd().split("\n");
 * assert.equal(lines.length, 11); // ten records and the run's line
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeRunDir(
  dir: string,
  run: SyntheticRun,
): Promise<SyntheticRun> {
  await Deno.mkdir(dir, { recursive: true });
  const lines = run.records.map((r) => JSON.stringify(r));
  lines.push(
    JSON.stringify({ run: { ...run.end, timeOrigin: run.info.timeOrigin } }),
  );
  await Deno.writeTextFile(`${dir}/records.jsonl`, lines.join("\n") + "\n");
  await Deno.writeTextFile(
    `${dir}/run.json`,
    JSON.stringify(run.info, null, 2) + "\n",
  );
  await Deno.writeTextFile(
    `${dir}/metrics.jsonl`,
    [run.metrics.header, ...run.metrics.scrapes].map((m) => JSON.stringify(m))
      .join("\n") + "\n",
  );
  await Deno.writeTextFile(
    `${dir}/summary.json`,
    JSON.stringify(run.summary, null, 2) + "\n",
  );
  return run;
}
