/**
 * Micro-benchmarks of the SSE parser: many events per chunk (a 64 KiB read)
 * and one event per chunk (chunked transfer-encoding, one event per HTTP chunk).
 *
 * @module
 */
import { ChunkScan } from "./chunk_scan.ts";
import { SseParser } from "./sse.ts";

const EVENT =
  'data: {"id":"cmpl-1","object":"text_completion","created":0,"model":"m","choices":[{"index":0,"text":" tok","logprobs":null,"finish_reason":null}],"usage":null}\n\n';
const encoder = new TextEncoder();
const oneEvent = encoder.encode(EVENT);
const manyEvents = encoder.encode(EVENT.repeat(400));

Deno.bench("SseParser: 400 events in one chunk", { group: "sse" }, () => {
  let n = 0;
  const parser = new SseParser(() => n++);
  parser.push(manyEvents);
  parser.end();
  if (n !== 400) throw new Error(`parsed ${n} events`);
});

Deno.bench("SseParser: 400 events, one chunk each", { group: "sse" }, () => {
  let n = 0;
  const parser = new SseParser(() => n++);
  for (let i = 0; i < 400; i++) parser.push(oneEvent);
  parser.end();
  if (n !== 400) throw new Error(`parsed ${n} events`);
});

Deno.bench("SseParser: 400 events split mid-line", { group: "sse" }, () => {
  let n = 0;
  const parser = new SseParser(() => n++);
  const half = oneEvent.length >> 1;
  for (let i = 0; i < 400; i++) {
    parser.push(oneEvent.subarray(0, half));
    parser.push(oneEvent.subarray(half));
  }
  parser.end();
  if (n !== 400) throw new Error(`parsed ${n} events`);
});

const scanner = new ChunkScan(false);
const eventJson = oneEvent.subarray(6, oneEvent.length - 2);

Deno.bench("ChunkScan.scan: one token chunk", { group: "chunk" }, () => {
  if (!scanner.scan(eventJson, 0, eventJson.length)) throw new Error("scan");
});

Deno.bench("JSON.parse: the same chunk, decoded", { group: "chunk" }, () => {
  const event = JSON.parse(new TextDecoder().decode(eventJson));
  if (event.choices[0].text !== " tok") throw new Error("parse");
});

Deno.bench(
  "SseParser + ChunkScan: 400 events in one chunk",
  { group: "sse" },
  () => {
    let n = 0;
    const parser = new SseParser(() => {}, () => n++, {
      objectEnd: (buf, start, limit) => scanner.scanObject(buf, start, limit),
    });
    parser.push(manyEvents);
    parser.end();
    if (n !== 400) throw new Error(`parsed ${n} events`);
  },
);
