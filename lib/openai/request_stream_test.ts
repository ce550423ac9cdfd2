/**
 * What real servers send that the basic stream does not: reasoning before
 * the answer (both field names), usage on the last text event or its own,
 * several events in one network read; and the request shaping around them.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { sendRequest } from "./request.ts";
import { interTokenLatencies, requestFigures } from "../metrics/figures.ts";
import {
  type Script,
  startScriptedServer,
} from "../testing/scripted_server.ts";
import { http1Transport } from "../transport/http1.ts";
import { fetchTransport } from "../transport/fetch.ts";
import type { Transport } from "../transport/transport.ts";

async function serve(
  script: (body: Record<string, unknown>) => Script,
  fn: (
    baseUrl: string,
    server: ReturnType<typeof startScriptedServer>,
  ) => Promise<void>,
): Promise<void> {
  const server = startScriptedServer({ script });
  try {
    await fn(`${server.origin}/v1/`, server);
  } finally {
    await server.close();
  }
}

/**
 * A transport that answers with SSE events handed over at times the test
 * chooses (ms after the send; events due at the same time in one read):
 * timing asserted against what the test controls, never the machine's clock.
 */
function timedTransport(
  events: { atMs: number; data: string }[],
): Transport & { sentAt?: number } {
  const encoder = new TextEncoder();
  return {
    name: "timed",
    send(_request, sink): Promise<void> {
      const sentAt = this.sentAt = performance.now();
      sink.head(200, new Headers({ "content-type": "text/event-stream" }));
      // Events due at the same time arrive in one read.
      for (let i = 0; i < events.length;) {
        let text = "";
        const atMs = events[i].atMs;
        for (; i < events.length && events[i].atMs === atMs; i++) {
          text += `data: ${events[i].data}\n\n`;
        }
        sink.data(encoder.encode(text), sentAt + atMs);
      }
      return Promise.resolve();
    },
    close() {},
  };
}

for (const field of ["reasoning_content", "reasoning"] as const) {
  Deno.test(`reasoning then content (delta.${field}): TTFT at the first reasoning token, the answer beside it, reasoning counted as output`, async () => {
    const delta = (d: Record<string, string>) =>
      JSON.stringify({
        choices: [{ index: 0, delta: d, finish_reason: null }],
      });
    // Three reasoning tokens, then two answer tokens, 40 ms apart from 30 ms.
    const words = ["Let", " me", " think", "The", " answer"];
    const events = words.map((word, i) => ({
      atMs: 30 + 40 * i,
      data: delta(i < 3 ? { [field]: word } : { content: word }),
    }));
    events.push(
      {
        atMs: 190,
        data: JSON.stringify({
          choices: [],
          usage: { prompt_tokens: 10, completion_tokens: 5 },
        }),
      },
      { atMs: 190, data: "[DONE]" },
    );
    const transport = timedTransport(events);
    const r = await sendRequest(
      { baseUrl: "http://kvbench.test/v1/", model: "m", transport },
      { prompt: "Why?", maxTokens: 5, api: "chat", keepText: true },
    );
    strictEqual(r.ok, true, JSON.stringify(r.error));
    strictEqual(r.chunks, 5);
    strictEqual(r.reasoningChunks, 3);
    strictEqual(r.outputText, "The answer"); // the answer only: the history of a conversation
    strictEqual(r.outputChars, 12 + 10); // "Let me think" and "The answer"
    // TTFT at the first reasoning token; the answer three gaps later.
    // (times are sums of floating-point ms: equal to a nanosecond)
    const near = (a: number, b: number) => Math.abs(a - b) < 1e-6;
    ok(near(r.firstTokenAt! - transport.sentAt!, 30));
    ok(near(r.firstAnswerAt! - r.firstTokenAt!, 120));
    const f = requestFigures(r);
    deepStrictEqual([f.reasoningEvents, f.answerEvents], [3, 2]);
    strictEqual(f.outputTokens, 5);
    // Five reads, four gaps of 40 ms, one event each.
    deepStrictEqual(r.readGaps, [400, 400, 400, 400]);
    strictEqual(r.readEvents, undefined);
  });
}

Deno.test("a stream of reasoning only (thinking used all of max_tokens) is a complete response, not no_tokens", async () => {
  await serve(() => ({
    reasoning: ["a", "b", "c"],
    tokens: [],
    usage: { prompt_tokens: 4, completion_tokens: 3 },
  }), async (baseUrl) => {
    const r = await sendRequest(
      { baseUrl, model: "m" },
      { prompt: "x", maxTokens: 3, api: "chat" },
    );
    strictEqual(r.ok, true, JSON.stringify(r.error));
    strictEqual(r.firstAnswerAt, undefined);
    deepStrictEqual([r.chunks, r.reasoningChunks], [3, 3]);
  });
});

Deno.test("non-streamed chat: reasoning and answer from the message", async () => {
  await serve(() => ({
    reasoning: ["hmm"],
    tokens: ["ok"],
    usage: { prompt_tokens: 4, completion_tokens: 2 },
  }), async (baseUrl) => {
    const r = await sendRequest(
      { baseUrl, model: "m" },
      { prompt: "x", maxTokens: 2, api: "chat", stream: false, keepText: true },
    );
    strictEqual(r.ok, true);
    deepStrictEqual([r.outputText, r.outputChars, r.reasoningChunks], [
      "ok",
      5,
      1,
    ]);
  });
});

Deno.test("usage on the last text event or on an event of its own: read the same", async () => {
  for (const usageOnLastToken of [true, false]) {
    await serve(() => ({
      tokens: ["a", "b", "c"],
      usageOnLastToken,
      usage: { prompt_tokens: 12, completion_tokens: 3, cached_tokens: 8 },
    }), async (baseUrl) => {
      for (const api of ["completions", "chat"] as const) {
        const r = await sendRequest(
          { baseUrl, model: "m" },
          { prompt: "x", maxTokens: 3, api, keepText: true },
        );
        strictEqual(r.ok, true, `${usageOnLastToken} ${api}`);
        deepStrictEqual(
          [
            r.chunks,
            r.outputText,
            r.promptTokens,
            r.completionTokens,
            r.cachedTokens,
            r.finishReason,
          ],
          [3, "abc", 12, 3, 8, "length"],
          `${usageOnLastToken} ${api}`,
        );
      }
    });
  }
});

Deno.test("several events in one read share its time: events per read kept, one gap per read, no decode rate from a single read", async () => {
  // Six tokens in two reads of three, 50 ms apart.
  const events = ["a", "b", "c", "d", "e", "f"].map((text, i) => ({
    atMs: i < 3 ? 10 : 60,
    data: JSON.stringify({
      choices: [{ index: 0, text, finish_reason: null }],
    }),
  }));
  events.push({
    atMs: 60,
    data: JSON.stringify({
      choices: [],
      usage: { prompt_tokens: 5, completion_tokens: 6 },
    }),
  }, { atMs: 60, data: "[DONE]" });
  const r = await sendRequest(
    {
      baseUrl: "http://kvbench.test/v1/",
      model: "m",
      transport: timedTransport(events),
    },
    { prompt: "x", maxTokens: 6 },
  );
  strictEqual(r.ok, true, JSON.stringify(r.error));
  strictEqual(r.chunks, 6);
  deepStrictEqual(r.readEvents, [3, 3]);
  deepStrictEqual(r.readGaps, [500]);
  // Three inter-token latencies of a third of the gap each.
  deepStrictEqual(interTokenLatencies(r), [50 / 3, 50 / 3, 50 / 3]);
  // Everything after the first read came in one read of several events:
  // the decode window cannot be measured.
  const f = requestFigures(r);
  strictEqual(f.decodeUnmeasured, true);
  strictEqual(f.decodeTps, undefined);
});

Deno.test("extra body fields and headers are sent; stream_options is merged, include_usage kept; stream stays kvbench's", async () => {
  await serve(() => ({ tokens: ["a"] }), async (baseUrl, server) => {
    const r = await sendRequest(
      {
        baseUrl,
        model: "m",
        extraBody: {
          temperature: 0,
          stream_options: { continuous_usage_stats: true },
        },
        headers: { "X-Team": "kv" },
      },
      {
        prompt: "x",
        maxTokens: 1,
        extraBody: {
          chat_template_kwargs: { enable_thinking: false },
          stream: false,
        },
        headers: { "X-Route": "7" },
      },
    );
    strictEqual(r.ok, true, JSON.stringify(r.error));
    const body = server.received[0].body!;
    strictEqual(body.temperature, 0);
    deepStrictEqual(body.stream_options, {
      continuous_usage_stats: true,
      include_usage: true,
    });
    deepStrictEqual(body.chat_template_kwargs, { enable_thinking: false });
    strictEqual(body.stream, true);
    strictEqual(server.received[0].headers.get("x-team"), "kv");
    strictEqual(server.received[0].headers.get("x-route"), "7");
  });
});

Deno.test("a request that cannot be built is a record with error kind invalid_request, never a throw", async () => {
  const endpoint = { baseUrl: "http://127.0.0.1:1/v1/", model: "m" };
  const ids = await sendRequest(endpoint, {
    prompt: [1, 2, 3],
    maxTokens: 1,
    api: "chat",
  });
  strictEqual(ids.ok, false);
  strictEqual(ids.error?.kind, "invalid_request");
  ok(/token ids/.test(ids.error!.message));
  const messages = await sendRequest(endpoint, {
    prompt: [{ role: "user", content: "hi" }],
    maxTokens: 1,
  });
  strictEqual(messages.error?.kind, "invalid_request");
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const body = await sendRequest(endpoint, {
    prompt: "x",
    maxTokens: 1,
    extraBody: cyclic,
  });
  strictEqual(body.error?.kind, "invalid_request");
});

Deno.test("first-token and idle timeouts fail the request as timeout, with the reason", async () => {
  await serve(
    (
      b,
    ) => (String(b.prompt) === "slow-first"
      ? { firstTokenMs: 2_000, tokens: ["a"] }
      : { firstTokenMs: 0, gapMs: 2_000, tokens: ["a", "b"] }),
    async (baseUrl) => {
      const endpoint = {
        baseUrl,
        model: "m",
        firstTokenTimeoutMs: 100,
        idleTimeoutMs: 300,
      };
      const first = await sendRequest(endpoint, {
        prompt: "slow-first",
        maxTokens: 1,
      });
      strictEqual(first.error?.kind, "timeout");
      strictEqual(first.error?.message, "no generated token within 100 ms");
      // The first token comes at once: a first-token timeout of 1 s leaves a
      // busy machine time to read it; the 2 s gap after it trips the idle one.
      const idle = await sendRequest({
        ...endpoint,
        firstTokenTimeoutMs: 1_000,
      }, {
        prompt: "stalls",
        maxTokens: 2,
      });
      strictEqual(idle.error?.kind, "timeout");
      strictEqual(idle.error?.message, "no data for 300 ms");
      strictEqual(idle.chunks, 1); // the first token came
    },
  );
});

Deno.test("a non-streamed response slower than the 10 s connect timeout completes on both transports, sent once", async () => {
  await serve(
    () => ({ firstTokenMs: 10_500, tokens: ["a"] }),
    async (baseUrl, server) => {
      const records = await Promise.all(
        [http1Transport(), fetchTransport()].map(async (transport) => {
          try {
            return await sendRequest(
              { baseUrl, model: "m", transport, maxRetries: 2 },
              { prompt: "x", maxTokens: 1, stream: false },
            );
          } finally {
            transport.close();
          }
        }),
      );
      for (const r of records) {
        strictEqual(r.ok, true, JSON.stringify(r.error));
        strictEqual(r.retries, 0);
      }
      strictEqual(server.received.length, 2);
    },
  );
});
