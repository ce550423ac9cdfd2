/**
 * Cache namespaces of a run's requests (`--cache-salt`) and like-with-like
 * speed-ups (`--controls`): a fraction of the requests made cold (a
 * `cache_salt` of their own) and interleaved with the others, so cold and
 * warm TTFT are measured under the same load, not in different laps.
 *
 * @module
 */
import { seededRandom } from "../../lib/rng.ts";
import { requestFigures } from "../../lib/metrics/figures.ts";
import type { RequestRecord, RequestSpec, Session } from "../../lib/types.ts";
import type { RunPart } from "../../lib/run/runner.ts";
import { interceptSends } from "../../lib/shapes/sessions.ts";

/** What `--cache-salt` asks for. */
export type CacheSaltMode = "run" | "session" | "none";

/** Options of {@linkcode requestShaper}. */
export interface ShaperOptions {
  /** The run's salt (`--cache-salt run|session`); none: the shared namespace. */
  salt?: string;
  /** A salt per session (per context for the benchmark, whose contexts are its sessions). */
  perSession?: boolean;
  /** Fraction of requests made cold controls (0 = none). */
  controls?: number;
  /** Seed of the control draw. */
  seed?: number;
  /** Put in every control's salt, before `-control-N` (a part's, so parts' controls never share a salt). */
  controlTag?: string;
}

/**
 * How each request is changed: the run's (or session's) `cache_salt`, and
 * for a control, a salt of its own and the tag `control` (holding the
 * context) in place of `context`, so the reuse figures leave it out.
 *
 * @example Usage
 * ```ts
 * import { requestShaper } from "./controls.ts";
 * import assert from "node:assert/strict";
 *
 * const shape = requestShaper({ salt: "r1", controls: 1, seed: 1 })!;
 * const spec = shape({ prompt: "p", maxTokens: 1, tags: { context: 3 } }, 0);
 * assert.equal(spec.extraBody?.cache_salt, "r1-control-0");
 * assert.deepEqual(spec.tags, { control: 3 });
 * const part = requestShaper({ salt: "r1", controls: 1, seed: 1, controlTag: "-p1" })!;
 * assert.equal(part({ prompt: "p", maxTokens: 1 }, 0).extraBody?.cache_salt, "r1-p1-control-0");
 * const run = requestShaper({ salt: "r1" })!;
 * assert.equal(run({ prompt: "p", maxTokens: 1 }, 0).extraBody?.cache_salt, "r1");
 * assert.equal(requestShaper({}), undefined);
 * ```
 */
export function requestShaper(
  options: ShaperOptions,
): ((spec: RequestSpec, session: number) => RequestSpec) | undefined {
  const { salt, controls = 0 } = options;
  if (salt === undefined && controls === 0) return undefined;
  const rng = seededRandom(options.seed);
  const controlSalt = salt ?? `kvbench-${crypto.randomUUID().slice(0, 8)}`;
  let sent = 0;
  return (spec, session) => {
    const n = sent++;
    if (controls > 0 && rng.next() < controls) {
      const { context, ...tags } = spec.tags ?? {};
      return {
        ...spec,
        extraBody: {
          ...spec.extraBody,
          cache_salt: `${controlSalt}${options.controlTag ?? ""}-control-${n}`,
        },
        tags: { ...tags, control: context ?? session },
      };
    }
    if (salt === undefined) return spec;
    const key = spec.tags?.context ?? session;
    return {
      ...spec,
      extraBody: {
        ...spec.extraBody,
        cache_salt: options.perSession ? `${salt}-s${key}` : salt,
      },
    };
  };
}

/** Options of {@linkcode runShaper}. */
export interface RunShaperOptions {
  /** The run's `cache_salt` (none when the server takes no salt). */
  salt?: string;
  /** `--cache-salt`. */
  mode: CacheSaltMode;
  /** `--controls F` (0: none). */
  controls: number;
  /** The run's seed. */
  seed: number;
  /** The part this process runs (a worker, a shard), if any. */
  part?: RunPart;
}

/**
 * The request shaping of one process of a run: the run's `cache_salt`
 * (unless `--cache-salt none`), and the controls, drawn with a seed of the
 * process's own (the run's seed and the part's index) and salted with the
 * part's index, so the parts of one run draw different controls and no two
 * share a salt.
 *
 * @example Usage
 * ```ts
 * import { runShaper } from "./controls.ts";
 * import assert from "node:assert/strict";
 *
 * const part = { index: 1, count: 2 };
 * const shape = runShaper({ salt: "kvbench-1", mode: "run", controls: 1, seed: 3, part })!;
 * assert.equal(shape({ prompt: "p", maxTokens: 1 }, 0).extraBody?.cache_salt, "kvbench-1-p1-control-0");
 * const salted = runShaper({ salt: "kvbench-1", mode: "session", controls: 0, seed: 3 })!;
 * assert.equal(salted({ prompt: "p", maxTokens: 1, tags: { context: 4 } }, 0).extraBody?.cache_salt, "kvbench-1-s4");
 * assert.equal(runShaper({ salt: "kvbench-1", mode: "none", controls: 0, seed: 3 }), undefined);
 * ```
 */
export function runShaper(
  options: RunShaperOptions,
): ((spec: RequestSpec, session: number) => RequestSpec) | undefined {
  const { part, seed } = options;
  return requestShaper({
    salt: options.mode === "none" ? undefined : options.salt,
    perSession: options.mode === "session",
    controls: options.controls,
    seed: part === undefined
      ? seed
      : (seed + Math.imul(part.index + 1, 0x9e3779b9)) >>> 0,
    controlTag: part === undefined ? undefined : `-p${part.index}`,
  });
}

/**
 * The workload with every request passed through `shape` (the session's
 * index as second argument); the workload itself when `shape` is undefined.
 *
 * @example Usage
 * ```ts
 * import { shapeRequests } from "./controls.ts";
 * import { singleRequest } from "../../lib/shapes/sessions.ts";
 * import { testRecord } from "../../lib/testing/records.ts";
 * import type { RequestSpec } from "../../lib/types.ts";
 * import assert from "node:assert/strict";
 *
 * const sent: RequestSpec[] = [];
 * const [session] = shapeRequests([singleRequest({ prompt: "p", maxTokens: 1 })],
 *   (spec) => ({ ...spec, maxTokens: 2 }));
 * await session({
 *   id: 0, signal: new AbortController().signal, now: () => 0, startedAt: 0,
 *   sleep: async () => {}, send: async (spec) => (sent.push(spec), testRecord()),
 * });
 * assert.equal(sent[0].maxTokens, 2);
 * ```
 */
export function shapeRequests(
  workload: Iterable<Session>,
  shape?: (spec: RequestSpec, session: number) => RequestSpec,
): Iterable<Session> {
  if (shape === undefined) return workload;
  return interceptSends(workload, (spec, send, id) => send(shape(spec, id)));
}

/** What {@linkcode ControlTracker} measured. */
export interface ControlFigures {
  /** TTFTs (ms) of reuses served from cache (cached ≥ half the prompt). */
  hitTtftMs: number[];
  /** TTFTs (ms) of cold controls of contexts already seen (interleaved with those reuses). */
  controlTtftMs: number[];
  /** Of the controls, those that still reported cached tokens (≥ half the prompt): the salt was ignored. */
  warmControls: number;
}

/**
 * Collects warm reuses and cold controls of a run. Controls of a context
 * not seen yet (the first lap, when everything is cold anyway) are left
 * out, so both sides come from the laps where reuse happens.
 *
 * @example Usage
 * ```ts
 * import { ControlTracker } from "./controls.ts";
 * import { testRecord } from "../../lib/testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const t = new ControlTracker();
 * const at = (ttft: number, cached: number, tags: Record<string, number>) =>
 *   testRecord({ sentAt: 0, firstTokenAt: ttft, promptTokens: 100, cachedTokens: cached, tags });
 * t.add(at(400, 0, { context: 0 })); // first lap: cold, not counted
 * t.add(at(400, 0, { control: 1 })); // context 1 not seen yet: left out
 * t.add(at(100, 96, { context: 0 })); // a reuse served from cache
 * t.add(at(400, 0, { control: 0 })); // a control of a context seen
 * assert.deepEqual(t.figures(), { hitTtftMs: [100], controlTtftMs: [400], warmControls: 0 });
 * assert.equal(t.line(), "Like with like: reuses served from cache had a mean TTFT of 0.10 s (1 requests) against 0.40 s for 1 cold controls interleaved at the same load (--controls): 4.0× faster.");
 * ```
 */
export class ControlTracker {
  #seen = new Set<number | string>();
  #figures: ControlFigures = {
    hitTtftMs: [],
    controlTtftMs: [],
    warmControls: 0,
  };

  /** Count one record. */
  add(record: RequestRecord): void {
    const context = record.tags?.context;
    const control = record.tags?.control;
    const key = context ?? control;
    if (key === undefined) return;
    const seen = this.#seen.has(key);
    if (context !== undefined) this.#seen.add(context);
    if (!record.ok || record.warmup || !seen) return;
    const f = requestFigures(record);
    if (f.ttftMs === undefined) return;
    const cachedHalf = f.cachedTokens !== undefined &&
      f.promptTokens !== undefined && f.cachedTokens * 2 >= f.promptTokens;
    if (control !== undefined) {
      this.#figures.controlTtftMs.push(f.ttftMs);
      if (cachedHalf) this.#figures.warmControls++;
    } else if (cachedHalf || f.cachedTokens === undefined) {
      this.#figures.hitTtftMs.push(f.ttftMs);
    }
  }

  /** The figures so far. */
  figures(): ControlFigures {
    return structuredClone(this.#figures);
  }

  /** The like-with-like line, or why there is none. */
  line(): string {
    const { hitTtftMs: hit, controlTtftMs: cold, warmControls } = this
      .#figures;
    if (cold.length === 0 || hit.length === 0) {
      return `Like with like: no comparison (${hit.length} reuses served from cache, ${cold.length} cold controls after the first lap); run longer.`;
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const h = mean(hit) / 1000, c = mean(cold) / 1000;
    const warned = warmControls > 0
      ? ` ${warmControls} controls reported cached tokens: the server may ignore cache_salt.`
      : "";
    return `Like with like: reuses served from cache had a mean TTFT of ${
      h.toFixed(2)
    } s (${hit.length} requests) against ${
      c.toFixed(2)
    } s for ${cold.length} cold controls interleaved at the same load (--controls): ${
      c >= h ? `${(c / h).toFixed(1)}× faster` : `${(h / c).toFixed(1)}× slower`
    }.${warned}`;
  }
}
