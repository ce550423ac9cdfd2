/**
 * One request to an OpenAI-compatible server, streamed and timed: the
 * measuring instrument of kvbench. A request never throws; whatever happens
 * becomes a {@linkcode RequestRecord}.
 *
 * @module
 */
import { codePoints } from "../text/code_points.ts";
import { networkErrorText } from "../transport/network_error.ts";
import { ChunkScan } from "./chunk_scan.ts";
import { MAX_TIMER_MS } from "../timer.ts";
import { SseParser } from "./sse.ts";
import { defaultTransport } from "../transport/http1.ts";
import type {
  HttpRequest,
  ResponseSink,
  Transport,
} from "../transport/transport.ts";
import type {
  ChatMessage,
  RequestErrorKind,
  RequestRecord,
  RequestSpec,
} from "../types.ts";

/** Where and how requests are sent. */
export interface EndpointConfig {
  /** Base URL ending in `/v1/` (see `normalizeEndpoint`). */
  baseUrl: string;
  /** `model` of every request body. */
  model: string;
  /** Sent as `Authorization: Bearer <key>` when set. */
  apiKey?: string;
  /** How bytes travel (default: {@linkcode defaultTransport}: the fast HTTP/1.1 transport, or `fetch` where a proxy applies). */
  transport?: Transport;
  /** Total time allowed for one attempt, head to last byte (default 600 000 ms, as the OpenAI SDK). */
  timeoutMs?: number;
  /**
   * Time allowed to open a connection (default 10 000 ms). The `fetch`
   * transport has no separate connect phase and does not apply it.
   */
  connectTimeoutMs?: number;
  /** Time allowed from the send to the first generated token (default: none). */
  firstTokenTimeoutMs?: number;
  /** Time allowed without any byte of the response, once sent (default: none). */
  idleTimeoutMs?: number;
  /**
   * Retries of a failed attempt (default 0: a retried request is a distorted
   * measurement). Only failures before any response byte are retried:
   * connection errors, timeouts, HTTP 408/409/429/5xx; backoff 0.5 s doubling
   * to 8 s with jitter, or the server's `Retry-After` up to 60 s.
   */
  maxRetries?: number;
  /**
   * Fields merged into every request body, before the request's own
   * `extraBody` (`temperature`, `chat_template_kwargs`, `min_tokens`, …). A
   * `stream_options` object is merged with, never replaces,
   * `include_usage: true`.
   */
  extraBody?: Record<string, unknown>;
  /** Headers of every request, before the request's own. */
  headers?: Record<string, string>;
  /**
   * Keep per-token timing on every record (`readGaps`, `readEvents`;
   * default true). Off, records are smaller, and ITL distributions and the
   * decode-window check are not available.
   */
  tokenTiming?: boolean;
}

/** Where a request sits in the run. */
export interface RequestContext {
  /** Session index. */
  session?: number;
  /** Request index within the session. */
  turn?: number;
  /** When the load policy wanted it sent (default: now). */
  scheduledAt?: number;
  /** Aborts the request; the record then has error kind `aborted`. */
  signal?: AbortSignal;
}

const DEFAULT_TRANSPORT = defaultTransport();
const DECODER = new TextDecoder();

/** Parsed request URLs by base URL and path: parsing one per request shows in profiles. */
const URLS = new Map<string, URL>();

function endpointUrl(baseUrl: string, path: string): URL {
  const key = baseUrl + path;
  let url = URLS.get(key);
  if (url === undefined) {
    url = new URL(path, baseUrl);
    if (URLS.size >= 64) URLS.clear();
    URLS.set(key, url);
  }
  return url;
}

/**
 * Send one request and resolve to its record (never rejects).
 *
 * @example Usage
 * ```ts
 * import { sendRequest } from "./request.ts";
 * import { startScriptedServer } from "../testing/scripted_server.ts";
 * import assert from "node:assert/strict";
 *
 * const server = startScriptedServer({
 *   script: () => ({ tokens: ["Hi", " there"], usage: { prompt_tokens: 3, completion_tokens: 2 } }),
 * });
 * try {
 *   const record = await sendRequest(
 *     { baseUrl: `${server.origin}/v1/`, model: "test-model" },
 *     { prompt: "Hello", maxTokens: 16, keepText: true },
 *   );
 *   assert.equal(record.ok, true);
 *   assert.equal(record.chunks, 2);
 *   assert.equal(record.outputText, "Hi there");
 *   assert.equal(record.completionTokens, 2);
 *   assert.ok(record.firstTokenAt! >= record.sentAt); // TTFT = firstTokenAt − sentAt
 * } finally {
 *   await server.close();
 * }
 * ```
 */
export async function sendRequest(
  endpoint: EndpointConfig,
  spec: RequestSpec,
  context: RequestContext = {},
): Promise<RequestRecord> {
  const scheduledAt = context.scheduledAt ?? performance.now();
  const chat = spec.api === "chat";
  const stream = spec.stream ?? true;
  const base = {
    session: context.session ?? 0,
    turn: context.turn ?? 0,
    maxTokens: spec.maxTokens,
    promptChars: 0,
  };
  let request: HttpRequest;
  try {
    request = {
      method: "POST" as const,
      url: endpointUrl(
        endpoint.baseUrl,
        chat ? "chat/completions" : "completions",
      ),
      headers: requestHeaders(endpoint, spec),
      body: JSON.stringify(requestBody(endpoint, spec, chat, stream)),
    };
    base.promptChars = countPromptChars(spec.prompt);
  } catch (error) {
    const at = performance.now();
    return withSpec({
      ...base,
      scheduledAt,
      sentAt: at,
      endAt: at,
      chunks: 0,
      outputChars: 0,
      ok: false,
      retries: 0,
      error: {
        kind: "invalid_request",
        message: error instanceof Error ? error.message : String(error),
      },
    }, spec);
  }
  const maxRetries = endpoint.maxRetries ?? 0;
  let retries = 0;
  while (true) {
    const attempt = new Attempt(
      stream,
      chat,
      spec.keepText ?? false,
      endpoint.tokenTiming ?? true,
    );
    attempt.sentAt = performance.now();
    const outcome = await attempt.run(endpoint, request, context.signal);
    const record: RequestRecord = {
      ...base,
      scheduledAt,
      sentAt: attempt.sentAt,
      firstTokenAt: attempt.firstTokenAt,
      firstAnswerAt: attempt.firstAnswerAt,
      endAt: attempt.endAt,
      chunks: attempt.chunks,
      outputChars: attempt.outputChars,
      promptTokens: attempt.usage?.prompt_tokens,
      completionTokens: attempt.usage?.completion_tokens,
      cachedTokens: attempt.usage?.prompt_tokens_details?.cached_tokens ??
        undefined,
      finishReason: attempt.finishReason,
      ok: outcome === undefined,
      status: attempt.status,
      retries,
    };
    attempt.timing(record);
    if (spec.keepText) record.outputText = attempt.text;
    withSpec(record, spec);
    if (outcome === undefined) return record;
    record.error = outcome;
    if (
      retries >= maxRetries || !attempt.retryable || context.signal?.aborted
    ) return record;
    retries++;
    const waited = await backoff(retries, attempt.retryAfterMs, context.signal);
    if (!waited) return record;
  }
}

/** Copy what the spec says about itself onto its record. */
function withSpec(record: RequestRecord, spec: RequestSpec): RequestRecord {
  if (spec.tags) record.tags = spec.tags;
  if (spec.expectedPromptTokens !== undefined) {
    record.expectedPromptTokens = spec.expectedPromptTokens;
  }
  if (spec.warmup) record.warmup = true;
  return record;
}

function requestHeaders(
  endpoint: EndpointConfig,
  spec: RequestSpec,
): Record<string, string> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "text/event-stream, application/json",
  };
  if (endpoint.apiKey) headers.authorization = `Bearer ${endpoint.apiKey}`;
  if (endpoint.headers) Object.assign(headers, endpoint.headers);
  if (spec.headers) Object.assign(headers, spec.headers);
  return headers;
}

function requestBody(
  endpoint: EndpointConfig,
  spec: RequestSpec,
  chat: boolean,
  stream: boolean,
): Record<string, unknown> {
  const body: Record<string, unknown> = { model: endpoint.model };
  const prompt = spec.prompt;
  const tokenIds = Array.isArray(prompt) && typeof prompt[0] === "number";
  const messages = Array.isArray(prompt) && typeof prompt[0] === "object";
  if (chat) {
    if (tokenIds) {
      throw new TypeError(
        "Cannot send token ids to /v1/chat/completions: chat takes text messages",
      );
    }
    body.messages = typeof prompt === "string"
      ? [{ role: "user", content: prompt }]
      : prompt;
  } else {
    if (messages) {
      throw new TypeError(
        'Cannot send chat messages to /v1/completions: set api to "chat"',
      );
    }
    body.prompt = prompt;
  }
  body.max_tokens = spec.maxTokens;
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  if (spec.ignoreEos) body.ignore_eos = true;
  mergeExtra(body, endpoint.extraBody, stream);
  mergeExtra(body, spec.extraBody, stream);
  return body;
}

function mergeExtra(
  body: Record<string, unknown>,
  extra: Record<string, unknown> | undefined,
  stream: boolean,
): void {
  if (extra === undefined) return;
  for (const [key, value] of Object.entries(extra)) {
    if (
      key === "stream_options" && stream && value !== null &&
      typeof value === "object" && !Array.isArray(value)
    ) {
      // The figures need usage: merged, never replaced.
      body.stream_options = { ...value, include_usage: true };
    } else if (key !== "stream" && (key !== "stream_options" || !stream)) {
      // `stream` is kvbench's to decide (`RequestSpec.stream`): the response is read accordingly.
      body[key] = value;
    }
  }
}

function countPromptChars(prompt: RequestSpec["prompt"]): number {
  if (typeof prompt === "string") return codePoints(prompt);
  if (prompt.length > 0 && typeof prompt[0] === "number") return 0;
  let n = 0;
  for (const m of prompt as ChatMessage[]) n += codePoints(m.content);
  return n;
}

interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number | null } | null;
}

interface Delta {
  content?: string | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
}

interface Choice {
  text?: string | null;
  delta?: Delta;
  message?: Delta;
  finish_reason?: string | null;
}

type Failure = { kind: RequestErrorKind; message: string };

/**
 * The attempts with a first-token or idle timeout, checked by one shared
 * ticker: no timer per request, and nothing per chunk but a field write.
 */
const WATCHED = new Set<Attempt>();
let watchTimer: ReturnType<typeof setInterval> | undefined;
let watchPeriod = Infinity;

function watch(attempt: Attempt, periodMs: number): void {
  WATCHED.add(attempt);
  if (watchTimer !== undefined && watchPeriod <= periodMs) return;
  clearInterval(watchTimer);
  watchPeriod = periodMs;
  watchTimer = setInterval(() => {
    const now = performance.now();
    for (const a of WATCHED) a.check(now);
  }, periodMs);
}

function unwatch(attempt: Attempt): void {
  if (!WATCHED.delete(attempt) || WATCHED.size > 0) return;
  clearInterval(watchTimer);
  watchTimer = undefined;
  watchPeriod = Infinity;
}

/** The state of one attempt, filled in by the sink callbacks. */
class Attempt implements ResponseSink {
  status?: number;
  sentAt = 0;
  firstTokenAt?: number;
  firstAnswerAt?: number;
  endAt = 0;
  chunks = 0;
  reasoningChunks = 0;
  resends = 0;
  outputChars = 0;
  text = "";
  usage?: Usage;
  finishReason?: string;
  retryable = false;
  retryAfterMs?: number;
  #stream: boolean;
  #chat: boolean;
  #keepText: boolean;
  #tokenTiming: boolean;
  #done = false;
  /** When the current read came off the network, and its number. */
  #now = 0;
  #read = 0;
  /** The read that carried the last generated text, and its rounded offset (0.1 ms). */
  #outputRead = -1;
  #outputOffset = 0;
  #gaps: number[] = [];
  #events: number[] = [];
  #severalPerRead = false;
  #lastByteAt = 0;
  #controller?: AbortController;
  #firstTokenTimeoutMs?: number;
  #idleTimeoutMs?: number;
  #failure?: Failure;
  #errorBody: Uint8Array[] = [];
  #errorBytes = 0;
  #bodyParts: Uint8Array[] = [];
  #parser?: SseParser;
  #scan?: ChunkScan;

  constructor(
    stream: boolean,
    chat: boolean,
    keepText: boolean,
    tokenTiming: boolean,
  ) {
    this.#stream = stream;
    this.#chat = chat;
    this.#keepText = keepText;
    this.#tokenTiming = tokenTiming;
  }

  async run(
    endpoint: EndpointConfig,
    request: HttpRequest,
    outer?: AbortSignal,
  ): Promise<Failure | undefined> {
    const transport = endpoint.transport ?? DEFAULT_TRANSPORT;
    const total = endpoint.timeoutMs ?? 600_000;
    const controller = new AbortController();
    this.#controller = controller;
    const timer = setTimeout(
      () =>
        controller.abort(
          new DOMException(
            `no complete response within ${total} ms`,
            "TimeoutError",
          ),
        ),
      Math.min(total, MAX_TIMER_MS), // a longer delay would fire at once
    );
    const onOuterAbort = (): void => controller.abort(outer!.reason);
    if (outer?.aborted) controller.abort(outer.reason);
    else outer?.addEventListener("abort", onOuterAbort, { once: true });
    this.#firstTokenTimeoutMs = endpoint.firstTokenTimeoutMs;
    this.#idleTimeoutMs = endpoint.idleTimeoutMs;
    const shortest = Math.min(
      this.#firstTokenTimeoutMs ?? Infinity,
      this.#idleTimeoutMs ?? Infinity,
    );
    this.#lastByteAt = this.sentAt;
    if (shortest < Infinity) {
      watch(this, Math.min(1000, Math.max(10, shortest / 4)));
    }
    try {
      await transport.send(request, this, {
        signal: controller.signal,
        connectTimeoutMs: endpoint.connectTimeoutMs ?? 10_000,
      });
      this.endAt = performance.now();
      return this.#finish();
    } catch (error) {
      this.endAt = performance.now();
      return this.#failure ?? this.#classify(error, outer);
    } finally {
      clearTimeout(timer);
      unwatch(this);
      outer?.removeEventListener("abort", onOuterAbort);
    }
  }

  /** The watchdog's check: abort on a first-token or idle timeout. */
  check(now: number): void {
    const first = this.#firstTokenTimeoutMs;
    if (
      first !== undefined && this.firstTokenAt === undefined &&
      now - this.sentAt > first
    ) {
      this.#timeout(`no generated token within ${first} ms`);
    }
    const idle = this.#idleTimeoutMs;
    if (idle !== undefined && now - this.#lastByteAt > idle) {
      this.#timeout(`no data for ${idle} ms`);
    }
  }

  #timeout(message: string): void {
    this.#controller?.abort(new DOMException(message, "TimeoutError"));
  }

  /** The transport sends again on a fresh connection: the clock restarts. */
  resent(at: number): void {
    this.resends++;
    this.sentAt = at;
    this.#lastByteAt = at;
  }

  /** Put the per-token timing on the record. */
  timing(record: RequestRecord): void {
    if (this.reasoningChunks > 0) record.reasoningChunks = this.reasoningChunks;
    if (this.resends > 0) record.resent = this.resends;
    if (this.#tokenTiming && this.#events.length > 0) {
      record.readGaps = this.#gaps;
      if (this.#severalPerRead) record.readEvents = this.#events;
    }
  }

  head(status: number, headers: Headers): void {
    this.status = status;
    if (status < 200 || status > 299) {
      this.retryable = status === 408 || status === 409 || status === 429 ||
        status >= 500;
      const after = headers.get("retry-after-ms") ?? headers.get("retry-after");
      if (after !== null) {
        const ms = headers.has("retry-after-ms")
          ? Number(after)
          : Number(after) * 1000;
        if (Number.isFinite(ms) && ms >= 0) this.retryAfterMs = ms;
      }
      return;
    }
    if (this.#stream) {
      const scan = new ChunkScan(this.#chat);
      this.#scan = scan;
      this.#parser = new SseParser(
        (data) => this.#event(data),
        (buf, start, end, measured) =>
          this.#eventBytes(buf, start, end, measured),
        {
          objectEnd: (buf, start, limit) => scan.scanObject(buf, start, limit),
        },
      );
    }
  }

  data(chunk: Uint8Array, at: number): void {
    this.#now = at;
    this.#lastByteAt = at;
    this.#read++;
    if (this.#parser) {
      this.#parser.push(chunk);
    } else if (
      this.status !== undefined && (this.status < 200 || this.status > 299)
    ) {
      // Keep the start of an error body for the message.
      if (this.#errorBytes < 4096) {
        this.#errorBody.push(chunk.slice(0, 4096 - this.#errorBytes));
        this.#errorBytes += chunk.length;
      }
    } else {
      this.#bodyParts.push(chunk.slice());
    }
  }

  /** One event carried generated text (`answer`: content, not only reasoning). */
  #output(answer: boolean, reasoning: boolean, chars: number): void {
    this.chunks++;
    this.outputChars += chars;
    if (reasoning) this.reasoningChunks++;
    if (answer && this.firstAnswerAt === undefined) {
      this.firstAnswerAt = this.#now;
    }
    if (this.#read === this.#outputRead) {
      if (this.#tokenTiming) {
        this.#events[this.#events.length - 1]++;
        this.#severalPerRead = true;
      }
      return;
    }
    this.#outputRead = this.#read;
    if (this.firstTokenAt === undefined) this.firstTokenAt = this.#now;
    if (!this.#tokenTiming) return;
    this.#events.push(1);
    if (this.#events.length === 1) return;
    // Offsets rounded to 0.1 ms, then differenced: the gaps add up exactly.
    const offset = Math.round((this.#now - this.firstTokenAt) * 10);
    this.#gaps.push(offset - this.#outputOffset);
    this.#outputOffset = offset;
  }

  /** The usual event, read from its bytes; anything unusual goes to {@linkcode #event}. */
  #eventBytes(
    buf: Uint8Array,
    start: number,
    end: number,
    measured: boolean,
  ): void {
    if (this.#done) return;
    const scan = this.#scan!;
    // `measured`: the parser delimited the event with scan.scanObject, whose fields hold.
    if (!measured && !scan.scan(buf, start, end)) {
      this.#event(DECODER.decode(buf.subarray(start, end)));
      return;
    }
    // The same rules as #event: an empty text carries no token.
    const answer = scan.textEnd > scan.textStart;
    const reasoning = scan.reasonEnd > scan.reasonStart;
    if (answer || reasoning) {
      this.#output(
        answer,
        reasoning,
        (answer ? scan.textChars : 0) + (reasoning ? scan.reasonChars : 0),
      );
      if (answer && this.#keepText) this.text += scan.text(buf);
    }
    if (scan.finishEnd > scan.finishStart) {
      this.finishReason = scan.finishReason(buf);
    }
  }

  #event(data: string): void {
    if (this.#done) return;
    if (data === "[DONE]") {
      this.#done = true;
      return;
    }
    let event: { choices?: Choice[]; usage?: Usage | null; error?: unknown };
    try {
      event = JSON.parse(data);
    } catch {
      this.#fail("malformed", `unreadable SSE event: ${data.slice(0, 120)}`);
    }
    if (event === null || typeof event !== "object") {
      this.#fail("malformed", `unexpected SSE event: ${data.slice(0, 120)}`);
    }
    if (event.error !== undefined && event.error !== null) {
      this.#fail("server_error", errorMessage(event.error));
    }
    const choice = event.choices?.[0];
    if (choice !== undefined) {
      const delta = this.#chat ? choice.delta : undefined;
      const text = this.#chat ? delta?.content : choice.text;
      // Only text carries tokens: a chat stream's role-only opening delta
      // and llama.cpp's closing `"text": ""` event are not output (counted,
      // the latter made 17 events of 16 tokens and a gap that was no token).
      const answer = typeof text === "string" && text !== "";
      const thought = delta?.reasoning_content ?? delta?.reasoning;
      const reasoning = typeof thought === "string" && thought !== "";
      if (answer || reasoning) {
        this.#output(
          answer,
          reasoning,
          (answer ? codePoints(text) : 0) +
            (reasoning ? codePoints(thought) : 0),
        );
        if (answer && this.#keepText) this.text += text;
      }
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
    }
    if (event.usage) this.usage = event.usage;
  }

  #fail(kind: RequestErrorKind, message: string): never {
    this.#failure = { kind, message };
    throw new Error(message);
  }

  #finish(): Failure | undefined {
    const status = this.status ?? 0;
    if (status < 200 || status > 299) {
      return {
        kind: "http",
        message: `HTTP ${status}${errorBodyText(this.#errorBody)}`,
      };
    }
    if (this.#parser) {
      this.#parser.end();
      if (this.#failure) return this.#failure;
      if (!this.#done && this.finishReason === undefined) {
        return {
          kind: "stream_cut",
          message: "the stream ended before [DONE]",
        };
      }
      if (this.firstTokenAt === undefined) {
        return {
          kind: "no_tokens",
          message: "the stream carried no generated text",
        };
      }
      return undefined;
    }
    return this.#readBody();
  }

  #readBody(): Failure | undefined {
    const bytes = joinChunks(this.#bodyParts);
    let body: { choices?: Choice[]; usage?: Usage; error?: unknown };
    try {
      body = JSON.parse(DECODER.decode(bytes));
    } catch {
      return { kind: "malformed", message: "the response body is not JSON" };
    }
    if (body?.error) {
      return { kind: "server_error", message: errorMessage(body.error) };
    }
    const choice = body?.choices?.[0];
    const message = this.#chat ? choice?.message : undefined;
    const text = this.#chat ? message?.content : choice?.text;
    const thought = message?.reasoning_content ?? message?.reasoning;
    if (typeof text !== "string" && typeof thought !== "string") {
      return {
        kind: "malformed",
        message: "the response has no choices[0] text",
      };
    }
    this.chunks = 1;
    if (typeof thought === "string" && thought !== "") this.reasoningChunks = 1;
    this.outputChars = codePoints(text ?? "") + codePoints(thought ?? "");
    if (this.#keepText) this.text = text ?? "";
    if (choice?.finish_reason) this.finishReason = choice.finish_reason;
    if (body.usage) this.usage = body.usage;
    return undefined;
  }

  #classify(error: unknown, outer?: AbortSignal): Failure {
    if (outer?.aborted) {
      return { kind: "aborted", message: "aborted by the run" };
    }
    if (error instanceof DOMException && error.name === "TimeoutError") {
      this.retryable = this.status === undefined;
      return { kind: "timeout", message: error.message };
    }
    if (this.status === undefined) {
      // A TypeError before any head is a response that could not be read
      // (a bad status line, a head too large), unless fetch wrapped a
      // connection failure in it; anything else failed to reach the server.
      if (error instanceof TypeError && !isConnectError(error)) {
        return {
          kind: "malformed",
          message: `the response could not be read: ${networkErrorText(error)}`,
        };
      }
      this.retryable = true;
      return { kind: "connect", message: networkErrorText(error) };
    }
    return {
      kind: "stream_cut",
      message: `the response broke off: ${networkErrorText(error)}`,
    };
  }
}

/**
 * Whether `fetch`'s TypeError (or any error) wraps a failure to reach the
 * server: a Deno connection error or an OS error somewhere in its causes.
 */
function isConnectError(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 6; depth++) {
    if (
      e instanceof Deno.errors.ConnectionRefused ||
      e instanceof Deno.errors.ConnectionReset ||
      e instanceof Deno.errors.ConnectionAborted ||
      e instanceof Deno.errors.NotConnected ||
      e instanceof Deno.errors.UnexpectedEof ||
      /os error \d+|dns error|failed to lookup|tcp connect error|connection (refused|reset|closed)|certificate|tls/i
        .test(e.message)
    ) return true;
    e = e.cause;
  }
  return false;
}

function joinChunks(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function errorBodyText(parts: Uint8Array[]): string {
  const text = DECODER.decode(joinChunks(parts)).trim();
  if (text === "") return "";
  try {
    return `: ${errorMessage(JSON.parse(text))}`;
  } catch {
    return `: ${text.replace(/\s+/g, " ").slice(0, 200)}`;
  }
}

function errorMessage(error: unknown): string {
  if (typeof error === "string") return error;
  const e = error as { error?: unknown; message?: unknown; detail?: unknown };
  if (e?.error !== undefined) return errorMessage(e.error);
  if (typeof e?.message === "string") return e.message;
  if (typeof e?.detail === "string") return e.detail;
  return JSON.stringify(error).slice(0, 200);
}

async function backoff(
  retry: number,
  retryAfterMs: number | undefined,
  signal?: AbortSignal,
): Promise<boolean> {
  const base = Math.min(500 * 2 ** (retry - 1), 8000);
  const ms = retryAfterMs !== undefined && retryAfterMs <= 60_000
    ? retryAfterMs
    : base * (1 - 0.25 * Math.random());
  return await new Promise<boolean>((resolve) => {
    if (signal?.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
