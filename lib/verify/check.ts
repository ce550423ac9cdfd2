/**
 * `--verify N`, `--cold-method` and `--reset-cache` of any workload: their
 * checking, the cache reset before each level, and the check after the run
 * (the progress line, the verdict line, `verify.jsonl` and `verify.json` in
 * the run directory, the exit code). The workload picks what to check: the
 * prompts it knows were served from the cache.
 *
 * @module
 */
import {
  COLD_METHODS,
  type ColdMethod,
  defaultColdMethod,
  resetCache,
} from "./cold.ts";
import {
  type EndpointConfig,
  pairJson,
  type VerifyContext,
  type VerifyResult,
  verifyReuse,
} from "./verify.ts";

export type { ColdMethod } from "./cold.ts";
export type { EndpointConfig, VerifyContext, VerifyResult } from "./verify.ts";

/**
 * `max_tokens` of a check's requests at most, for workloads whose requests
 * ask for more (a trace's answers run to hundreds of tokens): greedy answers
 * of a wrong KV part early, longer ones only add time.
 */
export const VERIFY_MAX_TOKENS = 128;

/** How the options are written: `--verify N` (flags) or `verify=N` (trie's keys). */
export type VerifySyntax = "flags" | "keys";

/**
 * The option's name as a command line writes it.
 *
 * @example Usage
 * ```ts
 * import { verifyOptionName } from "./check.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(verifyOptionName("coldMethod"), "--cold-method");
 * assert.equal(verifyOptionName("coldMethod", "keys"), "cold_method");
 * ```
 */
export function verifyOptionName(
  option: "verify" | "coldMethod" | "resetCache",
  syntax: VerifySyntax = "flags",
): string {
  const names = {
    verify: ["--verify", "verify"],
    coldMethod: ["--cold-method", "cold_method"],
    resetCache: ["--reset-cache", "reset_cache"],
  };
  return names[option][syntax === "keys" ? 1 : 0];
}

/** `--verify N`, `--cold-method`, `--reset-cache`, checked. */
export interface VerifyFlags {
  /** `--verify N`: prompts to check (0: no check). */
  verify: number;
  /** `--cold-method` (default: from the detected engine). */
  coldMethod?: ColdMethod;
  /** `--reset-cache`. */
  resetCache: boolean;
}

/**
 * The check's flags of a parsed command line: `--cold-method` takes one of
 * its words and needs `--verify`. Throws a {@linkcode TypeError} with a
 * one-line message.
 *
 * @example Usage
 * ```ts
 * import { verifyFlagsOf } from "./check.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(verifyFlagsOf({ verify: 3, coldMethod: "flush" }), { verify: 3, coldMethod: "flush", resetCache: false });
 * assert.deepEqual(verifyFlagsOf({}), { verify: 0, resetCache: false });
 * assert.throws(() => verifyFlagsOf({ verify: 3, coldMethod: "cold" }), /--cold-method cold: expected salt, flush or nocache/);
 * assert.throws(() => verifyFlagsOf({ coldMethod: "salt" }), /needs --verify/);
 * assert.throws(() => verifyFlagsOf({ coldMethod: "salt" }, { syntax: "keys" }), /^TypeError: cold_method needs verify=N$/);
 * ```
 */
export function verifyFlagsOf(
  values: { verify?: number; coldMethod?: string; resetCache?: boolean },
  options: { syntax?: VerifySyntax } = {},
): VerifyFlags {
  const keys = options.syntax === "keys";
  const name = (o: "verify" | "coldMethod") =>
    verifyOptionName(o, options.syntax);
  const flags: VerifyFlags = {
    verify: values.verify ?? 0,
    resetCache: values.resetCache ?? false,
  };
  const method = values.coldMethod;
  if (method !== undefined) {
    if (!COLD_METHODS.includes(method as ColdMethod)) {
      throw new TypeError(
        `${name("coldMethod")}${
          keys ? "=" : " "
        }${method}: expected salt, flush or nocache`,
      );
    }
    if (flags.verify === 0) {
      throw new TypeError(
        `${name("coldMethod")} needs ${name("verify")}${keys ? "=" : " "}N`,
      );
    }
    flags.coldMethod = method as ColdMethod;
  }
  return flags;
}

/** Where a {@linkcode ReuseCheck} sends and reports. */
export interface ReuseCheckContext {
  /** The endpoint (base URL ending in `/v1/`). */
  baseUrl: string;
  /** Its API key. */
  apiKey?: string;
  /** The detected engine (picks the cold method and the flush route). */
  engine?: string;
  /** Progress and verdict lines (stdout). */
  info: (text: string) => void;
  /** How the progress lines name the options (default `flags`: `--verify 3`). */
  syntax?: VerifySyntax;
}

/** Options of {@linkcode ReuseCheck.check}. */
export interface ReuseCheckOptions {
  /** The prompts to check, each already cached by the run. */
  contexts: readonly VerifyContext[];
  /** `max_tokens` of every request (default 32). */
  maxTokens?: number;
  /** `/v1/completions` (default) or `/v1/chat/completions`. */
  api?: "completions" | "chat";
  /** The run directory: `verify.jsonl` and `verify.json` go there (none: no files). */
  dir?: string;
  /** Aborts the check. */
  signal?: AbortSignal;
}

/** What a check resolves to. */
export interface ReuseCheckOutcome {
  /** 1 on a divergence beyond the control or nothing checked, else 0 (also without `--verify`). */
  code: number;
  /** The pairs and verdict (none without `--verify`). */
  result?: VerifyResult;
}

/**
 * The check's flags in action over one run: `--reset-cache` before each
 * level, `--verify N` after the last.
 */
export class ReuseCheck {
  /** The flags. */
  readonly flags: VerifyFlags;
  readonly #c: ReuseCheckContext;

  /**
   * @example Usage
   * ```ts
   * import { ReuseCheck } from "./check.ts";
   * import assert from "node:assert/strict";
   *
   * const check = new ReuseCheck({ verify: 2, resetCache: false }, { baseUrl: "http://127.0.0.1:9/v1/", engine: "sglang", info: () => {} });
   * assert.equal(check.method, "flush");
   * ```
   */
  constructor(flags: VerifyFlags, c: ReuseCheckContext) {
    this.flags = flags;
    this.#c = c;
  }

  /**
   * `--verify N` as the command line wrote it (`verify=N` in trie's keys):
   * how the check's lines start.
   *
   * @example Usage
   * ```ts
   * import { ReuseCheck } from "./check.ts";
   * import assert from "node:assert/strict";
   *
   * const flags = { verify: 3, resetCache: false };
   * const c = { baseUrl: "http://127.0.0.1:9/v1/", info: () => {} };
   * assert.equal(new ReuseCheck(flags, c).verifyLabel, "--verify 3");
   * assert.equal(new ReuseCheck(flags, { ...c, syntax: "keys" }).verifyLabel, "verify=3");
   * ```
   */
  get verifyLabel(): string {
    return `${verifyOptionName("verify", this.#c.syntax)}${
      this.#c.syntax === "keys" ? "=" : " "
    }${this.flags.verify}`;
  }

  /** The cold method: `--cold-method`, else the engine's. */
  get method(): ColdMethod {
    return this.flags.coldMethod ?? defaultColdMethod(this.#c.engine);
  }

  /**
   * Before level `index` of the run: `--reset-cache` drops the server's
   * prefix cache and says so.
   *
   * @example Against the simulator
   * ```ts
   * import { ReuseCheck } from "./check.ts";
   * import { startSimulator } from "../sim/server.ts";
   * import assert from "node:assert/strict";
   *
   * await using sim = await startSimulator({ timeScale: 0.01 });
   * const lines: string[] = [];
   * const check = new ReuseCheck({ verify: 0, resetCache: true }, { baseUrl: sim.url, info: (t) => lines.push(t) });
   * await check.beforeLevel(1);
   * assert.deepEqual(lines, ["[INFO] --reset-cache: POST /reset_prefix_cache before level 2\n"]);
   * ```
   */
  async beforeLevel(index: number, signal?: AbortSignal): Promise<void> {
    if (!this.flags.resetCache) return;
    const path = await resetCache(this.#c.baseUrl, {
      engine: this.#c.engine,
      apiKey: this.#c.apiKey,
      signal,
    });
    this.#c.info(
      `[INFO] ${
        verifyOptionName("resetCache", this.#c.syntax)
      }: POST ${path} before ${
        index === 0 ? "the run" : `level ${index + 1}`
      }\n`,
    );
  }

  /**
   * `--verify N` after the run: check the given prompts against cold
   * compute, print the verdict line, write the pairs (`verify.jsonl`) and
   * the verdict (`verify.json`) into the run directory.
   *
   * @example Against the simulator
   * ```ts
   * import { ReuseCheck } from "./check.ts";
   * import { startSimulator } from "../sim/server.ts";
   * import assert from "node:assert/strict";
   *
   * await using sim = await startSimulator({ timeScale: 0.01 });
   * const prompt = "a cached prompt ".repeat(40);
   * await fetch(sim.url + "completions", { method: "POST", body: JSON.stringify({ prompt, max_tokens: 1 }) }).then((r) => r.text());
   * const lines: string[] = [];
   * const check = new ReuseCheck({ verify: 1, resetCache: false }, { baseUrl: sim.url, engine: "kvbench-sim", info: (t) => lines.push(t) });
   * const { code } = await check.check({ baseUrl: sim.url, model: sim.model }, { contexts: [{ id: 0, prompt }], maxTokens: 8 });
   * assert.equal(code, 0);
   * assert.deepEqual(lines, [
   *   "[INFO] --verify 1: checking 1 reused contexts against cold compute (salt, from engine kvbench-sim)\n",
   *   "\nverify: 1 of 1 reused contexts gave outputs identical to cold compute (cold reference: cache_salt)\n\n",
   * ]);
   * ```
   */
  async check(
    endpoint: EndpointConfig,
    options: ReuseCheckOptions,
  ): Promise<ReuseCheckOutcome> {
    const n = this.flags.verify;
    if (n === 0) return { code: 0 };
    const method = this.method, engine = this.#c.engine;
    this.#c.info(
      `[INFO] ${this.verifyLabel}: checking ${options.contexts.length} reused contexts against cold compute (${method}${
        this.flags.coldMethod ? "" : `, from engine ${engine ?? "unknown"}`
      })\n`,
    );
    const result = await verifyReuse(endpoint, {
      contexts: options.contexts,
      method,
      engine,
      maxTokens: options.maxTokens,
      api: options.api,
      signal: options.signal,
    });
    this.#c.info(`\n${result.verdict.text}\n\n`);
    if (options.dir !== undefined) {
      await writeVerifyFiles(options.dir, result, { method, engine });
    }
    return { code: result.verdict.code, result };
  }
}

/**
 * `verify.json`: the verdict, how the cold references were made, the counts
 * and the exit code.
 *
 * @example Usage
 * ```ts
 * import { verifyJson } from "./check.ts";
 * import assert from "node:assert/strict";
 *
 * const json = verifyJson(
 *   { pairs: [], cold: "cache_salt", verdict: { text: "verify: …", checked: 0, identical: 0, beyond: 0, code: 1 } },
 *   { method: "salt" },
 * );
 * assert.equal(json.engine, null);
 * assert.equal(json.first_at, null);
 * assert.equal(json.exit_code, 1);
 * ```
 */
export function verifyJson(
  result: VerifyResult,
  c: { method: ColdMethod; engine?: string },
): Record<string, unknown> {
  const v = result.verdict;
  return {
    verdict: v.text,
    cold_method: c.method,
    cold_reference: result.cold,
    engine: c.engine ?? null,
    contexts: result.pairs.length,
    checked: v.checked,
    identical: v.identical,
    beyond_control: v.beyond,
    first_at: v.firstAt ?? null,
    unit: v.unit ?? null,
    exit_code: v.code,
  };
}

/**
 * Write a check's pairs (`verify.jsonl`, one per line) and its verdict
 * (`verify.json`) into `dir`.
 *
 * @example Usage
 * ```ts
 * import { writeVerifyFiles } from "./check.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeVerifyFiles(dir, {
 *   pairs: [{ context: 4, outcome: "failed", error: "HTTP 500" }],
 *   cold: "cache_salt",
 *   verdict: { text: "verify: …", checked: 0, identical: 0, beyond: 0, code: 1 },
 * }, { method: "salt" });
 * assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/verify.jsonl`)).context, 4);
 * assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/verify.json`)).contexts, 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeVerifyFiles(
  dir: string,
  result: VerifyResult,
  c: { method: ColdMethod; engine?: string },
): Promise<void> {
  await Deno.writeTextFile(
    `${dir}/verify.jsonl`,
    result.pairs.map((p) => JSON.stringify(pairJson(p)) + "\n").join(""),
  );
  await Deno.writeTextFile(
    `${dir}/verify.json`,
    JSON.stringify(verifyJson(result, c), null, 2) + "\n",
  );
}
