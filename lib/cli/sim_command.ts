/**
 * `kvbench sim`: serve a simulated OpenAI-compatible endpoint with a KV cache
 * (GPU tier + offload tier) until Ctrl+C / SIGTERM.
 *
 * @module
 */
import { basename, dirname, resolve } from "node:path";
import {
  BUNDLED_MODEL_CONFIGS,
  findModelConfig,
  loadModelConfigs,
  type ModelConfig,
  offloadSizeGib,
} from "../models/model_config.ts";
import {
  DEFAULT_SIM_MODEL,
  SIM_DEFAULTS,
  type SimOptions,
} from "../sim/config.ts";
import { startSimulator } from "../sim/server.ts";
import { METRICS_FLAVORS, type MetricsFlavor } from "../sim/metrics_flavors.ts";
import { loadTokenizer } from "../text/tokenizer.ts";
import {
  type Command,
  err,
  numberFlag,
  out,
  parseFlags,
  UsageError,
} from "./common.ts";
import { modelKv } from "./model_kv.ts";
import { parseDuration, parseSizeGib } from "./units.ts";

const D = SIM_DEFAULTS;

const USAGE =
  `usage: kvbench sim [--port 8000] [--host 127.0.0.1] [--model NAME] [options]

A simulated OpenAI-compatible server (/v1/models, /v1/completions,
/v1/chat/completions, /tokenize, /health, /metrics) whose prefix cache and
timing model one engine with a GPU KV tier and an offload tier (vLLM +
LMCache). Defaults are loosely one H100 serving Qwen3-30B-A3B. Runs until
Ctrl+C / SIGTERM.

server:
  --port N                port (default 8000; 0 picks a free one)
  --host ADDR             interface to listen on (default ${D.hostname})
  --model NAME            model id served (default ${DEFAULT_SIM_MODEL});
                          its KV bytes per token come from --hf-config, else its
                          model_configs.json entry, else its config.json in a local
                          Hugging Face cache; a model none of these knows is refused
  --hf-config PATH|ID     size the model from this config.json (a file, a folder
                          holding one, or a Hugging Face id); /v1/models then
                          reports it as the model's root, so clients on this host
                          size the model alike
  --model-configs FILE    model_configs.json to use instead of the bundled one
  --api-key KEY           require "Authorization: Bearer KEY" on /v1/ (default: none)
  --tokenizer SPEC        exact token counts: a tokenizer folder, a tokenizer.json,
                          a Hugging Face model id, or "model" for the served model's
                          id (default: a fast approximation, see sim/token_count.ts;
                          exact counts cost server CPU, about 0.2 s per 32k-token
                          prompt with Qwen3, which lands in TTFT)
  --seed N                seed of generated text, lengths and faults (default ${D.seed})

engine:
  --block-size N          tokens per KV block (default ${D.blockSize})
  --gpu-kv-gb GB          GPU KV capacity in GiB, or 40GB, 40GiB (default ${D.gpuKvGb})
  --gpu-kv-tokens N       GPU KV capacity in tokens (instead of --gpu-kv-gb)
  --offload-gb GB         offload capacity in GiB, or 40GB, 40GiB; 0 disables it
                          (default: the model's offload size in model_configs.json,
                          else the default model's)
  --offload-tokens N      offload capacity in tokens (instead of --offload-gb)
  --prefill-tps N         prefill rate, tokens/s (default ${D.prefillTokensPerS})
  --load-tps N            offload → GPU load rate, tokens/s (default ${D.loadGbPerS} GB/s
                          divided by the model's KV bytes per token)
  --itl-ms MS             inter-token time of a lone sequence (default ${D.itlBaseMs})
  --itl-per-seq-ms MS     inter-token time added per decoding sequence (default ${D.itlPerSeqMs})
                          (times in ms: a number of milliseconds, or 250ms, 1.5s)
  --max-running N         cap on running sequences (default ${D.maxRunningSeqs})
  --time-scale X          wall time per model time; 0.01 runs 100x faster (default ${D.timeScale})
  --metrics-flavor NAME   the engine whose /metrics to look like: vllm (default),
                          vllm-prefix, vllm-by-source, vllm-cached-by-source, sglang,
                          lmcache-tp2, trtllm (a connector's port, where the engine
                          has one, is /connector/metrics)
  --metrics-replicas N    replicas answering /metrics in turn, as behind a load
                          balancer (default 1)

faults (rates are fractions of requests, default 0):
  --error-rate-500 R      answer 500
  --error-rate-429 R      answer 429 with Retry-After
  --retry-after S         Retry-After of a 429, seconds, or 500ms, 2m (default 1)
  --cut-rate R            cut streams after some but not all tokens
  --malformed-rate R      put one malformed SSE line in streams
  --stall-ms MS           stall before the first token (default 0)
  --stall-rate R          fraction of requests that stall (default 1)
  --jitter-ms MS          add uniform [0, MS) to TTFT and every inter-token time (default 0)
  --corrupt-offload-rate R
                          prompts whose KV comes back wrong from the offload tier: a
                          request with offload hits generates other words (a fixed draw
                          per prompt; greedy requests otherwise repeat their answer)
  --corrupt-offload-at N  the first generated token (from 0) a corrupted restore
                          changes (default 0)

  -h, --help              show this help
`;

const STRING_OPTIONS = [
  "port",
  "host",
  "model",
  "model-configs",
  "hf-config",
  "api-key",
  "tokenizer",
  "seed",
  "block-size",
  "gpu-kv-gb",
  "gpu-kv-tokens",
  "offload-gb",
  "offload-tokens",
  "prefill-tps",
  "load-tps",
  "itl-ms",
  "itl-per-seq-ms",
  "max-running",
  "time-scale",
  "metrics-flavor",
  "metrics-replicas",
  "error-rate-500",
  "error-rate-429",
  "retry-after",
  "cut-rate",
  "malformed-rate",
  "stall-ms",
  "stall-rate",
  "jitter-ms",
  "corrupt-offload-rate",
  "corrupt-offload-at",
] as const;

type Values = Partial<Record<(typeof STRING_OPTIONS)[number], string>>;

const isInt = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
const isPositive = (n: number): boolean => n > 0;
const isNonNegative = (n: number): boolean => n >= 0;
const isRate = (n: number): boolean => n >= 0 && n <= 1;

function num(
  values: Values,
  flag: keyof Values,
  check: (n: number) => boolean,
): number | undefined {
  return numberFlag(values[flag], `--${flag}`, { check, usage: USAGE });
}

/** A number with a unit, or a plain number; undefined when not given. */
function withUnit(
  values: Values,
  flag: keyof Values,
  options: {
    parse: (text: string) => number | undefined;
    check: (n: number) => boolean;
    expected: string;
  },
): number | undefined {
  const value = values[flag];
  if (value === undefined) return undefined;
  const n = value.trim() === "" ? undefined : options.parse(value);
  if (n === undefined || !Number.isFinite(n) || !options.check(n)) {
    throw new UsageError(
      `--${flag}: invalid value "${value}" (expected ${options.expected})`,
      USAGE,
    );
  }
  return n;
}

/** A size in GiB: `40`, `40GB`, `40GiB` (as benchmark's `--offload-size`). */
const gib = (
  values: Values,
  flag: keyof Values,
  check: (n: number) => boolean,
): number | undefined =>
  withUnit(values, flag, {
    parse: parseSizeGib,
    check,
    expected: "a size in GiB: 40, 40GB or 40GiB",
  });

/** A time in seconds: `2`, `500ms`, `2m`. */
const seconds = (values: Values, flag: keyof Values): number | undefined =>
  withUnit(values, flag, {
    parse: parseDuration,
    check: isNonNegative,
    expected: "seconds: 2, 500ms or 2m",
  });

/** A time in milliseconds: `250`, `250ms`, `1.5s`. */
const millis = (values: Values, flag: keyof Values): number | undefined =>
  withUnit(values, flag, {
    parse: (text) => {
      const s = parseDuration(text);
      if (s === undefined || /^[\s\d.e+-]*$/i.test(text)) return s;
      return s * 1000;
    },
    check: isNonNegative,
    expected: "milliseconds: 250, 250ms or 1.5s",
  });

/** What the command line asks for, before files are read. */
interface SimArgs {
  options: SimOptions;
  tokenizer?: string;
  modelConfigs?: string;
  hfConfig?: string;
}

function parse(args: string[]): SimArgs | undefined {
  const values: Values & { help?: boolean } = parseFlags(args, {
    ...Object.fromEntries(
      STRING_OPTIONS.map((name) => [name, { type: "string" as const }]),
    ),
    help: { type: "boolean", short: "h" },
  }, USAGE);
  if (values.help) return undefined;
  const port = num(values, "port", (n) => isInt(n) && n <= 65535) ?? 8000;
  if (
    values["gpu-kv-gb"] !== undefined && values["gpu-kv-tokens"] !== undefined
  ) {
    throw new UsageError(
      "give --gpu-kv-gb or --gpu-kv-tokens, not both",
      USAGE,
    );
  }
  if (
    values["offload-gb"] !== undefined && values["offload-tokens"] !== undefined
  ) {
    throw new UsageError(
      "give --offload-gb or --offload-tokens, not both",
      USAGE,
    );
  }
  return {
    tokenizer: values.tokenizer,
    modelConfigs: values["model-configs"],
    hfConfig: values["hf-config"],
    options: {
      hostname: values.host ?? D.hostname,
      port,
      model: values.model,
      apiKey: values["api-key"],
      seed: num(values, "seed", Number.isSafeInteger),
      blockSize: num(values, "block-size", (n) => isInt(n) && n > 0),
      gpuKvGb: gib(values, "gpu-kv-gb", isPositive),
      gpuKvTokens: num(values, "gpu-kv-tokens", (n) => isInt(n) && n > 0),
      offloadGb: gib(values, "offload-gb", isNonNegative),
      offloadTokens: num(values, "offload-tokens", isInt),
      prefillTokensPerS: num(values, "prefill-tps", isPositive),
      loadTokensPerS: num(values, "load-tps", isPositive),
      itlBaseMs: millis(values, "itl-ms"),
      itlPerSeqMs: millis(values, "itl-per-seq-ms"),
      maxRunningSeqs: num(values, "max-running", (n) => isInt(n) && n > 0),
      timeScale: num(values, "time-scale", isPositive),
      metricsFlavor: flavor(values["metrics-flavor"]),
      metricsReplicas: num(
        values,
        "metrics-replicas",
        (n) => isInt(n) && n > 0,
      ),
      faults: {
        errorRate500: num(values, "error-rate-500", isRate),
        errorRate429: num(values, "error-rate-429", isRate),
        retryAfterS: seconds(values, "retry-after"),
        cutRate: num(values, "cut-rate", isRate),
        malformedRate: num(values, "malformed-rate", isRate),
        stallMs: millis(values, "stall-ms"),
        stallRate: num(values, "stall-rate", isRate),
        jitterMs: millis(values, "jitter-ms"),
        corruptOffloadRate: num(values, "corrupt-offload-rate", isRate),
        corruptOffloadAt: num(values, "corrupt-offload-at", isInt),
      },
    },
  };
}

function flavor(value: string | undefined): MetricsFlavor | undefined {
  if (value === undefined) return undefined;
  const known = METRICS_FLAVORS as readonly string[];
  if (!known.includes(value)) {
    throw new UsageError(
      `--metrics-flavor "${value}": expected one of ${known.join(", ")}`,
      USAGE,
    );
  }
  return value as MetricsFlavor;
}

function wait(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}

const group = (n: number): string => n.toLocaleString("en-US");

/** How the served model is sized: the table's entry, or bytes from a config.json. */
interface ModelSizing {
  bytesPerToken?: number;
  modelRoot?: string;
  note?: string;
}

/**
 * Size the served model as the client sizes it (`model_kv.ts`): `--hf-config`,
 * else its table entry, else its config.json in a local cache; refuse a
 * model none of these knows rather than serve it with another model's sizes.
 */
async function sizeModel(
  parsed: SimArgs,
  configs: readonly ModelConfig[],
  signal: AbortSignal,
): Promise<ModelSizing> {
  const model = parsed.options.model ?? DEFAULT_SIM_MODEL;
  if (parsed.hfConfig === undefined && findModelConfig(model, configs)) {
    return {};
  }
  const { kv } = await modelKv(model, {
    hfConfig: parsed.hfConfig,
    configs,
    signal,
  });
  if (kv === undefined) {
    // A table name without its owner ("Qwen3-30B-A3B-Instruct-2507").
    const near = configs.find((c) =>
      c.model_name.toLowerCase().endsWith(`/${model.toLowerCase()}`)
    );
    throw new Error(
      `Cannot serve model "${model}": it is not in model_configs.json (known: ${
        configs.map((c) => c.model_name).join(", ")
      }) and its config.json is not on this host; ${
        near ? `did you mean --model ${near.model_name}? Or ` : ""
      }give it with --hf-config PATH|ID, or a --model-configs FILE that lists the model`,
    );
  }
  const file = kv.from === "config file" ? resolve(kv.source) : undefined;
  return {
    bytesPerToken: kv.bytesPerToken,
    modelRoot: file === undefined
      ? undefined
      : basename(file) === "config.json"
      ? dirname(file)
      : file,
    note: `kvbench sim: ${model}: ${kv.note}${
      file === undefined
        ? ""
        : `; clients size it alike with --hf-config ${file}`
    }\n`,
  };
}

/** The `sim` subcommand. */
export const simCommand: Command = {
  name: "sim",
  summary:
    "serve a simulated OpenAI-compatible endpoint with a KV cache (for tests and demos)",
  async run(args: string[], signal: AbortSignal): Promise<number> {
    const parsed = parse(args);
    if (!parsed) {
      out(USAGE);
      return 0;
    }
    const { options } = parsed;
    let modelConfigs: ModelConfig[] | undefined;
    if (parsed.modelConfigs !== undefined) {
      modelConfigs = await loadModelConfigs(parsed.modelConfigs);
    }
    const sizing = await sizeModel(
      parsed,
      modelConfigs ?? BUNDLED_MODEL_CONFIGS,
      signal,
    );
    if (parsed.tokenizer !== undefined) {
      const spec = parsed.tokenizer === "model"
        ? options.model ?? DEFAULT_SIM_MODEL
        : parsed.tokenizer;
      options.tokenizer = await loadTokenizer(spec, { signal });
    }
    const sim = await startSimulator({
      ...options,
      bytesPerToken: sizing.bytesPerToken,
      modelRoot: sizing.modelRoot,
      modelConfigs,
      onListenError: (error, retryMs) =>
        err(
          `[WARN] kvbench sim: cannot accept connections (${error.message}): listening again in ${retryMs} ms; raise the open-file limit (ulimit -n) for this many clients\n`,
        ),
    });
    if (sizing.note) out(sizing.note);
    const { gpuKvTokens, offloadTokens } = sim.stats();
    // A model off the table has no offload size of its own: say whose it is.
    const borrowed = sizing.bytesPerToken !== undefined && offloadTokens > 0 &&
        options.offloadGb === undefined && options.offloadTokens === undefined
      ? ` (${
        offloadSizeGib(findModelConfig(DEFAULT_SIM_MODEL)!)
      } GiB, the default model's; --offload-gb sets it)`
      : "";
    const tokens = options.tokenizer
      ? `tokenizer ${parsed.tokenizer}`
      : "approximate token counts";
    out(
      `kvbench sim: serving ${sim.model} at ${sim.url} (GPU KV ${
        group(gpuKvTokens)
      } tokens, ` +
        `offload ${
          offloadTokens
            ? group(offloadTokens) + " tokens" + borrowed
            : "disabled"
        }, ${tokens})\n`,
    );
    await wait(signal);
    await sim.shutdown();
    return 0;
  },
};
