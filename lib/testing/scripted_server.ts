/**
 * A test double of an OpenAI-compatible server whose answers, timings and
 * usage each test scripts, and which records what it received.
 *
 * @module
 */

/** What the server answers to one completion request. */
export interface Script {
  /** HTTP status (default 200); non-2xx answers with `{error:{message}}`. */
  status?: number;
  /** Extra response headers. */
  headers?: Record<string, string>;
  /** Error message for non-2xx answers. */
  message?: string;
  /** Generated pieces, one SSE event each (default: `max_tokens` × "tok "). */
  tokens?: string[];
  /** Delay before the first token (ms). */
  firstTokenMs?: number;
  /** Delay between tokens (ms). */
  gapMs?: number;
  /** Usage to report (default: prompt chars / completion = tokens.length); null sends none. */
  usage?: {
    prompt_tokens: number;
    completion_tokens: number;
    cached_tokens?: number;
  } | null;
  /** Close the stream after this many token events, without [DONE]. */
  cutAfter?: number;
  /** Raw SSE text to send instead of the generated stream. */
  raw?: string;
  /** Omit the final `data: [DONE]`. */
  noDone?: boolean;
  /** Chat only: reasoning pieces streamed before the answer, one event each. */
  reasoning?: string[];
  /** Where reasoning goes in a delta (default `reasoning_content`; newer vLLM: `reasoning`). */
  reasoningField?: "reasoning_content" | "reasoning";
  /** Put the usage on the last token's event instead of an event of its own. */
  usageOnLastToken?: boolean;
  /** Events written together, in one write (default 1): several events in one read. */
  together?: number;
}

/** One request as the server saw it. */
export interface Received {
  /** URL path. */
  path: string;
  /** HTTP method. */
  method: string;
  /** Request headers. */
  headers: Headers;
  /** Parsed JSON body (undefined for GET). */
  body: Record<string, unknown> | undefined;
  /** `performance.now()` when it arrived. */
  at: number;
  /** Requests in flight when it arrived (itself included). */
  concurrent: number;
}

/** A running scripted server. */
export interface ScriptedServer {
  /** `http://127.0.0.1:PORT` (no path). */
  origin: string;
  /** Everything received, in order. */
  received: Received[];
  /** The highest number of completion requests in flight at once. */
  maxConcurrent(): number;
  /** Stop the server. */
  close(): Promise<void>;
}

/** Options of {@linkcode startScriptedServer}. */
export interface ScriptedServerOptions {
  /** Ids listed by `/v1/models` (default `["test-model"]`). */
  models?: string[];
  /** Status of `/v1/models` (default 200). */
  modelsStatus?: number;
  /** Decide the answer to each completion request (default: 200 with defaults). */
  script?: (body: Record<string, unknown>, index: number) => Script;
}

const enc = new TextEncoder();

/** Start a scripted server on 127.0.0.1, a free port. */
export function startScriptedServer(
  options: ScriptedServerOptions = {},
): ScriptedServer {
  const received: Received[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let index = 0;
  const models = options.models ?? ["test-model"];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      const path = new URL(req.url).pathname;
      const body = req.method === "POST"
        ? await req.json().catch(() => undefined)
        : undefined;
      const entry: Received = {
        path,
        method: req.method,
        headers: req.headers,
        body,
        at: performance.now(),
        concurrent: 0,
      };
      received.push(entry);
      if (path.endsWith("/models")) {
        const status = options.modelsStatus ?? 200;
        if (status !== 200) {
          return Response.json({ error: { message: "models refused" } }, {
            status,
          });
        }
        return Response.json({
          object: "list",
          data: models.map((id) => ({ id, object: "model" })),
        });
      }
      if (!path.endsWith("/completions")) {
        return Response.json({ error: { message: "no route" } }, {
          status: 404,
        });
      }
      if (body === undefined) {
        return Response.json({ error: { message: "bad json" } }, {
          status: 400,
        });
      }
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      entry.concurrent = inFlight;
      const script = options.script?.(body, index++) ?? {};
      const status = script.status ?? 200;
      if (status < 200 || status > 299) {
        inFlight--;
        return Response.json({
          error: { message: script.message ?? `status ${status}` },
        }, {
          status,
          headers: script.headers,
        });
      }
      const answer = answerOf(body, path, script);
      const done = () => inFlight--;
      return body.stream
        ? streamResponse(answer, { body, script, done })
        : await wholeResponse(answer, { script, done });
    },
  );
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    received,
    maxConcurrent: () => maxInFlight,
    close: async () => {
      await server.shutdown();
    },
  };
}

/** What a completion request is answered with. */
interface Answer {
  tokens: string[];
  reasoning: string[];
  chat: boolean;
  /** The chat delta's field reasoning goes in. */
  field: string;
  usageObject: Record<string, unknown> | undefined;
  /** One streamed event's body. */
  piece: (text: string, thought: boolean) => Record<string, unknown>;
}

function answerOf(
  body: Record<string, unknown>,
  path: string,
  script: Script,
): Answer {
  const maxTokens = Number(body.max_tokens ?? 16);
  const tokens = script.tokens ??
    Array.from({ length: maxTokens }, () => "tok ");
  const prompt = typeof body.prompt === "string"
    ? body.prompt
    : JSON.stringify(body.messages ?? "");
  const usage: Script["usage"] = script.usage === null
    ? undefined
    : script.usage ?? {
      prompt_tokens: prompt.length,
      completion_tokens: tokens.length,
    };
  const chat = path.endsWith("chat/completions");
  const field = script.reasoningField ?? "reasoning_content";
  const reasoning = chat ? script.reasoning ?? [] : [];
  const piece = (text: string, thought: boolean): Record<string, unknown> =>
    chat
      ? {
        choices: [{
          index: 0,
          delta: thought ? { [field]: text } : { content: text },
        }],
      }
      : { choices: [{ index: 0, text }] };
  const usageObject = usage && {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens: usage.prompt_tokens + usage.completion_tokens,
    prompt_tokens_details: usage.cached_tokens === undefined
      ? null
      : { cached_tokens: usage.cached_tokens },
  };
  return {
    tokens,
    reasoning,
    chat,
    field,
    usageObject: usageObject || undefined,
    piece,
  };
}

async function wholeResponse(
  answer: Answer,
  context: { script: Script; done: () => void },
): Promise<Response> {
  const { tokens, reasoning, chat, field, usageObject } = answer;
  const { script, done } = context;
  await sleep(script.firstTokenMs ?? 0);
  done();
  const text = tokens.join("");
  const message: Record<string, unknown> = {
    role: "assistant",
    content: text,
  };
  if (reasoning.length > 0) message[field] = reasoning.join("");
  return Response.json({
    choices: [
      chat ? { index: 0, message, finish_reason: "length" } : {
        index: 0,
        text,
        finish_reason: "length",
      },
    ],
    ...(usageObject ? { usage: usageObject } : {}),
  });
}

function streamResponse(
  answer: Answer,
  context: { body: Record<string, unknown>; script: Script; done: () => void },
): Response {
  const { tokens, reasoning, usageObject, piece } = answer;
  const { body, script, done } = context;
  let closed = false;
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (s: string) => {
        if (!closed && s !== "") controller.enqueue(enc.encode(s));
      };
      try {
        if (script.raw !== undefined) {
          await sleep(script.firstTokenMs ?? 0);
          send(script.raw);
          controller.close();
          return;
        }
        await sleep(script.firstTokenMs ?? 0);
        const wantUsage = usageObject &&
          (body.stream_options as { include_usage?: boolean })
            ?.include_usage;
        const pieces = [
          ...reasoning.map((text) => ({ text, thought: true })),
          ...tokens.map((text) => ({ text, thought: false })),
        ];
        const together = script.together ?? 1;
        let batch = "";
        for (let i = 0; i < pieces.length && !closed; i++) {
          if (i > 0 && i % together === 0) {
            send(batch);
            batch = "";
            if (script.gapMs) await sleep(script.gapMs);
          }
          if (script.cutAfter !== undefined && i >= script.cutAfter) {
            send(batch);
            controller.error(new Error("cut"));
            return;
          }
          const last = i === pieces.length - 1;
          const event = piece(pieces[i].text, pieces[i].thought);
          if (last) {
            (event.choices as Record<string, unknown>[])[0].finish_reason =
              "length";
            if (wantUsage && script.usageOnLastToken) {
              event.usage = usageObject;
            }
          }
          batch += `data: ${JSON.stringify(event)}\n\n`;
        }
        send(batch);
        if (wantUsage && !script.usageOnLastToken) {
          send(
            `data: ${JSON.stringify({ choices: [], usage: usageObject })}\n\n`,
          );
        }
        if (!script.noDone) send("data: [DONE]\n\n");
        controller.close();
      } catch {
        // the client went away
      } finally {
        done();
      }
    },
    cancel() {
      closed = true;
    },
  });
  return new Response(stream, {
    headers: { "content-type": "text/event-stream", ...script.headers },
  });
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}
