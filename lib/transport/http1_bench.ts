/**
 * Micro-benchmarks of the HTTP/1.1 transport over loopback against a raw
 * server that writes a prebuilt chunked SSE response of 1000 events per
 * request, next to `fetch` on the same server.
 *
 * @module
 */
import { http1Transport } from "./http1.ts";
import { fetchTransport } from "./fetch.ts";
import type { ResponseSink } from "./transport.ts";

const TOKENS = 1000;
const encoder = new TextEncoder();
let text =
  "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
for (let i = 0; i < TOKENS; i++) {
  const event =
    `data: {"choices":[{"index":0,"text":" tok","finish_reason":null}]}\n\n`;
  text += `${event.length.toString(16)}\r\n${event}\r\n`;
}
text += "0\r\n\r\n";
const response = encoder.encode(text);

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
(async () => {
  for await (const conn of listener) {
    (async () => {
      const buf = new Uint8Array(65536);
      try {
        // Each GET is one read (small, no body): answer it whole.
        while ((await conn.read(buf)) !== null) {
          let off = 0;
          while (off < response.length) {
            off += await conn.write(response.subarray(off));
          }
        }
      } catch {
        // Client gone.
      } finally {
        conn.close();
      }
    })();
  }
})();
listener.unref();
const url = new URL(
  `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/`,
);

function countingSink(): ResponseSink & { bytes: number } {
  return {
    bytes: 0,
    head() {},
    data(chunk) {
      this.bytes += chunk.length;
    },
  };
}

const http1 = http1Transport();
const viaFetch = fetchTransport();

Deno.bench(
  "http1Transport: 1000-event chunked response",
  { group: "transport", baseline: true },
  async () => {
    const sink = countingSink();
    await http1.send({ method: "GET", url, headers: {} }, sink);
    if (sink.bytes === 0) throw new Error("no body");
  },
);

Deno.bench(
  "fetchTransport: 1000-event chunked response",
  { group: "transport" },
  async () => {
    const sink = countingSink();
    await viaFetch.send({ method: "GET", url, headers: {} }, sink);
    if (sink.bytes === 0) throw new Error("no body");
  },
);
