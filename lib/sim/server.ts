/**
 * `startSimulator`: a simulated OpenAI-compatible inference server whose
 * cache and timing follow the engine model of `engine.ts`, for the
 * project's tests, demos and users' CI.
 *
 * Routes: `GET /v1/models`, `POST /v1/completions`,
 * `POST /v1/chat/completions` (streamed or not), `GET /health`,
 * `GET /metrics`, `POST /tokenize`. Each valid completion request gets its own generator,
 * seeded from the server's seed in arrival order, that decides its faults,
 * its length and its words; so these are the same on every run with the same
 * seed and arrival order. Cache hits depend only on what the cache held at
 * admission; they are the same on every run when requests do not overlap,
 * and otherwise depend on timing, as on a real server.
 *
 * @module
 */
import { tokenizeResponse } from "./tokenize_route.ts";
import { type Random, seededRandom } from "../rng.ts";
import { resolveSimOptions, type SimOptions } from "./config.ts";
import { Engine, type SeqHandle, type SeqSink } from "./engine.ts";
import { drawFaults } from "./faults.ts";
import {
  cacheNamespace,
  corruptOutput,
  corruptsPrompt,
  outputRandom,
  wordLogprobs,
} from "./greedy.ts";
import { type FaultCounts, renderMetrics, type SimStats } from "./metrics.ts";
import { renderFlavor } from "./metrics_flavors.ts";
import {
  errorResponse,
  type ParsedRequest,
  parseRequest,
  ResponseFormat,
  type SimApi,
  type Usage,
} from "./protocol.ts";
import { SSE_HEADERS, sseEvent, SseWriter } from "./sse_writer.ts";
import { approximateTokenizer } from "./token_count.ts";
import { generateWords, SIM_WORDS } from "./words.ts";

/** The simulator's version, as its `/version` route reports it. */
export const SIM_VERSION = "0.1.0";

/** A running simulator. */
export interface SimServer extends AsyncDisposable {
  /** Base URL of the API, ending in `/v1/`. */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** The model id it serves. */
  readonly model: string;
  /** Counters and gauges now. */
  stats(): SimStats;
  /** Stop: unfinished streams are cut, unfinished non-streamed requests get a 503. */
  shutdown(): Promise<void>;
}

/** A malformed SSE line: JSON cut short, as a broken proxy or server would send. */
const MALFORMED_EVENT =
  'data: {"id":"malformed","choices":[{"index":0,"text":\n\n';

const ROUTES: Record<string, string> = {
  "/v1/models": "GET",
  "/v1/completions": "POST",
  "/v1/chat/completions": "POST",
  "/health": "GET",
  "/version": "GET",
  "/metrics": "GET",
  "/flush_cache": "POST",
  "/reset_prefix_cache": "POST",
  "/connector/metrics": "GET",
  "/tokenize": "POST",
};

/**
 * Start a simulator listening on loopback (port 0 by default: any free port).
 *
 * @example Usage
 * ```ts
 * import { startSimulator } from "./server.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * assert.ok(sim.url.endsWith("/v1/"));
 * const response = await fetch(sim.url + "completions", {
 *   method: "POST",
 *   body: JSON.stringify({ model: sim.model, prompt: "Hello", max_tokens: 8, ignore_eos: true }),
 * });
 * assert.equal((await response.json()).usage.completion_tokens, 8);
 * ```
 */
export function startSimulator(options: SimOptions = {}): Promise<SimServer> {
  const resolved = resolveSimOptions(options);
  const tokenizer = options.tokenizer ?? approximateTokenizer;
  const ctx: SimContext = {
    options,
    resolved,
    model: resolved.model,
    engine: new Engine(resolved.engine),
    tokenizer,
    wordIds: SIM_WORDS.map((w) => tokenizer.encode(w)[0] ?? 0),
    master: seededRandom(resolved.seed),
    counts: { requests: 0, rejected: 0 },
    faults: {
      status500: 0,
      status429: 0,
      cut: 0,
      malformed: 0,
      stall: 0,
    },
    started: Math.floor(Date.now() / 1000),
    nextId: 0,
  };
  const { model, engine, counts, faults } = ctx;

  const stats = (): SimStats => ({
    ...engine.stats(),
    ...counts,
    faults: { ...faults },
  });
  const handler = router(ctx, {
    complete: completer(ctx),
    metricsText: metricsTexter(ctx, stats),
  });

  const hostname = options.hostname ?? "127.0.0.1";
  let closing: Promise<void> | undefined;
  const listen = (port: number): Deno.HttpServer<Deno.NetAddr> => {
    const server = Deno.serve({
      hostname,
      port,
      onListen() {},
      // A deliberately cut stream lands here; stay quiet (the library never prints).
      onError: () => errorResponse(500, "Internal server error"),
    }, handler);
    // Accepting fails for good on an error such as "Too many open files":
    // the connections already open go on; listen again on the same port.
    server.finished.catch(async (error: Error) => {
      for (let waitMs = 100; closing === undefined;) {
        options.onListenError?.(error, waitMs);
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        if (closing !== undefined) return;
        try {
          current = listen(server.addr.port);
          return;
        } catch (again) {
          error = again as Error;
          waitMs = Math.min(waitMs * 2, 5000);
        }
      }
    });
    return server;
  };
  let current: Deno.HttpServer<Deno.NetAddr>;
  try {
    current = listen(options.port ?? 0);
  } catch (error) {
    engine.close();
    throw new Error(
      `Cannot listen on ${urlHost(hostname)}:${options.port ?? 0}: ${
        error instanceof Deno.errors.AddrInUse
          ? "the address is in use (is another server running there?)"
          : (error as Error).message
      }`,
      { cause: error },
    );
  }
  const port = current.addr.port;
  const shutdown = (): Promise<void> => {
    closing ??= (async () => {
      engine.close();
      await current.shutdown().catch(() => {});
    })();
    return closing;
  };
  return Promise.resolve({
    url: `http://${urlHost(hostname)}:${port}/v1/`,
    port,
    model,
    stats,
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  });
}

/** What a simulator's routes share. */
interface SimContext {
  options: SimOptions;
  resolved: ReturnType<typeof resolveSimOptions>;
  model: string;
  engine: Engine;
  tokenizer: NonNullable<SimOptions["tokenizer"]>;
  /** The token id of each of the simulator's words. */
  wordIds: number[];
  /** Each request's random numbers are drawn from it. */
  master: Random;
  counts: { requests: number; rejected: number };
  faults: FaultCounts;
  /** When it started (s since the epoch). */
  started: number;
  /** The next response id. */
  nextId: number;
}

/** The completions routes: parse, draw faults and output, serve. */
function completer(
  ctx: SimContext,
): (api: SimApi, request: Request) => Promise<Response> {
  const { resolved, model, engine, tokenizer, wordIds, master, counts } = ctx;
  const { faults } = ctx;
  const reject = (status: number, message: string): Response => {
    counts.rejected++;
    return errorResponse(status, message);
  };

  return async (api: SimApi, request: Request): Promise<Response> => {
    counts.requests++;
    let parsed: ParsedRequest;
    try {
      parsed = parseRequest(api, await request.json());
    } catch (error) {
      const message = error instanceof SyntaxError
        ? "the request body is not valid JSON"
        : (error as Error).message;
      return reject(400, message);
    }
    if (parsed.model !== undefined && parsed.model !== model) {
      return reject(404, `The model \`${parsed.model}\` does not exist.`);
    }
    const promptIds = typeof parsed.prompt === "string"
      ? tokenizer.encode(parsed.prompt)
      : parsed.prompt;
    if (promptIds.length === 0) return reject(400, "the prompt has no tokens");
    const rng = seededRandom(master.int(2 ** 32));
    // Greedy or seeded: length and words depend on the prompt, not on arrival order.
    const own = outputRandom(promptIds, {
      temperature: parsed.temperature,
      seed: parsed.seed,
      simSeed: resolved.seed,
    }) ?? rng;
    const low = Math.max(1, parsed.minTokens);
    const length = low + own.int(parsed.maxTokens - low + 1);
    const n = parsed.ignoreEos ? parsed.maxTokens : length;
    const fault = drawFaults(rng, n, resolved.faults);
    if (fault.status === 500) {
      faults.status500++;
      return errorResponse(500, "Simulated internal server error");
    }
    if (fault.status === 429) {
      faults.status429++;
      return errorResponse(429, "Simulated rate limit: retry later", {
        "retry-after": String(resolved.faults.retryAfterS),
      });
    }
    const words = generateWords(own, n);
    const outputIds = Array.from(words, (w) => wordIds[w]);
    const run: Run = {
      api,
      parsed,
      n,
      words,
      ids: outputIds,
      wordIds,
      logprobs: parsed.logprobs === undefined
        ? undefined
        : wordLogprobs(promptIds, words),
      corruptFrom: corruptsPrompt(promptIds, resolved.faults.corruptOffloadRate)
        ? resolved.faults.corruptOffloadAt
        : undefined,
      format: new ResponseFormat(api, {
        id: `${api === "chat" ? "chatcmpl" : "cmpl"}-sim-${ctx.nextId++}`,
        created: Math.floor(Date.now() / 1000),
        model,
      }),
      finishReason: n === parsed.maxTokens ? "length" : "stop",
      cutAfter: parsed.stream ? fault.cutAfter : undefined,
      malformedAfter: parsed.stream ? fault.malformedAfter : undefined,
    };
    const spec = {
      promptIds,
      outputIds,
      cacheSalt: cacheNamespace(parsed, counts.requests),
      stallMs: fault.stallMs,
      jitterMs: resolved.faults.jitterMs > 0
        ? jitter(rng, resolved.faults.jitterMs)
        : undefined,
    };
    const serve = parsed.stream ? stream : whole;
    const { sink, response, attach } = serve(run, faults);
    let handle: SeqHandle;
    try {
      handle = engine.submit(spec, sink);
    } catch (error) {
      if (error instanceof RangeError) return reject(400, error.message);
      throw error;
    }
    if (fault.stallMs > 0) faults.stall++;
    attach(handle, promptIds.length);
    return await response;
  };
}

/** Every route: check method and API key, then answer. */
function router(
  ctx: SimContext,
  routes: {
    complete: (api: SimApi, request: Request) => Promise<Response>;
    metricsText: (port: "main" | "connector") => string | undefined;
  },
): (request: Request) => Response | Promise<Response> {
  const { options, engine, tokenizer, model, started } = ctx;
  const { complete, metricsText } = routes;
  return (request: Request): Response | Promise<Response> => {
    const { pathname } = new URL(request.url);
    const method = ROUTES[pathname];
    if (method === undefined) {
      return errorResponse(404, `Not found: ${pathname}`);
    }
    if (request.method !== method) {
      return errorResponse(
        405,
        `Method ${request.method} not allowed on ${pathname}`,
      );
    }
    if (
      options.apiKey !== undefined && pathname.startsWith("/v1/") &&
      request.headers.get("authorization") !== `Bearer ${options.apiKey}`
    ) return errorResponse(401, "Incorrect API key provided.");
    switch (pathname) {
      case "/health":
        return new Response(null, { status: 200 });
      case "/flush_cache":
      case "/reset_prefix_cache":
        // As SGLang: refused (400) while requests are pending.
        return engine.resetCache()
          ? new Response("Cache flushed.\n", { status: 200 })
          : errorResponse(
            400,
            "Cache not flushed because there are pending requests.",
          );
      case "/metrics":
      case "/connector/metrics": {
        const text = metricsText(
          pathname === "/metrics" ? "main" : "connector",
        );
        return text === undefined
          ? errorResponse(404, `Not found: ${pathname}`)
          : new Response(text, {
            headers: {
              "content-type": "text/plain; version=0.0.4; charset=utf-8",
            },
          });
      }
      case "/version":
        // As vLLM's /version, naming the simulator.
        return Response.json({ version: SIM_VERSION, engine: "kvbench-sim" });
      case "/tokenize":
        return tokenizeResponse(request, {
          tokenizer,
          model,
          maxModelLen: engine.stats().gpuKvTokens,
        });
      case "/v1/models":
        return Response.json({
          object: "list",
          data: [
            {
              id: model,
              object: "model",
              created: started,
              owned_by: "kvbench-sim",
              root: options.modelRoot ?? model,
              parent: null,
              max_model_len: engine.stats().gpuKvTokens,
            },
            ...(options.unservedModels ?? []).map((id) => ({
              id,
              object: "model",
              created: started,
              owned_by: "kvbench-sim",
            })),
          ],
        });
      default:
        return complete(
          pathname === "/v1/chat/completions" ? "chat" : "completions",
          request,
        );
    }
  };
}

/**
 * The flavor's exposition; with several replicas, each answer comes from
 * the next replica in turn (another server's counters).
 */
function metricsTexter(
  ctx: SimContext,
  stats: () => SimStats,
): (port: "main" | "connector") => string | undefined {
  const { options, resolved, model } = ctx;
  let metricsAnswers = 0;
  return (port: "main" | "connector"): string | undefined => {
    const flavor = options.metricsFlavor ?? "vllm";
    const replica = metricsAnswers++ % (options.metricsReplicas ?? 1);
    let current = stats();
    if (replica > 0) current = otherReplica(current, replica);
    const blockSize = resolved.engine.blockSize;
    if (flavor === "vllm") {
      return port === "main"
        ? renderMetrics(current, model, { blockSize })
        : undefined;
    }
    return renderFlavor(current, model, { flavor, blockSize, port });
  };
}

function urlHost(hostname: string): string {
  if (hostname === "0.0.0.0") return "127.0.0.1";
  if (hostname === "::") return "[::1]";
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

function jitter(rng: Random, maxMs: number): () => number {
  return () => rng.next() * maxMs;
}

/** What a response needs to know about its request. */
interface Run {
  api: SimApi;
  parsed: ParsedRequest;
  n: number;
  words: Uint8Array;
  format: ResponseFormat;
  finishReason: string;
  cutAfter?: number;
  malformedAfter?: number;
  /** Output token ids (the engine's copy: a corrupted restore changes them too). */
  ids: number[];
  wordIds: readonly number[];
  /** Log-probabilities, when the request asked for them. */
  logprobs?: number[];
  /** The corrupt-offload fault: words change from here if KV came from offload. */
  corruptFrom?: number;
}

/** The corrupt-offload fault, applied once the tier hits are known (first token). */
function restored(run: Run, handle: SeqHandle | undefined): void {
  if (run.corruptFrom === undefined || handle === undefined) return;
  if (handle.offloadHitTokens > 0) {
    corruptOutput(run, { from: run.corruptFrom, wordIds: run.wordIds });
  }
  run.corruptFrom = undefined;
}

/** How one response is produced from the engine's progress reports. */
interface Serving {
  sink: SeqSink;
  response: Promise<Response>;
  attach(handle: SeqHandle, promptTokens: number): void;
}

function usageOf(
  handle: SeqHandle,
  promptTokens: number,
  completionTokens: number,
): Usage {
  return {
    promptTokens,
    completionTokens,
    cachedTokens: handle.gpuHitTokens + handle.offloadHitTokens,
  };
}

/** A streamed response: one SSE event per token, then usage and `[DONE]`. */
function stream(run: Run, faults: FaultCounts): Serving {
  let handle: SeqHandle | undefined;
  let promptTokens = 0;
  const writer = new SseWriter({ onCancel: () => handle?.cancel() });
  let written = 0, offset = 0;
  const sink: SeqSink = {
    progress(emitted, done) {
      restored(run, handle);
      let text = written === 0 && run.api === "chat"
        ? sseEvent(run.format.roleChunk())
        : "";
      while (written < emitted) {
        const word = SIM_WORDS[run.words[written++]];
        text += sseEvent(
          run.format.chunk(
            word,
            written === run.n ? run.finishReason : undefined,
            run.logprobs && {
              tokens: [word],
              logprobs: [run.logprobs[written - 1]],
              top: run.parsed.logprobs!,
              offset,
            },
          ),
        );
        offset += word.length;
        if (written === run.malformedAfter) {
          faults.malformed++;
          text += MALFORMED_EVENT;
        }
        if (written === run.cutAfter) {
          faults.cut++;
          writer.write(text);
          writer.cut();
          handle?.cancel();
          return;
        }
      }
      if (done && run.parsed.includeUsage) {
        text += sseEvent(
          run.format.usageChunk(usageOf(handle!, promptTokens, run.n)),
        );
      }
      writer.write(text);
      if (done) writer.done();
    },
    aborted: () => writer.cut(),
  };
  return {
    sink,
    response: Promise.resolve(
      new Response(writer.body, { headers: SSE_HEADERS }),
    ),
    attach(h, prompt) {
      handle = h;
      promptTokens = prompt;
    },
  };
}

/**
 * A non-streamed response, sent when the last token is generated. It runs to
 * the end even if the client goes away: Deno's `request.signal` also fires
 * after successful responses and warns about it on stderr.
 */
function whole(run: Run): Serving {
  let handle: SeqHandle | undefined;
  let promptTokens = 0;
  let resolve!: (response: Response) => void;
  const response = new Promise<Response>((r) => resolve = r);
  const sink: SeqSink = {
    progress(_emitted, done) {
      if (!done) return;
      restored(run, handle);
      const tokens = Array.from(run.words, (w) => SIM_WORDS[w]);
      const text = tokens.join("");
      resolve(
        new Response(
          run.format.full(
            text,
            run.finishReason,
            usageOf(handle!, promptTokens, run.n),
            run.logprobs &&
              {
                tokens,
                logprobs: run.logprobs,
                top: run.parsed.logprobs!,
                offset: 0,
              },
          ),
          {
            headers: { "content-type": "application/json" },
          },
        ),
      );
    },
    aborted: () =>
      resolve(errorResponse(503, "The simulator is shutting down")),
  };
  return {
    sink,
    response,
    attach(h, prompt) {
      handle = h;
      promptTokens = prompt;
    },
  };
}

/** Another replica's counters: half the simulator's plus 50,000 × `k` (monotonic, never equal). */
function otherReplica(stats: SimStats, k: number): SimStats {
  const f = (v: number) => Math.round(v / 2) + 50_000 * k;
  const at = stats.atFirstToken;
  return {
    ...stats,
    promptTokens: f(stats.promptTokens),
    generationTokens: f(stats.generationTokens),
    gpuHitTokens: f(stats.gpuHitTokens),
    offloadQueryTokens: f(stats.offloadQueryTokens),
    offloadHitTokens: f(stats.offloadHitTokens),
    diskHitTokens: f(stats.diskHitTokens),
    atFirstToken: {
      promptTokens: f(at.promptTokens),
      gpuHitTokens: f(at.gpuHitTokens),
      offloadHitTokens: f(at.offloadHitTokens),
      diskHitTokens: f(at.diskHitTokens),
    },
  };
}
