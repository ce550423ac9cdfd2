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
  /**
   * The request is being sent again, on a fresh connection, because the
   * kept-alive connection it went out on was found closed before any
   * response byte (the server never read it); `at` is `performance.now()`
   * of the new send.
   */
  resent?(at: number): void;
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
