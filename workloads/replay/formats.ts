/**
 * Reading the public KV-cache trace formats, with auto-detection and a
 * one-line error naming the line of any malformed row:
 *
 * - **Mooncake** (FAST '25; NVIDIA Dynamo `benchmarks/data_generator/README.md`,
 *   AIPerf `docs/benchmark_modes/trace_replay.md`): JSONL rows
 *   `{"timestamp": ms, "input_length", "output_length", "hash_ids": [...]}`,
 *   512-token blocks; each row is its own session unless rows carry a
 *   `session_id`, which chains them.
 * - **Bailian** (`alibaba-edu/qwen-bailian-usagetraces-anon`; AIPerf
 *   `docs/tutorials/bailian-trace.md`): JSONL rows with `chat_id`,
 *   `parent_chat_id` (-1 for a root), `turn`, `timestamp` in seconds,
 *   `input_length`, `output_length`, `type`, `hash_ids` of 16-token blocks;
 *   a row holds its history, and the rows reached from one root through
 *   `parent_chat_id` are one session.
 * - **WEKA / AgentX** (`callanjfox/kv-cache-tester`, SemiAnalysis AgentX;
 *   AIPerf `docs/tutorials/weka-trace.md` and its adapter models): one JSON
 *   object per conversation (a file holding one, or JSONL with one per line)
 *   with `block_size` (64), `hash_id_scope`, and `requests` of `type` `"n"` or
 *   `"s"` (`t` in seconds, `in`, `out`, `hash_ids`, `think_time`) and
 *   `"subagent"` markers holding nested `requests`. A subagent is a branch;
 *   the parent's next request waits for it unless its `status` is
 *   `"async_launched"`. Subagent `t` values are absolute (as SemiAnalysis
 *   publishes them) unless one of the file's subagents has a request before
 *   its marker, which marks the file as relative (raw kv-cache-tester).
 *   Conversations all start at the replay's start.
 *
 * Times are shifted so that the first request is at 0: the replay starts
 * with the trace's first request (Bailian timestamps count from the
 * capture's start).
 *
 * @module
 */
import { readTextOr } from "../../lib/io/read_text.ts";
import {
  DEFAULT_BLOCK_SIZES,
  type ReplayTrace,
  type TraceFormat,
  type TraceRequest,
  type TraceSession,
  type TraceStep,
} from "./trace.ts";

/** Options of {@linkcode parseTrace}. */
export interface ParseTraceOptions {
  /** The file's name, for messages. */
  name: string;
  /** The format (default: detected from the first row). */
  format?: TraceFormat | "auto";
  /** Tokens per block (default: the format's, or a WEKA file's `block_size`). */
  blockSize?: number;
}

type Json = Record<string, unknown>;

/** A malformed row; `where` names a place inside it (a WEKA request). */
class RowError extends Error {
  where?: string;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function count(row: Json, key: string, min: number): number {
  const v = row[key];
  if (!Number.isInteger(v) || (v as number) < min) {
    throw new RowError(
      v === undefined
        ? `has no "${key}"`
        : `"${key}" must be an integer >= ${min}, got ${JSON.stringify(v)}`,
    );
  }
  return v as number;
}

function time(row: Json, key: string): number {
  const v = row[key];
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new RowError(
      v === undefined
        ? `has no "${key}"`
        : `"${key}" must be a number >= 0, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

function optionalTime(row: Json, key: string): number {
  return row[key] === undefined || row[key] === null ? 0 : time(row, key);
}

function rawHashIds(row: Json): unknown[] | undefined {
  const ids = row.hash_ids;
  if (ids === undefined || ids === null) return undefined;
  if (
    !Array.isArray(ids) ||
    !ids.every((id) => Number.isInteger(id) || typeof id === "string")
  ) {
    throw new RowError('"hash_ids" must be an array of integers');
  }
  return ids;
}

/** Renumbers hash ids to dense ids; rows without ids get fresh ones. */
class BlockIds {
  #ids = new Map<string, number>();
  #next = 0;

  blocks(
    ids: unknown[] | undefined,
    inputLength: number,
    blockSize: number,
    scope: string,
  ): number[] {
    const needed = Math.ceil(inputLength / blockSize);
    if (ids === undefined) {
      return Array.from({ length: needed }, () => this.#next++);
    }
    if (ids.length !== needed) {
      throw new RowError(
        `has ${ids.length} hash_ids for ${inputLength} tokens: ${needed} blocks of ${blockSize} expected (is the block size ${blockSize}?)`,
      );
    }
    return ids.map((id) => {
      const key = `${scope}\u0000${id}`;
      let dense = this.#ids.get(key);
      if (dense === undefined) this.#ids.set(key, dense = this.#next++);
      return dense;
    });
  }
}

interface Line {
  number: number;
  row: Json;
}

function jsonLines(text: string, name: string): Line[] {
  const lines: Line[] = [];
  text.split("\n").forEach((raw, i) => {
    if (raw.trim() === "") return;
    let row: unknown;
    try {
      row = JSON.parse(raw);
    } catch {
      throw new SyntaxError(
        `Cannot load trace "${name}": line ${i + 1} is not JSON`,
      );
    }
    if (!isObject(row)) {
      throw new SyntaxError(
        `Cannot load trace "${name}": line ${i + 1} is not a JSON object`,
      );
    }
    lines.push({ number: i + 1, row });
  });
  if (lines.length === 0) {
    throw new SyntaxError(`Cannot load trace "${name}": it has no rows`);
  }
  return lines;
}

/**
 * The format of a trace from its first row (or whole-file JSON object).
 *
 * @example Usage
 * ```ts
 * import { detectFormat } from "./formats.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(detectFormat({ timestamp: 0, input_length: 10, output_length: 2 }), "mooncake");
 * assert.equal(detectFormat({ chat_id: 1, parent_chat_id: -1, timestamp: 0 }), "bailian");
 * assert.equal(detectFormat({ id: "t", block_size: 64, requests: [] }), "weka");
 * assert.equal(detectFormat({ prompt: "hi" }), undefined);
 * ```
 */
export function detectFormat(
  row: Record<string, unknown>,
): TraceFormat | undefined {
  if (Array.isArray(row.requests)) return "weka";
  if ("chat_id" in row) return "bailian";
  if ("input_length" in row && "timestamp" in row) return "mooncake";
  return undefined;
}

/**
 * Read a trace from its text. Throws a SyntaxError naming the file and line
 * of the first malformed row.
 *
 * @example A Mooncake trace: two rows sharing their first 512-token block
 * ```ts
 * import { parseTrace } from "./formats.ts";
 * import assert from "node:assert/strict";
 *
 * const trace = parseTrace(
 *   '{"timestamp": 0, "input_length": 655, "output_length": 52, "hash_ids": [46, 47]}\n' +
 *     '{"timestamp": 10535, "input_length": 672, "output_length": 26, "hash_ids": [46, 48]}\n',
 *   { name: "example.jsonl" },
 * );
 * assert.equal(trace.format, "mooncake");
 * assert.equal(trace.blockSize, 512);
 * assert.deepEqual(trace.requests.map((r) => r.blocks), [[0, 1], [0, 2]]);
 * assert.deepEqual(trace.sessions.map((s) => s.startMs), [0, 10535]);
 * assert.throws(
 *   () => parseTrace('{"timestamp": 0, "input_length": 5, "output_length": 1}\n{"timestamp": 1}', { name: "x.jsonl" }),
 *   { message: 'Cannot load trace "x.jsonl": line 2 has no "input_length"' },
 * );
 * ```
 */
export function parseTrace(
  text: string,
  options: ParseTraceOptions,
): ReplayTrace {
  const { name } = options;
  if (options.blockSize !== undefined) {
    if (!Number.isInteger(options.blockSize) || options.blockSize < 1) {
      throw new RangeError(
        `Cannot load trace "${name}": the block size must be an integer >= 1, got ${options.blockSize}`,
      );
    }
  }
  const trimmed = text.trimStart();
  let lines: Line[];
  // A WEKA file holds one pretty-printed JSON object.
  if (trimmed.startsWith("{") && !isOneLineEach(trimmed)) {
    let whole: unknown;
    try {
      whole = JSON.parse(trimmed);
    } catch {
      throw new SyntaxError(
        `Cannot load trace "${name}": it is neither JSON nor JSON lines`,
      );
    }
    if (!isObject(whole)) {
      throw new SyntaxError(
        `Cannot load trace "${name}": line 1 is not a JSON object`,
      );
    }
    lines = [{ number: 1, row: whole }];
  } else lines = jsonLines(text, name);
  const detected = detectFormat(lines[0].row);
  const format = options.format === undefined || options.format === "auto"
    ? detected
    : options.format;
  if (format === undefined) {
    throw new SyntaxError(
      `Cannot load trace "${name}": line ${
        lines[0].number
      } is not a Mooncake, Bailian or WEKA row (expected "timestamp" and "input_length", "chat_id", or "requests")`,
    );
  }
  const fileBlockSize =
    format === "weka" && lines[0].row.block_size !== undefined
      ? lines[0].row.block_size
      : DEFAULT_BLOCK_SIZES[format];
  const blockSize = options.blockSize ?? fileBlockSize;
  if (!Number.isInteger(blockSize) || (blockSize as number) < 1) {
    throw new SyntaxError(
      `Cannot load trace "${name}": line 1 "block_size" must be an integer >= 1, got ${
        JSON.stringify(blockSize)
      }`,
    );
  }
  const read = format === "mooncake"
    ? readMooncake
    : format === "bailian"
    ? readBailian
    : readWeka;
  const requests: TraceRequest[] = [];
  const sessions: TraceSession[] = [];
  const ctx: ReadContext = {
    blockSize: blockSize as number,
    ids: new BlockIds(),
    requests,
    sessions,
  };
  let current: Line | undefined;
  try {
    for (const line of lines) {
      current = line;
      read(line, ctx);
    }
  } catch (error) {
    if (!(error instanceof RowError)) throw error;
    const where = error.where ?? `line ${current!.number}`;
    throw new SyntaxError(
      `Cannot load trace "${name}": ${where} ${error.message}`,
    );
  }
  // The replay starts at the trace's first request.
  const first = requests.reduce((m, r) => Math.min(m, r.atMs), Infinity);
  if (first > 0 && format !== "weka") {
    for (const r of requests) r.atMs -= first;
    for (const s of sessions) s.startMs -= first;
  }
  sessions.sort((a, b) => a.startMs - b.startMs);
  return { name, format, blockSize: blockSize as number, requests, sessions };
}

function isOneLineEach(text: string): boolean {
  const first = text.split("\n", 1)[0];
  try {
    JSON.parse(first);
    return true;
  } catch {
    return false;
  }
}

interface ReadContext {
  blockSize: number;
  ids: BlockIds;
  requests: TraceRequest[];
  sessions: TraceSession[];
  state?: unknown;
}

function addRequest(
  ctx: ReadContext,
  row: Json,
  fields: {
    where: string;
    atMs: number;
    thinkMs?: number;
    inputKey: string;
    outputKey: string;
    scope: string;
  },
): number {
  const inputLength = count(row, fields.inputKey, 1);
  const outputLength = count(row, fields.outputKey, 1);
  const blocks = ctx.ids.blocks(
    rawHashIds(row),
    inputLength,
    ctx.blockSize,
    fields.scope,
  );
  const index = ctx.requests.length;
  ctx.requests.push({
    index,
    where: fields.where,
    atMs: fields.atMs,
    thinkMs: fields.thinkMs ?? 0,
    inputLength,
    outputLength,
    blocks,
  });
  return index;
}

function readMooncake(line: Line, ctx: ReadContext): void {
  const { row } = line;
  const atMs = time(row, "timestamp");
  const index = addRequest(ctx, row, {
    where: `line ${line.number}`,
    atMs,
    inputKey: "input_length",
    outputKey: "output_length",
    scope: "",
  });
  const step: TraceStep = { kind: "request", request: index };
  const sessionId = row.session_id;
  if (sessionId === undefined || sessionId === null) {
    ctx.sessions.push({
      name: `line ${line.number}`,
      startMs: atMs,
      steps: [step],
    });
    return;
  }
  const byId = (ctx.state ??= new Map<string, TraceSession>()) as Map<
    string,
    TraceSession
  >;
  const key = String(sessionId);
  const session = byId.get(key);
  if (session === undefined) {
    const created = { name: key, startMs: atMs, steps: [step] };
    byId.set(key, created);
    ctx.sessions.push(created);
  } else {
    session.steps.push(step);
    sortSteps(session, ctx);
  }
}

function sortSteps(session: TraceSession, ctx: ReadContext): void {
  const steps = session.steps as { kind: "request"; request: number }[];
  const last = steps.at(-1)!;
  const prev = steps.at(-2);
  if (
    prev && ctx.requests[prev.request].atMs > ctx.requests[last.request].atMs
  ) {
    steps.sort((a, b) =>
      ctx.requests[a.request].atMs - ctx.requests[b.request].atMs
    );
  }
  session.startMs = ctx.requests[steps[0].request].atMs;
}

interface BailianState {
  /** chat id → the session holding it. */
  sessionOf: Map<string, TraceSession>;
  /** request index → turn. */
  turns: Map<number, number>;
}

function readBailian(line: Line, ctx: ReadContext): void {
  const { row } = line;
  const state = (ctx.state ??= {
    sessionOf: new Map(),
    turns: new Map(),
  }) as BailianState;
  const chatId = row.chat_id;
  if (typeof chatId !== "number" && typeof chatId !== "string") {
    throw new RowError('"chat_id" must be a number or a string');
  }
  const parent = row.parent_chat_id ?? -1;
  if (typeof parent !== "number" && typeof parent !== "string") {
    throw new RowError('"parent_chat_id" must be a number or a string');
  }
  const turn = row.turn === undefined ? 1 : count(row, "turn", 1);
  const atMs = time(row, "timestamp") * 1000;
  const index = addRequest(ctx, row, {
    where: `line ${line.number}`,
    atMs,
    inputKey: "input_length",
    outputKey: "output_length",
    scope: "",
  });
  state.turns.set(index, turn);
  const step: TraceStep = { kind: "request", request: index };
  // A parent missing from the file (a cut trace) starts a session of its own.
  const session = String(parent) === "-1"
    ? undefined
    : state.sessionOf.get(String(parent));
  if (session === undefined) {
    const created = { name: `chat ${chatId}`, startMs: atMs, steps: [step] };
    ctx.sessions.push(created);
    state.sessionOf.set(String(chatId), created);
    return;
  }
  state.sessionOf.set(String(chatId), session);
  session.steps.push(step);
  const steps = session.steps as { kind: "request"; request: number }[];
  steps.sort((a, b) =>
    ctx.requests[a.request].atMs - ctx.requests[b.request].atMs ||
    state.turns.get(a.request)! - state.turns.get(b.request)!
  );
  session.startMs = ctx.requests[steps[0].request].atMs;
}

function readWeka(line: Line, ctx: ReadContext): void {
  const { row } = line;
  if (!Array.isArray(row.requests)) {
    throw new RowError('has no "requests" array');
  }
  const scope = row.hash_id_scope === "global" ? "" : `weka ${line.number}`;
  const relative = hasRelativeSubagents(row.requests);
  const steps = readWekaRequests(row.requests, ctx, {
    where: `line ${line.number}: requests`,
    scope,
    offsetMs: 0,
    relative,
  });
  const first = firstRequest(steps);
  if (first === undefined) throw new RowError("has no requests");
  ctx.sessions.push({
    name: typeof row.id === "string" ? row.id : `line ${line.number}`,
    startMs: ctx.requests[first].atMs,
    steps,
  });
}

function firstRequest(steps: readonly TraceStep[]): number | undefined {
  for (const step of steps) {
    if (step.kind === "request") return step.request;
    const inner = firstRequest(step.steps);
    if (inner !== undefined) return inner;
  }
  return undefined;
}

function hasRelativeSubagents(requests: unknown[]): boolean {
  for (const r of requests) {
    if (!isObject(r) || r.type !== "subagent" || !Array.isArray(r.requests)) {
      continue;
    }
    const t = typeof r.t === "number" ? r.t : 0;
    for (const inner of r.requests) {
      if (isObject(inner) && typeof inner.t === "number" && inner.t < t) {
        return true;
      }
    }
    if (hasRelativeSubagents(r.requests)) return true;
  }
  return false;
}

function readWekaRequests(
  requests: unknown[],
  ctx: ReadContext,
  at: { where: string; scope: string; offsetMs: number; relative: boolean },
): TraceStep[] {
  const steps: TraceStep[] = [];
  requests.forEach((r, i) => {
    const where = `${at.where}[${i}]`;
    try {
      if (!isObject(r)) throw new RowError("is not a JSON object");
      const atMs = at.offsetMs + time(r, "t") * 1000;
      if (r.type === "subagent") {
        if (!Array.isArray(r.requests)) {
          throw new RowError('is a subagent without a "requests" array');
        }
        steps.push({
          kind: "branch",
          join: r.status !== "async_launched",
          steps: readWekaRequests(r.requests, ctx, {
            ...at,
            where: `${where}.requests`,
            offsetMs: at.relative ? atMs : at.offsetMs,
          }),
        });
        return;
      }
      if (r.type !== "n" && r.type !== "s") {
        throw new RowError(
          `"type" must be "n", "s" or "subagent", got ${
            JSON.stringify(r.type)
          }`,
        );
      }
      const index = addRequest(ctx, r, {
        where,
        atMs,
        thinkMs: optionalTime(r, "think_time") * 1000,
        inputKey: "in",
        outputKey: "out",
        scope: at.scope,
      });
      steps.push({ kind: "request", request: index });
    } catch (error) {
      if (error instanceof RowError && error.where === undefined) {
        error.where = where;
      }
      throw error;
    }
  });
  return steps;
}

/**
 * Read a trace file, or a folder of WEKA conversation files (`*.json`, in
 * name order, one conversation each). Unreadable files and malformed rows
 * are one-line errors naming the file.
 *
 * @example Usage
 * ```ts
 * import { loadTrace } from "./formats.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * await Deno.writeTextFile(path, '{"timestamp": 0, "input_length": 10, "output_length": 2}\n');
 * const trace = await loadTrace(path);
 * assert.equal(trace.requests.length, 1);
 * await Deno.remove(path);
 * await assert.rejects(loadTrace("missing.jsonl"), {
 *   message: 'Cannot load trace "missing.jsonl": no such file',
 * });
 * ```
 */
export async function loadTrace(
  path: string,
  options: Omit<ParseTraceOptions, "name"> = {},
): Promise<ReplayTrace> {
  const what = `Cannot load trace "${path}"`;
  let stat: Deno.FileInfo | undefined;
  try {
    stat = await Deno.stat(path);
  } catch {
    stat = undefined;
  }
  if (stat?.isDirectory) {
    const names: string[] = [];
    for await (const entry of Deno.readDir(path)) {
      if (entry.isFile && entry.name.endsWith(".json")) names.push(entry.name);
    }
    if (names.length === 0) {
      throw new SyntaxError(`${what}: the folder has no .json files`);
    }
    names.sort();
    // One conversation per line, as a WEKA JSONL file.
    const lines = await Promise.all(names.map(async (name) => {
      const text = await readTextOr(`${path}/${name}`, what);
      try {
        return JSON.stringify(JSON.parse(text));
      } catch {
        throw new SyntaxError(`${what}: ${name} is not JSON`);
      }
    }));
    try {
      return parseTrace(lines.join("\n"), { ...options, name: path });
    } catch (error) {
      // Line k of the joined conversations is the k-th file.
      if (!(error instanceof SyntaxError)) throw error;
      throw new SyntaxError(
        error.message.replace(
          /^(Cannot load trace "[^"]*": )line (\d+)/,
          (_, head, k) => `${head}${names[Number(k) - 1]}`,
        ),
      );
    }
  }
  return parseTrace(await readTextOr(path, what), { ...options, name: path });
}
