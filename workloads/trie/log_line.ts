/**
 * Log lines in the format of structlog's `ConsoleRenderer` without colours,
 * as trie prints them: `[info     ] starting benchmark             a=1 b=x`.
 * Values are rendered like Python would render the same values (`repr`,
 * except that strings are shown bare), so kvbench's lines can be compared
 * with trie's.
 *
 * @module
 */

import { formatPyFloat } from "../../lib/format/py_format.ts";

/** The levels kvbench logs at. */
export type LogLevel = "info" | "warning" | "error";

/**
 * A number to render as a Python float (`300.0`, not `300`). JavaScript
 * numbers carry no int/float distinction, so integral numbers render as
 * Python ints unless wrapped.
 */
export class PyFloat {
  /** The wrapped number. */
  readonly value: number;

  /**
   * Wrap a number.
   *
   * @param value The number.
   *
   * @example Usage
   * ```ts
   * import { PyFloat } from "./log_line.ts";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new PyFloat(300).value, 300);
   * ```
   */
  constructor(value: number) {
    this.value = value;
  }

  /**
   * Python's `repr` of the float.
   *
   * @returns For example `300.0`.
   *
   * @example Usage
   * ```ts
   * import { PyFloat } from "./log_line.ts";
   * import assert from "node:assert/strict";
   *
   * assert.equal(String(new PyFloat(300)), "300.0");
   * assert.equal(String(new PyFloat(1e16)), "1e+16");
   * ```
   */
  toString(): string {
    return formatPyFloat(this.value);
  }

  /**
   * The plain number, so `JSON.stringify` writes a number.
   *
   * @returns The wrapped number.
   *
   * @example Usage
   * ```ts
   * import { PyFloat } from "./log_line.ts";
   * import assert from "node:assert/strict";
   *
   * assert.equal(JSON.stringify({ x: new PyFloat(2) }), '{"x":2}');
   * ```
   */
  toJSON(): number {
    return this.value;
  }
}

/**
 * Mark a number as a Python float for {@linkcode logLine}.
 *
 * @param value The number.
 * @returns The marked number.
 *
 * @example Usage
 * ```ts
 * import { logLine, pyFloat } from "./log_line.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(logLine("info", "x", { duration: pyFloat(300) }).endsWith(" duration=300.0"));
 * assert.ok(logLine("info", "x", { duration: 300 }).endsWith(" duration=300"));
 * ```
 */
export function pyFloat(value: number): PyFloat {
  return new PyFloat(value);
}

// structlog pads levels to its longest level name, "exception".
const LEVEL_WIDTH = 9;
// structlog's default pad_event.
const EVENT_WIDTH = 30;

/**
 * One structlog console line (no trailing newline): the level in brackets
 * padded to 9, the event padded to 30 characters, then `key=value` pairs
 * sorted by key. Strings are printed bare; other values like Python's
 * `repr`: integral numbers as ints, other numbers and {@linkcode PyFloat}s as
 * floats, `true` → `True`, `null` → `None`, arrays and plain objects as
 * Python lists and dicts. Keys whose value is `undefined` are left out.
 * Trailing spaces are stripped, so an event without fields is not padded.
 *
 * @param level The level.
 * @param event The event name.
 * @param fields The key-value pairs.
 * @returns The line.
 *
 * @example Usage
 * ```ts
 * import { logLine, pyFloat } from "./log_line.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   logLine("info", "starting benchmark", { duration: pyFloat(300), concurrency: 24 }),
 *   "[info     ] starting benchmark             concurrency=24 duration=300.0",
 * );
 * assert.equal(logLine("warning", "done"), "[warning  ] done"); // not padded
 * ```
 */
export function logLine(
  level: LogLevel,
  event: string,
  fields: Record<string, unknown> = {},
): string {
  const keys = Object.keys(fields)
    .filter((k) => fields[k] !== undefined)
    .sort();
  const parts = [`[${padEnd(level, LEVEL_WIDTH)}]`];
  parts.push(keys.length > 0 ? padEnd(event, EVENT_WIDTH) : event);
  for (const key of keys) {
    const value = fields[key];
    parts.push(`${key}=${typeof value === "string" ? value : pyRepr(value)}`);
  }
  return parts.join(" ").replace(/ +$/, "");
}

function padEnd(text: string, width: number): string {
  return text + " ".repeat(Math.max(width - Array.from(text).length, 0));
}

/**
 * Python's `repr` of a JavaScript value, for the types kvbench logs:
 * strings quoted (`'a'`), integral numbers as ints, other numbers and
 * {@linkcode PyFloat}s as floats, booleans as `True`/`False`,
 * `null`/`undefined` as `None`, arrays as lists and plain objects as dicts;
 * anything else through `String()`.
 *
 * @param value The value.
 * @returns Its Python repr.
 *
 * @example Usage
 * ```ts
 * import { pyRepr } from "./log_line.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(pyRepr([1, "a", 2.5, null, true]), "[1, 'a', 2.5, None, True]");
 * assert.equal(pyRepr({ k: "it's" }), `{'k': "it's"}`);
 * ```
 */
export function pyRepr(value: unknown): string {
  if (value instanceof PyFloat) return formatPyFloat(value.value);
  switch (typeof value) {
    case "string":
      return pyStringRepr(value);
    case "number":
      if (Number.isInteger(value)) return BigInt(value).toString();
      return formatPyFloat(value);
    case "bigint":
      return value.toString();
    case "boolean":
      return value ? "True" : "False";
    case "undefined":
      return "None";
  }
  if (value === null) return "None";
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(", ")}]`;
  if (isPlainObject(value)) {
    const items = Object.entries(value).map(([k, v]) =>
      `${pyStringRepr(k)}: ${pyRepr(v)}`
    );
    return `{${items.join(", ")}}`;
  }
  return String(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function pyStringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === "\\" || ch === quote) out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || (code >= 0x7f && code <= 0xa0)) {
      out += "\\x" + code.toString(16).padStart(2, "0");
    } else out += ch;
  }
  return out + quote;
}
