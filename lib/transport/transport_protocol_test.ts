/**
 * The protocol tests every transport must pass, run against `fetch` and the
 * HTTP/1.1 transport alike: the raw servers write exact bytes, so framing
 * (Content-Length, chunked with extensions and trailers, read-until-close),
 * keep-alive reuse and broken connections are tested as a server sends them.
 *
 * @module
 */
import assert from "node:assert/strict";
import { http1Transport } from "./http1.ts";
import { sendRequest } from "../openai/request.ts";
import { fetchTransport } from "./fetch.ts";
import type { Transport } from "./transport.ts";

const TRANSPORTS: [string, () => Transport][] = [
  ["fetch", () => fetchTransport()],
  ["http1", () => http1Transport()],
];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One request as the raw server read it. */
interface RawRequest {
  head: string;
  body: string;
}

type RawHandler = (
  conn: Deno.Conn,
  request: RawRequest,
  index: number,
) => Promise<"keep" | "close">;

/** A loopback server that reads requests and lets the test write raw responses. */
function rawServer(handler: RawHandler): {
  url: string;
  port: number;
  connections: () => number;
  requests: RawRequest[];
  close: () => Promise<void>;
} {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const tasks: Promise<void>[] = [];
  const requests: RawRequest[] = [];
  let accepted = 0;
  const serveConn = async (conn: Deno.Conn): Promise<void> => {
    let pending = new Uint8Array(0);
    const buf = new Uint8Array(65536);
    try {
      while (true) {
        // Read one request: head, then Content-Length bytes of body.
        let headEnd = -1;
        while (
          (headEnd = findHeadEnd(pending)) < 0 ||
          pending.length < headEnd + contentLength(pending, headEnd)
        ) {
          const n = await conn.read(buf);
          if (n === null) return;
          const next = new Uint8Array(pending.length + n);
          next.set(pending);
          next.set(buf.subarray(0, n), pending.length);
          pending = next;
        }
        const length = contentLength(pending, headEnd);
        const request = {
          head: decoder.decode(pending.subarray(0, headEnd)),
          body: decoder.decode(pending.subarray(headEnd, headEnd + length)),
        };
        pending = pending.slice(headEnd + length);
        requests.push(request);
        const what = await handler(conn, request, requests.length - 1);
        if (what === "close") return;
      }
    } catch {
      // The client went away.
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
  };
  const acceptLoop = (async () => {
    try {
      for await (const conn of listener) {
        accepted++;
        // Without it, Nagle's algorithm holds small writes for 40 ms.
        conn.setNoDelay(true);
        conns.add(conn);
        tasks.push(serveConn(conn));
      }
    } catch {
      // Listener closed.
    }
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    connections: () => accepted,
    requests,
    async close() {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // Closed already.
        }
      }
      await acceptLoop;
      await Promise.all(tasks);
    },
  };
}

function findHeadEnd(bytes: Uint8Array): number {
  for (let i = 3; i < bytes.length; i++) {
    if (
      bytes[i] === 10 && bytes[i - 1] === 13 && bytes[i - 2] === 10 &&
      bytes[i - 3] === 13
    ) return i + 1;
  }
  return -1;
}

function contentLength(bytes: Uint8Array, headEnd: number): number {
  const head = decoder.decode(bytes.subarray(0, headEnd));
  const match = /^content-length:\s*(\d+)/im.exec(head);
  return match ? Number(match[1]) : 0;
}

async function write(conn: Deno.Conn, text: string): Promise<void> {
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

interface Collected {
  status: number;
  headers: Headers;
  body: string;
  chunks: number;
}

async function collect(
  transport: Transport,
  url: string,
  options: { signal?: AbortSignal; connectTimeoutMs?: number; body?: string } =
    {},
): Promise<Collected> {
  const out: Collected = {
    status: 0,
    headers: new Headers(),
    body: "",
    chunks: 0,
  };
  const textDecoder = new TextDecoder();
  await transport.send(
    {
      method: "POST",
      url: new URL(url),
      headers: { "content-type": "application/json", "x-test": "1" },
      body: options.body ?? '{"hello":"wörld"}',
    },
    {
      head(status, headers) {
        out.status = status;
        out.headers = headers;
      },
      data(chunk) {
        out.chunks++;
        out.body += textDecoder.decode(chunk, { stream: true });
      },
    },
    { signal: options.signal, connectTimeoutMs: options.connectTimeoutMs },
  );
  return out;
}

for (const [name, make] of TRANSPORTS) {
  Deno.test(`${name}: a Content-Length body arrives whole, with its headers`, async () => {
    const server = rawServer(async (conn) => {
      await write(
        conn,
        "HTTP/1.1 200 OK\r\ncontent-length: 11\r\nx-server: raw\r\n\r\nhello world",
      );
      return "keep";
    });
    const transport = make();
    try {
      const got = await collect(transport, server.url + "v1/completions");
      assert.equal(got.status, 200);
      assert.equal(got.body, "hello world");
      assert.equal(got.headers.get("x-server"), "raw");
      const request = server.requests[0];
      assert.match(request.head, /^POST \/v1\/completions HTTP\/1\.1\r\n/);
      assert.match(request.head, /\r\nx-test: 1\r\n/i);
      assert.match(request.head, /\r\ncontent-length: 18\r\n/i);
      assert.equal(request.body, '{"hello":"wörld"}');
    } finally {
      transport.close();
      await server.close();
    }
  });

  Deno.test(`${name}: a chunked body with extensions and trailers, split anywhere`, async () => {
    const server = rawServer(async (conn) => {
      const parts = [
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r",
        "\nhel",
        "lo\r\n6\r\n world\r\n1",
        "A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nx-trailer: y\r",
        "\n\r\n",
      ];
      for (const part of parts) {
        await write(conn, part);
        await sleep(5);
      }
      return "keep";
    });
    const transport = make();
    try {
      const first = await collect(transport, server.url);
      assert.equal(first.status, 200);
      assert.equal(first.body, "hello worldabcdefghijklmnopqrstuvwxyz");
      // The trailers were consumed: the connection serves the next request.
      await sleep(10);
      const second = await collect(transport, server.url);
      assert.equal(second.body, first.body);
      // fetch (hyper) opens a new connection after a response with trailers.
      if (name === "http1") assert.equal(server.connections(), 1);
    } finally {
      transport.close();
      await server.close();
    }
  });

  Deno.test(`${name}: a body without length is read until the connection closes`, async () => {
    const server = rawServer(async (conn) => {
      await write(conn, "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nabc");
      await sleep(5);
      await write(conn, "def");
      return "close";
    });
    const transport = make();
    try {
      const got = await collect(transport, server.url);
      assert.equal(got.body, "abcdef");
      const again = await collect(transport, server.url);
      assert.equal(again.body, "abcdef");
      assert.equal(server.connections(), 2);
    } finally {
      transport.close();
      await server.close();
    }
  });

  Deno.test(`${name}: keep-alive reuses one connection for sequential requests`, async () => {
    const server = rawServer(async (conn, _request, index) => {
      const body = `reply ${index}`;
      await write(
        conn,
        `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      );
      return "keep";
    });
    const transport = make();
    try {
      for (let i = 0; i < 5; i++) {
        const got = await collect(transport, server.url);
        assert.equal(got.body, `reply ${i}`);
      }
      assert.equal(server.connections(), 1);
    } finally {
      transport.close();
      await server.close();
    }
  });

  Deno.test(`${name}: a kept-alive connection the server closed is replaced`, async () => {
    const server = rawServer(async (conn) => {
      await write(conn, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
      return "close"; // without saying so in the head
    });
    const transport = make();
    try {
      for (let i = 0; i < 3; i++) {
        assert.equal((await collect(transport, server.url)).body, "ok");
        await sleep(20);
      }
      assert.equal(server.connections(), 3);
    } finally {
      transport.close();
      await server.close();
    }
  });

  Deno.test(`${name}: a connection closed mid-body rejects and is not reused`, async () => {
    const server = rawServer(async (conn, _request, index) => {
      if (index === 0) {
        await write(conn, "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123");
        await sleep(10);
        return "close";
      }
      await write(conn, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
      return "keep";
    });
    const transport = make();
    try {
      const chunks: string[] = [];
      await assert.rejects(
        transport.send(
          { method: "GET", url: new URL(server.url), headers: {} },
          {
            head() {},
            data(chunk) {
              chunks.push(decoder.decode(chunk));
            },
          },
        ),
      );
      assert.equal(chunks.join(""), "0123");
      assert.equal((await collect(transport, server.url)).body, "ok");
      assert.equal(server.connections(), 2);
    } finally {
      transport.close();
      await server.close();
    }
  });

  Deno.test(`${name}: an aborted response rejects with the signal's reason`, async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const server = rawServer(async (conn) => {
      await write(
        conn,
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\nabcd\r\n",
      );
      await released;
      return "close";
    });
    const transport = make();
    const controller = new AbortController();
    const reason = new Error("stop now");
    try {
      let got = "";
      await assert.rejects(
        transport.send(
          { method: "GET", url: new URL(server.url), headers: {} },
          {
            head() {},
            data(chunk) {
              got += decoder.decode(chunk);
              controller.abort(reason);
            },
          },
          { signal: controller.signal },
        ),
        (error) => error === reason,
      );
      assert.equal(got, "abcd");
    } finally {
      release();
      transport.close();
      await server.close();
    }
  });

  Deno.test(`${name}: a refused connection is a connect error with the OS reason`, async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const transport = make();
    try {
      const record = await sendRequest(
        {
          baseUrl: `http://127.0.0.1:${port}/v1/`,
          model: "m",
          transport,
        },
        { prompt: "hi", maxTokens: 4 },
      );
      assert.equal(record.ok, false);
      assert.equal(record.error?.kind, "connect");
      assert.equal(record.error?.message, "Connection refused (os error 111)");
    } finally {
      transport.close();
    }
  });

  Deno.test(`${name}: a TLS handshake that never comes is a timeout`, async () => {
    // Accepts TCP but never speaks TLS.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const accepted: Deno.Conn[] = [];
    const acceptLoop = (async () => {
      try {
        for await (const conn of listener) accepted.push(conn);
      } catch {
        // Listener closed.
      }
    })();
    const transport = make();
    try {
      const started = performance.now();
      const record = await sendRequest(
        {
          baseUrl: `https://127.0.0.1:${port}/v1/`,
          model: "m",
          transport,
          // fetch has no connect phase of its own: the first-token timeout
          // bounds a handshake that never comes.
          ...(name === "fetch"
            ? { firstTokenTimeoutMs: 150 }
            : { connectTimeoutMs: 150 }),
        },
        { prompt: "hi", maxTokens: 4 },
      );
      const elapsed = performance.now() - started;
      assert.equal(record.error?.kind, "timeout");
      assert.equal(
        record.error?.message,
        name === "fetch"
          ? "no generated token within 150 ms"
          : "no connection within 150 ms",
      );
      // Not before the timeout, and long before the 10 s default would have.
      assert.ok(elapsed >= 150 && elapsed < 10_000, `took ${elapsed} ms`);
    } finally {
      transport.close();
      listener.close();
      await acceptLoop;
      for (const conn of accepted) conn.close();
    }
  });

  Deno.test(`${name}: an SSE stream through sendRequest is timed and counted`, async () => {
    const events = [
      '{"choices":[{"text":"a"}]}',
      '{"choices":[{"text":"bc"}]}',
      '{"choices":[{"text":"d","finish_reason":"length"}]}',
      '{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":3}}',
      "[DONE]",
    ];
    const server = rawServer(async (conn) => {
      await write(
        conn,
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
      );
      for (const event of events) {
        const frame = `data: ${event}\n\n`;
        await write(
          conn,
          `${encoder.encode(frame).length.toString(16)}\r\n${frame}\r\n`,
        );
        await sleep(3);
      }
      await write(conn, "0\r\n\r\n");
      return "keep";
    });
    const transport = make();
    try {
      for (let i = 0; i < 2; i++) {
        const record = await sendRequest(
          { baseUrl: server.url + "v1/", model: "m", transport },
          { prompt: "hi", maxTokens: 3 },
        );
        assert.equal(record.ok, true, record.error?.message);
        assert.equal(record.chunks, 3);
        assert.equal(record.outputChars, 4);
        assert.equal(record.completionTokens, 3);
        assert.ok(record.firstTokenAt! >= record.sentAt);
        assert.ok(
          record.endAt >= record.firstTokenAt! + 6,
          `${record.firstTokenAt! - record.sentAt} ${
            record.endAt - record.sentAt
          }`,
        );
      }
      assert.equal(server.connections(), 1);
    } finally {
      transport.close();
      await server.close();
    }
  });

  Deno.test(`${name}: a stream cut mid-event through sendRequest is stream_cut`, async () => {
    const server = rawServer(async (conn) => {
      await write(
        conn,
        'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n22\r\ndata: {"choices":[{"text":"a"}]}\n\n\r\n5\r\ndata:',
      );
      await sleep(10);
      return "close";
    });
    const transport = make();
    try {
      const record = await sendRequest(
        { baseUrl: server.url + "v1/", model: "m", transport },
        { prompt: "hi", maxTokens: 3 },
      );
      assert.equal(record.ok, false);
      assert.equal(record.error?.kind, "stream_cut");
      assert.equal(record.chunks, 1);
    } finally {
      transport.close();
      await server.close();
    }
  });
}

Deno.test("fetch and http1: TLS to a server signed by a test CA", async () => {
  const tls = new URL("../../tests/testdata/tls/", import.meta.url);
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(new URL("cert.pem", tls)),
    key: await Deno.readTextFile(new URL("key.pem", tls)),
    onListen() {},
  }, (request) => new Response(`secure ${request.method}`));
  const url = `https://localhost:${server.addr.port}/v1/completions`;
  const transport = http1Transport({
    caCerts: [await Deno.readTextFile(new URL("ca.pem", tls))],
  });
  try {
    assert.equal((await collect(transport, url)).body, "secure POST");
    // fetchTransport takes no client options: trust the CA process-wide.
    const script = `
      import { fetchTransport } from ${
      JSON.stringify(new URL("./fetch.ts", import.meta.url).href)
    };
      let body = "";
      await fetchTransport().send(
        { method: "POST", url: new URL(${
      JSON.stringify(url)
    }), headers: {}, body: "{}" },
        { head() {}, data(chunk) { body += new TextDecoder().decode(chunk); } },
      );
      console.log(body);`;
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        "--cert",
        new URL("ca.pem", tls).pathname,
        script,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(
      new TextDecoder().decode(output.stdout).trim(),
      "secure POST",
      new TextDecoder().decode(output.stderr),
    );
  } finally {
    transport.close();
    await server.shutdown();
  }
});
