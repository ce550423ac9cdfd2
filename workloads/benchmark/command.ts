/**
 * `kvbench benchmark`: the command line of the KV-offload stress workload,
 * a description the run pipeline (`lib/cli/pipeline.ts`) runs.
 *
 * @module
 */
import {
  discoverModels,
  maskKey,
  normalizeEndpoint,
  probeModel,
} from "../../lib/openai/endpoint.ts";
import {
  BUNDLED_MODEL_CONFIGS,
  bytesPerToken,
  findModelConfig,
  loadModelConfigs,
  type ModelConfig,
  offloadSizeGib,
} from "../../lib/models/model_config.ts";
import {
  chooseTransport,
  err,
  LiveLine,
  out,
  ReportedError,
} from "../../lib/cli/common.ts";
import { runPipeline } from "../../lib/cli/pipeline.ts";
import {
  defineWorkload,
  type WorkloadCommand,
} from "../../lib/cli/workload.ts";
import {
  type BenchmarkSizing,
  formatSizeGib,
  renderBenchmarkSpec,
  sizeBenchmark,
  sizeBenchmarkFromHfConfig,
} from "./sizing.ts";
import { benchmarkPipeline, type Level } from "./level.ts";
import { mergeBenchmarkFigures } from "./merge.ts";
import { checkEndpoint, type Options, parse, USAGE } from "./options.ts";
import { runBenchmarkWorker } from "./worker.ts";
import { checkOutputFlags } from "../../lib/cli/flags_workload.ts";
import { BenchmarkCacheControls } from "./verify.ts";
import {
  cacheSaltOf,
  contextSaltOf,
  runTag,
  saltTokens,
} from "./context_salt.ts";

function fail(lines: string): never {
  err(lines);
  throw new ReportedError(lines.trim());
}

async function resolveModel(
  baseUrl: string,
  opts: Options,
  signal: AbortSignal,
): Promise<string> {
  let ids: string[];
  try {
    ids = await discoverModels(baseUrl, { apiKey: opts.apiKey, signal });
  } catch (error) {
    const kind = ((error as Error).cause as { kind?: string } | undefined)
      ?.kind;
    if (kind === "connect") {
      fail(
        `\n[ERROR] Could not connect to endpoint: ${baseUrl}\n` +
          `Make sure a model server is running and accessible.\n` +
          `Try: curl ${baseUrl}models\n`,
      );
    }
    if (kind === "auth") {
      fail(
        `\n[ERROR] ${
          (error as Error).message
        }: check --api-key (or $OPENAI_API_KEY)\n`,
      );
    }
    fail(
      `\n[ERROR] Failed to query models from ${baseUrl}: ${
        (error as Error).message
      }\n`,
    );
  }
  if (opts.model === undefined) {
    out(`found model: ${ids[0]}\n`);
    return ids[0];
  }
  out(`model: ${opts.model} (--model)\n`);
  if (!ids.includes(opts.model)) {
    // Some servers take names they do not list (llama.cpp, SGLang, proxies):
    // one request tells; a refusal stops here, before the run.
    const probe = await probeModel(baseUrl, {
      model: opts.model,
      apiKey: opts.apiKey,
      signal,
    });
    if (probe.refused !== undefined) {
      fail(
        `\n[ERROR] The server does not serve "${opts.model}" (${probe.refused}); it serves ${
          ids.join(", ")
        }: name one with --model, or leave --model out\n`,
      );
    }
    err(
      `[WARN] ${baseUrl}models does not list "${opts.model}" (it lists: ${
        ids.join(", ")
      }), but ${probe.said}: going on\n`,
    );
  }
  return opts.model;
}

async function sizeFor(
  model: string,
  configs: readonly ModelConfig[],
  opts: Options,
  onNote?: (line: string) => void,
): Promise<BenchmarkSizing> {
  if ([opts.hfConfig, opts.tp, opts.kvCacheDtype].some((v) => v)) {
    try {
      const sized = await sizeBenchmarkFromHfConfig(model, {
        ...opts,
        offloadSizeGib: opts.offloadSize,
        configs,
      });
      onNote?.(`${sized.note}\n`);
      return sized.sizing;
    } catch (error) {
      fail(`\n[ERROR] ${(error as Error).message}\n`);
    }
  }
  const config = findModelConfig(model, configs);
  if (config === undefined && opts.bytesPerToken === undefined) {
    // The served model's config.json, when a local cache has it.
    const local = await sizeBenchmarkFromHfConfig(model, {
      ...opts,
      offloadSizeGib: opts.offloadSize,
      configs,
      cachedOnly: true,
    }).catch(() => undefined);
    if (local !== undefined) {
      onNote?.(`${local.note}\n`);
      return local.sizing;
    }
  }
  if (
    config === undefined &&
    (opts.offloadSize === undefined || opts.bytesPerToken === undefined)
  ) {
    fail(
      `\n[ERROR] model ${model} not found in model_configs.json\n` +
        `Known models:\n${
          configs.map((c) => `  ${c.model_name}`).join("\n")
        }\n` +
        `Add it with --model-configs FILE, or size it with --offload-size GB --bytes-per-token N, or with --hf-config PATH|ID.\n`,
    );
  }
  try {
    return sizeBenchmark(model, {
      offloadSizeGib: opts.offloadSize ?? offloadSizeGib(config!),
      bytesPerToken: opts.bytesPerToken ?? bytesPerToken(config!),
      inputLength: opts.inputLength,
      outputLength: opts.outputLength,
    });
  } catch (error) {
    fail(`\n[ERROR] ${(error as Error).message}\n`);
  }
}

/** What the run's context salt means, in one line. */
function saltLine(salt: string, from: "drawn" | "seed" | "given"): string {
  const head = `[INFO] context salt ${salt}${
    from === "seed" ? " (from --seed, as every shard's)" : ""
  }: every context starts with "${salt}-" (${saltTokens(salt)} tokens)`;
  if (from === "given") {
    return `${head}, as in every run with --context-salt ${salt}\n`;
  }
  if (from === "seed") {
    return `${head}, as in every shard and rerun with this --seed; --context-salt ${salt} repeats them elsewhere\n`;
  }
  return `${head}, so no other run's cache holds it; --context-salt ${salt} repeats this run's contexts\n`;
}

/** `kvbench benchmark`. */
export const benchmarkCommand: WorkloadCommand = defineWorkload<Options>({
  name: "benchmark",
  summary:
    "KV-offload stress: long contexts in tile order (successor of tmesh-cli benchmark)",
  syntax: "flags",
  sameSeed: true,
  usage: USAGE,
  parse,
  check: checkEndpoint,
  mergeFigures: mergeBenchmarkFigures,
  async run(opts: Options, { args, signal }): Promise<number> {
    const baseUrl = normalizeEndpoint(opts.endpoint);
    await checkOutputFlags(opts);
    const configs = opts.modelConfigs
      ? await loadModelConfigs(opts.modelConfigs)
      : BUNDLED_MODEL_CONFIGS;
    if (opts.worker) {
      const sizing = await sizeFor(opts.model!, configs, opts);
      return await runBenchmarkWorker(opts, { baseUrl, sizing, args, signal });
    }
    out(`endpoint: ${opts.endpoint}\n`);
    out(`api_key: ${opts.apiKey ? maskKey(opts.apiKey) : "(none)"}\n`);
    out(`normalized endpoint: ${baseUrl}\n`);
    const model = await resolveModel(baseUrl, opts, signal);
    const sizing = await sizeFor(model, configs, opts, out);
    const levels: Level[] = opts.requestRates !== undefined
      ? opts.requestRates.map((rate) => ({
        label: `--request-rate ${rate}`,
        maxInFlight: opts.maxInFlight?.[0] ?? sizing.maxInFlight,
        requestRate: rate,
      }))
      : (opts.maxInFlight ?? [sizing.maxInFlight]).map((n) => ({
        label: `--max-inflight ${n}`,
        maxInFlight: n,
      }));
    sizing.maxInFlight = levels[0].maxInFlight;
    const seed = opts.seed ?? crypto.getRandomValues(new Uint32Array(1))[0];
    out(`offload_size: ${formatSizeGib(sizing.offloadSizeGib)}\n`);
    const stops = [
      opts.numPrompts === undefined ? "" : `send ${opts.numPrompts} requests`,
      opts.duration === undefined ? "" : `run for ${opts.duration} s`,
    ].filter(Boolean);
    const runs = stops.length === 0
      ? "will run forever until you interrupt the process."
      : `will ${stops.join(" or ")}${
        stops.length > 1 ? ", whichever comes first" : ""
      } (or until you interrupt the process).`;
    out(
      `\n\n\nNOTE: kvbench benchmark ${runs}\n\n\n${
        renderBenchmarkSpec(sizing)
      }\n`,
    );
    if (signal.aborted) return 0;
    let stopping = false;
    const onStop = (): void => {
      stopping = true;
      live.clear();
      out("\n[INFO] Received termination signal. Stopping benchmark...\n");
    };
    signal.addEventListener("abort", onStop, { once: true });
    const { transport, label } = chooseTransport(opts.transport, baseUrl);
    const tag = runTag({ mode: opts.contextSalt, seed, part: opts.part });
    const contextSalt = contextSaltOf(opts.contextSalt, tag);
    const cache = await BenchmarkCacheControls.setup(opts.cache, {
      baseUrl,
      apiKey: opts.apiKey,
      seed,
      salt: cacheSaltOf(tag),
      info: out,
      warn: err,
    });
    const live = new LiveLine();
    const run = {
      opts,
      sizing,
      baseUrl,
      model,
      seed,
      transport,
      label,
      signal,
      live,
      isStopping: () => stopping,
      argv: args,
      cache,
      tag,
      contextSalt,
      contextSaltLine: contextSalt === undefined ? undefined : saltLine(
        contextSalt,
        opts.contextSalt !== "run"
          ? "given"
          : opts.part !== undefined
          ? "seed"
          : "drawn",
      ),
    };
    try {
      const { code } = await runPipeline<Level>({
        workload: benchmarkPipeline(run),
        levels,
        scale: opts,
        outputs: opts,
        signal,
      });
      out("[INFO] Benchmark stopped gracefully.\n");
      return code;
    } finally {
      live.clear();
      signal.removeEventListener("abort", onStop);
      transport.close();
    }
  },
});
