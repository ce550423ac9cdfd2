/**
 * The byte-level fast path against a plain `JSON.parse` reading of the same
 * stream: random events (escapes, non-ASCII, surrogate pairs, chat and
 * completions, `usage`, extra fields), cut into random network chunks.
 */
import { deepStrictEqual } from "node:assert/strict";
import { seededRandom } from "../rng.ts";
import { codePoints } from "../text/code_points.ts";
import { sendRequest } from "./request.ts";
import { replayTransport } from "../testing/replay_transport.ts";

const ALPHABET = [
  "a",
  " ",
  "é",
  "日",
  "😀",
  '"',
  "\\",
  "\n",
  "\t",
  "\u0001",
  "}",
  "]",
  "{",
  ",",
  ":",
  '"text":',
  "\u2028",
];

Deno.test("sendRequest's byte-level reading matches JSON.parse on random streams", async () => {
  const rng = seededRandom(20261123);
  const pick = <T>(items: readonly T[]): T => items[rng.int(items.length)];
  for (let round = 0; round < 300; round++) {
    const chat = rng.next() < 0.3;
    const events: unknown[] = [];
    const n = 1 + rng.int(8);
    for (let i = 0; i < n; i++) {
      const text = Array.from({ length: rng.int(6) }, () => pick(ALPHABET))
        .join("");
      const finish = i === n - 1 ? pick(["length", "stop"]) : null;
      const kind = rng.next();
      const choice = chat
        ? {
          index: 0,
          delta: i === 0 && kind < 0.3
            ? { role: "assistant", content: "" }
            : kind < 0.5
            ? { reasoning_content: text }
            : kind < 0.6
            ? { reasoning: text, content: null }
            : { content: text },
        }
        : { index: 0, text: rng.next() < 0.1 ? null : text, logprobs: null };
      events.push({
        id: `x-${pick(["a", '"q"', "\\"])}`,
        object: "chunk",
        ...(rng.next() < 0.3 ? { note: '{"text":"decoy"}' } : {}),
        choices: [{ ...choice, finish_reason: finish }],
        ...(rng.next() < 0.3 ? { usage: null } : {}),
      });
    }
    events.push({
      choices: [],
      usage: { prompt_tokens: 7, completion_tokens: n },
    });
    const lineEnd = pick(["\n", "\r\n"]);
    const wire = new TextEncoder().encode(
      events.map((e) => `data: ${JSON.stringify(e)}${lineEnd}${lineEnd}`).join(
        "",
      ) +
        `data: [DONE]${lineEnd}${lineEnd}`,
    );
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < wire.length;) {
      const size = rng.next() < 0.3 ? 1 + rng.int(4) : 1 + rng.int(400);
      chunks.push(wire.slice(at, at + size));
      at += size;
    }

    // The reference: JSON.parse every event.
    let text = "", tokens = 0, reasoningChars = 0, reasoning = 0;
    let finishReason: string | undefined;
    for (const e of events as { choices: Record<string, unknown>[] }[]) {
      const c = e.choices[0];
      if (c === undefined) continue;
      const delta = c.delta as Record<string, string | null> | undefined;
      const t = chat ? delta?.content : c.text as string | null;
      const r = delta?.reasoning_content ?? delta?.reasoning;
      const hasText = typeof t === "string" && t !== "";
      const hasReasoning = typeof r === "string" && r !== "";
      if (hasText || hasReasoning) tokens++;
      if (hasText) text += t;
      if (hasReasoning) {
        reasoning++;
        reasoningChars += codePoints(r);
      }
      if (c.finish_reason) finishReason = c.finish_reason as string;
    }

    const record = await sendRequest(
      {
        baseUrl: "http://fuzz.invalid/v1/",
        model: "m",
        transport: replayTransport(chunks),
      },
      {
        prompt: chat ? [{ role: "user", content: "q" }] : "q",
        maxTokens: 8,
        api: chat ? "chat" : "completions",
        keepText: true,
      },
    );
    deepStrictEqual(
      {
        ok: record.ok,
        chunks: record.chunks,
        text: record.outputText,
        chars: record.outputChars,
        reasoning: record.reasoningChunks ?? 0,
        finishReason: record.finishReason,
        completion: record.completionTokens,
      },
      {
        ok: tokens > 0,
        chunks: tokens,
        text: tokens > 0 ? text : record.outputText,
        chars: codePoints(text) + reasoningChars,
        reasoning,
        finishReason,
        completion: n,
      },
      `round ${round}: ${new TextDecoder().decode(wire).slice(0, 400)}`,
    );
  }
});

Deno.test("sendRequest: an event the scan refuses and JSON.parse refuses too is malformed, with keepText or not", async () => {
  for (const keepText of [false, true]) {
    for (
      const bad of [
        '{"choices":[{"text":"a\\x"}]}',
        '{"choices":[{"text":"a"}}]',
      ]
    ) {
      const wire = new TextEncoder().encode(`data: ${bad}\n\ndata: [DONE]\n\n`);
      const record = await sendRequest(
        {
          baseUrl: "http://fuzz.invalid/v1/",
          model: "m",
          transport: replayTransport([wire]),
        },
        { prompt: "q", maxTokens: 8, keepText },
      );
      deepStrictEqual(
        [record.ok, record.error?.kind],
        [false, "malformed"],
        bad,
      );
    }
  }
});
