/**
 * Reading the tables kvbench prints (rich's heavy-head box style) back into
 * cells, so tests compare contents, never padding or column widths.
 *
 * @module
 */

/** One table as printed: its title lines, header cells and body rows. */
export interface ParsedTable {
  /** The centred lines above the box, trimmed (title, subtitle). */
  title: string[];
  /** Header cells, trimmed. */
  header: string[];
  /** Body rows, each a list of trimmed cells. */
  rows: string[][];
}

const cells = (line: string, bar: string): string[] =>
  line.split(bar).slice(1, -1).map((cell) => cell.trim());

/**
 * Every table in `text`, in order.
 *
 * @example Usage
 * ```ts
 * import { parseTables } from "./tables.ts";
 * import { renderTable } from "../format/table.ts";
 * import assert from "node:assert/strict";
 *
 * const text = renderTable(
 *   [{ header: "Metric" }, { header: "Value" }],
 *   [["ttft", "0.25"]],
 *   { title: "Figures" },
 * );
 * const [table] = parseTables(text);
 * assert.deepEqual(table.title, ["Figures"]);
 * assert.deepEqual(table.header, ["Metric", "Value"]);
 * assert.deepEqual(table.rows, [["ttft", "0.25"]]);
 * ```
 */
export function parseTables(text: string): ParsedTable[] {
  const tables: ParsedTable[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith("┏")) continue;
    const title: string[] = [];
    for (let j = i - 1; j >= 0 && lines[j].trim() !== ""; j--) {
      if (/^[┃│└┘━─]/.test(lines[j].trim())) break;
      title.unshift(lines[j].trim());
    }
    const table: ParsedTable = { title, header: [], rows: [] };
    for (i++; i < lines.length && !lines[i].startsWith("└"); i++) {
      if (lines[i].startsWith("┃")) table.header.push(...cells(lines[i], "┃"));
      else if (lines[i].startsWith("│")) table.rows.push(cells(lines[i], "│"));
    }
    tables.push(table);
  }
  return tables;
}
