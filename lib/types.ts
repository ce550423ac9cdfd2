/**
 * The core types every part of kvbench shares: what a request asks for, what
 * came back, and how sessions and workloads are shaped.
 *
 * @module
 */

/** One chat message, for `api: "chat"` requests. */
export interface ChatMessage {
  /** `system`, `user`, `assistant` or `tool`. */
  role: string;
  /** The message text. */
  content: string;
}

/** What one request asks for. */
export interface RequestSpec {
  /** Text, token ids, or chat messages (the last needs `api: "chat"`). */
  prompt: string | number[] | ChatMessage[];
  /** `max_tokens` of the request. */
  maxTokens: number;
  /** Send `ignore_eos: true` so the server generates exactly `maxTokens`. */
  ignoreEos?: boolean;
  /** `/v1/completions` (default) or `/v1/chat/completions`. */
  api?: "completions" | "chat";
  /** Stream the response (default true); TTFT needs it. */
  stream?: boolean;
  /** Keep the generated text on the record (multi-turn sessions need it). */
  keepText?: boolean;
  /** Extra fields merged into the JSON body, passed through to the server. */
  extraBody?: Record<string, unknown>;
  /** Extra HTTP headers (e.g. a routing key for session affinity). */
  headers?: Record<string, string>;
  /** Copied onto the record (context id, turn, …). */
  tags?: Record<string, string | number>;
  /**
   * The prompt length the workload meant, in tokens, when it knows one:
   * copied onto the record so the server's `prompt_tokens` can be checked
   * against it (a tokenizer that counts differently mis-sizes a workload).
   */
  expectedPromptTokens?: number;
  /** A warm-up request: recorded, but left out of every figure. */
  warmup?: boolean;
  /**
   * When the workload means this request to go out, in ms after the run's
   * start (a trace's timestamp): the record's `scheduledAt` is then exactly
   * that time, whatever the session waited for before.
   */
  dueMs?: number;
}

/** Why a request failed. */
export type RequestErrorKind =
  | "connect" // could not open a connection
  | "timeout" // connect or total timeout
  | "http" // a non-2xx status
  | "stream_cut" // the body ended or broke before the response was complete
  | "malformed" // an SSE event or JSON body that could not be read
  | "server_error" // an error object inside a 2xx stream
  | "no_tokens" // a complete response without any generated text
  | "invalid_request" // the request could not be built (e.g. token ids for chat)
  | "aborted"; // cancelled by the run (deadline, signal)

/** What came back: everything later metrics need, nothing they don't. */
export interface RequestRecord {
  /** Session (trace, user, …) index, in admission order from 0. */
  session: number;
  /** Request index within the session, from 0. */
  turn: number;
  /** When the load policy wanted the request to start (ms, `performance.now()`). */
  scheduledAt: number;
  /** When the (last) attempt was handed to the transport. */
  sentAt: number;
  /**
   * When the first generated token of any kind arrived, reasoning included
   * (streaming only): TTFT as vLLM defines it.
   */
  firstTokenAt?: number;
  /** When the first answer token (`content`, not reasoning) arrived (streaming only). */
  firstAnswerAt?: number;
  /** When the response was complete (or the failure was seen). */
  endAt: number;
  /** SSE events that carried generated text, reasoning included. */
  chunks: number;
  /** Of {@linkcode RequestRecord.chunks}, the events that carried reasoning (`reasoning_content` or `reasoning`); absent means 0. */
  reasoningChunks?: number;
  /**
   * Per-token timing, compactly: for every network read after the first that
   * carried generated text, its time since the first token in tenths of a
   * millisecond, minus the previous read's (both rounded, so the gaps add up
   * to the last read's time exactly).
   */
  readGaps?: number[];
  /**
   * Generated-text events in each read that carried some, the first read
   * included; absent when every such read carried exactly one.
   */
  readEvents?: number[];
  /** Characters (Unicode code points) of the prompt; for chat, of all contents. */
  promptChars: number;
  /** Characters (Unicode code points) of the generated text. */
  outputChars: number;
  /** The generated text, when the spec asked for it (`keepText`). */
  outputText?: string;
  /** `usage.prompt_tokens`. */
  promptTokens?: number;
  /** `usage.completion_tokens`. */
  completionTokens?: number;
  /** `usage.prompt_tokens_details.cached_tokens`. */
  cachedTokens?: number;
  /** `finish_reason` of the first choice, when the server sent one. */
  finishReason?: string;
  /** `max_tokens` that was asked for. */
  maxTokens: number;
  /** The prompt length the workload meant, when it said (`RequestSpec.expectedPromptTokens`). */
  expectedPromptTokens?: number;
  /** True when the response was complete. */
  ok: boolean;
  /** HTTP status, when a response head arrived. */
  status?: number;
  /** Retried attempts before this one (0 unless retries were opted in). */
  retries: number;
  /**
   * Sends repeated on a fresh connection because the kept-alive one was
   * found closed before any response byte (the server never read the
   * request); `sentAt` is the last send. Absent means 0.
   */
  resent?: number;
  /** Why it failed. */
  error?: { kind: RequestErrorKind; message: string };
  /** Copied from the spec. */
  tags?: Record<string, string | number>;
  /** A warm-up request (from the spec): left out of every figure. */
  warmup?: boolean;
  /** When the request's session started (ms, `performance.now()`), set by the runner. */
  sessionStartedAt?: number;
  /** When the run started (ms, `performance.now()`), set by the runner. */
  runStartedAt?: number;
  /**
   * In a records file: the Unix time (ms) of this record's clock zero (the
   * writing process's `performance.timeOrigin`); add it to any time of the
   * record for wall-clock time.
   */
  timeOrigin?: number;
}

/** What a session can do. */
export interface SessionContext {
  /** Session index, in admission order from 0. */
  readonly id: number;
  /** Aborted when the run stops (deadline, signal, request limit). */
  readonly signal: AbortSignal;
  /** Send one request; resolves to its record (never rejects). */
  send(spec: RequestSpec): Promise<RequestRecord>;
  /** Wait (tool latency, think time); rejects with the abort reason if the run stops. */
  sleep(ms: number): Promise<void>;
  /** Milliseconds since the run started. */
  now(): number;
  /** When this session started (ms, `performance.now()`). */
  readonly startedAt: number;
}

/**
 * A session is a conversation: it decides its next request from the last
 * record. Resolving `false` marks it failed; throwing does too.
 */
export type Session = (ctx: SessionContext) => Promise<boolean | void>;

/** A workload is a (possibly endless) stream of sessions. */
export type Workload = Iterable<Session> | AsyncIterable<Session>;
