/**
 * `kvbench benchmark`: the command line of the KV-offload stress workload.
 *
 * @module
 */
import {
  discoverModels,
  maskKey,
  normalizeEndpoint,
} from "../engine/openai/endpoint.ts";
import {
  BUNDLED_MODEL_CONFIGS,
  bytesPerToken,
  findModelConfig,
  loadModelConfigs,
  type ModelConfig,
  offloadSizeGib,
} from "../engine/models/model_config.ts";
import {
  openRecordsFile,
  type RecordsFile,
} from "../engine/run/records_file.ts";
import {
  benchmarkSummaryJson,
  renderBenchmarkBlock,
} from "../workloads/benchmark/report.ts";
import { runBenchmark } from "../workloads/benchmark/run.ts";
import {
  renderBenchmarkSpec,
  sizeBenchmark,
} from "../workloads/benchmark/sizing.ts";
import {
  type ApiName,
  chooseTransport,
  type Command,
  err,
  numberFlag,
  out,
  parseApi,
  parseFlags,
  parseHeaders,
  parseJsonObject,
  parseTransport,
  ReportedError,
  type TransportName,
  UsageError,
} from "./common.ts";
import {
  parsePercentiles,
  parseSlos,
  renderDistributions,
  type Slos,
} from "../engine/metrics/distributions.ts";
import { gamma, openLoop, poisson } from "../engine/run/load.ts";
import { preflight } from "../engine/server/preflight.ts";
import {
  benchmarkVerdict,
  ReuseTracker,
} from "../workloads/benchmark/verdict.ts";
import { metricsPathFor, RunMetrics } from "./server_metrics.ts";

const USAGE =
  `usage: kvbench benchmark --endpoint URL [--api-key KEY] [--model NAME] [options]

KV-offload stress (successor of tmesh-cli benchmark): long contexts sized to
fill the offload tier, cycled in tile order so every reuse must come from it.
Runs until Ctrl+C / SIGTERM (or --duration), then prints a final report.

options:
  --endpoint URL          OpenAI-compatible server (http://host:8000, …/v1, host:8000)
  --api-key KEY           bearer key (default: $OPENAI_API_KEY; none is fine)
  --model NAME            model to send (default: the first id of GET /v1/models)
  --model-configs FILE    model_configs.json to use instead of the bundled one
  --offload-size GB       offload capacity in GiB (overrides the model's config)
  --bytes-per-token N     KV bytes per token (overrides the model's config)
  --input-length N        tokens per context (default 32000)
  --output-length N       max_tokens per request (default 100)
  --max-inflight N        requests in flight at most (default: contexts / 3)
  --request-rate R        open loop: R requests per second (Poisson), still at most
                          --max-inflight in flight (default: closed loop)
  --burstiness B          gamma-distributed arrivals of shape B (1 = Poisson, < 1 burstier)
  --num-prompts N         stop after N requests (after the warm-up)
  --warmup N              the first N requests are sent and recorded, left out of the figures
  --ignore-eos            send ignore_eos so every request generates --output-length tokens
  --no-ignore-eos         do not (the default, as tmesh-cli)
  --api API               completions (default, as tmesh-cli) or chat
  --extra-body JSON       fields merged into every request body, e.g. '{"temperature":0}'
                          (stream_options is merged: usage is always asked for)
  --header NAME:VALUE     an extra request header (repeatable)
  --duration S            stop after S seconds (default: run until interrupted)
  --interval S            seconds between reports (default 5)
  --seed N                seed of the question draw (default: random, printed)
  --percentiles LIST      percentiles of the distributions (default 50,90,99)
  --goodput SLOS          count requests meeting SLOs in ms, e.g. ttft:500,tpot:50 (keys
                          ttft, tpot, e2el)
  --records FILE          append every finished request to FILE as JSON lines
  --output FILE           write a JSON summary of the run to FILE at the end
  --max-retries N         retry failed requests N times (default 0: failures are counted)
  --timeout S             total timeout of one request (default 600)
  --connect-timeout S     time to open a connection (default 10; not applied by fetch)
  --first-token-timeout S time from the send to the first generated token (default: none)
  --idle-timeout S        time without any byte of a response (default: none)
  --transport NAME        auto (default: http1 unless a proxy applies), http1 or fetch
  --metrics-url URL       the server's Prometheus /metrics (repeatable; default: the
                          endpoint's origin + /metrics), scraped at the start, every
                          report and the end, for the KV source split and the verdict
  --no-metrics            do not scrape the server's metrics
  --metrics-out FILE      write every scrape as a JSON line to FILE (default: beside
                          --records, as NAME.metrics.jsonl)
  --device-kv-gb GB       the GPU KV capacity, for the pre-flight, when the server
                          does not report it
  --require-offload-hits F
                          exit 1 unless the offload tier served at least the fraction
                          F (0-1) of the reusable prompt tokens (CI of a serving stack)
  -h, --help              show this help
`;

function number(
  value: string | undefined,
  flag: string,
  check: (n: number) => boolean,
): number | undefined {
  return numberFlag(value, flag, { check, usage: USAGE });
}

const positive = (n: number): boolean => n > 0;
const positiveInt = (n: number): boolean => Number.isInteger(n) && n > 0;
const nonNegativeInt = (n: number): boolean => Number.isInteger(n) && n >= 0;

function parse(args: string[]) {
  const values = parseFlags(args, {
    endpoint: { type: "string" },
    "api-key": { type: "string" },
    model: { type: "string" },
    "model-configs": { type: "string" },
    "offload-size": { type: "string" },
    "bytes-per-token": { type: "string" },
    "input-length": { type: "string" },
    "output-length": { type: "string" },
    "max-inflight": { type: "string" },
    "ignore-eos": { type: "boolean" },
    "no-ignore-eos": { type: "boolean" },
    "request-rate": { type: "string" },
    burstiness: { type: "string" },
    "num-prompts": { type: "string" },
    warmup: { type: "string" },
    api: { type: "string" },
    "extra-body": { type: "string" },
    header: { type: "string", multiple: true },
    percentiles: { type: "string" },
    goodput: { type: "string" },
    "connect-timeout": { type: "string" },
    "first-token-timeout": { type: "string" },
    "idle-timeout": { type: "string" },
    transport: { type: "string" },
    "metrics-url": { type: "string", multiple: true },
    "no-metrics": { type: "boolean" },
    "metrics-out": { type: "string" },
    "device-kv-gb": { type: "string" },
    "require-offload-hits": { type: "string" },
    duration: { type: "string" },
    interval: { type: "string" },
    seed: { type: "string" },
    records: { type: "string" },
    output: { type: "string" },
    "max-retries": { type: "string" },
    timeout: { type: "string" },
    help: { type: "boolean", short: "h" },
  }, USAGE);
  if (values.help) return undefined;
  if (values.endpoint === undefined) {
    throw new UsageError(
      "the following arguments are required: --endpoint",
      USAGE,
    );
  }
  if (values["ignore-eos"] && values["no-ignore-eos"]) {
    throw new UsageError(
      "--ignore-eos and --no-ignore-eos exclude each other",
      USAGE,
    );
  }
  const shaped = (fn: () => void): void => {
    try {
      fn();
    } catch (error) {
      throw new UsageError((error as Error).message, USAGE);
    }
  };
  let api: ApiName = "completions";
  let transport: TransportName = "auto";
  let extraBody: Record<string, unknown> | undefined;
  let headers: Record<string, string> | undefined;
  let percentiles: number[] | undefined;
  let slos: Slos | undefined;
  shaped(() => {
    if (values.api !== undefined) api = parseApi(values.api);
    if (values.transport !== undefined) {
      transport = parseTransport(values.transport);
    }
    if (values["extra-body"] !== undefined) {
      extraBody = parseJsonObject(values["extra-body"], "--extra-body");
    }
    if (values.header !== undefined) headers = parseHeaders(values.header);
    if (values.percentiles !== undefined) {
      percentiles = parsePercentiles(values.percentiles);
    }
    if (values.goodput !== undefined) slos = parseSlos(values.goodput);
  });
  const burstiness = number(values.burstiness, "--burstiness", positive);
  const requestRate = number(
    values["request-rate"],
    "--request-rate",
    positive,
  );
  if (burstiness !== undefined && requestRate === undefined) {
    throw new UsageError("--burstiness needs --request-rate", USAGE);
  }
  const requireOffload = number(
    values["require-offload-hits"],
    "--require-offload-hits",
    (x) => x >= 0 && x <= 1,
  );
  if (values["no-metrics"] && requireOffload !== undefined) {
    throw new UsageError(
      "--require-offload-hits needs the server's metrics (not --no-metrics)",
      USAGE,
    );
  }
  return {
    endpoint: values.endpoint,
    api,
    metricsUrls: values["metrics-url"],
    metrics: !values["no-metrics"],
    metricsOut: values["metrics-out"],
    deviceKvGb: number(values["device-kv-gb"], "--device-kv-gb", positive),
    requireOffload,
    transport,
    extraBody,
    headers,
    percentiles,
    slos,
    requestRate,
    burstiness: burstiness ?? 1,
    numPrompts: number(values["num-prompts"], "--num-prompts", positiveInt),
    warmup: number(values.warmup, "--warmup", nonNegativeInt) ?? 0,
    connectTimeout: number(
      values["connect-timeout"],
      "--connect-timeout",
      positive,
    ),
    firstTokenTimeout: number(
      values["first-token-timeout"],
      "--first-token-timeout",
      positive,
    ),
    idleTimeout: number(values["idle-timeout"], "--idle-timeout", positive),
    apiKey: values["api-key"] ?? Deno.env.get("OPENAI_API_KEY"),
    model: values.model,
    modelConfigs: values["model-configs"],
    offloadSize: number(values["offload-size"], "--offload-size", positive),
    bytesPerToken: number(
      values["bytes-per-token"],
      "--bytes-per-token",
      positiveInt,
    ),
    inputLength:
      number(values["input-length"], "--input-length", positiveInt) ?? 32000,
    outputLength:
      number(values["output-length"], "--output-length", positiveInt) ?? 100,
    maxInFlight: number(values["max-inflight"], "--max-inflight", positiveInt),
    ignoreEos: values["ignore-eos"] ?? false,
    duration: number(values.duration, "--duration", positive),
    interval: number(values.interval, "--interval", positive) ?? 5,
    seed: number(values.seed, "--seed", Number.isSafeInteger),
    records: values.records,
    output: values.output,
    maxRetries:
      number(values["max-retries"], "--max-retries", nonNegativeInt) ?? 0,
    timeout: number(values.timeout, "--timeout", positive) ?? 600,
  };
}

function fail(lines: string): never {
  err(lines);
  throw new ReportedError(lines.trim());
}

async function resolveModel(
  baseUrl: string,
  opts: NonNullable<ReturnType<typeof parse>>,
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
    err(
      `[WARN] ${baseUrl}models does not list "${opts.model}" (it lists: ${
        ids.join(", ")
      })\n`,
    );
  }
  return opts.model;
}

function sizeFor(
  model: string,
  configs: readonly ModelConfig[],
  opts: NonNullable<ReturnType<typeof parse>>,
) {
  const config = findModelConfig(model, configs);
  if (
    config === undefined &&
    (opts.offloadSize === undefined || opts.bytesPerToken === undefined)
  ) {
    fail(
      `\n[ERROR] model ${model} not found in model_configs.json\n` +
        `Known models:\n${
          configs.map((c) => `  ${c.model_name}`).join("\n")
        }\n` +
        `Add it with --model-configs FILE, or size it with --offload-size GB --bytes-per-token N.\n`,
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

/** `kvbench benchmark`. */
export const benchmarkCommand: Command = {
  name: "benchmark",
  summary:
    "KV-offload stress: long contexts in tile order (successor of tmesh-cli benchmark)",
  async run(args: string[], signal: AbortSignal): Promise<number> {
    const opts = parse(args);
    if (opts === undefined) {
      out(USAGE);
      return 0;
    }
    let baseUrl: string;
    try {
      baseUrl = normalizeEndpoint(opts.endpoint);
    } catch (error) {
      throw new UsageError((error as Error).message, USAGE);
    }
    const configs = opts.modelConfigs
      ? await loadModelConfigs(opts.modelConfigs)
      : BUNDLED_MODEL_CONFIGS;
    out(`endpoint: ${opts.endpoint}\n`);
    out(`api_key: ${opts.apiKey ? maskKey(opts.apiKey) : "(none)"}\n`);
    out(`normalized endpoint: ${baseUrl}\n`);
    const model = await resolveModel(baseUrl, opts, signal);
    const sizing = sizeFor(model, configs, opts);
    if (opts.maxInFlight !== undefined) sizing.maxInFlight = opts.maxInFlight;
    const seed = opts.seed ?? crypto.getRandomValues(new Uint32Array(1))[0];
    out(`offload_size: ${sizing.offloadSizeGib}\n`);
    const runs = opts.duration === undefined
      ? "will run forever until you interrupt the process."
      : `will run for ${opts.duration} s (or until you interrupt the process).`;
    out(
      `\n\n\nNOTE: kvbench benchmark ${runs}\n\n\n${
        renderBenchmarkSpec(sizing)
      }\n`,
    );
    if (signal.aborted) return 0;
    const records: RecordsFile | undefined = opts.records
      ? openRecordsFile(opts.records)
      : undefined;
    // The server's view: engine, capacities, counters before the first request.
    const serverMetrics = opts.metrics
      ? await RunMetrics.start({
        baseUrl,
        urls: opts.metricsUrls,
        apiKey: opts.apiKey,
        path: opts.metricsOut ??
          (opts.records ? metricsPathFor(opts.records) : undefined),
        startedAt: performance.now(),
        warn: err,
      })
      : undefined;
    if (serverMetrics !== undefined) {
      const { engine, version } = serverMetrics.server;
      if (engine !== undefined) {
        err(`[INFO] server: ${engine}${version ? ` ${version}` : ""}\n`);
      }
      const gauges = serverMetrics.last?.gauges ?? {};
      const bpt = sizing.bytesPerToken;
      const userDevice = opts.deviceKvGb === undefined
        ? undefined
        : Math.floor(opts.deviceKvGb * 1024 ** 3 / bpt);
      const check = preflight({
        workingSetTokens: sizing.contexts * (sizing.inputLength + 8),
        items: sizing.contexts,
        bytesPerToken: bpt,
        deviceKvTokens: gauges.deviceKvTokens ?? userDevice,
        deviceFrom: gauges.deviceKvTokens !== undefined
          ? "server"
          : userDevice !== undefined
          ? "--device-kv-gb"
          : undefined,
        offloadKvTokens: gauges.offloadKvTokens ??
          Math.floor(sizing.offloadSizeGib * 1024 ** 3 / bpt),
        offloadFrom: gauges.offloadKvTokens !== undefined
          ? "server"
          : "the sizing's offload size",
      });
      err(
        check.lines.map((l) => l.startsWith("[") ? l : `[INFO] ${l}`).join(
          "\n",
        ) + "\n",
      );
    }
    const reuse = new ReuseTracker();
    let stopping = false;
    const onStop = (): void => {
      stopping = true;
      out("\n[INFO] Received termination signal. Stopping benchmark...\n");
    };
    signal.addEventListener("abort", onStop, { once: true });
    const { transport, label } = chooseTransport(opts.transport, baseUrl);
    const seconds = (s: number | undefined) =>
      s === undefined ? undefined : s * 1000;
    const startedAt = performance.now();
    const startedWall = new Date().toISOString();
    let pending: Promise<void> | undefined;
    try {
      const result = await runBenchmark(sizing, {
        endpoint: {
          baseUrl,
          model,
          apiKey: opts.apiKey,
          transport,
          maxRetries: opts.maxRetries,
          timeoutMs: opts.timeout * 1000,
          connectTimeoutMs: seconds(opts.connectTimeout),
          firstTokenTimeoutMs: seconds(opts.firstTokenTimeout),
          idleTimeoutMs: seconds(opts.idleTimeout),
          extraBody: opts.extraBody,
          headers: opts.headers,
        },
        seed,
        ignoreEos: opts.ignoreEos,
        api: opts.api,
        load: opts.requestRate === undefined ? undefined : openLoop(
          opts.burstiness === 1
            ? poisson(opts.requestRate, { seed })
            : gamma(opts.requestRate, opts.burstiness, { seed }),
        ),
        maxRequests: opts.numPrompts,
        warmupRequests: opts.warmup,
        slos: opts.slos,
        durationMs: opts.duration === undefined
          ? undefined
          : opts.duration * 1000,
        signal,
        intervalMs: opts.interval * 1000,
        startedAt,
        write: out,
        warn: err,
        onRecord: (record) => {
          records?.write(record);
          serverMetrics?.add(record);
          reuse.add(record);
        },
        onReport: (ms) => {
          records?.report(ms);
          // The server's split at this report, printed when the scrape is in.
          // (Not once stopping: tmesh-cli's closing lines come as they did.)
          if (serverMetrics !== undefined) {
            pending = serverMetrics.scrape().then(() => {
              if (!stopping && serverMetrics.split() !== undefined) {
                out(serverMetrics.render() + "\n");
              }
            });
          }
        },
      });
      await pending;
      await serverMetrics?.scrape();
      if (!stopping) {
        out(
          `\n[INFO] Duration of ${opts.duration} s reached. Stopping benchmark...\n`,
        );
      }
      out("\n[INFO] Cancelled benchmark tasks.\n");
      out("\nFinal metrics:\n");
      out(
        renderBenchmarkBlock(result.final, { intervalSeconds: opts.interval }),
      );
      out(
        renderDistributions(
          result.distributions.summary({
            percentiles: opts.percentiles,
            elapsedMs: result.final.elapsed * 1000,
          }),
          { transport: label },
        ),
      );
      const split = serverMetrics?.split();
      if (serverMetrics !== undefined) out(serverMetrics.render());
      const verdict = benchmarkVerdict(reuse.figures(), {
        split,
        noSplitReason: serverMetrics?.noSplitReason() ??
          "--no-metrics: the server's metrics were not read",
      });
      out(`\n${verdict.text}\n\n`);
      let code = 0;
      if (opts.requireOffload !== undefined) {
        const share = verdict.offloadShare;
        if (share === undefined || share < opts.requireOffload) {
          err(
            `[ERROR] --require-offload-hits ${opts.requireOffload}: the offload tier served ${
              share === undefined
                ? "an unknown share (the server's counters do not name the tier)"
                : `${(share * 100).toFixed(1)}%`
            } of the reusable prompt tokens\n`,
          );
          code = 1;
        }
      }
      if (opts.output) {
        const summary = benchmarkSummaryJson(sizing, result, {
          params: {
            endpoint: baseUrl,
            model,
            seed,
            started_at: startedWall,
            duration_s: opts.duration ?? null,
            ignore_eos: opts.ignoreEos,
            api: opts.api,
            request_rate: opts.requestRate ?? null,
            burstiness: opts.requestRate === undefined ? null : opts.burstiness,
            num_prompts: opts.numPrompts ?? null,
            warmup: opts.warmup,
            extra_body: opts.extraBody ?? null,
            headers: opts.headers ?? null,
            max_retries: opts.maxRetries,
            timeout_s: opts.timeout,
          },
          percentiles: opts.percentiles,
          transport: label,
          server: serverMetrics === undefined ? undefined : {
            ...serverMetrics.server,
            split: split ?? null,
            resets: serverMetrics.last?.resets ?? 0,
            scrape_failures: Object.fromEntries(serverMetrics.failures),
            offload_share: verdict.offloadShare ?? null,
            verdict: verdict.text,
          },
        });
        await Deno.writeTextFile(
          opts.output,
          JSON.stringify(summary, null, 2) + "\n",
        );
        out(`[INFO] Summary written to ${opts.output}\n`);
      }
      if (records) {
        records.end({
          startedAt,
          elapsedMs: result.final.elapsed * 1000,
          stopReason: result.summary.stopReason,
        });
        out(`[INFO] ${records.count} records written to ${records.path}\n`);
      }
      out("[INFO] Benchmark stopped gracefully.\n");
      return code;
    } finally {
      signal.removeEventListener("abort", onStop);
      records?.close();
      serverMetrics?.close();
      transport.close();
    }
  },
};
