/**
 * trie's JSONL trace files: one trace per line, validated with the line
 * number in every error.
 *
 * @module
 */
import { readTextOr } from "../../lib/io/read_text.ts";

/**
 * One trace of a trie workload, as one JSONL row (snake_case as in the file).
 * A trace issues `num_turns + 1` requests: one per tool-use turn, then a final
 * one.
 */
export interface TraceRow {
  /** Number of tool-use turns, N (may be 0). */
  num_turns: number;
  /** Tokens of the initial prompt. */
  input_prompt_length: number;
  /** `max_tokens` of each tool-use turn (length N). */
  assistant_response_length: number[];
  /** Tokens of synthetic tool output appended after each turn (length N). */
  tool_call_output_length: number[];
  /** Seconds to wait after each turn, before its tool output (length N). */
  tool_call_latency: number[];
  /** `max_tokens` of the final request. */
  final_assistant_response_length: number;
}

/**
 * The prompt length (trace accounting) of request `k` of a trace: the initial
 * prompt plus, for every earlier turn, its response and its tool output.
 *
 * @param row The trace.
 * @param k Request index, 0 … N.
 * @returns `input_prompt_length + Σ_{j<k} (assistant_response_length[j] + tool_call_output_length[j])`.
 *
 * @example Usage
 * ```ts
 * import { cumulativePromptTokens } from "./trace_file.ts";
 * import assert from "node:assert/strict";
 *
 * const row = {
 *   num_turns: 2, input_prompt_length: 32, assistant_response_length: [16, 20],
 *   tool_call_output_length: [8, 12], tool_call_latency: [0, 0],
 *   final_assistant_response_length: 64,
 * };
 * assert.equal(cumulativePromptTokens(row, 0), 32);
 * assert.equal(cumulativePromptTokens(row, 2), 88); // 32 + 16 + 8 + 20 + 12
 * ```
 */
export function cumulativePromptTokens(row: TraceRow, k: number): number {
  let total = row.input_prompt_length;
  for (let j = 0; j < k; j++) {
    total += row.assistant_response_length[j] + row.tool_call_output_length[j];
  }
  return total;
}

const LISTS = [
  "assistant_response_length",
  "tool_call_output_length",
  "tool_call_latency",
] as const;

/**
 * Parse the text of a JSONL trace file. Blank lines are skipped; extra keys
 * are ignored; lengths must be non-negative integers, latencies
 * non-negative numbers, and each list as long as `num_turns`.
 *
 * @example Usage
 * ```ts
 * import { parseTraceRows } from "./trace_file.ts";
 * import assert from "node:assert/strict";
 *
 * const line = '{"num_turns": 1, "input_prompt_length": 32, "assistant_response_length": [16], ' +
 *   '"tool_call_output_length": [8], "tool_call_latency": [0.5], "final_assistant_response_length": 64}';
 * const rows = parseTraceRows(`${line}\n\n${line}\n`, "inline");
 * assert.equal(rows.length, 2); // the blank line is skipped
 * assert.deepEqual(rows[0].tool_call_latency, [0.5]);
 * // Errors name the source and the line.
 * assert.throws(() => parseTraceRows(`${line}\nnot json\n`, "inline"), {
 *   name: "SyntaxError",
 *   message: 'Cannot load workload "inline": line 2 is not JSON',
 * });
 * ```
 */
export function parseTraceRows(text: string, source: string): TraceRow[] {
  const rows: TraceRow[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    const where = `Cannot load workload "${source}": line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new SyntaxError(`${where} is not JSON`);
    }
    rows.push(validateRow(value, where));
  }
  if (rows.length === 0) {
    throw new RangeError(
      `Cannot load workload "${source}": it holds no traces`,
    );
  }
  return rows;
}

/**
 * Check one trace object (a parsed JSONL row, or a trace a script built).
 *
 * @example Usage
 * ```ts
 * import { validateRow } from "./trace_file.ts";
 * import assert from "node:assert/strict";
 *
 * const row = validateRow({
 *   num_turns: 0, input_prompt_length: 100, assistant_response_length: [],
 *   tool_call_output_length: [], tool_call_latency: [], final_assistant_response_length: 10,
 * }, "trace 0");
 * assert.equal(row.input_prompt_length, 100);
 * // Every list must be num_turns long.
 * assert.throws(
 *   () => validateRow({ ...row, num_turns: 1 }, "trace 1"),
 *   { name: "TypeError", message: "trace 1: assistant_response_length must be a list of length 1 (num_turns)" },
 * );
 * ```
 */
export function validateRow(value: unknown, where: string): TraceRow {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`${where}: expected a JSON object`);
  }
  const row = value as Record<string, unknown>;
  const count = (key: string): number => {
    const n = row[key];
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
      throw new TypeError(`${where}: ${key} must be a non-negative integer`);
    }
    return n;
  };
  const turns = count("num_turns");
  count("input_prompt_length");
  count("final_assistant_response_length");
  for (const key of LISTS) {
    const list = row[key];
    if (!Array.isArray(list) || list.length !== turns) {
      throw new TypeError(
        `${where}: ${key} must be a list of length ${turns} (num_turns)`,
      );
    }
    const integer = key !== "tool_call_latency";
    list.forEach((x, j) => {
      if (
        typeof x !== "number" || !Number.isFinite(x) || x < 0 ||
        (integer && !Number.isInteger(x))
      ) {
        throw new TypeError(
          `${where}: ${key}[${j}] must be a non-negative ${
            integer ? "integer" : "number"
          }`,
        );
      }
    });
  }
  return row as unknown as TraceRow;
}

/**
 * Read and validate a JSONL trace file.
 *
 * @example Usage
 * ```ts
 * import { loadTraceFile } from "./trace_file.ts";
 * import { fileURLToPath } from "node:url";
 * import assert from "node:assert/strict";
 *
 * const path = fileURLToPath(new URL("../../tests/testdata/traces_small.jsonl", import.meta.url));
 * const rows = await loadTraceFile(path);
 * assert.deepEqual(rows.map((row) => row.num_turns), [2, 0, 3]); // the blank line is skipped
 * await assert.rejects(loadTraceFile("missing.jsonl"), /"missing.jsonl": no such file/);
 * ```
 */
export async function loadTraceFile(path: string): Promise<TraceRow[]> {
  const text = await readTextOr(path, `Cannot load workload "${path}"`);
  return parseTraceRows(text, path);
}
