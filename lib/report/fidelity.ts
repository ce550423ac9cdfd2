/**
 * A replay's fidelity in the report: `fidelity.jsonl` of its run directory
 * (one line per completed request, written by `kvbench replay`, see
 * `workloads/replay/fidelity.ts`) as the compact arrays two scatter plots
 * draw — theoretical against reported cached tokens, intended prompt length
 * against the server's `prompt_tokens`, each with its y = x line — and the
 * mismatch summary, counted exactly as the terminal counts it.
 *
 * A request the server reported no `prompt_tokens` (or no `cached_tokens`)
 * for is left out of that plot and counted apart: unknown, never a zero.
 *
 * @module
 */
import {
  type FidelitySummary,
  type RequestFidelity,
  summarizeFidelity,
} from "../metrics/fidelity.ts";
import { escapeHtml } from "./_escape.ts";

/** One line of `fidelity.jsonl`. */
export type FidelityRow = RequestFidelity;

/** The mismatch summary (the fields of `summary.json`'s `fidelity` block). */
export type FidelityCounts = FidelitySummary;

/** What the report keeps of a replay's fidelity: plot arrays and the summary. */
export interface FidelityData {
  /** Requests with `cached_tokens`, by theoretical then reported cached tokens. */
  cached: { theory: number[]; server: number[] };
  /** Requests with `prompt_tokens`, by intended then reported length. */
  length: { intended: number[]; prompt: number[] };
  /** The y = x line of each plot: its lowest and highest value (both axes). */
  diagonal: { cached: number[]; length: number[] };
  /** The mismatch summary. */
  summary: FidelityCounts;
}

function _field(
  value: Record<string, unknown>,
  key: string,
  where: string,
  optional: boolean,
): number | undefined {
  const v = value[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new TypeError(`${where} has no numeric "${key}"`);
  }
  return v;
}

/**
 * Parse `fidelity.jsonl`: one object per non-blank line; `name` says which
 * file in errors.
 *
 * @example Usage
 * ```ts
 * import { parseFidelity } from "./fidelity.ts";
 * import assert from "node:assert/strict";
 *
 * const rows = parseFidelity(
 *   '{"request":0,"intendedTokens":8,"promptTokens":8,"theoreticalCached":0,"cachedTokens":0}\n' +
 *     '{"request":1,"intendedTokens":9,"theoreticalCached":8}\n',
 *   "fidelity.jsonl",
 * );
 * assert.deepEqual(rows[1], { request: 1, intendedTokens: 9, theoreticalCached: 8 });
 * assert.throws(() => parseFidelity("{}\n[", "f.jsonl"), /f\.jsonl: line 1 has no numeric "request"/);
 * ```
 */
export function parseFidelity(text: string, name: string): FidelityRow[] {
  const rows: FidelityRow[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === "") continue;
    const where = `${name}: line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(lines[i]);
    } catch {
      throw new SyntaxError(`${where} is not JSON`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new TypeError(`${where} is not an object`);
    }
    const v = value as Record<string, unknown>;
    const row: FidelityRow = {
      request: _field(v, "request", where, false)!,
      intendedTokens: _field(v, "intendedTokens", where, false)!,
      theoreticalCached: _field(v, "theoreticalCached", where, false)!,
    };
    const prompt = _field(v, "promptTokens", where, true);
    if (prompt !== undefined) row.promptTokens = prompt;
    const cached = _field(v, "cachedTokens", where, true);
    if (cached !== undefined) row.cachedTokens = cached;
    rows.push(row);
  }
  return rows;
}

/** Pairs sorted by x, then y (the page's scatter reads x in order). */
function _sorted(pairs: [number, number][]): [number[], number[]] {
  pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return [pairs.map((p) => p[0]), pairs.map((p) => p[1])];
}

function _span(a: number[], b: number[]): number[] {
  if (a.length === 0) return [];
  let lo = Infinity, hi = -Infinity;
  for (const v of [...a, ...b]) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return [lo, hi];
}

/**
 * The plot arrays and the mismatch summary of a replay's fidelity rows.
 *
 * @example Usage
 * ```ts
 * import { fidelityData } from "./fidelity.ts";
 * import assert from "node:assert/strict";
 *
 * const data = fidelityData([
 *   { request: 0, intendedTokens: 100, promptTokens: 100, theoreticalCached: 64, cachedTokens: 48 },
 *   { request: 1, intendedTokens: 100, promptTokens: 107, theoreticalCached: 0, cachedTokens: 0 },
 *   { request: 2, intendedTokens: 50, theoreticalCached: 0 }, // no usage: unknown
 * ]);
 * assert.deepEqual(data.cached, { theory: [0, 64], server: [0, 48] });
 * assert.deepEqual(data.length, { intended: [100, 100], prompt: [100, 107] });
 * assert.deepEqual(data.diagonal, { cached: [0, 64], length: [100, 107] });
 * assert.equal(data.summary.requests, 3);
 * assert.equal(data.summary.lengthMismatches, 1);
 * assert.equal(data.summary.lengthDrift, 7);
 * assert.equal(data.summary.cachedMismatches, 1);
 * assert.equal(data.summary.reportedPromptTokens, 207);
 * ```
 */
export function fidelityData(rows: readonly FidelityRow[]): FidelityData {
  const cached: [number, number][] = [];
  const length: [number, number][] = [];
  for (const r of rows) {
    if (r.promptTokens !== undefined) {
      length.push([r.intendedTokens, r.promptTokens]);
    }
    if (r.cachedTokens !== undefined) {
      cached.push([r.theoreticalCached, r.cachedTokens]);
    }
  }
  const [theory, server] = _sorted(cached);
  const [intended, prompt] = _sorted(length);
  return {
    cached: { theory, server },
    length: { intended, prompt },
    diagonal: {
      cached: _span(theory, server),
      length: _span(intended, prompt),
    },
    summary: summarizeFidelity(rows),
  };
}

function _rate(part: number, whole: number): string {
  return whole === 0 ? "unknown" : `${(100 * part / whole).toFixed(1)}%`;
}

/**
 * The mismatch summary of the runs that have a fidelity, as an HTML table
 * (`id="fidelity"`); an empty string when none has.
 *
 * @example Usage
 * ```ts
 * import { fidelityData, fidelityTable } from "./fidelity.ts";
 * import assert from "node:assert/strict";
 *
 * const fidelity = fidelityData([
 *   { request: 0, intendedTokens: 200, promptTokens: 207, theoreticalCached: 64, cachedTokens: 48 },
 * ]);
 * const html = fidelityTable([{ name: "replay", fidelity }]);
 * assert.ok(html.includes('<table class="numbers" id="fidelity">'));
 * assert.ok(html.includes("<td>1 of 1</td><td>+7 (+3.5%)</td><td>1 of 1</td><td>64 (32.0%)</td><td>48 (23.2%)</td>"));
 * assert.equal(fidelityTable([{ name: "trie" }]), "");
 * ```
 */
export function fidelityTable(
  runs: readonly { name: string; fidelity?: FidelityData }[],
): string {
  const rows: string[] = [];
  for (const run of runs) {
    if (run.fidelity === undefined) continue;
    const s = run.fidelity.summary;
    const sign = s.lengthDrift >= 0 ? "+" : "";
    const driftRate = _rate(s.lengthDrift, s.intendedTokens);
    const drift = s.withPromptTokens === 0
      ? "unknown"
      : `${sign}${s.lengthDrift} (${
        driftRate === "unknown" ? driftRate : sign + driftRate
      })`;
    const known = s.withCachedTokens > 0;
    rows.push(
      `<tr><td class="run">${
        escapeHtml(run.name)
      }</td><td>${s.requests}</td><td>${
        s.withPromptTokens === 0
          ? "unknown"
          : `${s.lengthMismatches} of ${s.withPromptTokens}`
      }</td><td>${drift}</td><td>${
        known ? `${s.cachedMismatches} of ${s.withCachedTokens}` : "unknown"
      }</td><td>${
        known
          ? `${s.theoreticalCached} (${
            _rate(s.theoreticalCached, s.cachedIntendedTokens)
          })`
          : "unknown"
      }</td><td>${
        known
          ? `${s.reportedCached} (${
            _rate(s.reportedCached, s.reportedPromptTokens)
          })`
          : "unknown"
      }</td></tr>`,
    );
  }
  if (rows.length === 0) return "";
  return `<section class="block" id="fidelity-summary">
<h2>Replay fidelity</h2>
<p class="note">Completed requests of the trace: prompt_tokens against input_length, and the server's cached_tokens against the theory (hit rates over the requests that reported cached_tokens); a server that reported neither leaves them unknown.</p>
<table class="numbers" id="fidelity"><thead><tr><th>run</th><th>requests</th><th>prompt_tokens ≠ input_length</th><th>length drift (tokens)</th><th>cached_tokens ≠ theory</th><th>theory cached (tokens)</th><th>server cached (tokens)</th></tr></thead><tbody>
${rows.join("\n")}
</tbody></table>
</section>`;
}
