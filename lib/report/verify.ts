/**
 * `kvbench benchmark --verify N` in the report: the check's result line
 * (`verify.json`) and, per reused context, what its warm answer (served from
 * the cache) gave against its cold reference (`verify.jsonl`, one pair per
 * line, written by `workloads/benchmark/verify.ts` through
 * `lib/verify/verify.ts` `pairJson`): the tokens compared, the first
 * divergence (its index from 1, the warm and the cold token there), the
 * largest |Δ logprob| over the tokens that agree, and whether it passed.
 *
 * A pair passes when its answer is identical to cold compute, or parts no
 * earlier than two cold answers part from each other (`within_control`: the
 * engine's own nondeterminism); it fails when it parts earlier
 * (`beyond_control`); a pair whose warm request was not served from the
 * cache, whose cold reference was, or whose request failed was not checked.
 * A figure the file does not give (no log-probabilities) is unknown, never 0.
 *
 * @module
 */
import { escapeHtml } from "./_escape.ts";

/** What one pair gave, as the report shows it. */
export interface VerifyRow {
  /** The context (the workload's index). */
  context: number | string;
  /** `identical`, `within_control`, `beyond_control`, `not_reused`, `not_cold`, `failed`. */
  outcome: string;
  /** `pass` (identical or within the control), `fail` (beyond it), `not checked`. */
  result: "pass" | "fail" | "not checked";
  /** `token`, or `character` when an answer carried no tokens; absent when not compared. */
  unit?: "token" | "character";
  /** Units compared (the longer answer's length); absent when not compared. */
  compared?: number;
  /** The first differing unit, from 1; absent when identical or not compared. */
  firstAt?: number;
  /** The warm answer's unit there (null: the answer had ended). */
  warmAt?: string | null;
  /** The cold answer's unit there (null: the answer had ended). */
  coldAt?: string | null;
  /** Largest |Δ logprob| over the leading units that agree; absent when unknown. */
  maxLogprobDiff?: number;
  /** Prompt tokens the warm request reported cached; absent when not reported. */
  warmCachedTokens?: number;
  /** Why a request failed. */
  error?: string;
}

/** The check as the report shows it. */
export interface VerifyData {
  /** The result line, as the command printed it (`verify.json`). */
  verdict?: string;
  /** The check's exit code (1: a divergence beyond the control, or nothing checked). */
  exitCode?: number;
  /** One row per context, in the file's order. */
  pairs: VerifyRow[];
}

type Obj = Record<string, unknown>;

const _isObj = (v: unknown): v is Obj =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const _num = (v: unknown): number | undefined =>
  typeof v === "number" && Number.isFinite(v) ? v : undefined;

/** The unit at `at` (from 1) of an answer: its token, or its text's character. */
function _unitAt(
  answer: unknown,
  unit: "token" | "character",
  at: number,
): string | null | undefined {
  if (!_isObj(answer)) return undefined;
  if (unit === "token") {
    if (!Array.isArray(answer.tokens)) return undefined;
    const t = answer.tokens[at - 1];
    return typeof t === "string" ? t : null;
  }
  if (typeof answer.text !== "string") return undefined;
  return [...answer.text][at - 1] ?? null;
}

function _resultOf(outcome: string): VerifyRow["result"] {
  if (outcome === "identical" || outcome === "within_control") return "pass";
  if (outcome === "beyond_control") return "fail";
  return "not checked";
}

/** One line of `verify.jsonl` as a row. */
function _row(value: Obj, where: string): VerifyRow {
  const context = value.context;
  if (typeof context !== "number" && typeof context !== "string") {
    throw new TypeError(`${where} has no "context"`);
  }
  if (typeof value.outcome !== "string") {
    throw new TypeError(`${where} has no "outcome"`);
  }
  const row: VerifyRow = {
    context,
    outcome: value.outcome,
    result: _resultOf(value.outcome),
  };
  const d = value.warm_vs_cold;
  if (_isObj(d) && (d.unit === "token" || d.unit === "character")) {
    row.unit = d.unit;
    const compared = _num(d.compared);
    if (compared !== undefined) row.compared = compared;
    const firstAt = _num(d.first_at);
    if (firstAt !== undefined) {
      row.firstAt = firstAt;
      const warm = _unitAt(value.warm, d.unit, firstAt);
      const cold = _unitAt(value.cold, d.unit, firstAt);
      if (warm !== undefined) row.warmAt = warm;
      if (cold !== undefined) row.coldAt = cold;
    }
    const diff = _num(d.max_logprob_diff);
    if (diff !== undefined) row.maxLogprobDiff = diff;
  }
  if (_isObj(value.warm)) {
    const cached = _num(value.warm.cached_tokens);
    if (cached !== undefined) row.warmCachedTokens = cached;
  }
  if (typeof value.error === "string") row.error = value.error;
  return row;
}

/**
 * The check of a run directory from its files' text: `verify.json` (the
 * result line) and `verify.jsonl` (the pairs); undefined when neither is
 * there. A line that is not a pair is a one-line error naming the file.
 *
 * @example A pair that diverged at its 4th token, and one identical
 * ```ts
 * import { verifyData } from "./verify.ts";
 * import assert from "node:assert/strict";
 *
 * const answer = (tokens: string[]) => ({ text: tokens.join(""), tokens, cached_tokens: 992 });
 * const pairs = [
 *   {
 *     context: 0, outcome: "beyond_control",
 *     warm: answer([" a", " b", " c", " x"]), cold: answer([" a", " b", " c", " d"]),
 *     warm_vs_cold: { unit: "token", compared: 4, first_at: 4, max_logprob_diff: 0.03 },
 *   },
 *   {
 *     context: 1, outcome: "identical", warm: answer([" a"]), cold: answer([" a"]),
 *     warm_vs_cold: { unit: "token", compared: 1, first_at: null, max_logprob_diff: null },
 *   },
 * ];
 * const data = verifyData({
 *   json: JSON.stringify({ verdict: "verify: 1 of 2 …", exit_code: 1 }),
 *   jsonl: pairs.map((p) => JSON.stringify(p)).join("\n") + "\n",
 * });
 * assert.equal(data?.verdict, "verify: 1 of 2 …");
 * assert.deepEqual(data?.pairs[0], {
 *   context: 0, outcome: "beyond_control", result: "fail", unit: "token",
 *   compared: 4, firstAt: 4, warmAt: " x", coldAt: " d", maxLogprobDiff: 0.03,
 *   warmCachedTokens: 992,
 * });
 * assert.equal(data?.pairs[1].result, "pass");
 * assert.equal(data?.pairs[1].maxLogprobDiff, undefined); // unknown, not 0
 * assert.equal(verifyData({}), undefined);
 * assert.throws(() => verifyData({ jsonl: "{}\n" }), /verify\.jsonl: line 1 has no "context"/);
 * ```
 */
export function verifyData(
  files: { json?: string; jsonl?: string },
): VerifyData | undefined {
  if (files.json === undefined && files.jsonl === undefined) return undefined;
  const data: VerifyData = { pairs: [] };
  if (files.json !== undefined) {
    let value: unknown;
    try {
      value = JSON.parse(files.json);
    } catch {
      throw new SyntaxError("verify.json is not JSON");
    }
    if (!_isObj(value)) throw new TypeError("verify.json is not an object");
    if (typeof value.verdict === "string") data.verdict = value.verdict;
    const code = _num(value.exit_code);
    if (code !== undefined) data.exitCode = code;
  }
  const lines = (files.jsonl ?? "").split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === "") continue;
    const where = `verify.jsonl: line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(lines[i]);
    } catch {
      throw new SyntaxError(`${where} is not JSON`);
    }
    if (!_isObj(value)) throw new TypeError(`${where} is not an object`);
    data.pairs.push(_row(value, where));
  }
  return data;
}

/** A unit as text: quoted (its spaces show), or `(ended)`. */
function _unitText(u: string | null | undefined): string {
  if (u === undefined) return "unknown";
  return u === null ? "(ended)" : JSON.stringify(u);
}

function _divergence(row: VerifyRow): string {
  if (row.unit === undefined) return "not compared";
  if (row.firstAt === undefined) return "none";
  return `${row.unit} ${row.firstAt}: ${_unitText(row.warmAt)} warm, ${
    _unitText(row.coldAt)
  } cold`;
}

/**
 * The report's verify section of each run that has a check: its result
 * line and one row per pair; "" when no run has one.
 *
 * @example Usage
 * ```ts
 * import { verifyTable } from "./verify.ts";
 * import assert from "node:assert/strict";
 *
 * const html = verifyTable([{
 *   name: "run",
 *   verify: {
 *     verdict: "verify: 1 of 1 reused contexts diverged",
 *     pairs: [{
 *       context: 0, outcome: "beyond_control", result: "fail", unit: "token",
 *       compared: 8, firstAt: 4, warmAt: " x", coldAt: " d", maxLogprobDiff: 0.25,
 *     }],
 *   },
 * }]);
 * assert.ok(html.includes('id="verify"'));
 * assert.ok(html.includes("<td>token 4: &quot; x&quot; warm, &quot; d&quot; cold</td>"));
 * assert.ok(html.includes("<td>0.250</td><td class=\"fail\">fail (beyond_control)</td>"));
 * assert.equal(verifyTable([{ name: "run" }]), "");
 * ```
 */
export function verifyTable(
  runs: readonly { name: string; verify?: VerifyData }[],
): string {
  const parts: string[] = [];
  const several = runs.filter((r) => r.verify !== undefined).length > 1;
  for (const run of runs) {
    const v = run.verify;
    if (v === undefined) continue;
    const rows = v.pairs.map((p) =>
      `<tr><td class="run">${escapeHtml(p.context)}</td><td>${
        p.compared === undefined
          ? "-"
          : `${p.compared} ${p.unit}${p.compared === 1 ? "" : "s"}`
      }</td><td>${escapeHtml(_divergence(p))}</td><td>${
        p.unit === undefined
          ? "-"
          : p.maxLogprobDiff === undefined
          ? "unknown"
          : p.maxLogprobDiff.toFixed(3)
      }</td><td class="${p.result === "not checked" ? "skip" : p.result}">${
        escapeHtml(p.result)
      } (${escapeHtml(p.outcome)}${
        p.error ? `: ${escapeHtml(p.error)}` : ""
      })</td></tr>`
    );
    parts.push(
      `${several ? `<h3>${escapeHtml(run.name)}</h3>` : ""}${
        v.verdict === undefined
          ? ""
          : `<p class="verdict"><strong>Verify.</strong> ${
            escapeHtml(v.verdict)
          }</p>`
      }${
        rows.length === 0 ? `<p class="note">No pair was written.</p>` : `
<table class="numbers verify"><thead><tr><th>context</th><th>compared</th><th>first divergence</th><th>max |Δ logprob|</th><th>result</th></tr></thead><tbody>
${rows.join("\n")}
</tbody></table>`
      }`,
    );
  }
  if (parts.length === 0) return "";
  return `<section class="block" id="verify">
<h2>KV correctness (--verify)</h2>
<p class="note">Each reused context's answer served from the cache (warm) against a cold reference, greedy, token by token. First divergence: the first differing token (from 1), warm and cold token there. Max |Δ logprob|: over the leading tokens that agree. Pass: identical, or parting no earlier than two cold answers part (the engine's own nondeterminism); fail: parting earlier.</p>
${parts.join("\n")}
</section>`;
}
