/**
 * One option schema for every workload command: each option declared once
 * (its name, type, default, help, check, whether workers inherit it), and
 * from it the usage text, the parser, the arguments a worker inherits, in
 * either syntax: `--flag value` (benchmark) or trie's `key=value`.
 *
 * A new option is one entry in a workload's schema (`BENCHMARK_OPTIONS` in
 * `workloads/benchmark/options.ts`, `TRIE_OPTIONS` in
 * `workloads/trie/options.ts`), or in `SHARED_OPTIONS` when every workload
 * takes it:
 *
 * ```ts ignore
 * kvCacheDtype: {
 *   flag: "kv-cache-dtype", // --kv-cache-dtype (key: "kv_cache_dtype" for trie's syntax)
 *   type: "string",         // string, strings (repeatable), int, number, numbers (a list),
 *                           // bool (--x / --no-x), duration (30s, 2m; seconds), size (40GB; GiB)
 *   arg: "DTYPE",           // the value's name in the help
 *   default: "auto",        // else undefined (null in the keys syntax)
 *   check: POSITIVE,        // numbers: a test and what it says ("must be > 0")
 *   inherit: false,         // workers do not inherit it (the parent re-states or owns it)
 *   param: "kv_cache_dtype", // run.json params name (flags syntax; trie records every key)
 *   help: "KV cache data type of the server",
 * },
 * ```
 *
 * The parsed value is `opts.kvCacheDtype` (the entry's name); the help, the
 * parser, the worker pass-through and `run.json` follow.
 *
 * @module
 */
import { MAX_WAIT_S, UsageError } from "./common.ts";
import { closestName, type KvSchema, type KvType } from "./kv_args.ts";
import { parseDuration, parseSizeGib } from "./units.ts";

/** What an option's value is. */
export type OptionType =
  | "string"
  | "strings"
  | "int"
  | "number"
  | "numbers"
  | "bool"
  | "duration"
  | "size";

/** A check of a number, and how a refusal says it (`must be > 0`). */
export interface Check {
  /** Whether `n` passes. */
  test(n: number): boolean;
  /** What a passing value is, after "must be". */
  says: string;
}

/** One option. */
export interface OptionSpec {
  /** Its `--flag` (without dashes); none: not a flag. */
  flag?: string;
  /** More `--flag`s meaning the same (`concurrency` for `max-inflight`). */
  aliases?: string[];
  /** Its `key=` (trie's syntax); none: not a key. */
  key?: string;
  /** What its value is. */
  type: OptionType;
  /** The value's name in the flags' help (`N`, `URL`). */
  arg?: string;
  /** The type the keys' help shows, when not the type's own. */
  display?: string;
  /** What it means, for the help. */
  help: string;
  /** Its value when not given; none: undefined (null in the keys syntax). */
  default?: string | number | boolean;
  /** It must be given. */
  required?: boolean;
  /** Its numbers must pass this. */
  check?: Check;
  /** A string's values: any other is refused when the command line is parsed. */
  choices?: readonly string[];
  /** Workers started by `workers` inherit it (default true). */
  inherit?: boolean;
  /** Left out of the help (internal). */
  hidden?: boolean;
  /** Keys syntax: `None` is accepted (gives null) though it has a default. */
  optional?: boolean;
  /** Its name in `run.json`'s params; none: left out of them. */
  param?: string;
}

/** Options by the name of their parsed value. */
export type OptionSchema = Record<string, OptionSpec>;

/** Numbers more than 0. */
export const POSITIVE: Check = { test: (n) => n > 0, says: "> 0" };
/** Integers more than 0. */
export const POSITIVE_INT: Check = {
  test: (n) => Number.isInteger(n) && n > 0,
  says: "an integer > 0",
};
/** Integers from 0. */
export const NON_NEGATIVE_INT: Check = {
  test: (n) => Number.isInteger(n) && n >= 0,
  says: ">= 0",
};

/** Parsed values by option name: undefined when not given and no default. */
export type OptionValues = Record<
  string,
  string | string[] | number | number[] | boolean | undefined
>;

const UNIT_HELP: Partial<Record<OptionType, string>> = {
  duration: " (seconds, or 30s, 2m, 1h)",
  size: " (GiB, or 40GB, 40GiB)",
};

/**
 * The options of a `--flag` command as help lines: `--flag ARG  help`, the
 * help wrapped to 80 columns.
 *
 * @example Usage
 * ```ts
 * import { flagsHelp } from "./options.ts";
 * import assert from "node:assert/strict";
 *
 * const help = flagsHelp({
 *   timeout: { flag: "timeout", type: "duration", arg: "S", help: "total timeout", default: 600 },
 *   metrics: { flag: "metrics", type: "bool", help: "scrape /metrics", default: true },
 * });
 * assert.deepEqual(help.split("\n"), [
 *   "  --timeout S     total timeout (seconds, or 30s, 2m, 1h; default 600)",
 *   "  --[no-]metrics  scrape /metrics (the default; --no-metrics: not)",
 *   "  -h, --help      show this help",
 *   "",
 * ]);
 * ```
 */
export function flagsHelp(schema: OptionSchema): string {
  const rows: [string, string][] = [];
  for (const spec of Object.values(schema)) {
    if (spec.flag === undefined || spec.hidden) continue;
    if (spec.type === "bool") {
      rows.push(
        spec.default === true
          ? [
            `--[no-]${spec.flag}`,
            `${spec.help} (the default; --no-${spec.flag}: not)`,
          ]
          : [`--${spec.flag}`, spec.help],
      );
      continue;
    }
    const unit = UNIT_HELP[spec.type]?.slice(0, -1) ?? "";
    // A help that speaks of its default already says it.
    const dflt = spec.default === undefined || /default/.test(spec.help)
      ? ""
      : `default ${spec.default}`;
    const tail = unit && dflt
      ? `${unit}; ${dflt})`
      : unit
      ? `${unit})`
      : dflt
      ? ` (${dflt})`
      : "";
    rows.push([`--${spec.flag} ${spec.arg ?? "VALUE"}`, spec.help + tail]);
    for (const alias of spec.aliases ?? []) {
      rows.push([
        `--${alias} ${spec.arg ?? "VALUE"}`,
        `the same as --${spec.flag}`,
      ]);
    }
  }
  rows.push(["-h, --help", "show this help"]);
  const width = Math.min(24, Math.max(...rows.map(([f]) => f.length)));
  return rows.map(([f, h]) => wrap(f, h, width)).join("\n") + "\n";
}

function wrap(flag: string, help: string, width: number): string {
  const indent = " ".repeat(width + 4);
  const lines: string[] = [];
  let line = flag.length > width
    ? `  ${flag}\n${indent}`
    : `  ${flag.padEnd(width)}  `;
  let start = line.length - (line.lastIndexOf("\n") + 1);
  for (const word of help.split(" ")) {
    if (start + word.length > 80 && start > indent.length) {
      lines.push(line.trimEnd());
      line = indent;
      start = indent.length;
    }
    line += word + " ";
    start += word.length + 1;
  }
  lines.push(line.trimEnd());
  return lines.join("\n");
}

/**
 * Parse `--flag value` arguments against a schema; every refusal is a
 * {@linkcode UsageError} carrying `usage`, an unknown flag with a "did you
 * mean" suggestion. Undefined for `-h`/`--help`.
 *
 * @example Usage
 * ```ts
 * import { parseFlagOptions, POSITIVE_INT } from "./options.ts";
 * import assert from "node:assert/strict";
 *
 * const schema = {
 *   workers: { flag: "workers", type: "int", check: POSITIVE_INT, help: "processes", default: 1 },
 *   duration: { flag: "duration", type: "duration", help: "stop after" },
 * } as const;
 * assert.deepEqual(parseFlagOptions(["--duration", "2m"], schema, { usage: "usage" }), {
 *   workers: 1,
 *   duration: 120,
 * });
 * assert.throws(
 *   () => parseFlagOptions(["--worker", "2"], schema, { usage: "usage" }),
 *   /Unknown option '--worker'; did you mean "--workers"\?/,
 * );
 * ```
 */
export function parseFlagOptions(
  args: readonly string[],
  schema: OptionSchema,
  options: { usage: string },
): OptionValues | undefined {
  const { usage } = options;
  const byFlag = new Map<string, [string, OptionSpec, boolean]>();
  for (const [name, spec] of Object.entries(schema)) {
    if (spec.flag === undefined) continue;
    for (const flag of [spec.flag, ...spec.aliases ?? []]) {
      byFlag.set(flag, [name, spec, true]);
      if (spec.type === "bool") byFlag.set(`no-${flag}`, [name, spec, false]);
    }
  }
  const given = new Map<string, { flag: string; raw: string[] }>();
  const refuse = (message: string): never => {
    throw new UsageError(message, usage);
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "-h" || arg === "--help") return undefined;
    if (!arg.startsWith("--")) {
      refuse(
        arg.startsWith("-")
          ? `Unknown option '${arg}'`
          : `Unexpected argument '${arg}'`,
      );
    }
    const eq = arg.indexOf("=");
    const flag = arg.slice(2, eq < 0 ? undefined : eq);
    const found = byFlag.get(flag);
    if (found === undefined) {
      const guess = closestName(flag, [...byFlag.keys()]);
      refuse(
        `Unknown option '--${flag}'${
          guess ? `; did you mean "--${guess}"?` : ""
        }`,
      );
    }
    const [name, spec, positive] = found!;
    let raw: string;
    if (spec.type === "bool") {
      if (eq >= 0) refuse(`Option '--${flag}' does not take an argument`);
      raw = String(positive);
    } else if (eq >= 0) raw = arg.slice(eq + 1);
    else if (i + 1 < args.length) raw = args[++i];
    else raw = refuse(`Option '--${flag} <value>' argument missing`);
    const seen = given.get(name);
    if (seen !== undefined && spec.type === "bool" && seen.raw[0] !== raw) {
      refuse(`--${spec.flag} and --no-${spec.flag} exclude each other`);
    }
    if (seen !== undefined && spec.type !== "bool" && seen.flag !== flag) {
      const alias = flag === spec.flag ? seen.flag : flag;
      refuse(`--${alias} is --${spec.flag}: give one of them`);
    }
    given.set(name, {
      flag,
      raw: spec.type === "strings" ? [...seen?.raw ?? [], raw] : [raw],
    });
  }
  const values: OptionValues = {};
  for (const [name, spec] of Object.entries(schema)) {
    if (spec.flag === undefined) continue;
    const g = given.get(name);
    if (g === undefined) {
      if (spec.required) {
        refuse(`the following arguments are required: --${spec.flag}`);
      }
      values[name] = spec.default;
      continue;
    }
    values[name] = flagValue(`--${g.flag}`, g.raw, spec, refuse);
  }
  return values;
}

function flagValue(
  flag: string,
  raw: string[],
  spec: OptionSpec,
  refuse: (message: string) => never,
): OptionValues[string] {
  const value = raw[raw.length - 1];
  const invalid = (): never =>
    refuse(
      `${flag}: invalid value "${value}" (expected ${EXPECTED[spec.type]})`,
    );
  const checked = (n: number | undefined): number => {
    if (n === undefined || !Number.isFinite(n)) return invalid();
    if (spec.check !== undefined && !spec.check.test(n)) {
      return refuse(
        `${flag}: invalid value "${value}" (expected ${spec.check.says})`,
      );
    }
    return n;
  };
  const number = (text: string): number | undefined =>
    text.trim() === "" ? undefined : Number(text);
  switch (spec.type) {
    case "string":
      if (spec.choices !== undefined && !spec.choices.includes(value)) {
        refuse(
          `${flag}: invalid value "${value}" (expected one of ${
            spec.choices.join(", ")
          })`,
        );
      }
      return value;
    case "strings":
      return raw;
    case "bool":
      return value === "true";
    case "int":
      return checked(
        Number.isSafeInteger(number(value)) ? number(value) : undefined,
      );
    case "number":
      return checked(number(value));
    case "size":
      return checked(parseSizeGib(value));
    case "numbers": {
      const parts = value.split(",").map((p) => p.trim());
      return parts.map((p) => checked(number(p)));
    }
    case "duration": {
      const s = parseDuration(value);
      if (s === undefined || !(s > 0)) return invalid();
      if (s > MAX_WAIT_S) {
        refuse(
          `${flag}: ${value}${
            /[a-z]$/i.test(value) ? "" : " s"
          } is longer than a timer can wait (at most ${MAX_WAIT_S} s, 24.8 days)`,
        );
      }
      return s;
    }
  }
}

/** What a value of each type looks like, for a refusal. */
const EXPECTED: Record<OptionType, string> = {
  string: "a word",
  strings: "a word",
  bool: "true or false",
  int: "an integer",
  number: "a number",
  numbers: "numbers separated by commas",
  duration: "seconds > 0, or 30s, 2m, 1h",
  size: "GiB, or 40GB, 40GiB",
};

const KV_TYPES: Record<OptionType, KvType> = {
  string: "str",
  strings: "str",
  int: "int",
  number: "float",
  numbers: "str",
  bool: "bool",
  duration: "duration",
  size: "size",
};

/**
 * The `key=value` schema of the options that have a key: their keys,
 * types, defaults and help, for `parseKvArgs` and `kvHelp`.
 *
 * @example Usage
 * ```ts
 * import { keysSchema } from "./options.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   keysSchema({ timeout: { key: "timeout", type: "duration", help: "t", default: 600 } }),
 *   { timeout: { type: "duration", help: "t", default: 600 } },
 * );
 * ```
 */
export function keysSchema(schema: OptionSchema): KvSchema {
  const out: KvSchema = {};
  for (const spec of Object.values(schema)) {
    if (spec.key === undefined) continue;
    out[spec.key] = {
      type: KV_TYPES[spec.type],
      help: spec.help,
      ...(spec.display === undefined ? {} : { display: spec.display }),
      ...(spec.default === undefined ? {} : { default: spec.default }),
      ...(spec.required ? { required: true } : {}),
      ...(spec.hidden ? { hidden: true } : {}),
      ...(spec.optional ? { optional: true } : {}),
    };
  }
  return out;
}

/**
 * Refuse, in the keys syntax, a number a key's check refuses:
 * `KEY must be > 0`; a duration longer than a timer can wait is refused
 * too. Values are the keys' parsed values.
 *
 * @example Usage
 * ```ts
 * import { checkKeys, POSITIVE } from "./options.ts";
 * import assert from "node:assert/strict";
 *
 * const schema = { timeout: { key: "timeout", type: "duration", check: POSITIVE, help: "t" } } as const;
 * assert.throws(() => checkKeys({ timeout: -1 }, schema), /^TypeError: timeout must be > 0$/);
 * checkKeys({ timeout: 5 }, schema);
 *
 * const dtype = { dtype: { key: "dtype", type: "string", choices: ["auto", "fp8"], help: "d" } } as const;
 * assert.throws(() => checkKeys({ dtype: "fp7" }, dtype), /^TypeError: dtype=fp7: expected one of auto, fp8$/);
 * checkKeys({ dtype: "fp8" }, dtype);
 * ```
 */
export function checkKeys(
  values: Record<string, unknown>,
  schema: OptionSchema,
): void {
  for (const spec of Object.values(schema)) {
    if (spec.key === undefined) continue;
    const v = values[spec.key];
    if (
      typeof v === "string" && spec.choices !== undefined &&
      !spec.choices.includes(v)
    ) {
      throw new TypeError(
        `${spec.key}=${v}: expected one of ${spec.choices.join(", ")}`,
      );
    }
    if (typeof v !== "number") continue;
    if (spec.check !== undefined && !spec.check.test(v)) {
      throw new TypeError(`${spec.key} must be ${spec.check.says}`);
    }
    if (spec.type === "duration" && v > MAX_WAIT_S) {
      throw new TypeError(
        `${spec.key} must be at most ${MAX_WAIT_S} seconds (24.8 days): a longer wait would fire at once`,
      );
    }
  }
}

/**
 * `argv` without the options workers do not inherit (the parent re-states
 * or owns them), in either syntax.
 *
 * @example Usage
 * ```ts
 * import { inherited } from "./options.ts";
 * import assert from "node:assert/strict";
 *
 * const schema = {
 *   seed: { flag: "seed", key: "seed", type: "int", help: "seed", inherit: false },
 *   metrics: { flag: "metrics", key: "metrics", type: "bool", help: "scrape", default: true, inherit: false },
 *   timeout: { flag: "timeout", key: "timeout", type: "duration", help: "t" },
 * } as const;
 * assert.deepEqual(
 *   inherited(["--seed", "3", "--no-metrics", "--timeout", "9"], schema, { syntax: "flags" }),
 *   ["--timeout", "9"],
 * );
 * assert.deepEqual(inherited(["seed=3", "timeout=9"], schema, { syntax: "keys" }), ["timeout=9"]);
 * ```
 */
export function inherited(
  argv: readonly string[],
  schema: OptionSchema,
  options: { syntax: "flags" | "keys" },
): string[] {
  const dropped = Object.values(schema).filter((s) => s.inherit === false);
  if (options.syntax === "keys") {
    const keys = new Set(dropped.map((s) => s.key));
    return argv.filter((a) =>
      !keys.has(a.replace(/^--/, "").replace(/=.*/, "").replaceAll("-", "_"))
    );
  }
  const values = new Set<string>(), booleans = new Set<string>();
  for (const s of dropped) {
    for (const f of [s.flag, ...s.aliases ?? []]) {
      if (f === undefined) continue;
      if (s.type === "bool") booleans.add(`--${f}`).add(`--no-${f}`);
      else values.add(`--${f}`);
    }
  }
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/=.*/, "");
    if (booleans.has(name)) continue;
    if (values.has(name)) {
      if (!argv[i].includes("=")) i++;
      continue;
    }
    kept.push(argv[i]);
  }
  return kept;
}

/**
 * The `run.json` params of parsed options: every option with a `param`, by
 * that name, null when it has no value.
 *
 * @example Usage
 * ```ts
 * import { runParams } from "./options.ts";
 * import assert from "node:assert/strict";
 *
 * const schema = {
 *   timeout: { flag: "timeout", type: "duration", help: "t", param: "timeout_s" },
 *   seed: { flag: "seed", type: "int", help: "seed" },
 *   numPrompts: { flag: "num-prompts", type: "int", help: "n", param: "num_prompts" },
 * } as const;
 * assert.deepEqual(runParams(schema, { timeout: 600, seed: 3 }), {
 *   timeout_s: 600,
 *   num_prompts: null,
 * });
 * ```
 */
export function runParams(
  schema: OptionSchema,
  values: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(schema)) {
    if (spec.param !== undefined) params[spec.param] = values[name] ?? null;
  }
  return params;
}
