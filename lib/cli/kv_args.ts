/**
 * `key=value` arguments as trie's command line (OpenAI's chz) takes them:
 * bare `key=value` tokens (`--key=value` too), casts by type, `None` for
 * optional keys, booleans `t/true/True/1` and `f/false/False/0`, the later of
 * two values wins, an unknown key gets a "did you mean" suggestion.
 *
 * @module
 */
import { parseDuration, parseSizeGib } from "./units.ts";

/** The type of one key. */
export type KvType =
  | "str"
  | "int"
  | "float"
  | "bool"
  | "duration"
  | "size";

/** One key of a schema. */
export interface KvKey {
  /** Type the value is cast to. */
  type: KvType;
  /** The type `--help` shows, when not `type` (a `str` key that holds a list of numbers). */
  display?: string;
  /** Meaning, for `--help`. */
  help: string;
  /** Default; `undefined` with `required` unset means "optional, no default" (null). */
  default?: string | number | boolean | null;
  /** The key must be given. */
  required?: boolean;
  /** `None` is accepted and gives null. */
  optional?: boolean;
  /** Left out of `--help` (an internal key). */
  hidden?: boolean;
}

/** Keys and their meaning. */
export type KvSchema = Record<string, KvKey>;

/** Parsed values: the schema's keys with cast values (null for None / unset optionals). */
export type KvValues = Record<string, string | number | boolean | null>;

const TRUE = new Set(["t", "true", "True", "1"]);
const FALSE = new Set(["f", "false", "False", "0"]);

/**
 * Parse `key=value` tokens against a schema; throws a `TypeError` with a
 * one-line message on any problem.
 *
 * @example Usage
 * ```ts
 * import { parseKvArgs } from "./kv_args.ts";
 * import assert from "node:assert/strict";
 *
 * const schema = {
 *   concurrency: { type: "int", help: "traces in flight", required: true },
 *   stream: { type: "bool", help: "stream", default: false },
 * } as const;
 * const values = parseKvArgs(["concurrency=8", "stream=True"], schema);
 * assert.deepEqual(values, { concurrency: 8, stream: true });
 * assert.throws(() => parseKvArgs(["concurrency"], schema), TypeError);
 * ```
 */
export function parseKvArgs(
  args: readonly string[],
  schema: KvSchema,
): KvValues {
  const given = new Map<string, string>();
  for (const arg of args) {
    const token = arg.startsWith("--") ? arg.slice(2) : arg;
    const eq = token.indexOf("=");
    if (eq <= 0) {
      throw new TypeError(`Invalid argument "${arg}": expected key=value`);
    }
    const key = token.slice(0, eq).replaceAll("-", "_");
    if (!(key in schema)) {
      const guess = closestName(
        key,
        Object.keys(schema).filter((k) => !schema[k].hidden),
      );
      throw new TypeError(
        `Unknown argument "${key}"${guess ? `; did you mean "${guess}"?` : ""}`,
      );
    }
    given.set(key, token.slice(eq + 1));
  }
  const values: KvValues = {};
  for (const [key, spec] of Object.entries(schema)) {
    const raw = given.get(key);
    if (raw === undefined) {
      if (spec.required) {
        throw new TypeError(`Missing required argument "${key}"`);
      }
      values[key] = spec.default ?? null;
      continue;
    }
    values[key] = cast(key, raw, spec);
  }
  return values;
}

function cast(
  key: string,
  raw: string,
  spec: KvKey,
): string | number | boolean | null {
  if (
    raw === "None" &&
    (spec.optional || (spec.default === undefined && !spec.required))
  ) return null;
  switch (spec.type) {
    case "str":
      return raw;
    case "bool":
      if (TRUE.has(raw)) return true;
      if (FALSE.has(raw)) return false;
      throw new TypeError(
        `Invalid value for "${key}": "${raw}" is not a bool (t/true/True/1 or f/false/False/0)`,
      );
    case "int": {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isSafeInteger(n)) {
        throw new TypeError(
          `Invalid value for "${key}": "${raw}" is not an int`,
        );
      }
      return n;
    }
    case "duration":
    case "size": {
      const n = spec.type === "duration"
        ? parseDuration(raw)
        : parseSizeGib(raw);
      if (n === undefined) {
        throw new TypeError(
          `Invalid value for "${key}": "${raw}" is not a ${spec.type} (${
            spec.type === "duration"
              ? "seconds, or 30s, 2m, 1h"
              : "GiB, or 40GB, 40GiB"
          })`,
        );
      }
      return n;
    }
    case "float": {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(n)) {
        throw new TypeError(
          `Invalid value for "${key}": "${raw}" is not a float`,
        );
      }
      return n;
    }
  }
}

/**
 * The candidate nearest to `key` (by edit distance), when it is near
 * enough to be a typo of it.
 *
 * @example Usage
 * ```ts
 * import { closestName } from "./kv_args.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(closestName("concurency", ["concurrency", "seed"]), "concurrency");
 * assert.equal(closestName("xyz", ["concurrency"]), undefined);
 * ```
 */
export function closestName(
  key: string,
  candidates: readonly string[],
): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = levenshtein(key, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3))
    ? best
    : undefined;
}

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        prev[j] + 1,
        cur[j - 1] + 1,
        prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The `--help` table: every key with its type, default and meaning.
 *
 * @example Usage
 * ```ts
 * import { kvHelp } from "./kv_args.ts";
 * import assert from "node:assert/strict";
 *
 * const help = kvHelp({ seed: { type: "int", help: "RNG seed", optional: true } });
 * assert.deepEqual(help.split("\n"), [
 *   "key   type        default  meaning",
 *   "seed  int | None  None     RNG seed",
 *   "",
 * ]);
 * ```
 */
export function kvHelp(schema: KvSchema): string {
  const shown = Object.entries(schema).filter(([, spec]) => !spec.hidden);
  const rows = shown.map(([key, spec]) => [
    key,
    spec.optional || (!spec.required && spec.default === undefined)
      ? `${spec.display ?? spec.type} | None`
      : spec.display ?? spec.type,
    spec.required
      ? "(required)"
      : spec.default === undefined || spec.default === null
      ? "None"
      : pyValue(spec.default, spec.type),
    spec.help,
  ]);
  const header = ["key", "type", "default", "meaning"];
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => r[i].length))
  );
  const line = (r: string[]): string =>
    r.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c)).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

function pyValue(v: string | number | boolean, type: KvType): string {
  if (typeof v === "boolean") return v ? "True" : "False";
  if (type === "duration") return `${v}s`;
  if (type === "float" && Number.isInteger(v)) return `${v}.0`;
  return String(v);
}
