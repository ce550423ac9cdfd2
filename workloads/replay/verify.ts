/**
 * `kvbench replay --verify N` (is the reused KV right?) and `--reset-cache`:
 * after the replay, the N requests of its last level whose prompts the
 * server served from its cache with the most cached tokens are sent again,
 * greedily, warm and cold, and compared token by token
 * (`lib/verify/check.ts`).
 *
 * @module
 */
import { endpointConfig } from "../../lib/cli/flags_workload.ts";
import { detectServer } from "../../lib/server/detect.ts";
import type { RequestRecord } from "../../lib/types.ts";
import {
  ReuseCheck,
  VERIFY_MAX_TOKENS,
  type VerifyFlags,
  verifyFlagsOf,
} from "../../lib/verify/check.ts";
import type { Level, ReplayRun } from "./level.ts";
import { replayOptions } from "./level.ts";
import { replaySpecs } from "./run.ts";
import { REQUEST_TAG } from "./session.ts";
import type { ReplayTrace, TraceRequest } from "./trace.ts";

/** One request a check picked. */
export interface ReusedRequest {
  /** The trace's request. */
  request: TraceRequest;
  /** The cached tokens the server reported for it in the replay. */
  cachedTokens: number;
}

/** Options of {@linkcode reusedRequests}. */
export interface ReusedRequestsOptions {
  /** How many requests to pick (`--verify N`). */
  count: number;
}

/**
 * The requests `--verify n` checks: of the completed ones the server
 * reported cached tokens for, those with the most (ties: the earlier
 * request first), each prompt once.
 *
 * @example Usage
 * ```ts
 * import { reusedRequests } from "./verify.ts";
 * import { parseTrace } from "./formats.ts";
 * import { testRecord } from "../../lib/testing/records.ts";
 * import assert from "node:assert/strict";
 *
 * const trace = parseTrace([
 *   '{"timestamp": 0, "input_length": 600, "output_length": 4, "hash_ids": [1, 2]}',
 *   '{"timestamp": 1, "input_length": 600, "output_length": 4, "hash_ids": [1, 3]}',
 *   '{"timestamp": 2, "input_length": 600, "output_length": 4, "hash_ids": [1, 2]}',
 *   '{"timestamp": 3, "input_length": 600, "output_length": 4, "hash_ids": [1, 2]}',
 * ].join("\n"), { name: "t.jsonl" });
 * const records = [
 *   testRecord({ tags: { trace_request: 0 }, cachedTokens: 0 }),
 *   testRecord({ tags: { trace_request: 1 }, cachedTokens: 512 }),
 *   testRecord({ tags: { trace_request: 2 }, cachedTokens: 592 }),
 *   testRecord({ tags: { trace_request: 3 }, cachedTokens: 600 }), // the same prompt as 2
 * ];
 * const picked = reusedRequests(trace, records, { count: 3 });
 * assert.deepEqual(picked.map((p) => [p.request.index, p.cachedTokens]), [[3, 600], [1, 512]]);
 * ```
 */
export function reusedRequests(
  trace: ReplayTrace,
  records: readonly RequestRecord[],
  options: ReusedRequestsOptions,
): ReusedRequest[] {
  const n = options.count;
  const candidates: ReusedRequest[] = [];
  for (const record of records) {
    const index = record.tags?.[REQUEST_TAG];
    const cached = record.cachedTokens ?? 0;
    if (!record.ok || record.warmup || cached <= 0) continue;
    if (typeof index !== "number" || trace.requests[index] === undefined) {
      continue;
    }
    candidates.push({ request: trace.requests[index], cachedTokens: cached });
  }
  candidates.sort((a, b) =>
    b.cachedTokens - a.cachedTokens || a.request.index - b.request.index
  );
  const seen = new Set<string>();
  const picked: ReusedRequest[] = [];
  for (const c of candidates) {
    if (picked.length === n) break;
    // Equal lengths and blocks: the same prompt.
    const key = `${c.request.inputLength}:${c.request.blocks.join(",")}`;
    if (seen.has(key)) continue;
    seen.add(key);
    picked.push(c);
  }
  return picked;
}

/** Where the check reports. */
export interface ReplayVerifyContext {
  /** The endpoint (base URL ending in `/v1/`). */
  baseUrl: string;
  /** Its API key. */
  apiKey?: string;
  /** Progress and verdict lines (stdout). */
  info: (text: string) => void;
}

/**
 * `--verify` and `--reset-cache` over one replay: the engine they were
 * chosen for, the records of the level running, the check.
 */
export class ReplayVerify {
  readonly #check: ReuseCheck;
  readonly #c: ReplayVerifyContext;
  #level?: Level;
  #records: RequestRecord[] = [];

  private constructor(check: ReuseCheck, c: ReplayVerifyContext) {
    this.#check = check;
    this.#c = c;
  }

  /**
   * The flags of a parsed command line, checked, and the engine detected
   * when they need it. Rejects with a TypeError on a bad `--cold-method`.
   *
   * @example Nothing asked for: nothing probed
   * ```ts
   * import { ReplayVerify } from "./verify.ts";
   * import assert from "node:assert/strict";
   *
   * const v = await ReplayVerify.setup({ resetCache: false }, { baseUrl: "http://127.0.0.1:9/v1/", info: () => {} });
   * assert.equal(v.flags.verify, 0);
   * await assert.rejects(ReplayVerify.setup({ coldMethod: "salt", resetCache: false }, { baseUrl: "http://127.0.0.1:9/v1/", info: () => {} }), /--cold-method needs --verify N/);
   * ```
   */
  static async setup(
    values: { verify?: number; coldMethod?: string; resetCache?: boolean },
    c: ReplayVerifyContext,
  ): Promise<ReplayVerify> {
    const flags = verifyFlagsOf(values);
    const engine = flags.verify > 0 || flags.resetCache
      ? (await detectServer(c.baseUrl, { apiKey: c.apiKey })).engine
      : undefined;
    return new ReplayVerify(
      new ReuseCheck(flags, { ...c, engine }),
      c,
    );
  }

  /** The flags. */
  get flags(): VerifyFlags {
    return this.#check.flags;
  }

  /** Before level `index`: `--reset-cache`. */
  beforeLevel(index: number, signal?: AbortSignal): Promise<void> {
    return this.#check.beforeLevel(index, signal);
  }

  /** Count one finished record of `level` (a new level drops the last one's). */
  add(record: RequestRecord, level: Level): void {
    if (this.flags.verify === 0) return;
    if (level !== this.#level) {
      this.#level = level;
      this.#records = [];
    }
    this.#records.push(record);
  }

  /**
   * `--verify N` after the run: the last level's longest reuses against
   * cold compute; the verdict line, `verify.jsonl` and `verify.json` in
   * `dir`. Resolves to the exit code (1 on a divergence beyond the control,
   * or nothing checked).
   */
  async check(
    run: ReplayRun,
    c: { dir?: string; signal?: AbortSignal },
  ): Promise<number> {
    const n = this.flags.verify;
    if (n === 0) return 0;
    const level = this.#level;
    const picked = level === undefined
      ? []
      : reusedRequests(run.trace, this.#records, { count: n });
    this.#c.info(
      picked.length === 0
        ? `[INFO] ${this.#check.verifyLabel}: no request of the replay was served from the cache (cached tokens > 0)\n`
        : `[INFO] ${this.#check.verifyLabel}: the longest reuses${
          run.opts.speeds.length > 1 ? ` of ${level!.label}` : ""
        }: ${
          picked.map((p) =>
            `${p.request.where} (${p.cachedTokens} cached tokens)`
          ).join(", ")
        }; max_tokens: output_length, at most ${VERIFY_MAX_TOKENS}\n`,
    );
    const spec = level === undefined
      ? undefined
      : replaySpecs(run.trace, replayOptions(run, level)).spec;
    const { code } = await this.#check.check(endpointConfig(run.opts, run), {
      contexts: picked.map((p) => ({
        id: p.request.index,
        prompt: spec!(p.request).prompt,
        maxTokens: Math.min(p.request.outputLength, VERIFY_MAX_TOKENS),
      })),
      api: run.opts.api === "chat" ? "chat" : "completions",
      dir: c.dir,
      signal: c.signal,
    });
    return code;
  }
}
