/**
 * The request shaping and reporting options every workload shares, read
 * once from their parsed text: the API, the transport, extra body fields,
 * the percentiles and the goodput SLOs.
 *
 * @module
 */
import {
  type ApiName,
  parseApi,
  parseJsonObject,
  parseTransport,
  type TransportName,
} from "./common.ts";
import {
  parsePercentiles,
  parseSlos,
  type Slos,
} from "../metrics/distributions.ts";

/** The shared options as given (null or undefined: not given). */
export interface ShapingValues {
  /** `api`. */
  api?: string | null;
  /** `transport`. */
  transport?: string | null;
  /** `extra_body`: a JSON object. */
  extraBody?: string | null;
  /** `percentiles`: a list. */
  percentiles?: string | null;
  /** `goodput`: SLOs. */
  goodput?: string | null;
}

/** The shared options, read. */
export interface Shaping {
  /** The API requests go to. */
  api: ApiName;
  /** The transport's name. */
  transport: TransportName;
  /** Fields merged into every request body. */
  extraBody?: Record<string, unknown>;
  /** Percentiles of the distributions. */
  percentiles?: number[];
  /** SLOs of goodput. */
  slos?: Slos;
}

/**
 * Read the shared shaping options; `extraBodyName` names the option in a
 * refusal (`--extra-body` or `extra_body`). A bad value throws a
 * `TypeError` with a one-line message.
 *
 * @example Usage
 * ```ts
 * import { shapingOf } from "./shaping.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   shapingOf({ api: "chat", extraBody: '{"temperature":0}', percentiles: "50,99" }, "extra_body"),
 *   {
 *     api: "chat",
 *     transport: "auto",
 *     extraBody: { temperature: 0 },
 *     percentiles: [50, 99],
 *     slos: undefined,
 *   },
 * );
 * assert.throws(() => shapingOf({ extraBody: "[]" }, "--extra-body"), /^TypeError: --extra-body: expected a JSON object/);
 * ```
 */
export function shapingOf(
  values: ShapingValues,
  extraBodyName: string,
): Shaping {
  return {
    api: parseApi(values.api ?? "completions"),
    transport: parseTransport(values.transport ?? "auto"),
    extraBody: values.extraBody == null
      ? undefined
      : parseJsonObject(values.extraBody, extraBodyName),
    percentiles: values.percentiles == null
      ? undefined
      : parsePercentiles(values.percentiles),
    slos: values.goodput == null ? undefined : parseSlos(values.goodput),
  };
}
