/**
 * What the workloads with `--flag` syntax (benchmark, replay) share beyond
 * the option schema: how their run messages read, their endpoint's
 * configuration from the shared request options, and the checks of the
 * endpoint and the output paths before anything is sent.
 *
 * @module
 */
import {
  type ApiName,
  checkOutputPath,
  type TransportName,
  UsageError,
} from "./common.ts";
import type { RunVoice, Scale } from "./pipeline.ts";
import type { Slos } from "../metrics/distributions.ts";
import { describeClock } from "./scale.ts";
import { normalizeEndpoint } from "../openai/endpoint.ts";
import type { EndpointConfig } from "../openai/request.ts";
import type { Transport } from "../transport/transport.ts";

/**
 * How the `--flag` workloads' run messages read.
 *
 * @example Usage
 * ```ts
 * import { FLAGS_VOICE } from "./flags_workload.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   FLAGS_VOICE.startLate(Date.UTC(2026, 0, 1), 1500),
 *   "[WARN] --start-at 2026-01-01T00:00:00.000Z passed 1.5 s ago: starting now\n",
 * );
 * ```
 */
export const FLAGS_VOICE: RunVoice = {
  workersStarted: (pool, dir) =>
    `[INFO] ${pool.pids.length} workers (pids ${
      pool.pids.join(", ")
    }) writing into ${dir}\n`,
  shardClock: (part, clock) =>
    `[INFO] shard ${part.index}/${part.count}: ${describeClock(clock)}\n`,
  startWait: (startAt, ms, part) =>
    `[INFO] starting at ${new Date(startAt).toISOString()}${
      part === undefined ? "" : " on the server's clock"
    }, in ${(ms / 1000).toFixed(1)} s\n`,
  startLate: (startAt, ms) =>
    `[WARN] --start-at ${new Date(startAt).toISOString()} passed ${
      (ms / 1000).toFixed(1)
    } s ago: starting now\n`,
};

/** The shared request options an endpoint is configured from (seconds). */
export interface EndpointFlags {
  /** `--api-key`. */
  apiKey?: string;
  /** `--max-retries`. */
  maxRetries: number;
  /** `--timeout`, s. */
  timeout: number;
  /** `--connect-timeout`, s. */
  connectTimeout?: number;
  /** `--first-token-timeout`, s. */
  firstTokenTimeout?: number;
  /** `--idle-timeout`, s. */
  idleTimeout?: number;
  /** `--extra-body`, parsed. */
  extraBody?: Record<string, unknown>;
  /** `--header`, parsed. */
  headers?: Record<string, string>;
}

/** The options every `--flag` workload parses (the shared schema's). */
export interface FlagsRunOptions extends EndpointFlags, Scale {
  /** `--endpoint`, as given. */
  endpoint: string;
  /** `--model` (default: discovered). */
  model?: string;
  /** `--api`. */
  api: ApiName;
  /** `--ignore-eos`. */
  ignoreEos: boolean;
  /** `--duration`, s. */
  duration?: number;
  /** `--percentiles`. */
  percentiles?: number[];
  /** `--goodput`, parsed. */
  slos?: Slos;
  /** `--output-dir`. */
  outputDir?: string;
  /** Whether to write a run directory (`--no-artifacts`: not). */
  artifacts: boolean;
  /** `--records`. */
  records?: string;
  /** `--output` (the summary JSON). */
  output?: string;
  /** `--transport`. */
  transport: TransportName;
  /** Whether to read the server's metrics (`--no-metrics`: not). */
  metrics: boolean;
  /** `--metrics-url`s. */
  metricsUrls?: string[];
  /** `--metrics-out`. */
  metricsOut?: string;
  /** `--scrape-interval`, seconds. */
  scrapeInterval: number;
  /** Started by `--workers` (internal). */
  worker: boolean;
}

/**
 * The endpoint of every request of a run: the shared options, timeouts in ms.
 *
 * @example Usage
 * ```ts
 * import { endpointConfig } from "./flags_workload.ts";
 * import { fetchTransport } from "../transport/fetch.ts";
 * import assert from "node:assert/strict";
 *
 * const config = endpointConfig(
 *   { maxRetries: 0, timeout: 60, idleTimeout: 5 },
 *   { baseUrl: "http://h/v1/", model: "m", transport: fetchTransport() },
 * );
 * assert.equal(config.timeoutMs, 60_000);
 * assert.equal(config.idleTimeoutMs, 5000);
 * assert.equal(config.connectTimeoutMs, undefined);
 * ```
 */
export function endpointConfig(
  opts: EndpointFlags,
  c: { baseUrl: string; model: string; transport: Transport },
): EndpointConfig {
  const ms = (s: number | undefined) => s === undefined ? undefined : s * 1000;
  return {
    baseUrl: c.baseUrl,
    model: c.model,
    apiKey: opts.apiKey,
    transport: c.transport,
    maxRetries: opts.maxRetries,
    timeoutMs: opts.timeout * 1000,
    connectTimeoutMs: ms(opts.connectTimeout),
    firstTokenTimeoutMs: ms(opts.firstTokenTimeout),
    idleTimeoutMs: ms(opts.idleTimeout),
    extraBody: opts.extraBody,
    headers: opts.headers,
  };
}

/**
 * Refuse, with a {@linkcode UsageError} carrying `usage`, an endpoint that
 * is not a URL a workload can use.
 *
 * @example Usage
 * ```ts
 * import { checkEndpointFlag } from "./flags_workload.ts";
 * import assert from "node:assert/strict";
 *
 * checkEndpointFlag("localhost:8000", "usage");
 * assert.throws(() => checkEndpointFlag("ftp://x", "usage"), /scheme "ftp"/);
 * ```
 */
export function checkEndpointFlag(endpoint: string, usage: string): void {
  try {
    normalizeEndpoint(endpoint);
  } catch (error) {
    throw new UsageError((error as Error).message, usage);
  }
}

/**
 * Check, before the run, that `--output`, `--records` and `--metrics-out`
 * can be written (a one-line error otherwise).
 *
 * @example Usage
 * ```ts
 * import { checkOutputFlags } from "./flags_workload.ts";
 *
 * await checkOutputFlags({ output: undefined, records: undefined });
 * ```
 */
export async function checkOutputFlags(
  opts: { output?: string; records?: string; metricsOut?: string },
): Promise<void> {
  const paths: [string | undefined, string][] = [
    [opts.output, "--output"],
    [opts.records, "--records"],
    [opts.metricsOut, "--metrics-out"],
  ];
  for (const [path, flag] of paths) {
    if (path !== undefined) await checkOutputPath(path, flag);
  }
}
