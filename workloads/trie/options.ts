/**
 * The options of `kvbench trie`: trie's `key=value` schema, its usage text
 * and its parser.
 *
 * @module
 */
import { normalizeEndpoint } from "../../lib/openai/endpoint.ts";
import { trieLoad } from "./run.ts";
import {
  isHeaderName,
  parseJsonObject,
  UsageError,
} from "../../lib/cli/common.ts";
import {
  kvHelp,
  type KvSchema,
  type KvValues,
  parseKvArgs,
} from "../../lib/cli/kv_args.ts";
import {
  checkKeys,
  keysSchema,
  type OptionSchema,
  POSITIVE,
} from "../../lib/cli/options.ts";
import { SHARED_OPTIONS as S } from "../../lib/cli/shared_options.ts";
import { scaleOf } from "../../lib/cli/scale_options.ts";
import {
  type Shaping as SharedShaping,
  shapingOf,
} from "../../lib/cli/shaping.ts";
import type { Scale } from "../../lib/cli/pipeline.ts";
import { trieVerifyFlags } from "./verify.ts";

/** One load level of a trie run. */
export interface TrieLevel {
  /** How the sweep table and the level's header name it. */
  label: string;
  /** Traces in flight (closed loop). */
  concurrency?: number;
  /** New traces per second (open loop). */
  arrivalRate?: number;
}

/** Every option of `kvbench trie`, in the order its help lists them. */
export const TRIE_OPTIONS: OptionSchema = {
  workloadPath: {
    key: "workload_path",
    type: "string",
    required: true,
    inherit: false,
    help: "JSONL trace file, or an alias: agentic, qa, office",
  },
  endpoint: {
    ...S.endpoint,
    help: "OpenAI-compatible base URL, e.g. http://localhost:8000/v1",
  },
  model: {
    ...S.model,
    inherit: true,
    help:
      "model name sent to the endpoint (default: the first of GET /v1/models)",
  },
  hfConfig: S.hfConfig,
  tp: S.tp,
  kvCacheDtype: S.kvCacheDtype,
  concurrency: {
    key: "concurrency",
    type: "string",
    display: "int",
    inherit: false,
    help:
      "traces in flight (closed loop); a list (8,16,32) sweeps; exclusive with arrival_rate",
  },
  arrivalRate: {
    key: "arrival_rate",
    type: "string",
    display: "float",
    inherit: false,
    help: "new traces per second (open loop); a list (1,2,4) sweeps",
  },
  tokenizerModel: {
    key: "tokenizer_model",
    type: "string",
    help:
      "tokenizer folder, tokenizer.json, Hugging Face id, server (its /tokenize) or bundled (Qwen3's); default: model, else server",
  },
  duration: {
    ...S.duration,
    default: 300,
    help: "then admit nothing new and abort everything in flight",
  },
  maxTraces: {
    key: "max_traces",
    type: "int",
    check: POSITIVE,
    help: "admit at most this many traces, then let them finish",
  },
  sharedPrefixTokens: {
    key: "shared_prefix_tokens",
    type: "int",
    check: { test: (n) => Number.isInteger(n) && n >= 0, says: ">= 0" },
    help:
      "tokens every trace's prompt starts with, the same text for all (a system prompt and tools), within input_prompt_length (default: none)",
  },
  seed: { ...S.seed, help: "seed of the synthesized prompt text" },
  apiKey: S.apiKey,
  maxRetries: {
    ...S.maxRetries,
    default: 2,
    help: "retries of a failed request before its trace fails",
  },
  timeout: S.timeout,
  numGpus: {
    key: "num_gpus",
    type: "int",
    check: { test: (n) => n >= 1, says: ">= 1" },
    help: "adds the Steady State / GPU column",
  },
  stream: {
    key: "stream",
    type: "bool",
    default: false,
    help: "stream responses (needed for TTFT, TTFAT, Decode TPS)",
  },
  durationUpdateInterval: {
    key: "duration_update_interval",
    type: "duration",
    check: POSITIVE,
    help: "between progress lines when the output is not a terminal",
  },
  synthesis: {
    key: "synthesis",
    type: "string",
    default: "pool",
    help: "prompt synthesis: pool (fast, exact) or random (trie's algorithm)",
  },
  output: {
    ...S.output,
    help: "write a JSON summary (both tables and the parameters) here",
  },
  records: {
    ...S.records,
    help: "append every finished request to this JSONL file",
  },
  api: {
    ...S.api,
    help:
      "completions (as trie) or chat (the chat template adds prompt tokens)",
  },
  ignoreEos: {
    ...S.ignoreEos,
    default: true,
    help: "send ignore_eos so each answer is exactly its max_tokens (as trie)",
  },
  extraBody: {
    ...S.extraBody,
    help: 'JSON fields merged into every request body, e.g. {"temperature":0}',
  },
  headers: {
    key: "headers",
    type: "string",
    help: 'JSON object of extra request headers, e.g. {"X-Team":"kv"}',
  },
  routingHeader: {
    key: "routing_header",
    type: "string",
    default: "X-SMG-Routing-Key",
    optional: true,
    help: "header carrying the trace id for session affinity (None: none)",
  },
  percentiles: {
    ...S.percentiles,
    default: "50,90,99",
    help: "percentiles of the latency distributions",
  },
  goodput: S.goodput,
  connectTimeout: {
    ...S.connectTimeout,
    default: 10,
    help: "to open a connection (not applied by the fetch transport)",
  },
  firstTokenTimeout: {
    ...S.firstTokenTimeout,
    help: "from a send to its first generated token",
  },
  idleTimeout: {
    ...S.idleTimeout,
    help: "without any byte of a response",
  },
  transport: S.transport,
  metrics: S.metrics,
  metricsUrls: S.metricsUrls,
  outputDir: {
    ...S.outputDir,
    help: "write the run's files here (default: kvbench-runs/<time>-trie)",
  },
  artifacts: S.artifacts,
  metricsOut: S.metricsOut,
  scrapeInterval: S.scrapeInterval,
  workers: S.workers,
  shard: S.shard,
  shards: S.shards,
  startAt: S.startAt,
  verify: {
    ...S.verify,
    help:
      "after the run, check the N traces of its last level with the longest reuses against cold compute: each one's request with the most cached tokens sent again greedily, served from the cache, then twice cold (a reference and a cold-vs-cold control), compared token by token; exit 1 on a divergence beyond the control; the pairs go to verify.jsonl in the run directory (not with workers=)",
  },
  coldMethod: {
    ...S.coldMethod,
    help:
      "how verify= makes cold references: salt (cache_salt, vLLM), flush (POST /flush_cache on SGLang, /reset_prefix_cache on vLLM with VLLM_SERVER_DEV_MODE=1) or nocache (cache_prompt: false, llama.cpp) (default: from the detected engine)",
  },
  resetCache: S.resetCache,
  worker: S.worker,
};

/** The keys of `kvbench trie`. */
export const SCHEMA: KvSchema = keysSchema(TRIE_OPTIONS);

/** The usage text of `kvbench trie`. */
export const USAGE: string =
  `usage: kvbench trie workload_path=… endpoint=… [model=…] (concurrency=N | arrival_rate=R) [key=value …]

Multi-turn agentic trace replay (successor of trie / tokenspeed-trie).
Arguments are key=value (--key=value works too); a duration is seconds, or
has a unit: 30s, 2m, 1h.

${kvHelp(SCHEMA)}`;

/**
 * Parse the command line of `kvbench trie`; undefined for `--help`.
 *
 * @example Usage
 * ```ts
 * import { parse } from "./options.ts";
 * import assert from "node:assert/strict";
 *
 * const opts = parse(["workload_path=t.jsonl", "endpoint=h:8000", "model=m", "concurrency=2,4", "duration=1m"])!;
 * assert.equal(opts.v.duration, 60);
 * assert.equal(opts.baseUrl, "http://h:8000/v1/");
 * assert.deepEqual(opts.levels.map((l) => l.label), ["concurrency=2", "concurrency=4"]);
 * assert.equal(parse(["--help"]), undefined);
 * ```
 */
// deno-lint-ignore explicit-module-boundary-types
export function parse(args: string[]) {
  if (args.includes("--help") || args.includes("-h") || args.includes("help")) {
    return undefined;
  }
  let v: KvValues;
  let levels: TrieLevel[];
  let scale: Scale;
  try {
    v = parseKvArgs(args, SCHEMA);
    const list = (key: string, integer: boolean): number[] | null => {
      if (v[key] === null) return null;
      const parts = String(v[key]).split(",").map((p) => p.trim());
      const numbers = parts.map(Number);
      if (
        numbers.some((n, i) =>
          parts[i] === "" || !(n > 0) || !Number.isFinite(n) ||
          (integer && !Number.isInteger(n))
        )
      ) {
        throw new TypeError(
          `${key} must be ${
            integer ? "an integer" : "a number"
          } > 0, or a comma-separated list of them, not "${v[key]}"`,
        );
      }
      return numbers;
    };
    const concurrency = list("concurrency", true);
    const rates = list("arrival_rate", false);
    trieLoad({
      concurrency: concurrency?.[0] ?? null,
      arrivalRate: rates?.[0] ?? null,
    });
    levels = concurrency !== null
      ? concurrency.map((n) => ({ label: `concurrency=${n}`, concurrency: n }))
      : rates!.map((r) => ({ label: `arrival_rate=${r}`, arrivalRate: r }));
    if (v.output_dir !== null && !v.artifacts) {
      throw new TypeError("output_dir and artifacts=False exclude each other");
    }
    scale = scaleOf({
      workers: v.workers as string | null,
      shard: v.shard as string | null,
      shards: v.shards as number | null,
      startAt: v.start_at as string | null,
    });
    const split = scale.workers * (scale.part?.count ?? 1);
    const short = scale.workersAuto || v.worker
      ? undefined
      : concurrency?.find((n) => n < split);
    if (short !== undefined && short !== null) {
      throw new TypeError(
        `concurrency=${short} cannot be split over ${split} processes: each needs at least 1 trace in flight`,
      );
    }
    if (scale.part !== undefined && !v.worker && levels.length > 1) {
      throw new TypeError(
        "a shard runs one load level: run one job per level of a sweep",
      );
    }
    if (v.worker && (scale.part === undefined || v.output_dir === null)) {
      throw new TypeError("worker=True is set by workers=N");
    }
    checkKeys(v, TRIE_OPTIONS);
    trieVerifyFlags(v);
    if (
      v.verify !== null && (scale.workers > 1 || scale.workersAuto) &&
      !v.worker
    ) {
      // The prompts are kept where they are sent: in the workers.
      throw new TypeError(
        "verify= does not reach workers= yet: run without workers",
      );
    }
  } catch (error) {
    throw new UsageError((error as Error).message, USAGE);
  }
  if (v.synthesis !== "pool" && v.synthesis !== "random") {
    throw new UsageError(
      `synthesis must be pool or random, not "${v.synthesis}"`,
      USAGE,
    );
  }
  let baseUrl: string;
  let shaping: Shaping;
  try {
    baseUrl = normalizeEndpoint(v.endpoint as string);
    shaping = {
      ...shapingOf({
        api: v.api as string,
        transport: v.transport as string,
        extraBody: v.extra_body as string | null,
        percentiles: v.percentiles as string,
        goodput: v.goodput as string | null,
      }, "extra_body"),
      headers: v.headers === null
        ? undefined
        : stringValues(parseJsonObject(v.headers as string, "headers")),
    };
  } catch (error) {
    throw new UsageError((error as Error).message, USAGE);
  }
  return { v, baseUrl, shaping, levels, scale };
}

/** The request shaping and reporting options of a parsed command line. */
export type Shaping = SharedShaping & { headers?: Record<string, string> };

/** The parsed command line of `kvbench trie`. */
export type TrieOptions = NonNullable<ReturnType<typeof parse>>;

function stringValues(object: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(object)) {
    if (typeof value !== "string") {
      throw new TypeError(`headers: the value of "${k}" must be a string`);
    }
    if (!isHeaderName(k)) {
      throw new TypeError(`headers: "${k}" is not a header name`);
    }
    out[k] = value;
  }
  return out;
}
