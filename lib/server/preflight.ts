/**
 * The pre-flight check of an offload stress, before its first request: the
 * working set against the device KV capacity and the offload capacity. A run
 * whose working set fits in device KV, or exceeds device and offload
 * together, stresses the offload tier only in name; it is said in plain
 * words.
 *
 * @module
 */

/** Options of {@linkcode preflight}. */
export interface PreflightOptions {
  /** Tokens the workload keeps reusing (contexts × context length). */
  workingSetTokens: number;
  /** How many items (contexts) make the working set, for the text. */
  items?: number;
  /** KV bytes per token, to say sizes in GiB. */
  bytesPerToken?: number;
  /** Device (GPU) KV capacity in tokens, when known. */
  deviceKvTokens?: number;
  /** Where the device capacity comes from (`server`, `--device-kv-gb`). */
  deviceFrom?: string;
  /** Offload capacity in tokens, when known. */
  offloadKvTokens?: number;
  /** Where the offload capacity comes from. */
  offloadFrom?: string;
}

/** What the working set means for the run. */
export type PreflightVerdict =
  | "fits_device"
  | "needs_offload"
  | "exceeds_offload"
  | "unknown";

/** The pre-flight's verdict and its text. */
export interface Preflight {
  /** `fits_device`: reuse can come from GPU memory; `needs_offload`: only the offload tier can serve it; `exceeds_offload`: nothing can; `unknown`: capacities unknown. */
  verdict: PreflightVerdict;
  /** Lines to print. */
  lines: string[];
}

const n = (x: number): string => Math.round(x).toLocaleString("en-US");

/**
 * Compare the working set with the capacities.
 *
 * @example A working set four times the GPU KV, inside the offload tier
 * ```ts
 * import { preflight } from "./preflight.ts";
 * import assert from "node:assert/strict";
 *
 * const p = preflight({
 *   workingSetTokens: 192_000, items: 6, bytesPerToken: 98_304,
 *   deviceKvTokens: 43_680, deviceFrom: "server",
 *   offloadKvTokens: 218_448, offloadFrom: "server",
 * });
 * assert.equal(p.verdict, "needs_offload");
 * assert.ok(p.lines[0].startsWith("Pre-flight: working set 192,000 tokens (6 contexts, 17.58 GiB)"));
 * ```
 */
export function preflight(options: PreflightOptions): Preflight {
  const { workingSetTokens: ws, bytesPerToken } = options;
  const gib = (tokens: number): string =>
    bytesPerToken === undefined
      ? ""
      : `, ${(tokens * bytesPerToken / 1024 ** 3).toFixed(2)} GiB`;
  const items = options.items === undefined ? "" : `${options.items} contexts`;
  const about = [items, gib(ws).slice(2)].filter((s) => s !== "").join(", ");
  const set = `working set ${n(ws)} tokens${about ? ` (${about})` : ""}`;
  const capacity = (
    name: string,
    tokens: number | undefined,
    from: string | undefined,
  ): string =>
    tokens === undefined
      ? `${name} unknown`
      : `${name} ${n(tokens)} tokens${gib(tokens)}${from ? ` (${from})` : ""}`;
  const lines = [
    `Pre-flight: ${set}; ${
      capacity("GPU KV", options.deviceKvTokens, options.deviceFrom)
    }; ${capacity("offload", options.offloadKvTokens, options.offloadFrom)}`,
  ];
  const device = options.deviceKvTokens;
  const offload = options.offloadKvTokens;
  if (device !== undefined && ws <= device) {
    lines.push(
      "[WARN] The working set fits in GPU KV: every reuse can be served from GPU memory, so this run does not stress the offload tier. Raise the contexts or their length (--offload-size, --input-length) above the GPU's capacity.",
    );
    return { verdict: "fits_device", lines };
  }
  if (device !== undefined && offload !== undefined && ws > device + offload) {
    lines.push(
      "[WARN] The working set exceeds GPU KV and the offload tier together: every reuse will be recomputed, so this run measures no offload hit. Lower the contexts (--offload-size) or enlarge the offload tier.",
    );
    return { verdict: "exceeds_offload", lines };
  }
  if (device === undefined) return { verdict: "unknown", lines };
  return { verdict: "needs_offload", lines };
}
