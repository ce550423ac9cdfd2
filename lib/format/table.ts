/**
 * Plain-text tables drawn like Python `rich` draws a default `Table`
 * (`box.HEAVY_HEAD`), as trie prints them: a centred title, a heavy header
 * box, light body rows, one space of padding on each side of every cell.
 *
 * Differences from rich, on purpose: no styles or ANSI escapes, no shrinking
 * or wrapping of cells to fit a terminal width (cells are never wrapped), and
 * every character counts as one column (no East Asian wide characters).
 *
 * @module
 */

/** Options of {@linkcode renderTable}. */
export interface RenderTableOptions {
  /** The title: one string (`\n` separates lines) or its lines; none by default. */
  title?: string | readonly string[];
}

/** One column of a {@linkcode renderTable} table. */
export interface TableColumn {
  /** Header text; `\n` starts a new header line. */
  header: string;
  /**
   * Alignment of the header and the cells. Default: `left` for the first
   * column, `right` for the others (trie's layout).
   */
  align?: "left" | "right";
}

const BOX = {
  top: ["┏", "━", "┳", "┓"],
  head: ["┃", "┃", "┃"],
  headRow: ["┡", "━", "╇", "┩"],
  body: ["│", "│", "│"],
  bottom: ["└", "─", "┴", "┘"],
} as const;

/**
 * Render a table the way rich prints `Table(title=…)` with the default
 * heavy-head box. Title lines are centred over the table width (padded with
 * spaces on both sides, like rich) and word-wrapped when wider than the
 * table; header cells are bottom-aligned, body cells top-aligned; a cell may
 * hold several lines separated by `\n`.
 *
 * @param columns The columns, in order.
 * @param rows The body rows; each has one cell per column (missing cells are
 * empty).
 * @param options The title.
 * @returns The table, every line ending with `\n`.
 *
 * @example Usage
 * ```ts
 * import { renderTable } from "./table.ts";
 * import assert from "node:assert/strict";
 *
 * const text = renderTable([{ header: "Metric" }, { header: "Value" }], [
 *   ["mean", "1.50"],
 * ], { title: "Demo" });
 * assert.deepEqual(text.split("\n"), [
 *   "       Demo       ",
 *   "┏━━━━━━━━┳━━━━━━━┓",
 *   "┃ Metric ┃ Value ┃",
 *   "┡━━━━━━━━╇━━━━━━━┩",
 *   "│ mean   │  1.50 │",
 *   "└────────┴───────┘",
 *   "",
 * ]);
 * ```
 */
export function renderTable(
  columns: readonly TableColumn[],
  rows: readonly (readonly string[])[],
  options: RenderTableOptions = {},
): string {
  const title = options.title ?? "";
  const aligns = columns.map((c, i) => c.align ?? (i === 0 ? "left" : "right"));
  const header = columns.map((c) => c.header.split("\n"));
  const body = rows.map((row) =>
    columns.map((_, i) => (row[i] ?? "").split("\n"))
  );
  const widths = columns.map((_, i) =>
    Math.max(
      ...header[i].map(textWidth),
      ...body.map((row) => Math.max(...row[i].map(textWidth))),
    ) + 2
  );
  const tableWidth = widths.reduce((a, b) => a + b, 0) + columns.length + 1;

  const out: string[] = [];
  const titleLines = typeof title === "string"
    ? (title === "" ? [] : title.split("\n"))
    : title;
  for (const line of titleLines) {
    for (const part of wrapWords(line, tableWidth)) {
      out.push(center(part.trimEnd(), tableWidth));
    }
  }
  out.push(rule(BOX.top, widths));
  out.push(...cellLines(BOX.head, header, widths, aligns, "bottom"));
  out.push(rule(BOX.headRow, widths));
  for (const row of body) {
    out.push(...cellLines(BOX.body, row, widths, aligns, "top"));
  }
  out.push(rule(BOX.bottom, widths));
  return out.map((line) => line + "\n").join("");
}

function textWidth(text: string): number {
  return Array.from(text).length;
}

function rule(
  [left, fill, cross, right]: readonly string[],
  widths: readonly number[],
): string {
  return left + widths.map((w) => fill.repeat(w)).join(cross) + right;
}

function cellLines(
  [left, divider, right]: readonly string[],
  cells: readonly (readonly string[])[],
  widths: readonly number[],
  aligns: readonly ("left" | "right")[],
  vertical: "top" | "bottom",
): string[] {
  const height = Math.max(...cells.map((c) => c.length));
  const lines: string[] = [];
  for (let k = 0; k < height; k++) {
    const parts = cells.map((cell, i) => {
      const offset = vertical === "bottom" ? height - cell.length : 0;
      const text = cell[k - offset] ?? "";
      const gap = " ".repeat(widths[i] - 2 - textWidth(text));
      return aligns[i] === "left" ? ` ${text}${gap} ` : ` ${gap}${text} `;
    });
    lines.push(left + parts.join(divider) + right);
  }
  return lines;
}

// rich's Lines.justify("center"): left pad ⌊free/2⌋, right pad the rest.
function center(text: string, width: number): string {
  const free = Math.max(width - textWidth(text), 0);
  const left = Math.floor(free / 2);
  return " ".repeat(left) + text + " ".repeat(free - left);
}

// rich's divide_line with fold=True: greedy over words (each word keeps its
// trailing spaces), words wider than the line are chopped.
function wrapWords(text: string, width: number): string[] {
  if (textWidth(text) <= width) return [text];
  const lines: string[] = [];
  let line = "";
  let position = 0;
  for (const word of text.match(/\s*\S+\s*/g) ?? [text]) {
    const wordWidth = textWidth(word.trimEnd());
    if (position + wordWidth <= width) {
      line += word;
      position += textWidth(word);
    } else if (wordWidth > width) {
      const chars = Array.from(word);
      const chunks: string[] = [];
      for (let i = 0; i < chars.length; i += width) {
        chunks.push(chars.slice(i, i + width).join(""));
      }
      if (line !== "") lines.push(line);
      lines.push(...chunks.slice(0, -1));
      line = chunks[chunks.length - 1];
      position = textWidth(line);
    } else {
      if (line !== "") lines.push(line);
      line = word;
      position = textWidth(word);
    }
  }
  lines.push(line);
  return lines;
}
