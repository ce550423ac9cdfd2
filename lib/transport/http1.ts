/**
 * A fast HTTP/1.1 transport over `Deno.connect` / `Deno.connectTls`.
 *
 * `fetch` hands a body over one promise and one op call per HTTP chunk, which
 * for a token stream means per token; this transport reads 64 KiB at a time,
 * parses the response straight from the bytes and pushes body bytes to the
 * sink as views into its read buffer, so a read that holds many events costs
 * one promise. Connections are kept alive in a pool per origin. An idle
 * connection keeps a read pending (unref'd, so it never holds the process
 * open): when the server closes it, it leaves the pool at once, and when it is
 * reused that read is the first read of the response.
 *
 * @module
 */
import { writeAll } from "../io/write_all.ts";
import { fetchTransport } from "./fetch.ts";
import type {
  HttpRequest,
  ResponseSink,
  SendOptions,
  Transport,
} from "./transport.ts";

/** Options of {@linkcode http1Transport}. */
export interface Http1Options {
  /** PEM certificates trusted in addition to the system's, for `https:`. */
  caCerts?: string[];
  /** Bytes per read (default 65 536; a connection starts at 16 KiB and grows to this once a read fills its buffer). */
  readSize?: number;
  /** Idle connections kept per origin at most (default 4096). */
  maxIdlePerOrigin?: number;
}

const CR = 13;
const LF = 10;
const DEFAULT_READ_SIZE = 65_536;
/**
 * A new connection reads 16 KiB at a time until a read fills that: token
 * streams rarely do, and 2048 idle-ish streams then hold 32 MiB, not 128.
 */
const FIRST_READ_SIZE = 16_384;
/** A response head larger than this is refused. */
const MAX_HEAD_BYTES = 256 * 1024;

interface Target {
  key: string;
  hostname: string;
  port: number;
  tls: boolean;
}

/** A pooled connection and its read buffer. */
class Connection {
  readonly conn: Deno.Conn;
  /** The read buffer: small at first, `readSize` once a read fills it. */
  buf: Uint8Array;
  #readSize: number;
  /** A read started while idle; the first read of the next response. */
  pending: Promise<number | null> | null = null;
  idle = false;
  closed = false;
  /** The last exchange left it ready for another request. */
  reusable = false;

  constructor(conn: Deno.Conn, readSize: number) {
    this.conn = conn;
    this.#readSize = readSize;
    this.buf = new Uint8Array(Math.min(readSize, FIRST_READ_SIZE));
  }

  read(): Promise<number | null> {
    const pending = this.pending;
    if (pending !== null) {
      this.pending = null;
      return pending;
    }
    return this.conn.read(this.buf);
  }

  /** After a read of `n` bytes was consumed: a full buffer asks for the big one. */
  consumed(n: number): void {
    if (n === this.buf.length && n < this.#readSize) {
      this.buf = new Uint8Array(this.#readSize);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch {
      // Already closed by the peer's reset.
    }
  }
}

/** Thrown inside an exchange when a reused connection was found dead before any response byte. */
class StaleConnection extends Error {}

/**
 * The HTTP/1.1 transport: keep-alive pool per origin, `Content-Length`,
 * chunked and read-until-close bodies, 64 KiB reads, body chunks passed as
 * views of the read buffer (valid only during `sink.data`).
 *
 * @example Usage
 * ```ts
 * import { http1Transport } from "./http1.ts";
 * import assert from "node:assert/strict";
 *
 * const server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   () => new Response("hello"),
 * );
 * const transport = http1Transport();
 * let status = 0;
 * let bytes = 0;
 * await transport.send(
 *   { method: "GET", url: new URL(`http://127.0.0.1:${server.addr.port}/v1/models`), headers: {} },
 *   { head(s) { status = s; }, data(chunk) { bytes += chunk.length; } },
 * );
 * assert.equal(status, 200);
 * assert.equal(bytes, 5);
 * transport.close(); // closes the kept-alive connection
 * await server.shutdown();
 * ```
 */
export function http1Transport(options: Http1Options = {}): Transport {
  return new Http1Transport(options);
}

class Http1Transport implements Transport {
  readonly name = "http1";
  #caCerts?: string[];
  #readSize: number;
  #maxIdle: number;
  #idle = new Map<string, Connection[]>();

  constructor(options: Http1Options) {
    this.#caCerts = options.caCerts;
    this.#readSize = options.readSize ?? DEFAULT_READ_SIZE;
    this.#maxIdle = options.maxIdlePerOrigin ?? 4096;
  }

  async send(
    request: HttpRequest,
    sink: ResponseSink,
    options: SendOptions = {},
  ): Promise<void> {
    const { signal } = options;
    signal?.throwIfAborted();
    const target = targetOf(request.url);
    const bytes = encodeRequest(request);
    for (let attempt = 0;; attempt++) {
      // After a stale connection, the sink hears of the new send: its time
      // is the request's, and the record counts it.
      if (attempt > 0) sink.resent?.(performance.now());
      let connection = this.#take(target.key);
      const reused = connection !== undefined;
      connection ??= await this.#connect(target, options);
      try {
        await this.#exchange(connection, bytes, sink, signal, reused);
        if (connection.reusable) this.#release(target.key, connection);
        return;
      } catch (error) {
        if (!(error instanceof StaleConnection)) throw error;
        // The server closed the idle connection as we took it: try another.
      }
    }
  }

  close(): void {
    for (const list of this.#idle.values()) {
      for (const c of list) {
        c.idle = false;
        c.close();
      }
    }
    this.#idle.clear();
  }

  #take(key: string): Connection | undefined {
    const list = this.#idle.get(key);
    const c = list?.pop();
    if (c === undefined) return undefined;
    c.idle = false;
    c.reusable = false;
    c.conn.ref();
    return c;
  }

  #release(key: string, c: Connection): void {
    let list = this.#idle.get(key);
    if (list === undefined) {
      list = [];
      this.#idle.set(key, list);
    }
    if (list.length >= this.#maxIdle) {
      c.close();
      return;
    }
    c.idle = true;
    const pending = c.conn.read(c.buf);
    c.pending = pending;
    c.conn.unref();
    list.push(c);
    const onIdleRead = (): void => {
      // Anything arriving on an idle connection (EOF, reset, stray bytes) ends it.
      if (!c.idle) return;
      c.idle = false;
      const at = list!.indexOf(c);
      if (at !== -1) list!.splice(at, 1);
      c.close();
    };
    pending.then(onIdleRead, onIdleRead);
  }

  async #connect(target: Target, options: SendOptions): Promise<Connection> {
    const { signal, connectTimeoutMs } = options;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let connectSignal = signal;
    let timeout: AbortController | undefined;
    if (connectTimeoutMs !== undefined) {
      timeout = new AbortController();
      const t = timeout;
      timer = setTimeout(
        () =>
          t.abort(
            new DOMException(
              `no connection within ${connectTimeoutMs} ms`,
              "TimeoutError",
            ),
          ),
        connectTimeoutMs,
      );
      connectSignal = signal ? AbortSignal.any([signal, t.signal]) : t.signal;
    }
    let conn: Deno.Conn | undefined;
    const onAbort = (): void => conn?.close();
    try {
      const tcp = await Deno.connect({
        hostname: target.hostname,
        port: target.port,
        signal: connectSignal,
      });
      conn = tcp;
      if (target.tls) {
        // TCP first, then TLS on it: the connect signal bounds both.
        connectSignal?.addEventListener("abort", onAbort, { once: true });
        connectSignal?.throwIfAborted();
        const tls = await Deno.startTls(tcp, {
          hostname: target.hostname,
          caCerts: this.#caCerts,
          alpnProtocols: ["http/1.1"],
        });
        conn = tls;
        await tls.handshake();
      }
      connectSignal?.throwIfAborted();
      return new Connection(conn, this.#readSize);
    } catch (error) {
      if (conn !== undefined) {
        try {
          conn.close();
        } catch {
          // Closed by onAbort already.
        }
      }
      if (connectSignal?.aborted) throw connectSignal.reason;
      throw error;
    } finally {
      clearTimeout(timer);
      connectSignal?.removeEventListener("abort", onAbort);
    }
  }

  async #exchange(
    c: Connection,
    bytes: Uint8Array,
    sink: ResponseSink,
    signal: AbortSignal | undefined,
    reused: boolean,
  ): Promise<void> {
    const onAbort = (): void => c.close();
    signal?.addEventListener("abort", onAbort, { once: true });
    const parser = new ResponseParser(sink);
    let received = false;
    try {
      await writeAll(c.conn, bytes);
      while (true) {
        const n = await c.read();
        const at = performance.now();
        if (n === null) {
          if (reused && !received) throw new StaleConnection();
          parser.end();
          break;
        }
        received = true;
        const done = parser.push(c.buf, n, at);
        c.consumed(n);
        if (done) break;
      }
    } catch (error) {
      c.close();
      if (signal?.aborted) throw signal.reason;
      if (
        reused && !received &&
        (error instanceof StaleConnection || isResetError(error))
      ) throw new StaleConnection();
      throw error;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
    if (parser.reusable && !c.closed) c.reusable = true;
    else c.close();
  }
}

// Parse states of a response (plain numbers: the hot loop switches on them).
const S_HEAD = 0;
const S_LENGTH = 1;
const S_UNTIL_CLOSE = 2;
const S_CHUNK_SIZE = 3;
const S_CHUNK_EXT = 4;
const S_CHUNK_DATA = 5;
const S_CHUNK_DATA_END = 6;
const S_TRAILERS = 7;
const S_DONE = 8;

/**
 * An incremental HTTP/1.1 response parser: the head is decoded into
 * `Headers`, body bytes go to the sink as views of the caller's buffer.
 */
class ResponseParser {
  /** The connection may carry another request once this response is done. */
  reusable = false;
  #sink: ResponseSink;
  #state: number = S_HEAD;
  /** Head bytes of earlier reads, when the head spans reads. */
  #head: Uint8Array | null = null;
  #remaining = 0;
  #digits = 0;
  #lineLength = 0;
  #keepAlive = false;

  constructor(sink: ResponseSink) {
    this.#sink = sink;
  }

  /** Feed `buf[0, n)`; true once the response is complete. */
  push(buf: Uint8Array, n: number, at: number): boolean {
    let pos = 0;
    if (this.#state === S_HEAD) {
      pos = this.#pushHead(buf, n);
      if (pos < 0) return false;
    }
    if (pos < n || this.#state === S_DONE) this.#body(buf, pos, n, at);
    return this.#state === S_DONE;
  }

  /** The connection reached its end. */
  end(): void {
    if (this.#state === S_UNTIL_CLOSE) {
      this.#state = S_DONE;
      return;
    }
    if (this.#state === S_DONE) return;
    throw new Deno.errors.UnexpectedEof(
      this.#state === S_HEAD && this.#head === null
        ? "connection closed before message completed"
        : "end of file before message length reached",
    );
  }

  /** Parse head bytes; returns where the body starts in `buf`, or -1 if the head is incomplete. */
  #pushHead(buf: Uint8Array, n: number): number {
    let bytes: Uint8Array;
    let offset: number; // where `buf` starts within `bytes`
    if (this.#head === null) {
      bytes = buf;
      offset = 0;
    } else {
      bytes = new Uint8Array(this.#head.length + n);
      bytes.set(this.#head);
      bytes.set(buf.subarray(0, n), this.#head.length);
      offset = this.#head.length;
    }
    const length = offset + n;
    let start = 0;
    while (true) {
      const end = headEnd(bytes, start, length);
      if (end < 0) {
        if (length - start > MAX_HEAD_BYTES) {
          throw new TypeError("the response head is too large");
        }
        this.#head = bytes.slice(start, length);
        return -1;
      }
      const informational = this.#parseHead(bytes, start, end);
      start = end;
      if (!informational) break;
    }
    this.#head = null;
    return start - offset;
  }

  /** Decode one head; true for a 1xx response (another head follows). */
  #parseHead(bytes: Uint8Array, start: number, end: number): boolean {
    const text = LATIN1.decode(bytes.subarray(start, end));
    const lines = text.split(/\r?\n/);
    const statusLine = lines[0];
    const match = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(statusLine);
    if (match === null) {
      throw new TypeError(
        `invalid HTTP response status line: ${
          JSON.stringify(statusLine.slice(0, 80))
        }`,
      );
    }
    const status = Number(match[2]);
    if (status >= 100 && status < 200 && status !== 101) return true;
    const headers = new Headers();
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      if (line === "") continue;
      const colon = line.indexOf(":");
      if (colon <= 0) {
        throw new TypeError(
          `invalid HTTP response header: ${JSON.stringify(line.slice(0, 80))}`,
        );
      }
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    const connection = headers.get("connection")?.toLowerCase() ?? "";
    this.#keepAlive = match[1] === "1"
      ? !connection.includes("close")
      : connection.includes("keep-alive");
    const transferEncoding = headers.get("transfer-encoding");
    const contentLength = headers.get("content-length");
    if (status === 204 || status === 304) {
      this.#state = S_DONE;
    } else if (
      transferEncoding !== null &&
      /(?:^|,)\s*chunked\s*$/i.test(transferEncoding)
    ) {
      this.#state = S_CHUNK_SIZE;
      this.#digits = 0;
      this.#remaining = 0;
    } else if (transferEncoding === null && contentLength !== null) {
      const length = Number(contentLength);
      if (!/^\d+$/.test(contentLength) || !Number.isSafeInteger(length)) {
        throw new TypeError(`invalid Content-Length: ${contentLength}`);
      }
      this.#remaining = length;
      this.#state = length === 0 ? S_DONE : S_LENGTH;
    } else {
      this.#state = S_UNTIL_CLOSE;
      this.#keepAlive = false;
    }
    this.#sink.head(status, headers);
    return false;
  }

  #body(buf: Uint8Array, pos: number, n: number, at: number): void {
    const sink = this.#sink;
    while (pos < n) {
      switch (this.#state) {
        case S_LENGTH:
        case S_CHUNK_DATA: {
          const take = Math.min(this.#remaining, n - pos);
          sink.data(buf.subarray(pos, pos + take), at);
          pos += take;
          this.#remaining -= take;
          if (this.#remaining === 0) {
            this.#state = this.#state === S_LENGTH ? S_DONE : S_CHUNK_DATA_END;
          }
          break;
        }
        case S_UNTIL_CLOSE:
          sink.data(buf.subarray(pos, n), at);
          pos = n;
          break;
        case S_CHUNK_SIZE: {
          const b = buf[pos++];
          const digit = hexDigit(b);
          if (digit >= 0) {
            if (++this.#digits > 12) {
              throw new TypeError("invalid chunk size: too many digits");
            }
            this.#remaining = this.#remaining * 16 + digit;
          } else if (b === LF) {
            this.#endChunkSize();
          } else if (b === CR) {
            // The LF follows.
          } else if (b === 0x3b || b === 0x20 || b === 0x09) {
            this.#state = S_CHUNK_EXT; // ";ext=value" or padding
          } else {
            throw new TypeError(`invalid chunk size byte 0x${b.toString(16)}`);
          }
          break;
        }
        case S_CHUNK_EXT:
          if (buf[pos++] === LF) this.#endChunkSize();
          break;
        case S_CHUNK_DATA_END: {
          const b = buf[pos++];
          if (b === LF) this.#state = S_CHUNK_SIZE;
          else if (b !== CR) {
            throw new TypeError("invalid chunked body: no CRLF after a chunk");
          }
          break;
        }
        case S_TRAILERS: {
          const b = buf[pos++];
          if (b === LF) {
            if (this.#lineLength === 0) this.#state = S_DONE;
            this.#lineLength = 0;
          } else if (b !== CR) {
            this.#lineLength++;
          }
          break;
        }
        case S_DONE:
          // Bytes past the response: the connection cannot be trusted again.
          this.#keepAlive = false;
          pos = n;
          break;
        case S_HEAD:
          throw new TypeError("unreachable: body bytes before the head");
      }
    }
    if (this.#state === S_DONE) this.reusable = this.#keepAlive;
  }

  #endChunkSize(): void {
    if (this.#digits === 0) throw new TypeError("invalid chunk size: empty");
    this.#digits = 0;
    if (this.#remaining === 0) {
      this.#state = S_TRAILERS;
      this.#lineLength = 0;
    } else {
      this.#state = S_CHUNK_DATA;
    }
  }
}

const LATIN1 = new TextDecoder("latin1");
const ENCODER = new TextEncoder();

function hexDigit(b: number): number {
  if (b >= 48 && b <= 57) return b - 48;
  if (b >= 97 && b <= 102) return b - 87;
  if (b >= 65 && b <= 70) return b - 55;
  return -1;
}

/** End of the head (just past its blank line) in `bytes[start, length)`, or -1. */
function headEnd(bytes: Uint8Array, start: number, length: number): number {
  for (let i = start; i < length; i++) {
    if (bytes[i] !== LF) continue;
    if (i + 1 < length && bytes[i + 1] === LF) return i + 2;
    if (i + 2 < length && bytes[i + 1] === CR && bytes[i + 2] === LF) {
      return i + 3;
    }
  }
  return -1;
}

function targetOf(url: URL): Target {
  const tls = url.protocol === "https:";
  if (!tls && url.protocol !== "http:") {
    throw new TypeError(
      `Cannot send to ${url.protocol} URLs over HTTP/1.1: expected http: or https:`,
    );
  }
  const port = url.port === "" ? (tls ? 443 : 80) : Number(url.port);
  // URL keeps IPv6 hosts in brackets; connect wants them bare.
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return { key: `${url.protocol}//${url.host}`, hostname, port, tls };
}

const SKIPPED_HEADERS = new Set([
  "host",
  "content-length",
  "connection",
  "transfer-encoding",
]);

function encodeRequest(request: HttpRequest): Uint8Array {
  const url = request.url;
  let head = `${request.method} ${url.pathname}${url.search} HTTP/1.1\r\n` +
    `host: ${url.host}\r\nconnection: keep-alive\r\n`;
  for (const name in request.headers) {
    if (SKIPPED_HEADERS.has(name.toLowerCase())) continue;
    const value = request.headers[name];
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) {
      throw new TypeError(
        `Cannot send header "${name}": it contains a newline`,
      );
    }
    head += `${name}: ${value}\r\n`;
  }
  const body = request.body;
  if (body === undefined && request.method !== "POST") {
    return ENCODER.encode(head + "\r\n");
  }
  const text = body ?? "";
  // Encode the body once, into the buffer that is sent, behind room for the
  // head: a 32 000-token prompt is not copied again. The room assumes an
  // ASCII body (JSON bodies mostly are); otherwise encode it separately.
  const headRoom = head.length * 3 + 40;
  const out = new Uint8Array(headRoom + text.length);
  const { read, written } = ENCODER.encodeInto(text, out.subarray(headRoom));
  if (read !== text.length) {
    const bytes = ENCODER.encode(text);
    const headBytes = ENCODER.encode(
      `${head}content-length: ${bytes.length}\r\n\r\n`,
    );
    const joined = new Uint8Array(headBytes.length + bytes.length);
    joined.set(headBytes);
    joined.set(bytes, headBytes.length);
    return joined;
  }
  const headBytes = ENCODER.encode(
    `${head}content-length: ${written}\r\n\r\n`,
  );
  const start = headRoom - headBytes.length;
  out.set(headBytes, start);
  return out.subarray(start, headRoom + written);
}

function isResetError(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.UnexpectedEof;
}

/**
 * True when `url` would go through a proxy by the environment (`HTTP_PROXY`,
 * `HTTPS_PROXY`, `ALL_PROXY` in either case, minus `NO_PROXY`), or when the
 * environment cannot be read (then `fetch`, which honours proxies, is the safe
 * choice).
 *
 * @example Usage
 * ```ts
 * import { usesProxy } from "./http1.ts";
 * import { withEnv } from "../testing/with_env.ts";
 * import assert from "node:assert/strict";
 *
 * await withEnv({ HTTP_PROXY: "http://proxy.internal:3128", NO_PROXY: "localhost,127.0.0.1" }, () => {
 *   assert.equal(usesProxy(new URL("http://api.example.com/v1/")), true);
 *   assert.equal(usesProxy(new URL("http://127.0.0.1:8000/v1/")), false); // in NO_PROXY
 * });
 * ```
 */
export function usesProxy(url: URL): boolean {
  if (Deno.permissions.querySync({ name: "env" }).state !== "granted") {
    return true;
  }
  const env = (name: string): string | undefined =>
    Deno.env.get(name) || Deno.env.get(name.toLowerCase()) || undefined;
  const proxy = url.protocol === "https:"
    ? env("HTTPS_PROXY") ?? env("ALL_PROXY")
    : url.protocol === "http:"
    ? env("HTTP_PROXY") ?? env("ALL_PROXY")
    : env("ALL_PROXY");
  if (proxy === undefined) return false;
  const noProxy = env("NO_PROXY");
  if (noProxy === undefined) return true;
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.toLowerCase().replace(/:\d+$/, "").replace(/^\*?\./, "");
    if (entry === "") continue;
    if (entry === "*") return false;
    if (host === entry || host.endsWith(`.${entry}`)) return false;
  }
  return true;
}

/**
 * The default transport: {@linkcode http1Transport} for `http:` and
 * `https:` URLs that no proxy variable applies to, `fetch` otherwise. The
 * choice is made once per origin.
 *
 * @example Usage
 * ```ts
 * import { defaultTransport } from "./http1.ts";
 * import assert from "node:assert/strict";
 *
 * const server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   () => new Response("hello"),
 * );
 * const transport = defaultTransport();
 * const statuses: number[] = [];
 * // transport.send(request, sink) for each request, then close it.
 * for (let i = 0; i < 3; i++) {
 *   await transport.send(
 *     { method: "GET", url: new URL(`http://127.0.0.1:${server.addr.port}/v1/models`), headers: {} },
 *     { head(status) { statuses.push(status); }, data() {} },
 *   );
 * }
 * assert.deepEqual(statuses, [200, 200, 200]);
 * transport.close();
 * await server.shutdown();
 * ```
 */
export function defaultTransport(options: Http1Options = {}): Transport {
  let fast: Transport | undefined;
  let general: Transport | undefined;
  const choice = new Map<string, boolean>();
  return {
    name: "auto",
    send(
      request: HttpRequest,
      sink: ResponseSink,
      sendOptions?: SendOptions,
    ): Promise<void> {
      const origin = request.url.origin;
      let direct = choice.get(origin);
      if (direct === undefined) {
        const protocol = request.url.protocol;
        direct = (protocol === "http:" || protocol === "https:") &&
          !usesProxy(request.url);
        choice.set(origin, direct);
      }
      const transport = direct
        ? (fast ??= http1Transport(options))
        : (general ??= fetchTransport());
      return transport.send(request, sink, sendOptions);
    },
    close(): void {
      fast?.close();
      general?.close();
    },
  };
}
