/**
 * trie's JSONL trace files: one trace per line, validated with the line
 * number in every error.
 *
 * @module
 */
import type { TraceRow } from "../lib/trace_metrics.ts";

export type { TraceRow };

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
 * const rows = parseTraceRows(
 *   '{"num_turns": 1, "input_prompt_length": 32, "assistant_response_length": [16], ' +
 *     '"tool_call_output_length": [8], "tool_call_latency": [0.5], "final_assistant_response_length": 64}\n',
 *   "inline",
 * );
 * rows[0].tool_call_latency; // [0.5]
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
 * validateRow({
 *   num_turns: 0, input_prompt_length: 100, assistant_response_length: [],
 *   tool_call_output_length: [], tool_call_latency: [], final_assistant_response_length: 10,
 * }, "trace 0");
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
 * ```ts ignore
 * import { loadTraceFile } from "./trace_file.ts";
 * const rows = await loadTraceFile("testdata/demo_traces.jsonl");
 * ```
 */
export async function loadTraceFile(path: string): Promise<TraceRow[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : (error as Error).message;
    throw new Error(`Cannot load workload "${path}": ${reason}`);
  }
  return parseTraceRows(text, path);
}
