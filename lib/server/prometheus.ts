/**
 * A parser of the Prometheus text exposition format 0.0.4: what vLLM, SGLang,
 * LMCache, llama.cpp, Dynamo KVBM and TensorRT-LLM serve on `/metrics` when
 * not asked for OpenMetrics (send no `Accept` header, or `text/plain`).
 *
 * Rules (prometheus.io, "Exposition formats", text format details):
 * - Lines end in LF; a CR before it and a last line without one are accepted.
 *   Blank lines are skipped; leading spaces and tabs are ignored.
 * - `# HELP name text` (text unescapes `\\` and `\n`) and
 *   `# TYPE name counter|gauge|histogram|summary|untyped`; any other `#`
 *   line is a comment (OpenMetrics' `# EOF` included).
 * - A sample is `name[{label="value",…}] value [timestamp]`. Names may hold
 *   colons (`vllm:prompt_tokens_total`); label values unescape `\\`, `\"`
 *   and `\n` (any other backslash is kept as written) and may hold `}`, `,`
 *   and `=`; labels come in any order, a trailing comma and `{}` are
 *   allowed, a label name given twice is not. Values are Go floats: `1`,
 *   `-2.5e-3`, `1.2288e+06`, `NaN`, `+Inf`, `-Inf`. The timestamp is an
 *   integer of milliseconds.
 * - Every sample is kept under its own name: `_total`, `_created`,
 *   `_bucket`, `_sum` and `_count` samples are not folded into families.
 *
 * A line that breaks these rules throws a `SyntaxError` naming its line
 * number and showing its start.
 *
 * @module
 */

/** One sample line. */
export interface PromSample {
  /** The metric name as written, suffix included (`vllm:prompt_tokens_total`). */
  name: string;
  /** The labels, unescaped. */
  labels: Readonly<Record<string, string>>;
  /** The value (`NaN`, `Infinity` and `-Infinity` included). */
  value: number;
  /** The timestamp, ms since the epoch, when the line had one. */
  timestampMs?: number;
}

/** A parsed exposition. */
export interface PromExposition {
  /** Every sample, in the order of the text. */
  samples: PromSample[];
  /** `# TYPE` by metric name. */
  types: ReadonlyMap<string, string>;
  /** `# HELP` by metric name, unescaped. */
  help: ReadonlyMap<string, string>;
}

const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

const isBlank = (c: string): boolean => c === " " || c === "\t";
const isNameStart = (c: string): boolean =>
  (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_";
const isNameChar = (c: string): boolean =>
  isNameStart(c) || (c >= "0" && c <= "9");

/**
 * Parse Prometheus text format 0.0.4.
 *
 * @example A counter with labels, a histogram bucket and a timestamp
 * ```ts
 * import { parsePrometheusText } from "./prometheus.ts";
 * import assert from "node:assert/strict";
 *
 * const text = [
 *   "# HELP vllm:prompt_tokens_total Number of prefill tokens processed.",
 *   "# TYPE vllm:prompt_tokens_total counter",
 *   'vllm:prompt_tokens_total{engine="0",model_name="m"} 1.2288e+06',
 *   'ttft_seconds_bucket{le="+Inf"} 2 1395066363000',
 * ].join("\n");
 * const { samples, types, help } = parsePrometheusText(text);
 * assert.deepEqual(samples[0], {
 *   name: "vllm:prompt_tokens_total",
 *   labels: { engine: "0", model_name: "m" },
 *   value: 1228800,
 * });
 * assert.equal(samples[1].timestampMs, 1395066363000);
 * assert.equal(types.get("vllm:prompt_tokens_total"), "counter");
 * assert.equal(help.get("vllm:prompt_tokens_total"), "Number of prefill tokens processed.");
 * ```
 *
 * @example A malformed line
 * ```ts
 * import { parsePrometheusText } from "./prometheus.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(
 *   () => parsePrometheusText("a 1\nb{x=1} 2\n"),
 *   { name: "SyntaxError", message: /line 2 "b\{x=1\} 2".*label x/ },
 * );
 * ```
 */
export function parsePrometheusText(text: string): PromExposition {
  const samples: PromSample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const reader = new LineReader(line, i + 1);
    reader.skipBlanks();
    if (reader.atEnd()) continue;
    if (line[reader.pos] === "#") reader.comment(types, help);
    else samples.push(reader.sample());
  }
  return { samples, types, help };
}

/** A cursor over one line. */
class LineReader {
  pos = 0;
  constructor(readonly line: string, readonly number: number) {}

  atEnd(): boolean {
    return this.pos >= this.line.length;
  }

  skipBlanks(): void {
    while (this.pos < this.line.length && isBlank(this.line[this.pos])) {
      this.pos++;
    }
  }

  fail(reason: string): never {
    const start = this.line.trim();
    const shown = start.length > 60 ? `${start.slice(0, 60)}…` : start;
    throw new SyntaxError(
      `Cannot read metrics: line ${this.number} "${shown}": ${reason}`,
    );
  }

  /** The run of characters up to the next blank. */
  token(): string {
    const from = this.pos;
    while (!this.atEnd() && !isBlank(this.line[this.pos])) this.pos++;
    return this.line.slice(from, this.pos);
  }

  /** A metric name (`colons` true) or a label name; "" when none starts here. */
  name(colons: boolean): string {
    const from = this.pos;
    const c = this.line[this.pos];
    if (c === undefined || !(isNameStart(c) || (colons && c === ":"))) {
      return "";
    }
    this.pos++;
    while (!this.atEnd()) {
      const d = this.line[this.pos];
      if (!(isNameChar(d) || (colons && d === ":"))) break;
      this.pos++;
    }
    return this.line.slice(from, this.pos);
  }

  comment(types: Map<string, string>, help: Map<string, string>): void {
    this.pos++; // "#"
    this.skipBlanks();
    const keyword = this.token();
    if (keyword !== "HELP" && keyword !== "TYPE") return;
    this.skipBlanks();
    const name = this.name(true);
    if (name === "" || !(this.atEnd() || isBlank(this.line[this.pos]))) {
      this.fail(`expected a metric name after # ${keyword}`);
    }
    this.skipBlanks();
    const rest = this.line.slice(this.pos);
    if (keyword === "HELP") {
      help.set(
        name,
        rest.replace(/\\([\\n])/g, (_, c) => c === "n" ? "\n" : c),
      );
    } else if (TYPES.has(rest.trimEnd())) {
      types.set(name, rest.trimEnd());
    } else {
      this.fail(
        `expected counter, gauge, histogram, summary or untyped after # TYPE ${name}`,
      );
    }
  }

  sample(): PromSample {
    const name = this.name(true);
    if (name === "") this.fail("expected a metric name");
    const after = this.line[this.pos];
    if (after !== undefined && after !== "{" && !isBlank(after)) {
      this.fail(`unexpected "${after}" after the metric name`);
    }
    this.skipBlanks();
    const labels = this.line[this.pos] === "{" ? this.labels() : {};
    this.skipBlanks();
    const valueText = this.token();
    if (valueText === "") this.fail("expected a value");
    const value = parseValue(valueText);
    if (value === undefined) this.fail(`cannot read the value "${valueText}"`);
    this.skipBlanks();
    const sample: PromSample = { name, labels, value };
    if (!this.atEnd()) {
      const ts = this.token();
      if (!INTEGER.test(ts)) {
        this.fail(`expected an integer timestamp, not "${ts}"`);
      }
      sample.timestampMs = Number(ts);
      this.skipBlanks();
      if (!this.atEnd()) this.fail("unexpected text after the timestamp");
    }
    return sample;
  }

  labels(): Record<string, string> {
    const pairs: [string, string][] = [];
    this.pos++; // "{"
    for (;;) {
      this.skipBlanks();
      if (this.line[this.pos] === "}") break;
      const label = this.name(false);
      if (label === "") this.fail('expected a label name or "}"');
      if (pairs.some(([k]) => k === label)) {
        this.fail(`label ${label} given twice`);
      }
      this.skipBlanks();
      if (this.line[this.pos] !== "=") {
        this.fail(`expected "=" after label ${label}`);
      }
      this.pos++;
      this.skipBlanks();
      if (this.line[this.pos] !== '"') {
        this.fail(`expected a quoted value for label ${label}`);
      }
      pairs.push([label, this.quoted(label)]);
      this.skipBlanks();
      const c = this.line[this.pos];
      if (c === ",") this.pos++;
      else if (c !== "}") this.fail(`expected "," or "}" after label ${label}`);
    }
    this.pos++; // "}"
    // fromEntries defines own properties, so even "__proto__" stays a label.
    return Object.fromEntries(pairs);
  }

  /** A label value from its opening quote, unescaped. */
  quoted(label: string): string {
    let out = "";
    let from = ++this.pos;
    for (; this.pos < this.line.length; this.pos++) {
      const c = this.line[this.pos];
      if (c === '"') {
        out += this.line.slice(from, this.pos++);
        return out;
      }
      if (c === "\\") {
        const next = this.line[this.pos + 1];
        if (next === "\\" || next === '"' || next === "n") {
          out += this.line.slice(from, this.pos) + (next === "n" ? "\n" : next);
          from = ++this.pos + 1;
        }
      }
    }
    return this.fail(`unterminated value of label ${label}`);
  }
}

/** A Go `ParseFloat` value: decimal, e-notation, NaN or ±Inf. */
function parseValue(text: string): number | undefined {
  if (FLOAT.test(text)) return Number(text);
  const lower = text.toLowerCase();
  if (lower === "nan") return NaN;
  if (/^\+?inf(inity)?$/.test(lower)) return Infinity;
  if (/^-inf(inity)?$/.test(lower)) return -Infinity;
  return undefined;
}
