import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ChunkScan } from "./chunk_scan.ts";
import { SseParser } from "./sse.ts";

const enc = new TextEncoder();

function parse(chunks: (string | Uint8Array)[], end = true): string[] {
  const events: string[] = [];
  const p = new SseParser((d) => events.push(d));
  for (const c of chunks) p.push(typeof c === "string" ? enc.encode(c) : c);
  if (end) p.end();
  return events;
}

Deno.test("SseParser reads LF-terminated events and [DONE]", () => {
  assertEquals(parse(['data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n']), [
    '{"a":1}',
    '{"b":2}',
    "[DONE]",
  ]);
});

Deno.test("SseParser handles CRLF and bare CR line ends", () => {
  assertEquals(parse(["data: x\r\n\r\ndata: y\r\rdata: z\n\n"]), [
    "x",
    "y",
    "z",
  ]);
});

Deno.test("SseParser handles a CRLF split between chunks", () => {
  assertEquals(parse(["data: x\r", "\n\r", "\ndata: y\r\n\r\n"]), ["x", "y"]);
});

Deno.test("SseParser joins an event split across many chunks", () => {
  const text = 'data: {"choices":[{"text":"hello"}]}\n\n';
  const chunks = [...text].map((c) => c);
  assertEquals(parse(chunks), ['{"choices":[{"text":"hello"}]}']);
});

Deno.test("SseParser decodes a UTF-8 character split across chunks", () => {
  const bytes = enc.encode('data: {"text":"é🙂"}\n\n');
  // Split inside the 4-byte emoji and inside the 2-byte é.
  const i = bytes.indexOf(0xc3) + 1;
  const j = bytes.indexOf(0xf0) + 2;
  assertEquals(
    parse([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]),
    [
      '{"text":"é🙂"}',
    ],
  );
});

Deno.test("SseParser joins multi-line data with newlines", () => {
  assertEquals(parse(["data: line1\ndata: line2\ndata\n\n"]), [
    "line1\nline2\n",
  ]);
});

Deno.test("SseParser skips comments and other fields", () => {
  assertEquals(
    parse([
      ": keep-alive\n\nevent: message\nid: 7\nretry: 10\ndata:no-space\n\n",
    ]),
    ["no-space"],
  );
});

Deno.test("SseParser dispatches a last event without trailing newline at end()", () => {
  assertEquals(parse(["data: a\n\ndata: [DONE]"]), ["a", "[DONE]"]);
  assertEquals(parse(["data: a\n\ndata: [DONE]"], false), ["a"]);
});

Deno.test("SseParser ignores empty events and reuses nothing from the caller's buffer", () => {
  const buf = enc.encode("data: abc");
  const events: string[] = [];
  const p = new SseParser((d) => events.push(d));
  p.push(buf);
  buf.fill(0); // the caller reuses its buffer
  p.push(enc.encode("def\n\n\n\n"));
  assertEquals(events, ["abcdef"]);
});

Deno.test("SseParser with onBytes: one-line events come undecoded, even when their blank line is in the next chunk", () => {
  const bytes: string[] = [];
  const texts: string[] = [];
  const decoder = new TextDecoder();
  const parser = new SseParser(
    (data) => texts.push(data),
    (buf, start, end) => bytes.push(decoder.decode(buf.subarray(start, end))),
  );
  parser.push(enc.encode('data: {"a":1}\n\ndata: {"b":2}\n'));
  // The transport reuses its buffer: the pending line must have been copied.
  const reused = enc.encode("\ndata: one\ndata: two\n\ndata: [DONE]\n\n");
  parser.push(reused);
  reused.fill(0);
  parser.push(enc.encode('data: {"c":"é'));
  parser.push(enc.encode('"}'));
  parser.end();
  assertEquals(bytes, ['{"a":1}', '{"b":2}', "[DONE]", '{"c":"é"}']);
  assertEquals(texts, ["one\ntwo"]);
});

Deno.test("SseParser with objectEnd: JSON events are delimited in one pass; anything else takes the line path", () => {
  const seen: [string, boolean][] = [];
  const decoder = new TextDecoder();
  const scan = new ChunkScan(false);
  const parser = new SseParser(
    () => {},
    (buf, start, end, measured) =>
      seen.push([decoder.decode(buf.subarray(start, end)), measured]),
    { objectEnd: (buf, start, limit) => scan.scanObject(buf, start, limit) },
  );
  parser.push(
    enc.encode(
      'data: {"text":"a\\n"}\n\ndata: {"choices":[],"usage":{"x":1}}\n\ndata: {"text":"b"}\r\n\r\n',
    ),
  );
  parser.push(enc.encode('data: {"text":"c"}\n'));
  parser.push(enc.encode('\ndata: {"te'));
  parser.push(enc.encode('xt":"d"}\n\n'));
  parser.end();
  assertEquals(seen, [
    ['{"text":"a\\n"}', true],
    ['{"choices":[],"usage":{"x":1}}', false],
    ['{"text":"b"}', false],
    ['{"text":"c"}', false],
    ['{"text":"d"}', false],
  ]);
});

Deno.test("SseParser's objectEnd never reads past a line end: SSE line rules win", () => {
  const seen: [string, boolean][] = [];
  const decoder = new TextDecoder();
  const scan = new ChunkScan(false);
  const parser = new SseParser(
    (data) => seen.push([data, false]),
    (buf, start, end, measured) =>
      seen.push([decoder.decode(buf.subarray(start, end)), measured]),
    { objectEnd: (buf, start, limit) => scan.scanObject(buf, start, limit) },
  );
  parser.push(
    enc.encode(
      'data: {"a":\ndata: 1}\n\ndata: {"choices":[{"index":0,\nid: "finish_reason":"length",\ndata: "text":"a"}]}\n\n',
    ),
  );
  parser.end();
  assertEquals(seen, [
    ['{"a":\n1}', false],
    ['{"choices":[{"index":0,\n"text":"a"}]}', false],
  ]);
});
