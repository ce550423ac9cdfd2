/**
 * The options of `kvbench replay`: its schema (the shared options and its
 * own), its usage text and its parser. The trace file is the first argument.
 *
 * @module
 */
import {
  checkEndpointFlag,
  type FlagsRunOptions,
} from "../../lib/cli/flags_workload.ts";
import { parseHeaders, UsageError } from "../../lib/cli/common.ts";
import {
  flagsHelp,
  type OptionSchema,
  parseFlagOptions,
  POSITIVE,
  POSITIVE_INT,
} from "../../lib/cli/options.ts";
import { SHARED_OPTIONS as S } from "../../lib/cli/shared_options.ts";
import { scaleOf } from "../../lib/cli/scale_options.ts";
import { shapingOf } from "../../lib/cli/shaping.ts";
import { verifyFlagsOf } from "../../lib/verify/check.ts";
import type { TraceFormat } from "./trace.ts";

/**
 * Every option of `kvbench replay`, in the order its help lists them.
 *
 * @example Usage
 * ```ts
 * import { REPLAY_OPTIONS } from "./options.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(REPLAY_OPTIONS.speeds.flag, "speed");
 * ```
 */
export const REPLAY_OPTIONS: OptionSchema = {
  endpoint: S.endpoint,
  apiKey: S.apiKey,
  model: S.model,
  hfConfig: S.hfConfig,
  tp: S.tp,
  kvCacheDtype: S.kvCacheDtype,
  format: {
    flag: "format",
    param: "format",
    type: "string",
    arg: "F",
    default: "auto",
    help: "mooncake, bailian, weka or auto (detected from the first row)",
  },
  blockSize: {
    flag: "block-size",
    param: "block_size",
    type: "int",
    arg: "N",
    check: POSITIVE_INT,
    help:
      "tokens per hash id block (default: the format's: Mooncake 512, Bailian 16, WEKA the file's block_size)",
  },
  speeds: {
    flag: "speed",
    type: "numbers",
    arg: "X",
    check: POSITIVE,
    inherit: false,
    help:
      "replay X times as fast as the trace's timestamps (default 1); a list (1,2,4) sweeps",
  },
  tokenizer: {
    flag: "tokenizer",
    param: "tokenizer",
    type: "string",
    arg: "NAME",
    help:
      "the served model's tokenizer (Hub id or folder): prompts use its whole-word ids, text prompts need it (default: none; the ids the server's /tokenize gives for common words, else ids 1000-29999)",
  },
  api: {
    ...S.api,
    help:
      "completions (the default: token ids) or chat (text through --tokenizer; the chat template adds tokens)",
  },
  text: {
    flag: "text",
    param: "text",
    type: "bool",
    default: false,
    help:
      "send text (the ids decoded by --tokenizer) on completions too, e.g. to a server that refuses ids",
  },
  contextSalt: {
    flag: "context-salt",
    type: "string",
    arg: "run|none|S",
    inherit: false,
    help:
      "salt of the prompts' tokens (not the cache_salt request field): run, the default: a fresh one per run, so a rerun misses the previous run's cache; none: the same prompts every run, so a rerun starts warm; S: this salt (two runs with one salt send the same prompts). Each level of a sweep adds its number",
  },
  capacityTokens: {
    flag: "capacity-tokens",
    param: "capacity_tokens",
    type: "int",
    arg: "N",
    check: POSITIVE_INT,
    help:
      "the server's GPU KV capacity in tokens for the LRU theory and the pre-flight, in place of what the server reports (default: the server's, from its metrics)",
  },
  ignoreEos: {
    ...S.ignoreEos,
    default: true,
    help: "send ignore_eos so every answer is output_length long",
  },
  maxInFlight: {
    flag: "max-inflight",
    param: "max_inflight",
    type: "int",
    arg: "N",
    check: POSITIVE_INT,
    help: "requests in flight at most (default: as the trace says)",
  },
  maxSessions: {
    flag: "max-sessions",
    param: "max_sessions",
    type: "int",
    arg: "N",
    check: POSITIVE_INT,
    help: "replay the first N sessions only",
  },
  extraBody: S.extraBody,
  headers: {
    flag: "header",
    param: "headers",
    type: "strings",
    arg: "NAME:VALUE",
    help: "an extra request header (repeatable)",
  },
  duration: {
    ...S.duration,
    help: "stop after this long (default: the whole trace)",
  },
  percentiles: S.percentiles,
  goodput: S.goodput,
  outputDir: S.outputDir,
  artifacts: S.artifacts,
  records: S.records,
  output: S.output,
  maxRetries: S.maxRetries,
  timeout: S.timeout,
  connectTimeout: S.connectTimeout,
  firstTokenTimeout: S.firstTokenTimeout,
  idleTimeout: S.idleTimeout,
  transport: S.transport,
  workers: S.workers,
  shard: S.shard,
  shards: S.shards,
  startAt: S.startAt,
  metrics: S.metrics,
  metricsUrls: S.metricsUrls,
  metricsOut: S.metricsOut,
  verify: {
    ...S.verify,
    help:
      "after the run, check the N requests of its last level with the most cached tokens against cold compute: each prompt sent again greedily, served from the cache, then twice cold (a reference and a cold-vs-cold control), compared token by token; exit 1 on a divergence beyond the control; the pairs go to verify.jsonl in the run directory",
  },
  coldMethod: S.coldMethod,
  resetCache: S.resetCache,
  scrapeInterval: S.scrapeInterval,
  worker: S.worker,
};

/**
 * The usage text of `kvbench replay`.
 *
 * @example Usage
 * ```ts
 * import { USAGE } from "./options.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(USAGE, /^usage: kvbench replay FILE --endpoint URL/);
 * ```
 */
export const USAGE: string =
  `usage: kvbench replay FILE --endpoint URL [--format mooncake|bailian|weka|auto] [--block-size N] [--speed X] [options]

Replays a public KV-cache trace (Mooncake, Alibaba Bailian, SemiAnalysis/WEKA
AgentX) token-exact on its schedule: prompts of exactly input_length token
ids, blocks equal where the hash ids are, each request due at its timestamp
(divided by --speed) and never before the answer it follows; then checks
every request's prompt_tokens and cached_tokens against the trace's theory.
FILE is a JSONL trace, a WEKA JSON file, or a folder of WEKA files.

options:
${flagsHelp(REPLAY_OPTIONS)}`;

/** The parsed command line of `kvbench replay`. */
export interface Options extends FlagsRunOptions {
  trace: string;
  format: TraceFormat | "auto";
  blockSize?: number;
  speeds: number[];
  tokenizer?: string;
  text: boolean;
  contextSalt?: string;
  capacityTokens?: number;
  hfConfig?: string;
  tp?: number;
  kvCacheDtype?: string;
  maxInFlight?: number;
  maxSessions?: number;
  /** `--verify N`. */
  verify?: number;
  /** `--cold-method`. */
  coldMethod?: string;
  /** `--reset-cache`. */
  resetCache: boolean;
}

const FORMATS = ["mooncake", "bailian", "weka", "auto"];

/** Refuse an endpoint that is not a URL it can use (a usage error). */
export function checkEndpoint(opts: Options): void {
  checkEndpointFlag(opts.endpoint, USAGE);
}

/**
 * Parse the command line of `kvbench replay`; undefined for `--help`.
 *
 * @example Usage
 * ```ts
 * import { parse } from "./options.ts";
 * import assert from "node:assert/strict";
 *
 * const opts = parse(["trace.jsonl", "--endpoint", "x", "--speed", "2,4"]);
 * assert.equal(opts?.trace, "trace.jsonl");
 * assert.deepEqual(opts?.speeds, [2, 4]);
 * assert.equal(opts?.format, "auto");
 * assert.equal(parse(["--help"]), undefined);
 * assert.throws(() => parse(["--endpoint", "x"]), /give the trace file/);
 * ```
 */
export function parse(args: string[]): Options | undefined {
  const [first, ...rest] = args;
  const hasTrace = first !== undefined && !first.startsWith("-");
  const values = parseFlagOptions(
    hasTrace ? rest : args,
    REPLAY_OPTIONS,
    { usage: USAGE },
  );
  if (values === undefined) return undefined;
  const refuse = (message: string): never => {
    throw new UsageError(message, USAGE);
  };
  if (!hasTrace) {
    refuse("give the trace file: kvbench replay FILE --endpoint URL");
  }
  const v = values as Record<string, never>;
  if (!FORMATS.includes(v.format)) {
    refuse(`--format must be one of ${FORMATS.join(", ")}, got "${v.format}"`);
  }
  let opts: Options;
  try {
    opts = {
      ...(values as unknown as Options),
      ...scaleOf(v),
      trace: first,
      speeds: v.speeds ?? [1],
      apiKey: v.apiKey ?? Deno.env.get("OPENAI_API_KEY"),
      ...shapingOf(v, "--extra-body"),
      headers: v.headers === undefined ? undefined : parseHeaders(v.headers),
      metricsUrls: (v.metricsUrls as string[] | undefined)?.flatMap((u) =>
        u.split(",").map((p) => p.trim())
      ),
    };
  } catch (error) {
    return refuse((error as Error).message);
  }
  if ((opts.api === "chat" || opts.text) && opts.tokenizer === undefined) {
    refuse(
      `${
        opts.text ? "--text" : "--api chat"
      } sends text: give the model's tokenizer (--tokenizer NAME)`,
    );
  }
  if (opts.outputDir !== undefined && !opts.artifacts) {
    refuse("--output-dir and --no-artifacts exclude each other");
  }
  if (opts.part !== undefined && !opts.worker && opts.speeds.length > 1) {
    refuse("a shard runs one load level: run one job per level of a sweep");
  }
  if (
    opts.part !== undefined && !opts.worker &&
    (opts.contextSalt === undefined || opts.contextSalt === "run")
  ) {
    refuse(
      "a shard needs --context-salt S (or none): every shard must send the same blocks for the same hash ids",
    );
  }
  try {
    verifyFlagsOf(opts);
  } catch (error) {
    refuse((error as Error).message);
  }
  if (opts.worker && (opts.model === undefined || opts.part === undefined)) {
    refuse("--worker is started by --workers");
  }
  return opts;
}
