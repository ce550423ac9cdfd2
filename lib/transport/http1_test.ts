import assert from "node:assert/strict";
import { defaultTransport, http1Transport, usesProxy } from "./http1.ts";
import { sendRequest } from "../openai/request.ts";
import type { ResponseSink } from "./transport.ts";

const decoder = new TextDecoder();

function textSink(): ResponseSink & { status: number; text: string } {
  return {
    status: 0,
    text: "",
    head(status) {
      this.status = status;
    },
    data(chunk) {
      this.text += decoder.decode(chunk);
    },
  };
}

const TLS_DIR = new URL("../../tests/testdata/tls/", import.meta.url);
const certs = {
  ca: Deno.readTextFileSync(new URL("ca.pem", TLS_DIR)),
  cert: Deno.readTextFileSync(new URL("cert.pem", TLS_DIR)),
  key: Deno.readTextFileSync(new URL("key.pem", TLS_DIR)),
};

Deno.test("http1Transport speaks TLS to a server signed by an extra CA, and reuses the connection", async () => {
  const peers = new Set<number>();
  const server = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: 0,
      cert: certs.cert,
      key: certs.key,
      onListen() {},
    },
    (_request, info) => {
      peers.add(info.remoteAddr.port);
      return new Response("secure hello");
    },
  );
  const transport = http1Transport({ caCerts: [certs.ca] });
  try {
    for (let i = 0; i < 3; i++) {
      const sink = textSink();
      await transport.send(
        {
          method: "GET",
          url: new URL(`https://localhost:${server.addr.port}/`),
          headers: {},
        },
        sink,
      );
      assert.equal(sink.status, 200);
      assert.equal(sink.text, "secure hello");
    }
    assert.equal(peers.size, 1);
  } finally {
    transport.close();
    await server.shutdown();
  }
});

Deno.test("http1Transport rejects a TLS server it does not trust, as a connect failure", async () => {
  const server = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: 0,
      cert: certs.cert,
      key: certs.key,
      onListen() {},
    },
    () => new Response("secure hello"),
  );
  const transport = http1Transport();
  try {
    const record = await sendRequest(
      {
        baseUrl: `https://localhost:${server.addr.port}/v1/`,
        model: "m",
        transport,
      },
      { prompt: "hi", maxTokens: 1 },
    );
    assert.equal(record.error?.kind, "connect");
    assert.match(record.error!.message, /certificate/i);
  } finally {
    transport.close();
    await server.shutdown();
  }
});

Deno.test("http1Transport serves many concurrent streams from Deno.serve and pools their connections", async () => {
  const peers = new Set<number>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (_request, info) => {
      peers.add(info.remoteAddr.port);
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          for (let i = 0; i < 5; i++) {
            controller.enqueue(new TextEncoder().encode(`${i},`));
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
          controller.close();
        },
      });
      return new Response(body);
    },
  );
  const transport = http1Transport();
  const url = new URL(`http://127.0.0.1:${server.addr.port}/x`);
  try {
    for (let round = 0; round < 2; round++) {
      const sinks = Array.from({ length: 50 }, () => textSink());
      await Promise.all(
        sinks.map((sink) =>
          transport.send({ method: "GET", url, headers: {} }, sink)
        ),
      );
      for (const sink of sinks) assert.equal(sink.text, "0,1,2,3,4,");
    }
    assert.equal(peers.size, 50);
  } finally {
    transport.close();
    await server.shutdown();
  }
});

Deno.test("http1Transport sends the body's UTF-8 length and the caller's headers", async () => {
  let seen: { length: string | null; custom: string | null; body: string } = {
    length: null,
    custom: null,
    body: "",
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      seen = {
        length: request.headers.get("content-length"),
        custom: request.headers.get("x-custom"),
        body: await request.text(),
      };
      return new Response(null, { status: 204 });
    },
  );
  const transport = http1Transport();
  try {
    const sink = textSink();
    await transport.send(
      {
        method: "POST",
        url: new URL(`http://127.0.0.1:${server.addr.port}/`),
        headers: { "x-custom": "yes", "Content-Length": "1" },
        body: "héllo 🌍",
      },
      sink,
    );
    assert.equal(sink.status, 204);
    assert.deepEqual(seen, { length: "11", custom: "yes", body: "héllo 🌍" });
  } finally {
    transport.close();
    await server.shutdown();
  }
});

Deno.test("http1Transport refuses other URL schemes and header injection", async () => {
  const transport = http1Transport();
  await assert.rejects(
    transport.send(
      { method: "GET", url: new URL("ftp://127.0.0.1/"), headers: {} },
      textSink(),
    ),
    /Cannot send to ftp: URLs over HTTP\/1\.1/,
  );
  await assert.rejects(
    transport.send(
      {
        method: "GET",
        url: new URL("http://127.0.0.1:1/"),
        headers: { "x-a": "1\r\nx-b: 2" },
      },
      textSink(),
    ),
    /Cannot send header "x-a": it contains a newline/,
  );
});

Deno.test("a sink that throws stops the response and closes its connection", async () => {
  const peers = new Set<number>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (_request, info) => {
      peers.add(info.remoteAddr.port);
      return new Response("abcdef");
    },
  );
  const transport = http1Transport();
  const url = new URL(`http://127.0.0.1:${server.addr.port}/`);
  try {
    await assert.rejects(
      transport.send({ method: "GET", url, headers: {} }, {
        head() {},
        data() {
          throw new RangeError("sink says no");
        },
      }),
      /sink says no/,
    );
    const sink = textSink();
    await transport.send({ method: "GET", url, headers: {} }, sink);
    assert.equal(sink.text, "abcdef");
    assert.equal(peers.size, 2);
  } finally {
    transport.close();
    await server.shutdown();
  }
});

Deno.test("usesProxy follows HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY", () => {
  const names = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
  ];
  const saved = new Map(names.map((n) => [n, Deno.env.get(n)]));
  const http = new URL("http://gpu-1.lab:8000/v1/");
  const https = new URL("https://api.example.com/v1/");
  try {
    for (const n of names) Deno.env.delete(n);
    assert.equal(usesProxy(http), false);
    assert.equal(usesProxy(https), false);
    Deno.env.set("https_proxy", "http://proxy:3128");
    assert.equal(usesProxy(http), false);
    assert.equal(usesProxy(https), true);
    Deno.env.set("HTTP_PROXY", "http://proxy:3128");
    assert.equal(usesProxy(http), true);
    Deno.env.set("NO_PROXY", "localhost, .lab");
    assert.equal(usesProxy(http), false);
    assert.equal(usesProxy(https), true);
    Deno.env.set("NO_PROXY", "*");
    assert.equal(usesProxy(https), false);
    for (const n of names) Deno.env.delete(n);
    Deno.env.set("ALL_PROXY", "socks5://proxy:1080");
    assert.equal(usesProxy(http), true);
    assert.equal(usesProxy(https), true);
  } finally {
    for (const [n, v] of saved) {
      if (v === undefined) Deno.env.delete(n);
      else Deno.env.set(n, v);
    }
  }
});

Deno.test("defaultTransport sends direct origins over http1 and proxied ones through fetch", async () => {
  // The raw listener is both a server and, through HTTP_PROXY, fetch's proxy.
  const lines: string[] = [];
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      const buf = new Uint8Array(4096);
      const n = await conn.read(buf);
      lines.push(decoder.decode(buf.subarray(0, n ?? 0)).split("\r\n")[0]);
      await conn.write(
        new TextEncoder().encode(
          "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
        ),
      );
    }
  })().catch(() => {});
  const port = (listener.addr as Deno.NetAddr).port;
  const names = ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"];
  const names2 = [...names, "NO_PROXY", "no_proxy"];
  const saved = new Map(names2.map((n) => [n, Deno.env.get(n)]));
  const transport = defaultTransport();
  try {
    for (const n of names2) Deno.env.delete(n);
    const direct = textSink();
    await transport.send(
      {
        method: "GET",
        url: new URL(`http://127.0.0.1:${port}/direct`),
        headers: {},
      },
      direct,
    );
    assert.equal(direct.text, "ok");
    Deno.env.set("HTTP_PROXY", `http://127.0.0.1:${port}`);
    const proxied = textSink();
    await transport.send(
      {
        method: "GET",
        url: new URL("http://proxied.invalid:8099/p"),
        headers: {},
      },
      proxied,
    );
    assert.equal(proxied.text, "ok");
    assert.deepEqual(lines, [
      "GET /direct HTTP/1.1",
      "GET http://proxied.invalid:8099/p HTTP/1.1",
    ]);
  } finally {
    transport.close();
    for (const [n, v] of saved) {
      if (v === undefined) Deno.env.delete(n);
      else Deno.env.set(n, v);
    }
    listener.close();
    for (const conn of conns) conn.close();
    await serving;
  }
});

Deno.test("http1Transport reads a body larger than its first buffer intact", async () => {
  const big = new Uint8Array(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 251;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(big),
  );
  const transport = http1Transport();
  const url = new URL(`http://127.0.0.1:${server.addr.port}/`);
  try {
    for (let round = 0; round < 2; round++) {
      const parts: Uint8Array[] = [];
      await transport.send({ method: "GET", url, headers: {} }, {
        head() {},
        data(chunk) {
          parts.push(chunk.slice());
        },
      });
      const got = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let off = 0;
      for (const p of parts) {
        got.set(p, off);
        off += p.length;
      }
      assert.deepEqual(got, big);
      assert.ok(Math.max(...parts.map((p) => p.length)) <= 65_536);
    }
  } finally {
    transport.close();
    await server.shutdown();
  }
});

/**
 * A raw HTTP/1.1 server: answers each request with `respond(n)` (n counts
 * requests over all connections); `null` closes the connection instead of
 * answering, after reading the request, as a server does that closed a
 * kept-alive connection the client had just reused.
 */
function rawServer(respond: (n: number) => string | null) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  let requests = 0;
  let connections = 0;
  const serveConn = async (conn: Deno.Conn) => {
    const buf = new Uint8Array(65536);
    try {
      while (true) {
        let text = "";
        while (!/\r\n\r\n[\s\S]*\}$/.test(text)) {
          const n = await conn.read(buf);
          if (n === null) return;
          text += new TextDecoder().decode(buf.subarray(0, n));
        }
        const answer = respond(requests++);
        if (answer === null) {
          conn.close();
          return;
        }
        await conn.write(new TextEncoder().encode(answer));
      }
    } catch {
      // closed
    }
  };
  const loop = (async () => {
    try {
      for await (const conn of listener) {
        connections++;
        conns.push(conn);
        serveConn(conn);
      }
    } catch {
      // listener closed
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    requests: () => requests,
    connections: () => connections,
    async close() {
      listener.close();
      await loop;
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
    },
  };
}

const SSE_OK = (text: string) => {
  const body =
    `data: {"choices":[{"text":"${text}","finish_reason":"length"}]}\n\n` +
    `data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}\n\ndata: [DONE]\n\n`;
  return `HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: ${body.length}\r\nkeep-alive: timeout=5\r\n\r\n${body}`;
};

Deno.test("http1: a kept-alive connection the server closed is re-sent on a fresh one, counted in the record, even with maxRetries 0", async () => {
  // Request 0 is answered (the connection stays in the pool); request 1 finds
  // it closed by the server before any response byte; its re-send (request
  // 2, on a new connection) is answered.
  const server = rawServer((n) => n === 1 ? null : SSE_OK(`r${n}`));
  const transport = http1Transport();
  try {
    const endpoint = {
      baseUrl: `http://127.0.0.1:${server.port}/v1/`,
      model: "m",
      transport,
      maxRetries: 0,
    };
    const first = await sendRequest(endpoint, { prompt: "a", maxTokens: 1 });
    assert.equal(first.ok, true, JSON.stringify(first.error));
    assert.equal(first.resent, undefined);
    const before = performance.now();
    const second = await sendRequest(endpoint, {
      prompt: "b",
      maxTokens: 1,
      keepText: true,
    });
    assert.equal(second.ok, true, JSON.stringify(second.error));
    assert.equal(second.outputText, "r2");
    assert.equal(second.resent, 1);
    assert.equal(second.retries, 0);
    // sentAt is the re-send's time, not the dead connection's.
    assert.ok(second.sentAt > before);
    assert.equal(server.requests(), 3);
    assert.equal(server.connections(), 2);
  } finally {
    transport.close();
    await server.close();
  }
});

Deno.test("http1: a response that cannot be read is malformed, not a connect failure, and not retried", async () => {
  const server = rawServer(() => "HELLO THERE\r\n\r\n");
  const transport = http1Transport();
  try {
    const record = await sendRequest(
      {
        baseUrl: `http://127.0.0.1:${server.port}/v1/`,
        model: "m",
        transport,
        maxRetries: 2,
      },
      { prompt: "a", maxTokens: 1 },
    );
    assert.equal(record.error?.kind, "malformed");
    assert.match(record.error!.message, /invalid HTTP response status line/);
    assert.equal(record.retries, 0);
    assert.equal(server.requests(), 1);
  } finally {
    transport.close();
    await server.close();
  }
});
