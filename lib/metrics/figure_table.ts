/**
 * The one table of per-request figures: for each, its key in `summary.json`,
 * its label in the terminal and the report, its unit and its derivation from
 * a record (through {@linkcode requestFigures}). The distributions, the
 * terminal table, `summary.json`, the report and the sweep tables read it: a
 * new latency figure is one row here (and its field name in
 * {@linkcode DistributionField}).
 *
 * @module
 */
import type { RequestRecord } from "../types.ts";
import { interTokenLatencies, type RequestFigures } from "./figures.ts";

/** The property of a distribution summary that holds a figure's distribution. */
export type DistributionField =
  | "ttftMs"
  | "firstAnswerMs"
  | "tpotMs"
  | "itlMs"
  | "e2eMs"
  | "decodeTps";

/** One per-request figure. */
export interface FigureRow {
  /** Property of the distribution summary. */
  readonly field: DistributionField;
  /** Key in `summary.json` (snake_case, unit last). */
  readonly key: string;
  /** Label in the terminal table and the report. */
  readonly label: string;
  /** Unit of every sample. */
  readonly unit: "ms" | "tok/s";
  /** How a record gives it (what `docs/summary_json.md` says). */
  readonly derivation: string;
  /** Shown only when some request streamed reasoning. */
  readonly onlyWithReasoning?: boolean;
  /** Several samples per record that repeat often: kept as counts per value. */
  readonly perEvent?: boolean;
  /** The sample(s) one completed, measured record gives (none: undefined). */
  readonly samples: (
    f: RequestFigures,
    record: RequestRecord,
  ) => number | readonly number[] | undefined;
}

/**
 * The per-request figures, in the order every table prints them.
 *
 * @example Every key names its unit
 * ```ts
 * import { FIGURE_TABLE } from "./figure_table.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(FIGURE_TABLE.map((row) => row.key), [
 *   "ttft_ms", "first_answer_ms", "tpot_ms", "itl_ms", "e2e_ms",
 *   "decode_tokens_per_s",
 * ]);
 * ```
 */
export const FIGURE_TABLE: readonly FigureRow[] = [
  {
    field: "ttftMs",
    key: "ttft_ms",
    label: "TTFT (ms)",
    unit: "ms",
    derivation:
      "first generated token (reasoning included) − sent; streamed responses with output",
    samples: (f) => f.ttftMs,
  },
  {
    field: "firstAnswerMs",
    key: "first_answer_ms",
    label: "First answer token (ms)",
    unit: "ms",
    derivation: "first answer (content) token − sent, when one came",
    onlyWithReasoning: true,
    samples: (f) => f.firstAnswerMs,
  },
  {
    field: "tpotMs",
    key: "tpot_ms",
    label: "TPOT (ms)",
    unit: "ms",
    derivation:
      "(end − first token) / (output tokens − 1); more than one output token and a measurable decode window",
    samples: (f) => f.tpotMs,
  },
  {
    field: "itlMs",
    key: "itl_ms",
    label: "ITL (ms)",
    unit: "ms",
    derivation:
      "one per output event after the first read: a read of k events after a gap g gives k samples of g / k",
    perEvent: true,
    samples: (_f, record) => interTokenLatencies(record),
  },
  {
    field: "e2eMs",
    key: "e2e_ms",
    label: "E2E (ms)",
    unit: "ms",
    derivation: "end − sent",
    samples: (f) => f.e2eMs,
  },
  {
    field: "decodeTps",
    key: "decode_tokens_per_s",
    label: "Decode rate (tok/s)",
    unit: "tok/s",
    derivation:
      "(output tokens − 1) / (end − first token); undefined like TPOT (counted as decode_unmeasured when the window was a burst)",
    samples: (f) => f.decodeTps,
  },
];
