/**
 * The pre-flight of a `kvbench benchmark` run in the report: what
 * `run.json` `params.preflight` records (the verdict word and the lines the
 * command printed before its first request, `lib/server/preflight.ts`), and
 * whether the run went on past a refusal because of `--force`
 * (`params.force`, and the refusal in `params.preflight.refusal`,
 * `workloads/benchmark/preflight_gate.ts`). A run without it (an older run,
 * `--no-metrics`, another command) shows none.
 *
 * @module
 */
import { escapeHtml } from "./_escape.ts";

/** The pre-flight as the report shows it. */
export interface PreflightData {
  /** `fits_device`, `needs_offload`, `exceeds_offload` or `unknown`. */
  verdict: string;
  /** The lines printed before the first request. */
  lines: string[];
  /** `--force` was given. */
  force: boolean;
  /** The refusal `--force` ran past; null: the run recorded none; absent: the run did not record it (older runs). */
  refusal?: string | null;
}

const _isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The pre-flight of a run's parameters, when they record one.
 *
 * @example Usage
 * ```ts
 * import { preflightOf } from "./preflight.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   preflightOf({
 *     force: true,
 *     preflight: { verdict: "exceeds_offload", lines: ["Pre-flight: …"], refusal: "the working set exceeds …" },
 *   }),
 *   { verdict: "exceeds_offload", lines: ["Pre-flight: …"], force: true, refusal: "the working set exceeds …" },
 * );
 * assert.equal(preflightOf({ preflight: null }), undefined); // --no-metrics
 * assert.equal(preflightOf({ preflight: { verdict: "needs_offload", lines: [] } })?.refusal, undefined);
 * assert.equal(preflightOf(undefined), undefined);
 * ```
 */
export function preflightOf(
  params: Record<string, unknown> | undefined,
): PreflightData | undefined {
  const p = params?.preflight;
  if (!_isObj(p) || typeof p.verdict !== "string") return undefined;
  const data: PreflightData = {
    verdict: p.verdict,
    lines: Array.isArray(p.lines)
      ? p.lines.filter((l): l is string => typeof l === "string")
      : [],
    force: params?.force === true,
  };
  if (typeof p.refusal === "string" || p.refusal === null) {
    data.refusal = p.refusal;
  }
  return data;
}

/** Each verdict in words, as the heading of the block. */
const TITLE: Record<string, string> = {
  fits_device: "the working set fits in GPU KV",
  needs_offload: "the working set needs the offload tier",
  exceeds_offload: "the working set exceeds the offload tier",
  unknown: "the server's capacities are unknown",
};

/** The first line's offload capacity is 0 tokens: the server has no offload tier. */
const _NO_OFFLOAD = /; offload 0 tokens\b/;

/** What each verdict means for the run, in words. */
const MEANING: Record<string, string> = {
  fits_device:
    "the working set fits in GPU KV: reuse can be served from GPU memory, and the offload tier is not stressed",
  needs_offload:
    "the working set exceeds GPU KV and fits the offload tier: only the offload tier can serve reuse, which is what the run measures",
  exceeds_offload:
    "the working set exceeds the offload tier: reuse would be recomputed, and the run measures no offload hit",
  unknown: "the server's capacities are not known: nothing was checked",
};

/**
 * The pre-flight block of a run's headline; "" when it has none.
 *
 * @example Forced past a refusal
 * ```ts
 * import { preflightBlock } from "./preflight.ts";
 * import assert from "node:assert/strict";
 *
 * const html = preflightBlock({
 *   verdict: "exceeds_offload", lines: ["Pre-flight: working set 1,000 tokens"],
 *   force: true, refusal: "the working set exceeds the server's offload tier",
 * }, 0);
 * assert.ok(html.includes('<div class="preflight warn" id="preflight-0">'));
 * assert.ok(html.includes("<strong>Pre-flight: the working set exceeds the offload tier</strong>"));
 * assert.ok(html.includes("<li>Pre-flight: working set 1,000 tokens</li>"));
 * assert.ok(html.includes("Run past a refusal with --force:</strong> the working set exceeds the server&#39;s offload tier"));
 * assert.equal(preflightBlock(undefined, 0), "");
 * ```
 *
 * @example A server without an offload tier
 * ```ts
 * import { preflightBlock } from "./preflight.ts";
 * import assert from "node:assert/strict";
 *
 * const html = preflightBlock({
 *   verdict: "exceeds_offload", force: false,
 *   lines: ["Pre-flight: working set 9,000 tokens; GPU KV 8,000 tokens (server); offload 0 tokens (server)"],
 * }, 1);
 * assert.ok(html.includes("<strong>Pre-flight: the server has no offload tier</strong> — its offload capacity is 0 tokens"));
 * ```
 */
export function preflightBlock(
  p: PreflightData | undefined,
  index: number,
): string {
  if (p === undefined) return "";
  const warn = p.verdict === "fits_device" || p.verdict === "exceeds_offload";
  const none = p.verdict === "exceeds_offload" &&
    _NO_OFFLOAD.test(p.lines[0] ?? "");
  const title = none
    ? "the server has no offload tier"
    : TITLE[p.verdict] ?? `verdict "${p.verdict}"`;
  const meaning = none
    ? "its offload capacity is 0 tokens: reuse past GPU KV is recomputed, and the run measures no offload hit"
    : MEANING[p.verdict] ?? "a verdict this report does not know";
  const forced = typeof p.refusal === "string"
    ? `<p class="forced"><strong>Run past a refusal with --force:</strong> ${
      escapeHtml(p.refusal)
    }</p>`
    : !p.force
    ? ""
    : p.refusal === null
    ? `<p class="note">--force was given; the pre-flight refused nothing.</p>`
    : `<p class="note">--force was given (the run did not record whether the pre-flight refused).</p>`;
  return `<div class="preflight${warn ? " warn" : ""}" id="preflight-${index}">
<p><strong>Pre-flight: ${escapeHtml(title)}</strong> — ${
    escapeHtml(meaning)
  }</p>
${
    p.lines.length === 0
      ? ""
      : `<ul class="lines">${
        p.lines.map((l) => `<li>${escapeHtml(l)}</li>`).join("")
      }</ul>`
  }
${forced}</div>`;
}
