/**
 * The transport seam: how request bytes reach a server and response bytes
 * come back. The request layer pushes every body chunk through a
 * {@linkcode ResponseSink} with the time it arrived, so a transport can hand
 * over chunks without a promise per chunk.
 *
 * @module
 */

/** One HTTP request. */
export interface HttpRequest {
  /** HTTP method. */
  method: "GET" | "POST";
  /** Absolute URL. */
  url: URL;
  /** Request headers. */
  headers: Record<string, string>;
  /** Request body. */
  body?: string;
}

/** Receives a response as it arrives. */
export interface ResponseSink {
  /** The status line and headers arrived. */
  head(status: number, headers: Headers): void;
  /**
   * A body chunk arrived; `at` is `performance.now()` taken when it came off
   * the network, before any parsing. The chunk is only valid during the call.
   * Throwing stops the response (the transport closes it and rethrows).
   */
  data(chunk: Uint8Array, at: number): void;
}

/** Options of one exchange. */
export interface SendOptions {
  /** Aborts the exchange; its `reason` is rethrown. */
  signal?: AbortSignal;
  /** Abort with a `TimeoutError` if no connection is made in time. */
  connectTimeoutMs?: number;
}

/** Sends requests and streams responses into a sink. */
export interface Transport {
  /** Short name for reports (`fetch`, `http1`). */
  readonly name: string;
  /** Send `request`; resolves once the whole body went through `sink`. */
  send(
    request: HttpRequest,
    sink: ResponseSink,
    options?: SendOptions,
  ): Promise<void>;
  /** Release pooled connections. */
  close(): void;
}

/**
 * The general transport on the platform's `fetch` (HTTP/2, proxies, TLS).
 * Without a separate connect phase, its connect timeout covers everything up
 * to the response head.
 *
 * @example Usage
 * ```ts ignore
 * import { fetchTransport } from "./transport.ts";
 * const transport = fetchTransport();
 * await transport.send(
 *   { method: "GET", url: new URL("http://127.0.0.1:8000/v1/models"), headers: {} },
 *   { head: (status) => console.log(status), data: (chunk) => console.log(chunk.length) },
 * );
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
      const { signal, connectTimeoutMs } = options;
      let headSignal = signal;
      let timer: ReturnType<typeof setTimeout> | undefined;
      if (connectTimeoutMs !== undefined) {
        const timeout = new AbortController();
        timer = setTimeout(
          () =>
            timeout.abort(
              new DOMException(
                `no response within ${connectTimeoutMs} ms`,
                "TimeoutError",
              ),
            ),
          connectTimeoutMs,
        );
        headSignal = signal
          ? AbortSignal.any([signal, timeout.signal])
          : timeout.signal;
      }
      let response: Response;
      try {
        response = await fetch(request.url, {
          method: request.method,
          headers: request.headers,
          body: request.body,
          signal: headSignal,
        });
      } finally {
        clearTimeout(timer);
      }
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
