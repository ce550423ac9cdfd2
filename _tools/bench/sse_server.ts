/**
 * The benchmark's OpenAI-compatible SSE server, run in its own process so its
 * CPU is not the client's. Raw sockets, keep-alive, chunked SSE like vLLM.
 *
 * - `fast`: every completion streams `max_tokens` token events at once (the
 *   whole response prebuilt and written in one go): a zero-delay server.
 * - `truth`: the first token `delayMs` after the request arrived, then one
 *   every `gapMs`; the time each token was actually written (relative to the
 *   request's arrival) is kept per `x-bench-id` and served by `GET /truth`.
 *
 * `GET /first` answers the epoch ms (`Date.now()`) of the first completion
 * request since the last `GET /first`, for the start-up scenario. Prints `{"port":N}` when listening.
 *
 * Usage: `deno run -A bench/sse_server.ts '{"mode":"fast"}'`
 *
 * @module
 */

/** Server settings, the first command-line argument as JSON. */
export interface ServerConfig {
  /** `fast` or `truth`. */
  mode: "fast" | "truth";
  /** Truth mode: ms from arrival to the first token. */
  delayMs?: number;
  /** Truth mode: ms between tokens. */
  gapMs?: number;
  /**
   * Truth mode: shift each stream's schedule by a random fraction of the gap,
   * so streams' tokens are spread over time instead of written in one burst
   * per gap (as a batching server writes a decode step's tokens).
   */
  spread?: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const LF = 10;

function chunk(text: string): string {
  return `${encoder.encode(text).length.toString(16)}\r\n${text}\r\n`;
}

function tokenEvent(i: number, last: boolean): string {
  return chunk(
    `data: {"id":"cmpl-bench","object":"text_completion","created":0,"model":"bench-model","choices":[{"index":0,"text":" tok${
      i % 10
    }","logprobs":null,"finish_reason":${
      last ? '"length"' : "null"
    }}],"usage":null}\n\n`,
  );
}

function tailEvents(promptTokens: number, tokens: number): string {
  return chunk(
    `data: {"id":"cmpl-bench","object":"text_completion","created":0,"model":"bench-model","choices":[],"usage":{"prompt_tokens":${promptTokens},"completion_tokens":${tokens},"total_tokens":${
      promptTokens + tokens
    }}}\n\n`,
  ) + chunk("data: [DONE]\n\n") + "0\r\n\r\n";
}

const SSE_HEAD = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n" +
  "cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n";

const fastResponses = new Map<number, Uint8Array>();

function fastResponse(tokens: number): Uint8Array {
  let bytes = fastResponses.get(tokens);
  if (bytes === undefined) {
    let text = SSE_HEAD;
    for (let i = 0; i < tokens; i++) text += tokenEvent(i, i === tokens - 1);
    text += tailEvents(100, tokens);
    bytes = encoder.encode(text);
    fastResponses.set(tokens, bytes);
  }
  return bytes;
}

function jsonResponse(body: unknown): Uint8Array {
  const text = JSON.stringify(body);
  return encoder.encode(
    `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${
      encoder.encode(text).length
    }\r\n\r\n${text}`,
  );
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

const config: ServerConfig = JSON.parse(Deno.args[0] ?? '{"mode":"fast"}');
const truth = new Map<string, number[]>();
let firstCompletionAt: number | undefined;

async function serveCompletion(
  conn: Deno.Conn,
  head: string,
  body: Uint8Array,
  arrival: number,
): Promise<void> {
  firstCompletionAt ??= Date.now();
  // The prompt comes first in kvbench's bodies: read max_tokens from the tail.
  const tail = decoder.decode(body.subarray(Math.max(0, body.length - 512)));
  const tokens = Number(/"max_tokens":(\d+)/.exec(tail)?.[1] ?? 16);
  if (config.mode === "fast") {
    await writeAll(conn, fastResponse(tokens));
    return;
  }
  const id = /^x-bench-id:\s*(\S+)/im.exec(head)?.[1];
  const sends: number[] = [];
  if (id !== undefined) truth.set(id, sends);
  await writeAll(conn, encoder.encode(SSE_HEAD));
  const gap = config.gapMs ?? 20;
  const delay = (config.delayMs ?? 50) +
    (config.spread ? Math.random() * gap : 0);
  for (let i = 0; i < tokens; i++) {
    await sleep(arrival + delay + i * gap - performance.now());
    const event = encoder.encode(tokenEvent(i, i === tokens - 1));
    sends.push(performance.now() - arrival);
    await writeAll(conn, event);
  }
  await writeAll(conn, encoder.encode(tailEvents(100, tokens)));
}

async function serveConn(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const buf = new Uint8Array(65536);
  let pending = new Uint8Array(0);
  try {
    while (true) {
      let headEnd = -1;
      let length = 0;
      while (true) {
        if (headEnd < 0) {
          for (let i = 3; i < pending.length; i++) {
            if (pending[i] === LF && pending[i - 2] === LF) {
              headEnd = i + 1;
              const head = decoder.decode(pending.subarray(0, headEnd));
              length = Number(
                /^content-length:\s*(\d+)/im.exec(head)?.[1] ?? 0,
              );
              break;
            }
          }
        }
        if (headEnd >= 0 && pending.length >= headEnd + length) break;
        const n = await conn.read(buf);
        if (n === null) return;
        const next = new Uint8Array(pending.length + n);
        next.set(pending);
        next.set(buf.subarray(0, n), pending.length);
        pending = next;
      }
      const arrival = performance.now();
      const head = decoder.decode(pending.subarray(0, headEnd));
      const body = pending.subarray(headEnd, headEnd + length);
      pending = pending.slice(headEnd + length);
      const [method, path] = head.split(" ", 2);
      if (method === "POST") {
        await serveCompletion(conn, head, body, arrival);
      } else if (path.endsWith("/models")) {
        await writeAll(
          conn,
          jsonResponse({
            object: "list",
            data: [{ id: "bench-model", object: "model" }],
          }),
        );
      } else if (path === "/truth") {
        await writeAll(conn, jsonResponse(Object.fromEntries(truth)));
        truth.clear();
      } else if (path === "/first") {
        await writeAll(conn, jsonResponse({ at: firstCompletionAt ?? null }));
        firstCompletionAt = undefined;
      } else {
        await writeAll(
          conn,
          encoder.encode("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"),
        );
      }
    }
  } catch {
    // The client went away.
  } finally {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }
}

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
console.log(JSON.stringify({ port: (listener.addr as Deno.NetAddr).port }));
for await (const conn of listener) serveConn(conn);
