/**
 * `kvbench trie`: the command line of the multi-turn agentic trace replay,
 * with trie's `key=value` arguments.
 *
 * @module
 */
import { resolveWorkloadPath } from "../workloads/trie/dataset.ts";
import { normalizeEndpoint } from "../engine/openai/endpoint.ts";
import { logLine, pyFloat } from "../workloads/trie/log_line.ts";
import {
  openRecordsFile,
  type RecordsFile,
} from "../engine/run/records_file.ts";
import { createSynthesizer } from "../engine/text/synth.ts";
import { loadTokenizer } from "../engine/text/tokenizer.ts";
import type { TrieResult } from "../workloads/trie/metrics.ts";
import {
  completeLogFields,
  progressLine,
  renderProgress,
  renderTrieReport,
  trieSummaryJson,
} from "../workloads/trie/report.ts";
import { loadTraceFile } from "../workloads/trie/trace_file.ts";
import { runTrie, trieLoad } from "../workloads/trie/run.ts";
import {
  chooseTransport,
  type Command,
  err,
  out,
  parseApi,
  parseJsonObject,
  parseTransport,
  UsageError,
} from "./common.ts";
import {
  parsePercentiles,
  parseSlos,
  renderDistributions,
} from "../engine/metrics/distributions.ts";
import { kvHelp, type KvSchema, parseKvArgs } from "./kv_args.ts";
import { metricsPathFor, RunMetrics } from "./server_metrics.ts";

const SCHEMA: KvSchema = {
  workload_path: {
    type: "str",
    required: true,
    help: "JSONL trace file, or an alias: agentic, qa, office",
  },
  endpoint: {
    type: "str",
    required: true,
    help: "OpenAI-compatible base URL, e.g. http://localhost:8000/v1",
  },
  model: {
    type: "str",
    required: true,
    help: "model name sent to the endpoint",
  },
  concurrency: {
    type: "int",
    optional: true,
    help: "traces in flight (closed loop); exclusive with arrival_rate",
  },
  arrival_rate: {
    type: "float",
    optional: true,
    help: "new traces per second (open loop); exclusive with concurrency",
  },
  tokenizer_model: {
    type: "str",
    optional: true,
    help: "tokenizer folder or Hugging Face id (default: model)",
  },
  duration: {
    type: "float",
    default: 300,
    help: "seconds; then admit nothing new and abort everything in flight",
  },
  max_traces: {
    type: "int",
    optional: true,
    help: "admit at most this many traces, then let them finish",
  },
  seed: {
    type: "int",
    optional: true,
    help: "seed of the synthesized prompt text",
  },
  api_key: {
    type: "str",
    optional: true,
    help: "bearer key (default: $OPENAI_API_KEY; none is fine)",
  },
  max_retries: {
    type: "int",
    default: 2,
    help: "retries of a failed request before its trace fails",
  },
  timeout: {
    type: "float",
    default: 600,
    help: "total timeout of one request, seconds",
  },
  num_gpus: {
    type: "int",
    optional: true,
    help: "adds the Steady State / GPU column",
  },
  stream: {
    type: "bool",
    default: false,
    help: "stream responses (needed for TTFT, TTFAT, Decode TPS)",
  },
  duration_update_interval: {
    type: "float",
    optional: true,
    help: "seconds between progress lines when the output is not a terminal",
  },
  synthesis: {
    type: "str",
    default: "pool",
    help: "prompt synthesis: pool (fast, exact) or random (trie's algorithm)",
  },
  output_json: {
    type: "str",
    optional: true,
    help: "write a JSON summary (both tables and the parameters) here",
  },
  records: {
    type: "str",
    optional: true,
    help: "append every finished request to this JSONL file",
  },
  api: {
    type: "str",
    default: "completions",
    help:
      "completions (as trie) or chat (the chat template adds prompt tokens)",
  },
  ignore_eos: {
    type: "bool",
    default: true,
    help: "send ignore_eos so each answer is exactly its max_tokens (as trie)",
  },
  extra_body: {
    type: "str",
    optional: true,
    help: 'JSON fields merged into every request body, e.g. {"temperature":0}',
  },
  headers: {
    type: "str",
    optional: true,
    help: 'JSON object of extra request headers, e.g. {"X-Team":"kv"}',
  },
  routing_header: {
    type: "str",
    default: "X-SMG-Routing-Key",
    optional: true,
    help: "header carrying the trace id for session affinity (None: none)",
  },
  percentiles: {
    type: "str",
    default: "50,90,99",
    help: "percentiles of the latency distributions",
  },
  goodput: {
    type: "str",
    optional: true,
    help:
      "SLOs in ms for goodput, e.g. ttft:500,tpot:50 (keys ttft, tpot, e2el)",
  },
  connect_timeout: {
    type: "float",
    default: 10,
    help: "seconds to open a connection (not applied by the fetch transport)",
  },
  first_token_timeout: {
    type: "float",
    optional: true,
    help: "seconds from a send to its first generated token",
  },
  idle_timeout: {
    type: "float",
    optional: true,
    help: "seconds without any byte of a response",
  },
  transport: {
    type: "str",
    default: "auto",
    help: "auto (http1 unless a proxy applies), http1 or fetch",
  },
  metrics: {
    type: "bool",
    default: true,
    help: "scrape the server's Prometheus /metrics for the KV source split",
  },
  metrics_url: {
    type: "str",
    optional: true,
    help:
      "/metrics URLs, comma-separated (default: the endpoint's origin + /metrics)",
  },
  metrics_out: {
    type: "str",
    optional: true,
    help: "write every scrape as a JSON line here (default: beside records)",
  },
};

const USAGE =
  `usage: kvbench trie workload_path=… endpoint=… model=… (concurrency=N | arrival_rate=R) [key=value …]

Multi-turn agentic trace replay (successor of trie / tokenspeed-trie).
Arguments are key=value (--key=value works too):

${kvHelp(SCHEMA)}`;

function parse(args: string[]) {
  if (args.includes("--help") || args.includes("-h") || args.includes("help")) {
    return undefined;
  }
  let v;
  try {
    v = parseKvArgs(args, SCHEMA);
    trieLoad({
      concurrency: v.concurrency as number | null,
      arrivalRate: v.arrival_rate as number | null,
    });
  } catch (error) {
    throw new UsageError((error as Error).message, USAGE);
  }
  const positive = (key: string) => {
    if (v[key] !== null && !((v[key] as number) > 0)) {
      throw new UsageError(`${key} must be > 0`, USAGE);
    }
  };
  [
    "concurrency",
    "arrival_rate",
    "duration",
    "timeout",
    "duration_update_interval",
    "max_traces",
    "connect_timeout",
    "first_token_timeout",
    "idle_timeout",
  ].forEach(positive);
  if ((v.max_retries as number) < 0) {
    throw new UsageError("max_retries must be >= 0", USAGE);
  }
  if (v.num_gpus !== null && (v.num_gpus as number) < 1) {
    throw new UsageError("num_gpus must be >= 1", USAGE);
  }
  if (v.synthesis !== "pool" && v.synthesis !== "random") {
    throw new UsageError(
      `synthesis must be pool or random, not "${v.synthesis}"`,
      USAGE,
    );
  }
  let baseUrl: string;
  let shaping;
  try {
    baseUrl = normalizeEndpoint(v.endpoint as string);
    shaping = {
      api: parseApi(v.api as string),
      transport: parseTransport(v.transport as string),
      extraBody: v.extra_body === null
        ? undefined
        : parseJsonObject(v.extra_body as string, "extra_body"),
      headers: v.headers === null
        ? undefined
        : stringValues(parseJsonObject(v.headers as string, "headers")),
      percentiles: parsePercentiles(v.percentiles as string),
      slos: v.goodput === null ? undefined : parseSlos(v.goodput as string),
    };
  } catch (error) {
    throw new UsageError((error as Error).message, USAGE);
  }
  return { v, baseUrl, shaping };
}

function stringValues(object: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(object)) {
    if (typeof value !== "string") {
      throw new TypeError(`headers: the value of "${k}" must be a string`);
    }
    out[k] = value;
  }
  return out;
}

/** A status display: redrawn in place on a terminal, a plain line every interval otherwise. */
function progressDisplay(
  durationS: number,
  intervalS: number | null,
  startedAt: number,
) {
  const tty = Deno.stdout.isTerminal();
  let drawn = 0;
  let last = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  let current: TrieResult | undefined;
  const elapsed = () => (performance.now() - startedAt) / 1000;
  const draw = () => {
    if (!current) return;
    const lines = renderProgress(current, { elapsedS: elapsed(), durationS });
    out(
      (drawn ? `\x1b[${drawn}F` : "") +
        lines.map((l) => `\x1b[2K${l}`).join("\n") + "\n",
    );
    drawn = lines.length;
  };
  if (tty) timer = setInterval(draw, 1000);
  else if (intervalS !== null) {
    timer = setInterval(
      () =>
        current &&
        out(progressLine(current, { elapsedS: elapsed(), durationS }) + "\n"),
      intervalS * 1000,
    );
  }
  return {
    update(result: TrieResult) {
      current = result;
      // Redraw on progress too, at most 4 times a second.
      if (tty && performance.now() - last > 250) {
        last = performance.now();
        draw();
      }
    },
    clear() {
      clearInterval(timer);
      // The live region disappears at the end, as rich's transient Live.
      if (tty && drawn) out(`\x1b[${drawn}F\x1b[0J`);
    },
  };
}

/** `kvbench trie`. */
export const trieCommand: Command = {
  name: "trie",
  summary:
    "multi-turn agentic trace replay (successor of trie / tokenspeed-trie)",
  async run(args: string[], signal: AbortSignal): Promise<number> {
    const parsed = parse(args);
    if (parsed === undefined) {
      out(USAGE);
      return 0;
    }
    const { v, baseUrl, shaping } = parsed;
    const { transport, label } = chooseTransport(shaping.transport, baseUrl);
    const ms = (key: string) =>
      v[key] === null ? undefined : (v[key] as number) * 1000;
    const path = await resolveWorkloadPath(v.workload_path as string, {
      progress: true,
      signal,
    });
    const rows = await loadTraceFile(path);
    const tokenizerName = (v.tokenizer_model ?? v.model) as string;
    const tokenizer = await loadTokenizer(tokenizerName, {
      progress: true,
      signal,
    });
    const synthesizer = createSynthesizer(tokenizer, {
      seed: (v.seed as number | null) ?? undefined,
      method: v.synthesis as "pool" | "random",
      onWarning: (w) => err(logLine("warning", w.message) + "\n"),
    });
    const durationS = v.duration as number;
    const startFields: Record<string, unknown> = {
      concurrency: v.concurrency,
      duration: pyFloat(durationS),
      model: v.model,
      num_gpus: v.num_gpus,
      workload_templates: rows.length,
    };
    if (v.arrival_rate !== null) {
      startFields.arrival_rate = pyFloat(v.arrival_rate as number);
    }
    if (v.duration_update_interval !== null) {
      startFields.duration_update_interval = pyFloat(
        v.duration_update_interval as number,
      );
    }
    out(logLine("info", "starting benchmark", startFields) + "\n");
    const records: RecordsFile | undefined = v.records
      ? openRecordsFile(v.records as string)
      : undefined;
    const serverMetrics = v.metrics
      ? await RunMetrics.start({
        baseUrl,
        urls: v.metrics_url === null
          ? undefined
          : (v.metrics_url as string).split(",").map((u) => u.trim()),
        apiKey: (v.api_key as string | null) ?? Deno.env.get("OPENAI_API_KEY"),
        path: (v.metrics_out as string | null) ??
          (v.records ? metricsPathFor(v.records as string) : undefined),
        startedAt: performance.now(),
        warn: err,
      })
      : undefined;
    // A scrape every progress interval (or 5 s), for the metrics time series.
    const scrapeTimer = serverMetrics === undefined ? undefined : setInterval(
      () => void serverMetrics.scrape(),
      ((v.duration_update_interval as number | null) ?? 5) * 1000,
    );
    const startedAt = performance.now();
    const progress = progressDisplay(
      durationS,
      v.duration_update_interval as number | null,
      startedAt,
    );
    let result: TrieResult;
    try {
      result = await runTrie(rows, {
        endpoint: {
          baseUrl,
          model: v.model as string,
          apiKey: (v.api_key as string | null) ??
            Deno.env.get("OPENAI_API_KEY"),
          maxRetries: v.max_retries as number,
          timeoutMs: (v.timeout as number) * 1000,
          connectTimeoutMs: ms("connect_timeout"),
          firstTokenTimeoutMs: ms("first_token_timeout"),
          idleTimeoutMs: ms("idle_timeout"),
          transport,
          extraBody: shaping.extraBody,
          headers: shaping.headers,
        },
        api: shaping.api,
        ignoreEos: v.ignore_eos as boolean,
        routingHeader: v.routing_header as string | null,
        slos: shaping.slos,
        synthesizer,
        concurrency: (v.concurrency as number | null) ?? undefined,
        arrivalRate: (v.arrival_rate as number | null) ?? undefined,
        duration: durationS,
        maxTraces: (v.max_traces as number | null) ?? undefined,
        stream: v.stream as boolean,
        signal,
        startedAt,
        onFailure: ({ traceId, turn, record }) =>
          err(
            logLine("warning", "request failed", {
              error: record.error?.message,
              request_id: traceId,
              turn,
            }) + "\n",
          ),
        onUsageMissing: () =>
          err(
            logLine(
              "warning",
              "stream response usage missing; omitting server metrics",
            ) + "\n",
          ),
        onRecord: (record) => {
          records?.write(record);
          serverMetrics?.add(record);
        },
        onProgress: (r) => progress.update(r),
      });
      records?.end({
        startedAt,
        elapsedMs: result.wallTime * 1000,
        stopReason: result.stopReason ?? "exhausted",
      });
    } finally {
      progress.clear();
      records?.close();
      transport.close();
      clearInterval(scrapeTimer);
    }
    if (signal.aborted) out(logLine("warning", "benchmark interrupted") + "\n");
    const numGpus = (v.num_gpus as number | null) ?? undefined;
    out(
      logLine(
        "info",
        "benchmark complete",
        completeLogFields(result, { numGpus }),
      ) + "\n",
    );
    out(renderTrieReport(result, { numGpus }));
    const distributions = result.distributions.summary({
      percentiles: shaping.percentiles,
      elapsedMs: result.wallTime * 1000,
    });
    out(renderDistributions(distributions, { transport: label }));
    if (serverMetrics !== undefined) {
      await serverMetrics.scrape();
      out(serverMetrics.render());
      serverMetrics.close();
    }
    if (v.output_json) {
      const params = {
        ...v,
        endpoint: baseUrl,
        tokenizer_model: tokenizerName,
        synthesis: synthesizer.method,
      };
      const json = {
        server: serverMetrics === undefined ? null : {
          ...serverMetrics.server,
          split: serverMetrics.split() ?? null,
          resets: serverMetrics.last?.resets ?? 0,
          scrape_failures: Object.fromEntries(serverMetrics.failures),
        },
        ...trieSummaryJson(result, params, { numGpus }),
        transport: label,
        distributions,
      };
      await Deno.writeTextFile(
        v.output_json as string,
        JSON.stringify(json, null, 2) + "\n",
      );
    }
    return 0;
  },
};
