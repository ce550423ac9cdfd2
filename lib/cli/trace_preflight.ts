/**
 * The pre-flight of a trace replay (`kvbench trie`, `kvbench replay`): the
 * model's KV bytes per token and their source ({@linkcode modelKv}), and the
 * trace's working set against the capacities the server reports, in the
 * lines `kvbench benchmark` prints (`lib/server/preflight.ts`). A replay is
 * never refused: it replays a trace, whatever it stresses; the lines say so.
 *
 * @module
 */
import {
  type Preflight,
  preflight,
  type PreflightVerdict,
  type PreflightWording,
} from "../server/preflight.ts";
import type { ModelKvResult } from "./model_kv.ts";
import type { RunMetrics } from "./server_metrics.ts";

/** The capacities a server reported. */
export interface ServerCapacities {
  /** GPU KV, tokens. */
  deviceKvTokens?: number;
  /** Offload tier, tokens. */
  offloadKvTokens?: number;
  /** llama.cpp: its slots. */
  slots?: number;
  /** llama.cpp: tokens of each slot. */
  slotTokens?: number;
}

/**
 * The capacities of the run's first scrape (`/metrics`) and of the server's
 * probe (llama.cpp's `/props`).
 *
 * @example Nothing scraped
 * ```ts
 * import { capacitiesOf } from "./trace_preflight.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(capacitiesOf(undefined), {});
 * ```
 */
export function capacitiesOf(
  metrics: RunMetrics | undefined,
): ServerCapacities {
  if (metrics === undefined) return {};
  const gauges = metrics.last?.gauges ?? {};
  const capacities: ServerCapacities = {};
  if (gauges.deviceKvTokens !== undefined) {
    capacities.deviceKvTokens = gauges.deviceKvTokens;
  }
  if (gauges.offloadKvTokens !== undefined) {
    capacities.offloadKvTokens = gauges.offloadKvTokens;
  }
  if (metrics.server.slots !== undefined) {
    capacities.slots = metrics.server.slots;
  }
  if (metrics.server.slotTokens !== undefined) {
    capacities.slotTokens = metrics.server.slotTokens;
  }
  return capacities;
}

/** The working set of a trace replay. */
export interface TraceWorkingSet {
  /** Tokens the replay keeps reusing; undefined when it cannot be known before the run. */
  tokens?: number;
  /** Why `tokens` is unknown. */
  unknown?: string;
  /** Items making it (traces in flight, sessions), for the text. */
  items?: number;
}

/** Options of {@linkcode tracePreflight}. */
export interface TracePreflightOptions {
  /** The model's KV size, or why it is unknown. */
  kv: ModelKvResult;
  /** The server's capacities. */
  capacities: ServerCapacities;
  /** GPU KV in tokens given on the command line, used when the server does not report it. */
  deviceKvTokens?: { tokens: number; from: string };
  /** How the lines name the items and the fixes. */
  wording: PreflightWording;
}

/** The pre-flight of a replay, and what `run.json` records of it. */
export interface TracePreflight extends Preflight {
  /** `params.preflight` of `run.json`. */
  record: {
    verdict: PreflightVerdict;
    lines: string[];
    working_set_tokens: number | null;
    gpu_kv_tokens: number | null;
    offload_kv_tokens: number | null;
    bytes_per_token: number | null;
    bytes_per_token_from: string | null;
    bytes_per_token_source: string | null;
    tp: number | null;
    kv_cache_dtype: string | null;
  };
}

const n = (x: number): string => Math.round(x).toLocaleString("en-US");

/**
 * The replay's pre-flight: the KV size line, then benchmark's pre-flight
 * lines for the working set (or a line saying it is unknown).
 *
 * @example 100,000 tokens against 65,536 tokens of GPU KV and a 262,144-token offload tier
 * ```ts
 * import { tracePreflight } from "./trace_preflight.ts";
 * import { BENCHMARK_WORDING } from "../server/preflight.ts";
 * import assert from "node:assert/strict";
 *
 * const p = tracePreflight({ tokens: 100_000 }, {
 *   kv: { unknown: "KV bytes per token unknown: …" },
 *   capacities: { deviceKvTokens: 65_536, offloadKvTokens: 262_144 },
 *   wording: BENCHMARK_WORDING,
 * });
 * assert.equal(p.verdict, "needs_offload");
 * assert.equal(p.lines[0], "KV bytes per token unknown: …");
 * assert.equal(
 *   p.lines[1],
 *   "Pre-flight: working set 100,000 tokens; GPU KV 65,536 tokens (server); offload 262,144 tokens (server)",
 * );
 * assert.equal(p.record.bytes_per_token, null);
 * ```
 */
export function tracePreflight(
  workingSet: TraceWorkingSet,
  options: TracePreflightOptions,
): TracePreflight {
  const { kv, capacities, wording } = options;
  const bytesPerToken = kv.kv?.bytesPerToken || undefined;
  const device = capacities.deviceKvTokens ?? options.deviceKvTokens?.tokens;
  const deviceFrom = capacities.deviceKvTokens !== undefined
    ? "server"
    : options.deviceKvTokens?.from;
  const offload = capacities.offloadKvTokens;
  let check: Preflight;
  if (workingSet.tokens === undefined) {
    const gib = (tokens: number): string =>
      bytesPerToken === undefined
        ? ""
        : `, ${(tokens * bytesPerToken / 1024 ** 3).toFixed(2)} GiB`;
    const capacity = (name: string, tokens?: number, from?: string): string =>
      tokens === undefined
        ? `${name} unknown`
        : `${name} ${n(tokens)} tokens${gib(tokens)}${
          from ? ` (${from})` : ""
        }`;
    check = {
      verdict: "unknown",
      lines: [
        `Pre-flight: working set unknown (${
          workingSet.unknown ?? "not known before the run"
        }); ${capacity("GPU KV", device, deviceFrom)}; ${
          capacity("offload", offload, offload === undefined ? "" : "server")
        }`,
      ],
    };
  } else {
    check = preflight({
      workingSetTokens: workingSet.tokens,
      items: workingSet.items,
      bytesPerToken,
      deviceKvTokens: device,
      deviceFrom,
      offloadKvTokens: offload,
      offloadFrom: offload === undefined ? undefined : "server",
      slots: capacities.slots,
      slotTokens: capacities.slotTokens,
      wording,
    });
  }
  const lines = [kv.kv?.note ?? kv.unknown!, ...check.lines];
  return {
    verdict: check.verdict,
    lines,
    record: {
      verdict: check.verdict,
      lines,
      working_set_tokens: workingSet.tokens ?? null,
      gpu_kv_tokens: device ?? null,
      offload_kv_tokens: offload ?? null,
      bytes_per_token: kv.kv?.bytesPerToken ?? null,
      bytes_per_token_from: kv.kv?.from ?? null,
      bytes_per_token_source: kv.kv?.source ?? null,
      tp: kv.kv?.tp ?? null,
      kv_cache_dtype: kv.kv?.kvDtype ?? null,
    },
  };
}
