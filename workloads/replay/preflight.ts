/**
 * replay's pre-flight: the model's KV bytes per token (`--hf-config`,
 * `--tp`, `--kv-cache-dtype`, as benchmark's), and the trace's working set,
 * its unique prefix tokens, against the server's GPU KV and offload
 * capacities. A replay is never refused: it replays the trace as it is.
 *
 * @module
 */
import type { ModelKvResult } from "../../lib/cli/model_kv.ts";
import {
  type ServerCapacities,
  type TracePreflight,
  tracePreflight,
  type TraceWorkingSet,
} from "../../lib/cli/trace_preflight.ts";
import type { PreflightWording } from "../../lib/server/preflight.ts";
import type { Theory } from "./theory.ts";
import type { ReplayTrace } from "./trace.ts";

/**
 * A trace's working set: its unique prefix tokens, the full blocks of all
 * its prompts counted once per distinct prefix (a block is the same block
 * only after the same blocks), as an unbounded prefix cache would hold them
 * at the trace's end: Σ over requests of its full blocks × the block size
 * minus what it found cached ({@linkcode Theory}'s `unbounded`). A partial
 * last block is never cached, so never counted.
 *
 * @example Three requests of 4-token blocks: [1, 2], then [1, 3], then [1, 2]
 * ```ts
 * import { replayWorkingSet } from "./preflight.ts";
 * import { theoreticalReuse } from "./theory.ts";
 * import { parseTrace } from "./formats.ts";
 * import assert from "node:assert/strict";
 *
 * const trace = parseTrace(
 *   '{"timestamp": 0, "input_length": 8, "output_length": 1, "hash_ids": [1, 2]}\n' +
 *     '{"timestamp": 5, "input_length": 7, "output_length": 1, "hash_ids": [1, 3]}\n' +
 *     '{"timestamp": 9, "input_length": 8, "output_length": 1, "hash_ids": [1, 2]}\n',
 *   { name: "t.jsonl", blockSize: 4 },
 * );
 * // Blocks 1 and 2 (8 tokens), then 3 is partial (7 tokens): 8 unique tokens.
 * assert.deepEqual(replayWorkingSet(trace, theoreticalReuse(trace)), { tokens: 8 });
 * ```
 */
export function replayWorkingSet(
  trace: ReplayTrace,
  theory: Theory,
): TraceWorkingSet {
  const bs = trace.blockSize;
  let tokens = 0;
  for (const r of trace.requests) {
    tokens += Math.floor(r.inputLength / bs) * bs - theory.unbounded[r.index];
  }
  return { tokens };
}

/**
 * How replay's pre-flight names its items and fixes.
 *
 * @example Usage
 * ```ts
 * import { REPLAY_WORDING } from "./preflight.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(REPLAY_WORDING.items, "sessions");
 * ```
 */
export const REPLAY_WORDING: PreflightWording = {
  item: "session",
  items: "sessions",
  raise:
    "The trace measures the GPU's prefix cache: replay a larger trace to measure the offload tier.",
  exceeds:
    "a reuse farther back than the tier holds is recomputed: the run measures only the nearer reuse",
  lower: "Replay fewer sessions (--max-sessions) or enlarge the offload tier.",
  moreThanSlots: "A trace of more sessions than slots measures it.",
};

/** Options of {@linkcode replayPreflight}. */
export interface ReplayPreflightOptions {
  /** The model's KV size, or why it is unknown. */
  kv: ModelKvResult;
  /** The server's capacities. */
  capacities: ServerCapacities;
  /** `--capacity-tokens`: the GPU KV in place of the server's, as the LRU theory takes it. */
  capacityTokens?: number;
}

/**
 * replay's pre-flight: the KV size line, then the trace's unique prefix
 * tokens against the server's capacities.
 *
 * @example A trace of 8 unique tokens on a server of 4 GPU KV tokens, no offload tier
 * ```ts
 * import { replayPreflight } from "./preflight.ts";
 * import { theoreticalReuse } from "./theory.ts";
 * import { parseTrace } from "./formats.ts";
 * import assert from "node:assert/strict";
 *
 * const trace = parseTrace(
 *   '{"timestamp": 0, "input_length": 8, "output_length": 1, "hash_ids": [1, 2]}\n',
 *   { name: "t.jsonl", blockSize: 4 },
 * );
 * const p = replayPreflight(trace, theoreticalReuse(trace), {
 *   kv: { unknown: "KV bytes per token unknown" },
 *   capacities: { deviceKvTokens: 4, offloadKvTokens: 0 },
 * });
 * assert.equal(p.verdict, "exceeds_offload");
 * assert.equal(p.record.working_set_tokens, 8);
 * ```
 */
export function replayPreflight(
  trace: ReplayTrace,
  theory: Theory,
  options: ReplayPreflightOptions,
): TracePreflight {
  const { capacityTokens } = options;
  return tracePreflight(replayWorkingSet(trace, theory), {
    kv: options.kv,
    // The flag wins over the server's figure, as in the theory beside it.
    capacities: capacityTokens === undefined
      ? options.capacities
      : { ...options.capacities, deviceKvTokens: undefined },
    deviceKvTokens: capacityTokens === undefined
      ? undefined
      : { tokens: capacityTokens, from: "--capacity-tokens" },
    wording: REPLAY_WORDING,
  });
}
