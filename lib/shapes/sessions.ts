/**
 * Session shapes: what one conversation sends. A session is a function of
 * its context (see `Session` in `engine/types.ts`); these build the common ones.
 *
 * @module
 */
import type {
  ChatMessage,
  RequestRecord,
  RequestSpec,
  Session,
  SessionContext,
} from "../types.ts";

/** Text now, or text made when it is needed (e.g. synthesized after a tool's latency). */
export type TextSource = string | (() => string);

function textOf(source: TextSource): string {
  return typeof source === "string" ? source : source();
}

/** Request fields a session shape passes through unchanged. */
export type RequestOptions = Omit<
  RequestSpec,
  "prompt" | "maxTokens" | "keepText"
>;

/** Options of {@linkcode singleRequest}. */
export interface SingleRequestOptions {
  /** Called with the request's record. */
  onRecord?: (record: RequestRecord) => void;
}

/**
 * A session of exactly one request; it fails when the request fails.
 *
 * @example Usage
 * ```ts
 * import { singleRequest } from "./sessions.ts";
 * import { run } from "../run/runner.ts";
 * import { startSimulator } from "../sim/server.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * const session = singleRequest({ prompt: "Hello", maxTokens: 16, ignoreEos: true }, {
 *   onRecord: (record) => assert.equal(record.completionTokens, 16),
 * });
 * const summary = await run([session], { endpoint: { baseUrl: sim.url, model: sim.model } });
 * assert.deepEqual(summary.requests, { sent: 1, ok: 1, failed: 0, aborted: 0 });
 * assert.equal(summary.sessions.completed, 1);
 * ```
 */
export function singleRequest(
  spec: RequestSpec,
  options: SingleRequestOptions = {},
): Session {
  return async (ctx) => {
    const record = await ctx.send(spec);
    options.onRecord?.(record);
    return record.ok;
  };
}

/** One turn of a {@linkcode multiTurn} session. */
export interface TurnSpec {
  /** `max_tokens` of this turn's request. */
  maxTokens: number;
  /** Wait after the answer, before `append` (tool latency, user think time). */
  waitMs?: number;
  /** Text added to the history after the answer and the wait (a tool result, the next question). */
  append?: TextSource;
  /** Extra request fields of this turn. */
  request?: RequestOptions;
}

/** Options of {@linkcode multiTurn}. */
export interface MultiTurnOptions {
  /** The opening prompt (a system prompt, a document, a synthesized context). */
  prompt: TextSource;
  /** The turns, in order; each request carries the whole history so far. */
  turns: readonly TurnSpec[];
  /**
   * `completions` (default): the history is one growing text, answers
   * appended verbatim. `chat`: a growing list of messages (the prompt and each
   * `append` as `user`, each answer as `assistant`).
   */
  api?: "completions" | "chat";
  /** Request fields of every turn (ignoreEos, stream, extraBody, headers, tags). */
  request?: RequestOptions;
  /** Called when the session starts, before the prompt is built. */
  onStart?: (ctx: SessionContext) => void;
  /** Called with each turn's record, before the wait. */
  onRecord?: (record: RequestRecord, turn: number, ctx: SessionContext) => void;
}

/**
 * A multi-turn conversation with a growing history: each turn sends the
 * history, appends the server's actual answer, waits, then appends the next
 * input. The session fails at the first failed request.
 *
 * @example Usage
 * ```ts
 * import { multiTurn } from "./sessions.ts";
 * import { run } from "../run/runner.ts";
 * import { startSimulator } from "../sim/server.ts";
 * import type { RequestRecord } from "../types.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * const records: RequestRecord[] = [];
 * // An agent: prompt, two tool calls with 50 ms latency, then the final answer.
 * const session = multiTurn({
 *   prompt: "You are a coding agent. Fix the failing test.",
 *   turns: [
 *     { maxTokens: 64, waitMs: 50, append: "\n<tool>ran tests: 1 failed</tool>\n" },
 *     { maxTokens: 64, waitMs: 50, append: "\n<tool>patched</tool>\n" },
 *     { maxTokens: 256 },
 *   ],
 *   request: { ignoreEos: true },
 *   onRecord: (record) => records.push(record),
 * });
 * await run([session], { endpoint: { baseUrl: sim.url, model: sim.model } });
 * assert.deepEqual(records.map((r) => r.completionTokens), [64, 64, 256]);
 * // Each turn resends the whole history: the previous prompt, its answer, the tool result.
 * assert.ok(records[1].promptTokens! > records[0].promptTokens! + 64);
 * assert.ok(records[2].promptTokens! > records[1].promptTokens! + 64);
 * ```
 */
export function multiTurn(options: MultiTurnOptions): Session {
  const chat = options.api === "chat";
  return async (ctx) => {
    options.onStart?.(ctx);
    let text = "";
    const messages: ChatMessage[] = [];
    const first = textOf(options.prompt);
    if (chat) messages.push({ role: "user", content: first });
    else text = first;
    for (let i = 0; i < options.turns.length; i++) {
      const turn = options.turns[i];
      const record = await ctx.send({
        ...options.request,
        ...turn.request,
        api: chat ? "chat" : options.request?.api,
        prompt: chat ? [...messages] : text,
        maxTokens: turn.maxTokens,
        keepText: true,
      });
      options.onRecord?.(record, i, ctx);
      if (!record.ok) return false;
      if (chat) {
        messages.push({ role: "assistant", content: record.outputText ?? "" });
      } else text += record.outputText ?? "";
      if (turn.waitMs) await ctx.sleep(turn.waitMs);
      if (turn.append !== undefined) {
        const next = textOf(turn.append);
        if (chat) messages.push({ role: "user", content: next });
        else text += next;
      }
    }
    return true;
  };
}

/**
 * A shared-prefix prompt: `shared` (a system prompt or tool definitions,
 * identical for every session, so the server can cache it once) followed by
 * `own` (this session's context).
 *
 * @example Usage
 * ```ts
 * import { sharedPrefix } from "./sessions.ts";
 * import assert from "node:assert/strict";
 *
 * const system = "You are a helpful assistant. ".repeat(100);
 * const prompt = sharedPrefix(system, "User 7's document: ...");
 * assert.equal(prompt, system + "User 7's document: ...");
 * // A function stays a function, called when the prompt is needed.
 * const later = sharedPrefix(system, () => "User 8's document: ...");
 * assert.equal(typeof later === "function" && later(), system + "User 8's document: ...");
 * ```
 */
export function sharedPrefix(shared: string, own: TextSource): TextSource {
  return typeof own === "string" ? shared + own : () => shared + own();
}

/**
 * How {@linkcode interceptSends} sends a request of session `id`: `send` is
 * the session's own.
 */
export type SendInterceptor = (
  spec: RequestSpec,
  send: (spec: RequestSpec) => Promise<RequestRecord>,
  id: number,
) => Promise<RequestRecord>;

/**
 * The same sessions, each request going through `intercept` (to change it
 * before it is sent, or to see its record); everything else of the context
 * is the session's own.
 *
 * @example Every request's max_tokens doubled, every record seen
 * ```ts
 * import { interceptSends, singleRequest } from "./sessions.ts";
 * import { testRecord } from "../testing/records.ts";
 * import type { RequestSpec, SessionContext } from "../types.ts";
 * import assert from "node:assert/strict";
 *
 * const sent: RequestSpec[] = [];
 * const seen: number[] = [];
 * const [session] = interceptSends([singleRequest({ prompt: "p", maxTokens: 1 })], async (spec, send, id) => {
 *   const record = await send({ ...spec, maxTokens: spec.maxTokens * 2 });
 *   seen.push(id);
 *   return record;
 * });
 * const ctx = {
 *   id: 7, signal: new AbortController().signal, now: () => 0, startedAt: 0,
 *   sleep: async () => {}, send: async (spec: RequestSpec) => (sent.push(spec), testRecord()),
 * } as SessionContext;
 * await session(ctx);
 * assert.equal(sent[0].maxTokens, 2);
 * assert.deepEqual(seen, [7]);
 * ```
 */
export function* interceptSends(
  workload: Iterable<Session>,
  intercept: SendInterceptor,
): Generator<Session> {
  for (const session of workload) {
    yield (ctx: SessionContext) =>
      session({
        get id() {
          return ctx.id;
        },
        get signal() {
          return ctx.signal;
        },
        get startedAt() {
          return ctx.startedAt;
        },
        now: () => ctx.now(),
        sleep: (ms) => ctx.sleep(ms),
        send: (spec) => intercept(spec, (s) => ctx.send(s), ctx.id),
      });
  }
}
