/**
 * The transport on the platform's `fetch`: HTTP/2, proxies and TLS as the
 * runtime does them, at the cost of a promise per body chunk.
 *
 * @module
 */
import type {
  HttpRequest,
  ResponseSink,
  SendOptions,
  Transport,
} from "./transport.ts";

/**
 * The general transport on the platform's `fetch` (HTTP/2, proxies, TLS).
 * It has no separate connect phase, so `connectTimeoutMs` is not applied
 * (it would bound the wait for the response head, which for a request that
 * is not streamed is the whole generation).
 *
 * @example Usage
 * ```ts
 * import { fetchTransport } from "./fetch.ts";
 * import assert from "node:assert/strict";
 *
 * const server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   () => new Response("hello"),
 * );
 * const transport = fetchTransport();
 * let status = 0;
 * let bytes = 0;
 * await transport.send(
 *   { method: "GET", url: new URL(`http://127.0.0.1:${server.addr.port}/v1/models`), headers: {} },
 *   { head(s) { status = s; }, data(chunk) { bytes += chunk.length; } },
 * );
 * assert.equal(status, 200);
 * assert.equal(bytes, 5);
 * transport.close();
 * await server.shutdown();
 * ```
 */
export function fetchTransport(): Transport {
  return {
    name: "fetch",
    async send(
      request: HttpRequest,
      sink: ResponseSink,
      options: SendOptions = {},
    ): Promise<void> {
      // `fetch` has no separate connect phase: a connect timeout would bound
      // the whole wait for the response head, which for a request that is
      // not streamed is the whole generation. It is not applied; the total,
      // first-token and idle timeouts of the request bound the wait.
      const { signal } = options;
      const response = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal,
      });
      sink.head(response.status, response.headers);
      const body = response.body;
      if (body === null) return;
      const reader = body.getReader();
      const onAbort = (): void =>
        void reader.cancel(signal?.reason).catch(() => {});
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        while (true) {
          const { done, value } = await reader.read();
          const at = performance.now();
          if (done) break;
          sink.data(value, at);
        }
        signal?.throwIfAborted();
      } catch (error) {
        reader.cancel().catch(() => {});
        throw signal?.aborted ? signal.reason : error;
      } finally {
        signal?.removeEventListener("abort", onAbort);
      }
    },
    close(): void {},
  };
}
