/**
 * The pre-flight check of an offload stress, before its first request: the
 * working set against the device KV capacity and the offload capacity. A run
 * whose working set fits in device KV, or exceeds what the offload tier can
 * hold, stresses the offload tier only in name; it is said in plain words.
 *
 * Offload tiers are taken as inclusive: they hold a copy of what is on the
 * GPU (SGLang HiCache's default `write_through`, LMCache storing every
 * prefilled chunk, vLLM's OffloadingConnector and Dynamo KVBM offloading on
 * store), so the working set must fit the offload tier alone, not GPU and
 * offload added. The assumption is said, and so is the case where it
 * changes the answer. llama.cpp keeps one prompt per slot (`kv_unified`
 * off): its device KV holds as many contexts as it has slots, whatever
 * their length, and its offload tier is the host-RAM prompt cache
 * (`--cache-ram`), whose size `/props` does not report.
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
  /** Slots of a per-slot KV engine (llama.cpp): each holds one context, so at most this many stay on the GPU. */
  slots?: number;
  /** Tokens of each slot's context (llama.cpp `/props` `n_ctx`). */
  slotTokens?: number;
  /** The offload tier copies the GPU's blocks (default true: every engine kvbench knows). */
  inclusive?: boolean;
  /** How a workload other than benchmark names its items and its fixes (default {@linkcode BENCHMARK_WORDING}). */
  wording?: PreflightWording;
}

/** How the pre-flight names a workload's items and the fix of each warning. */
export interface PreflightWording {
  /** One item (`context`, `trace in flight`). */
  item: string;
  /** The items, plural (`contexts`, `traces in flight`). */
  items: string;
  /** The fix when the working set fits in GPU KV. */
  raise: string;
  /** What an inclusive offload tier smaller than the working set finds, and what the run then measures. */
  exceeds: string;
  /** The fix when the working set exceeds the offload tier. */
  lower: string;
  /** The fix when every item has a llama.cpp slot of its own. */
  moreThanSlots: string;
}

/**
 * benchmark's wording: contexts, sized by `--offload-size` and
 * `--input-length`, sent in tile order.
 *
 * @example Usage
 * ```ts
 * import { BENCHMARK_WORDING } from "./preflight.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(BENCHMARK_WORDING.items, "contexts");
 * ```
 */
export const BENCHMARK_WORDING: PreflightWording = {
  item: "context",
  items: "contexts",
  raise:
    "Raise the contexts or their length (--offload-size, --input-length) above the GPU's capacity.",
  exceeds:
    "tile order over an LRU tier then finds almost nothing: this run measures almost no offload hit",
  lower: "Lower the contexts (--offload-size) or enlarge the offload tier.",
  moreThanSlots: "Send more contexts than slots (--offload-size).",
};

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
  const words = options.wording ?? BENCHMARK_WORDING;
  const items = options.items === undefined
    ? ""
    : `${options.items} ${options.items === 1 ? words.item : words.items}`;
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
  if (options.slots !== undefined) return perSlot(options, lines);
  const device = options.deviceKvTokens;
  const offload = options.offloadKvTokens;
  const inclusive = options.inclusive ?? true;
  if (device !== undefined && ws <= device) {
    lines.push(
      `[WARN] The working set fits in GPU KV: every reuse can be served from GPU memory, so this run does not stress the offload tier. ${words.raise}`,
    );
    return { verdict: "fits_device", lines };
  }
  if (offload !== undefined && inclusive && ws > offload) {
    const exclusive = device !== undefined && ws <= device + offload;
    lines.push(
      `[WARN] The working set exceeds the offload tier: offload tiers hold a copy of what is on the GPU (inclusive), so the working set must fit the offload tier alone, and ${words.exceeds}.${
        exclusive
          ? " (Counted as exclusive tiers, GPU KV + offload, it would fit: the assumption changes the answer.)"
          : ""
      } ${words.lower}`,
    );
    return { verdict: "exceeds_offload", lines };
  }
  if (
    offload !== undefined && !inclusive && device !== undefined &&
    ws > device + offload
  ) {
    lines.push(
      `[WARN] The working set exceeds GPU KV and the offload tier together: every reuse will be recomputed, so this run measures no offload hit. ${words.lower}`,
    );
    return { verdict: "exceeds_offload", lines };
  }
  if (device === undefined) return { verdict: "unknown", lines };
  if (offload !== undefined) {
    lines.push(
      "Assumed: the offload tier holds a copy of GPU KV (inclusive), so the working set is compared with the offload tier alone.",
    );
  }
  return { verdict: "needs_offload", lines };
}

/** llama.cpp: one context per slot on the GPU, the rest from its host-RAM prompt cache. */
function perSlot(options: PreflightOptions, lines: string[]): Preflight {
  const slots = options.slots!;
  const items = options.items;
  const words = options.wording ?? BENCHMARK_WORDING;
  lines[0] = lines[0].replace(
    /GPU KV [^;]*;/,
    `GPU KV ${slots} slot${slots === 1 ? "" : "s"}${
      options.slotTokens === undefined
        ? ""
        : ` of ${n(options.slotTokens)} tokens`
    } (per-slot KV: one context each);`,
  );
  if (items !== undefined && items <= slots) {
    lines.push(
      `[WARN] Every ${words.item} has a slot of its own: reuse is served from GPU memory, so this run does not stress llama.cpp's host-RAM prompt cache (--cache-ram). ${words.moreThanSlots}`,
    );
    return { verdict: "fits_device", lines };
  }
  lines.push(
    `${
      items === undefined ? "Contexts" : `${items} ${words.items}`
    } for ${slots} slot${
      slots === 1 ? "" : "s"
    }: reuse must come back from llama.cpp's host-RAM prompt cache (--cache-ram, its offload tier; /props does not report its size) or be recomputed.`,
  );
  return { verdict: "needs_offload", lines };
}
