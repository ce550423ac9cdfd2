/**
 * Session shapes: what one conversation sends. A session is a function of
 * its context (see `Session` in `lib/types.ts`); these build the common ones.
 *
 * @module
 */
import type {
  ChatMessage,
  RequestRecord,
  RequestSpec,
  Session,
  SessionContext,
} from "../lib/types.ts";

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

/**
 * A session of exactly one request; it fails when the request fails.
 *
 * @example Usage
 * ```ts
 * import { singleRequest } from "./sessions.ts";
 * const session = singleRequest({ prompt: "Hello", maxTokens: 16 });
 * ```
 */
export function singleRequest(
  spec: RequestSpec,
  options: { onRecord?: (record: RequestRecord) => void } = {},
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
 * // An agent: prompt, two tool calls with 0.5 s latency, then the final answer.
 * const session = multiTurn({
 *   prompt: "You are a coding agent. Fix the failing test.",
 *   turns: [
 *     { maxTokens: 64, waitMs: 500, append: "\n<tool>ran tests: 1 failed</tool>\n" },
 *     { maxTokens: 64, waitMs: 500, append: "\n<tool>patched</tool>\n" },
 *     { maxTokens: 256 },
 *   ],
 *   request: { ignoreEos: true },
 * });
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
 * const system = "You are a helpful assistant. ".repeat(100);
 * const prompt = sharedPrefix(system, "User 7's document: ...");
 * ```
 */
export function sharedPrefix(shared: string, own: TextSource): TextSource {
  return typeof own === "string" ? shared + own : () => shared + own();
}
