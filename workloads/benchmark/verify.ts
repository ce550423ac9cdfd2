/**
 * `kvbench benchmark`'s cache options: `--verify N` (is the reused KV
 * right?), `--cold-method`, `--reset-cache`, `--cache-salt` and
 * `--controls`; their parsing, the setup before the run, and the check
 * after it (the workload-independent part in `lib/verify/check.ts`: this
 * file picks the contexts and their salts).
 *
 * @module
 */
import type { EndpointConfig } from "../../lib/openai/request.ts";
import { detectServer } from "../../lib/server/detect.ts";
import {
  numberedQuestions,
  repeatedWordContexts,
} from "../../lib/shapes/prompts.ts";
import type { RequestRecord, RequestSpec } from "../../lib/types.ts";
import {
  ReuseCheck,
  type VerifyFlags,
  verifyFlagsOf,
} from "../../lib/verify/check.ts";
import type { VerifyResult } from "../../lib/verify/verify.ts";
import {
  type CacheSaltMode,
  ControlTracker,
  requestShaper,
} from "./controls.ts";
import type { BenchmarkSizing } from "./sizing.ts";

/** The parsed options: `--verify`, `--cold-method`, `--reset-cache` (lib/verify/check.ts) and the run's salt and controls. */
export interface CacheOptions extends VerifyFlags {
  /** `--cache-salt` (default none). */
  cacheSalt: CacheSaltMode;
  /** `--controls F` (default 0). */
  controls: number;
}

/**
 * The cache options of a parsed command line, checked: `--cold-method`
 * and `--cache-salt` take one of their words, `--cold-method` needs
 * `--verify`. Throws a {@linkcode TypeError} with a one-line message.
 *
 * @example Usage
 * ```ts
 * import { cacheOptionsOf } from "./verify.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   cacheOptionsOf({ verify: 4, resetCache: true, cacheSalt: "run" }),
 *   { verify: 4, resetCache: true, cacheSalt: "run", controls: 0 },
 * );
 * assert.throws(() => cacheOptionsOf({ cacheSalt: "all" }), /--cache-salt all/);
 * assert.throws(() => cacheOptionsOf({ coldMethod: "salt" }), /needs --verify/);
 * ```
 */
export function cacheOptionsOf(values: {
  verify?: number;
  coldMethod?: string;
  resetCache?: boolean;
  cacheSalt?: string;
  controls?: number;
}): CacheOptions {
  const options: CacheOptions = {
    ...verifyFlagsOf(values),
    cacheSalt: "none",
    controls: values.controls ?? 0,
  };
  const salt = values.cacheSalt ?? "none";
  if (!["run", "session", "none"].includes(salt)) {
    throw new TypeError(`--cache-salt ${salt}: expected run, session or none`);
  }
  options.cacheSalt = salt as CacheSaltMode;
  return options;
}

/** Engines that take `cache_salt` in the body (vLLM and its family, the simulator). */
function takesSalt(engine: string | undefined): boolean {
  return engine !== "sglang" && engine !== "llamacpp";
}

/** Where the setup reports. */
export interface CacheSetupContext {
  /** The endpoint (base URL ending in `/v1/`). */
  baseUrl: string;
  /** Its API key. */
  apiKey?: string;
  /** The run's seed (the control draw). */
  seed: number;
  /** The run's `cache_salt` (default: a random one). */
  salt?: string;
  /** Progress lines (`[INFO] …`). */
  info: (text: string) => void;
  /** Warnings. */
  warn: (text: string) => void;
}

/**
 * The cache options in action over one run: the engine they were chosen
 * for, the run's salt, the request shaping, the cache resets, the controls'
 * figures and the check.
 */
export class BenchmarkCacheControls {
  /** The options. */
  readonly options: CacheOptions;
  /** The detected engine, when any option needed it. */
  readonly engine?: string;
  /** The run's `cache_salt`, when one is sent. */
  readonly salt?: string;
  /** Reuse and control figures (with `--controls`). */
  readonly tracker?: ControlTracker;
  readonly #c: CacheSetupContext;
  /** `--verify` and `--reset-cache` (lib/verify/check.ts). */
  readonly #check: ReuseCheck;
  /** Contexts by their last use in the run (tile index). */
  readonly #lastUse = new Map<number, number>();

  private constructor(
    options: CacheOptions,
    c: CacheSetupContext,
    engine?: string,
  ) {
    this.options = options;
    this.#c = c;
    this.engine = engine;
    this.#check = new ReuseCheck(options, {
      baseUrl: c.baseUrl,
      apiKey: c.apiKey,
      engine,
      info: c.info,
    });
    if (options.cacheSalt !== "none" && takesSalt(engine)) {
      this.salt = c.salt ?? `kvbench-${crypto.randomUUID().slice(0, 8)}`;
    }
    if (options.controls > 0) this.tracker = new ControlTracker();
  }

  /**
   * Detect the engine when an option needs it, and say what will be done.
   *
   * @example Nothing asked for: nothing probed
   * ```ts
   * import { BenchmarkCacheControls } from "./verify.ts";
   * import assert from "node:assert/strict";
   *
   * const c = await BenchmarkCacheControls.setup(
   *   { verify: 0, resetCache: false, cacheSalt: "none", controls: 0 },
   *   { baseUrl: "http://127.0.0.1:9/v1/", seed: 1, info: () => {}, warn: () => {} },
   * );
   * assert.equal(c.engine, undefined);
   * assert.equal(c.shaper(), undefined);
   * ```
   */
  static async setup(
    options: CacheOptions,
    c: CacheSetupContext,
  ): Promise<BenchmarkCacheControls> {
    const needed = options.verify > 0 || options.resetCache ||
      options.cacheSalt !== "none" || options.controls > 0;
    const engine = needed
      ? (await detectServer(c.baseUrl, { apiKey: c.apiKey })).engine
      : undefined;
    const controls = new BenchmarkCacheControls(options, c, engine);
    if (options.cacheSalt !== "none") {
      if (controls.salt === undefined) {
        c.warn(
          `[WARN] --cache-salt ${options.cacheSalt}: ${engine} takes no cache_salt; none is sent (--reset-cache starts a run cold)\n`,
        );
      } else {
        c.info(
          `[INFO] cache_salt ${controls.salt}${
            options.cacheSalt === "session" ? "-s<context>" : ""
          } on every request\n`,
        );
      }
    }
    if (options.controls > 0 && !takesSalt(engine)) {
      c.warn(
        `[WARN] --controls: ${engine} takes no cache_salt; the controls may be served from cache (their cached tokens tell)\n`,
      );
    }
    return controls;
  }

  /** How the run's requests are changed (undefined: they are not). */
  shaper(): ((spec: RequestSpec, session: number) => RequestSpec) | undefined {
    return requestShaper({
      salt: this.salt,
      perSession: this.options.cacheSalt === "session",
      controls: this.options.controls,
      seed: this.#c.seed,
    });
  }

  /** Before level `index` of the run: `--reset-cache`. */
  beforeLevel(index: number, signal?: AbortSignal): Promise<void> {
    return this.#check.beforeLevel(index, signal);
  }

  /** Count one finished record (the controls, the contexts' last use). */
  add(record: RequestRecord): void {
    this.tracker?.add(record);
    const context = record.tags?.context, index = record.tags?.index;
    if (typeof context === "number" && typeof index === "number") {
      this.#lastUse.set(
        context,
        Math.max(index, this.#lastUse.get(context) ?? -1),
      );
    }
  }

  /**
   * The contexts `--verify` checks: the `n` least recently used of those
   * the run sent (the likeliest to have left GPU memory).
   *
   * @example Usage
   * ```ts
   * import { BenchmarkCacheControls } from "./verify.ts";
   * import { testRecord } from "../../lib/testing/records.ts";
   * import assert from "node:assert/strict";
   *
   * const c = await BenchmarkCacheControls.setup(
   *   { verify: 0, resetCache: false, cacheSalt: "none", controls: 0 },
   *   { baseUrl: "http://127.0.0.1:9/v1/", seed: 1, info: () => {}, warn: () => {} },
   * );
   * for (const [index, context] of [0, 1, 2, 0, 1].entries()) c.add(testRecord({ tags: { context, index } }));
   * assert.deepEqual(c.oldestContexts(2), [2, 0]);
   * ```
   */
  oldestContexts(n: number): number[] {
    return [...this.#lastUse].sort((a, b) => a[1] - b[1]).slice(0, n)
      .map(([context]) => context);
  }

  /**
   * `--verify N` after the run: check the oldest contexts, print the
   * verdict line, write the pairs (`verify.jsonl`) and the verdict
   * (`verify.json`) into `dir`; resolves to the exit
   * code (1 on a divergence beyond the control, or nothing checked).
   */
  async verify(
    endpoint: EndpointConfig,
    c: {
      sizing: BenchmarkSizing;
      api?: "completions" | "chat";
      /** The run's context salt (`--context-salt`). */
      contextSalt?: string;
      dir?: string;
      signal?: AbortSignal;
    },
  ): Promise<{ code: number; result?: VerifyResult }> {
    const n = this.options.verify;
    if (n === 0) return { code: 0 };
    const texts = repeatedWordContexts(c.sizing.contexts, {
      tokens: c.sizing.inputLength,
      salt: c.contextSalt,
    });
    const question = numberedQuestions(1)[0];
    return await this.#check.check(endpoint, {
      contexts: this.oldestContexts(n).map((id) => ({
        id,
        prompt: texts[id] + question,
        // The run's namespace, so the warm request finds what the run cached.
        body: this.salt === undefined ? undefined : {
          cache_salt: this.options.cacheSalt === "session"
            ? `${this.salt}-s${id}`
            : this.salt,
        },
      })),
      maxTokens: c.sizing.outputLength,
      api: c.api,
      dir: c.dir,
      signal: c.signal,
    });
  }
}
