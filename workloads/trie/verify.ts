/**
 * `kvbench trie verify=N` (is the reused KV right?) and `reset_cache=True`:
 * trie's prompts grow with the server's own (sampled) answers, so they
 * cannot be rebuilt after the run; the requests are watched as they are
 * sent, and the N of the last level with the most cached tokens keep their
 * prompt. After the run they are sent again, greedily, warm and cold, and
 * compared token by token (`lib/verify/check.ts`).
 *
 * @module
 */
import { detectServer } from "../../lib/server/detect.ts";
import { interceptSends } from "../../lib/shapes/sessions.ts";
import type {
  ChatMessage,
  RequestRecord,
  RequestSpec,
  Session,
} from "../../lib/types.ts";
import {
  ReuseCheck,
  VERIFY_MAX_TOKENS,
  type VerifyFlags,
  verifyFlagsOf,
} from "../../lib/verify/check.ts";
import type { EndpointConfig } from "../../lib/verify/verify.ts";
import type { TrieLevel } from "./options.ts";

/** Called with every request a session sent and its record. */
export type OnSent = (spec: RequestSpec, record: RequestRecord) => void;

/**
 * The sessions of `workload`, each telling `onSent` what it sent and what
 * came back.
 *
 * @example Usage
 * ```ts
 * import { watchSends } from "./verify.ts";
 * import { testRecord } from "../../lib/testing/records.ts";
 * import type { SessionContext } from "../../lib/types.ts";
 * import assert from "node:assert/strict";
 *
 * const seen: string[] = [];
 * const [session] = watchSends([async (ctx) => void await ctx.send({ prompt: "hi", maxTokens: 1 })], (spec) => seen.push(spec.prompt as string));
 * const ctx = { id: 0, send: () => Promise.resolve(testRecord()) } as unknown as SessionContext;
 * await session(ctx);
 * assert.deepEqual(seen, ["hi"]);
 * ```
 */
export function* watchSends(
  workload: Iterable<Session>,
  onSent: OnSent,
): Generator<Session> {
  yield* interceptSends(workload, async (spec, send) => {
    const record = await send(spec);
    onSent(spec, record);
    return record;
  });
}

/** One request kept for the check. */
export interface KeptRequest {
  /** `trace <session> turn <turn>` (the record's `session` and `turn`). */
  name: string;
  /** Its prompt, as sent. */
  prompt: string | number[] | ChatMessage[];
  /** Its `max_tokens`. */
  maxTokens: number;
  /** The cached tokens the server reported for it. */
  cachedTokens: number;
}

/**
 * The `n` traces whose requests had the most cached tokens so far, each
 * with that request (ties: the first to complete). One request a trace:
 * a trace's turns share their prefix, so two of them would check mostly the
 * same KV; and the earlier traces' KV is the likelier to have left GPU
 * memory.
 *
 * @example Usage
 * ```ts
 * import { LongestReuses } from "./verify.ts";
 * import { testRecord } from "../../lib/testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const kept = new LongestReuses(2);
 * kept.add({ prompt: "a", maxTokens: 4 }, testRecord({ session: 0, turn: 1, cachedTokens: 10 }));
 * kept.add({ prompt: "b", maxTokens: 4 }, testRecord({ session: 1, turn: 1, cachedTokens: 30 }));
 * kept.add({ prompt: "c", maxTokens: 4 }, testRecord({ session: 2, turn: 0, cachedTokens: 0 }));
 * kept.add({ prompt: "bb", maxTokens: 4 }, testRecord({ session: 1, turn: 2, cachedTokens: 40 }));
 * kept.add({ prompt: "d", maxTokens: 4 }, testRecord({ session: 3, turn: 1, cachedTokens: 20 }));
 * kept.add({ prompt: "e", maxTokens: 4 }, testRecord({ session: 4, turn: 1, cachedTokens: 20 }));
 * assert.deepEqual(kept.requests.map((r) => [r.name, r.cachedTokens]), [["trace 1 turn 2", 40], ["trace 3 turn 1", 20]]);
 * // Many more traces: the first two stay.
 * for (let t = 5; t < 100; t++) kept.add({ prompt: `p${t}`, maxTokens: 4 }, testRecord({ session: t, turn: 1, cachedTokens: t === 50 ? 35 : 5 }));
 * assert.deepEqual(kept.requests.map((r) => r.name), ["trace 1 turn 2", "trace 50 turn 1"]);
 * ```
 */
export class LongestReuses {
  readonly #n: number;
  /** The best request of every trace seen, by trace. */
  readonly #best = new Map<number, KeptRequest & { order: number }>();
  #order = 0;

  /** Keep at most `n`. */
  constructor(n: number) {
    this.#n = n;
  }

  /** Count one completed request. */
  add(spec: RequestSpec, record: RequestRecord): void {
    const cached = record.cachedTokens ?? 0;
    if (!record.ok || record.warmup || cached <= 0) return;
    const best = this.#best.get(record.session);
    if (best !== undefined && best.cachedTokens >= cached) return;
    // Only the trace's best prompt is held: one a trace.
    this.#best.set(record.session, {
      name: `trace ${record.session} turn ${record.turn}`,
      prompt: spec.prompt,
      maxTokens: spec.maxTokens,
      cachedTokens: cached,
      order: this.#order++,
    });
    // Hold a few prompts, not every trace's: those below the first n never
    // come back (the first n only grow), unless their trace does better.
    if (this.#best.size > 2 * this.#n + 8) {
      const keep = new Set(this.#ranked().slice(0, this.#n));
      for (const [trace, kept] of this.#best) {
        if (!keep.has(kept)) this.#best.delete(trace);
      }
    }
  }

  #ranked(): (KeptRequest & { order: number })[] {
    return [...this.#best.values()]
      .sort((a, b) => b.cachedTokens - a.cachedTokens || a.order - b.order);
  }

  /** The requests kept, the most cached tokens first. */
  get requests(): KeptRequest[] {
    return this.#ranked().slice(0, this.#n)
      .map(({ order: _, ...kept }) => kept);
  }
}

/** Where the check reports. */
export interface TrieVerifyContext {
  /** The endpoint (base URL ending in `/v1/`). */
  baseUrl: string;
  /** Its API key. */
  apiKey?: string;
  /** Progress and verdict lines (stdout). */
  info: (text: string) => void;
}

/** `verify=N` and `reset_cache=True` over one trie run. */
export class TrieVerify {
  readonly #check: ReuseCheck;
  readonly #c: TrieVerifyContext;
  #level?: TrieLevel;
  #kept: LongestReuses;

  private constructor(check: ReuseCheck, c: TrieVerifyContext) {
    this.#check = check;
    this.#c = c;
    this.#kept = new LongestReuses(check.flags.verify);
  }

  /**
   * The keys of a parsed command line, checked (a TypeError on a bad
   * `cold_method`), and the engine detected when they need it.
   *
   * @example Nothing asked for: nothing probed
   * ```ts
   * import { TrieVerify } from "./verify.ts";
   * import assert from "node:assert/strict";
   *
   * const v = await TrieVerify.setup({ verify: null, cold_method: null, reset_cache: false }, { baseUrl: "http://127.0.0.1:9/v1/", info: () => {} });
   * assert.equal(v.flags.verify, 0);
   * assert.equal(v.onSent(), undefined);
   * ```
   */
  static async setup(
    v: Record<string, unknown>,
    c: TrieVerifyContext,
  ): Promise<TrieVerify> {
    const flags = trieVerifyFlags(v);
    const engine = flags.verify > 0 || flags.resetCache
      ? (await detectServer(c.baseUrl, { apiKey: c.apiKey })).engine
      : undefined;
    return new TrieVerify(
      new ReuseCheck(flags, { ...c, engine, syntax: "keys" }),
      c,
    );
  }

  /** The flags. */
  get flags(): VerifyFlags {
    return this.#check.flags;
  }

  /** Before level `index`: `reset_cache=True`. */
  beforeLevel(index: number, signal?: AbortSignal): Promise<void> {
    return this.#check.beforeLevel(index, signal);
  }

  /** What a level's run tells of each request sent (undefined without `verify=`). */
  onSent(level?: TrieLevel): OnSent | undefined {
    if (this.flags.verify === 0 || level === undefined) return undefined;
    if (level !== this.#level) {
      this.#level = level;
      this.#kept = new LongestReuses(this.flags.verify);
    }
    const kept = this.#kept;
    return (spec, record) => kept.add(spec, record);
  }

  /**
   * `verify=N` after the run: the last level's longest reuses against cold
   * compute; the verdict line, `verify.jsonl` and `verify.json` in `dir`.
   * Resolves to the exit code (1 on a divergence beyond the control, or
   * nothing checked).
   */
  async check(
    endpoint: EndpointConfig,
    c: { api?: "completions" | "chat"; dir?: string; signal?: AbortSignal },
  ): Promise<number> {
    const n = this.flags.verify;
    if (n === 0) return 0;
    const picked = this.#kept.requests;
    const label = this.#check.verifyLabel;
    this.#c.info(
      picked.length === 0
        ? `[INFO] ${label}: no request of the run was served from the cache (cached tokens > 0)\n`
        : `[INFO] ${label}: the longest reuses: ${
          picked.map((p) => `${p.name} (${p.cachedTokens} cached tokens)`)
            .join(", ")
        }; max_tokens: the request's, at most ${VERIFY_MAX_TOKENS}\n`,
    );
    const { code } = await this.#check.check(endpoint, {
      contexts: picked.map((p) => ({
        id: p.name,
        prompt: p.prompt,
        maxTokens: Math.min(p.maxTokens, VERIFY_MAX_TOKENS),
      })),
      api: c.api,
      dir: c.dir,
      signal: c.signal,
    });
    return code;
  }
}

/**
 * The check's keys of trie's parsed values, checked; a TypeError with a
 * one-line message.
 *
 * @example Usage
 * ```ts
 * import { trieVerifyFlags } from "./verify.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(trieVerifyFlags({ verify: 2, cold_method: null, reset_cache: true }), { verify: 2, resetCache: true });
 * assert.throws(() => trieVerifyFlags({ verify: 2, cold_method: "x", reset_cache: false }), /cold_method=x: expected salt, flush or nocache/);
 * ```
 */
export function trieVerifyFlags(v: Record<string, unknown>): VerifyFlags {
  return verifyFlagsOf({
    verify: (v.verify as number | null) ?? undefined,
    coldMethod: (v.cold_method as string | null) ?? undefined,
    resetCache: (v.reset_cache as boolean | null) ?? false,
  }, { syntax: "keys" });
}
