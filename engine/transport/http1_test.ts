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

const TLS_DIR = new URL("../../testdata/tls/", import.meta.url);
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
