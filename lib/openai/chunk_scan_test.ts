import { strictEqual } from "node:assert/strict";
import { ChunkScan } from "./chunk_scan.ts";
import { codePoints } from "../text/code_points.ts";

const encoder = new TextEncoder();

/** Scan `json` placed inside other bytes, as it sits in a network chunk. */
function scan(json: string, chat = false) {
  const bytes = encoder.encode(`data: ${json}\n\ndata: {"x":1}`);
  const start = 6, end = start + encoder.encode(json).length;
  const s = new ChunkScan(chat);
  const ok = s.scan(bytes, start, end);
  return {
    ok,
    text: s.textStart < 0 ? null : s.text(bytes),
    chars: s.textChars,
    finish: s.finishReason(bytes),
  };
}

const completion = (text: unknown, finish: unknown = null, extra = "") =>
  JSON.stringify({
    id: "cmpl-1",
    object: "text_completion",
    created: 1,
    model: "m",
    choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
  }).slice(0, -1) + extra + "}";

Deno.test("ChunkScan reads text, its code points and finish_reason as JSON.parse would", () => {
  const texts = [
    " tok",
    "",
    "é",
    "日本語",
    "😀 x",
    'say "hi"\n\tok\\',
    "\u0000\u001f",
    "a\u2028b",
    "\ud83d\ude00",
  ];
  for (const text of texts) {
    for (
      const json of [
        completion(text),
        JSON.stringify({ choices: [{ text }] }).replace(
          /[\u007f-\uffff]/g,
          (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
        ),
      ]
    ) {
      const r = scan(json);
      strictEqual(r.ok, true, json);
      strictEqual(r.text, text, json);
      strictEqual(r.chars, codePoints(text), json);
    }
  }
  strictEqual(scan(completion(" end", "length")).finish, "length");
  strictEqual(scan(completion(" x")).finish, undefined);
  // `"usage":null`, as vLLM sends on every chunk, stays on the fast path.
  strictEqual(scan(completion(" x", null, ',"usage":null')).ok, true);
});

Deno.test("ChunkScan: null text, the first choice only, keys inside strings are not keys", () => {
  const nullText = scan(completion(null));
  strictEqual(nullText.ok, true);
  strictEqual(nullText.text, null);
  const two = scan(
    JSON.stringify({
      choices: [{ index: 0, text: "a" }, { index: 1, text: "bb" }],
    }),
  );
  strictEqual(two.text, "a");
  const tricky = scan(completion('"text":"no"', null));
  strictEqual(tricky.text, '"text":"no"');
  strictEqual(
    scan(JSON.stringify({ note: 'x","text":"y', choices: [{ text: "z" }] }))
      .text,
    "z",
  );
});

Deno.test("ChunkScan reads chat deltas; the role chunk's empty content is seen as empty", () => {
  const role = scan(
    JSON.stringify({
      choices: [{ index: 0, delta: { role: "assistant", content: "" } }],
    }),
    true,
  );
  strictEqual(role.ok, true);
  strictEqual(role.text, "");
  const token = scan(
    JSON.stringify({
      choices: [{ index: 0, delta: { content: " hé" }, finish_reason: "stop" }],
    }),
    true,
  );
  strictEqual(token.text, " hé");
  strictEqual(token.chars, 3);
  strictEqual(token.finish, "stop");
  // A completions scanner does not take "content" for the text, nor a chat one "text".
  strictEqual(
    scan(JSON.stringify({ choices: [{ delta: { content: "x" } }] })).text,
    null,
  );
  strictEqual(
    scan(JSON.stringify({ choices: [{ text: "x" }] }), true).text,
    null,
  );
});

Deno.test("ChunkScan leaves usage, errors and broken JSON to JSON.parse", () => {
  for (
    const json of [
      JSON.stringify({
        choices: [],
        usage: { prompt_tokens: 1, completion_tokens: 2 },
      }),
      completion(" x", null, ',"usage":{"prompt_tokens":3}'),
      JSON.stringify({ error: { message: "boom" } }),
      JSON.stringify({ error: "boom" }),
      '{"id":"malformed","choices":[{"index":0,"text":',
      '{"choices":[{"text":"a"}]',
      '{"choices":[{"text":"unterminated}]}',
      '{"choices":[{"text":"a"}]} trailing',
      "[DONE]",
      "",
      '"just a string"',
    ]
  ) {
    strictEqual(scan(json).ok, false, json);
  }
});

Deno.test("ChunkScan refuses what JSON.parse refuses: brackets, escapes, control characters, line breaks", () => {
  for (
    const json of [
      '{"choices":[{"text":"a"}}]',
      '{"choices":[{"text":"a\\x"}]}',
      '{"choices":[{"text":"a\\u12"}]}',
      '{"choices":[{"text":"a\nb"}]}',
      '{"a":\n1}',
      '{"a":\r1}',
      '{"a" 1}',
      '{"a":1,}',
      '{"a":tru}',
      '{,"a":1}',
    ]
  ) {
    strictEqual(scan(json).ok, false, JSON.stringify(json));
  }
});

Deno.test("ChunkScan reads choices[0] only, the last duplicate key, and escaped values as JSON.parse does", () => {
  strictEqual(
    scan('{"choices":[{"text":"a","finish_reason":"st\\u006fp"}]}').finish,
    "stop",
  );
  strictEqual(
    scan(
      '{"choices":[{"finish_reason":null},{"text":"b","finish_reason":"stop"}]}',
    ).finish,
    undefined,
  );
  const nested = scan(
    '{"x":{"finish_reason":"length","text":"no"},"choices":[{"text":"a","finish_reason":"stop"}]}',
  );
  strictEqual(nested.text, "a");
  strictEqual(nested.finish, "stop");
  strictEqual(
    scan(
      '{"choices":[{"logprobs":{"content":"zz"},"delta":{"content":"a"}}]}',
      true,
    ).text,
    "a",
  );
  strictEqual(
    scan('{"choices":[{"text":"first","text":"last"}]}').text,
    "last",
  );
  strictEqual(scan('{"choices":[{"text":"a","text":null}]}').text, null);
  // An escaped key could be anything: JSON.parse decides.
  strictEqual(scan('{"choices":[{"t\\u0065xt":"a"}]}').ok, false);
  strictEqual(scan('{"us\\u0061ge":{"prompt_tokens":1}}').ok, false);
});

Deno.test("ChunkScan counts lone surrogates as one code point each, like Python", () => {
  strictEqual(scan('{"choices":[{"text":"\\ude00"}]}').chars, 1);
  strictEqual(scan('{"choices":[{"text":"\\ud83dx"}]}').chars, 2);
  strictEqual(scan('{"choices":[{"text":"\\ud83d\\ude00"}]}').chars, 1);
  strictEqual(codePoints("\ud83d"), 1);
  strictEqual(codePoints("\ud83dx"), 2);
  strictEqual(codePoints("\ude00\ud83d\ude00"), 2);
});
