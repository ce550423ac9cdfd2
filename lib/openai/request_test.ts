import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { codePoints } from "../text/code_points.ts";
import { type EndpointConfig, sendRequest } from "./request.ts";
import {
  type Script,
  startScriptedServer,
} from "../testing/scripted_server.ts";

async function withServer(
  script: (body: Record<string, unknown>, i: number) => Script,
  fn: (
    endpoint: EndpointConfig,
    server: ReturnType<typeof startScriptedServer>,
  ) => Promise<void>,
): Promise<void> {
  const server = startScriptedServer({ script });
  try {
    await fn({
      baseUrl: `${server.origin}/v1/`,
      model: "test-model",
      apiKey: "sk-test",
    }, server);
  } finally {
    await server.close();
  }
}

Deno.test("sendRequest streams, times and reads usage", async () => {
  await withServer(
    () => ({
      tokens: ["Hel", "lo", " wörld"],
      firstTokenMs: 60,
      gapMs: 20,
      usage: { prompt_tokens: 11, completion_tokens: 3, cached_tokens: 8 },
    }),
    async (endpoint, server) => {
      const r = await sendRequest(endpoint, {
        prompt: "héllo",
        maxTokens: 3,
        ignoreEos: true,
        keepText: true,
      });
      strictEqual(r.ok, true, JSON.stringify(r.error));
      strictEqual(r.status, 200);
      strictEqual(r.outputText, "Hello wörld");
      strictEqual(r.outputChars, 11);
      strictEqual(r.promptChars, 5);
      strictEqual(r.chunks, 3);
      strictEqual(r.promptTokens, 11);
      strictEqual(r.completionTokens, 3);
      strictEqual(r.cachedTokens, 8);
      strictEqual(r.finishReason, "length");
      const ttft = r.firstTokenAt! - r.sentAt;
      // Lower bounds: the server is never early, the client only late.
      ok(ttft >= 55, `ttft ${ttft}`);
      const decode = r.endAt - r.firstTokenAt!;
      ok(decode >= 35, `decode ${decode}`);
      const body = server.received[0].body!;
      deepStrictEqual(body, {
        model: "test-model",
        prompt: "héllo",
        max_tokens: 3,
        stream: true,
        stream_options: { include_usage: true },
        ignore_eos: true,
      });
      strictEqual(
        server.received[0].headers.get("authorization"),
        "Bearer sk-test",
      );
      strictEqual(server.received[0].path, "/v1/completions");
    },
  );
});

Deno.test("sendRequest reads non-streaming and chat responses", async () => {
  await withServer(
    () => ({
      tokens: ["a", "b"],
      usage: { prompt_tokens: 4, completion_tokens: 2 },
    }),
    async (endpoint, server) => {
      const r = await sendRequest(endpoint, {
        prompt: "x",
        maxTokens: 2,
        stream: false,
        keepText: true,
      });
      strictEqual(r.ok, true);
      strictEqual(r.outputText, "ab");
      strictEqual(r.firstTokenAt, undefined);
      strictEqual(r.completionTokens, 2);
      strictEqual(r.cachedTokens, undefined);
      const c = await sendRequest(endpoint, {
        prompt: [{ role: "user", content: "hi" }],
        api: "chat",
        maxTokens: 2,
        keepText: true,
      });
      strictEqual(c.ok, true, JSON.stringify(c.error));
      strictEqual(c.outputText, "ab");
      strictEqual(server.received[1].path, "/v1/chat/completions");
      deepStrictEqual(server.received[1].body!.messages, [{
        role: "user",
        content: "hi",
      }]);
    },
  );
});

Deno.test("sendRequest records HTTP errors with the server's message", async () => {
  const statuses = [401, 404, 429, 500, 503];
  await withServer(
    (_b, i) => ({ status: statuses[i], message: `nope ${statuses[i]}` }),
    async (endpoint) => {
      for (const status of statuses) {
        const r = await sendRequest(endpoint, { prompt: "x", maxTokens: 1 });
        strictEqual(r.ok, false);
        strictEqual(r.status, status);
        deepStrictEqual(r.error, {
          kind: "http",
          message: `HTTP ${status}: nope ${status}`,
        });
        strictEqual(r.retries, 0);
      }
    },
  );
});

Deno.test("sendRequest retries only when asked, and honours Retry-After", async () => {
  await withServer(
    (_b, i) =>
      i < 2
        ? { status: 429, headers: { "retry-after": "0.05" } }
        : { tokens: ["x"] },
    async (endpoint, server) => {
      const r = await sendRequest({ ...endpoint, maxRetries: 2 }, {
        prompt: "x",
        maxTokens: 1,
      });
      strictEqual(r.ok, true);
      strictEqual(r.retries, 2);
      strictEqual(server.received.length, 3);
      ok(server.received[2].at - server.received[1].at >= 45);
    },
  );
});

Deno.test("sendRequest reports a stream cut mid-way", async () => {
  await withServer(
    () => ({ tokens: ["a", "b", "c", "d"], cutAfter: 2, gapMs: 5 }),
    async (endpoint) => {
      const r = await sendRequest(endpoint, { prompt: "x", maxTokens: 4 });
      strictEqual(r.ok, false);
      strictEqual(r.error?.kind, "stream_cut");
      strictEqual(r.chunks, 2);
      ok(r.firstTokenAt !== undefined);
    },
  );
});

Deno.test("sendRequest reports a stream that ends without [DONE] or finish_reason", async () => {
  await withServer(
    () => ({ raw: 'data: {"choices":[{"text":"a"}]}\n\n' }),
    async (endpoint) => {
      const r = await sendRequest(endpoint, { prompt: "x", maxTokens: 4 });
      deepStrictEqual(r.error, {
        kind: "stream_cut",
        message: "the stream ended before [DONE]",
      });
    },
  );
});

Deno.test("sendRequest reports malformed SSE, in-stream errors and empty streams", async () => {
  const raws = [
    'data: {"choices":[{"text":"a"}]}\n\ndata: {not json\n\n',
    'data: {"error":{"message":"engine died"}}\n\n',
    "data: [DONE]\n\n",
  ];
  await withServer((_b, i) => ({ raw: raws[i] }), async (endpoint) => {
    const kinds = [];
    for (let i = 0; i < raws.length; i++) {
      kinds.push(
        (await sendRequest(endpoint, { prompt: "x", maxTokens: 4 })).error,
      );
    }
    deepStrictEqual(kinds, [
      { kind: "malformed", message: "unreadable SSE event: {not json" },
      { kind: "server_error", message: "engine died" },
      { kind: "no_tokens", message: "the stream carried no generated text" },
    ]);
  });
});

Deno.test("sendRequest does not count an event with empty text as output (llama.cpp ends completions streams with one)", async () => {
  await withServer(
    () => ({
      raw:
        'data: {"choices":[{"text":""}]}\n\ndata: {"choices":[{"text":"a"}]}\n\n' +
        'data: {"choices":[{"text":"","finish_reason":"length"}],"usage":{"prompt_tokens":2,"completion_tokens":1}}\n\ndata: [DONE]\n\n',
    }),
    async (endpoint) => {
      const r = await sendRequest(endpoint, { prompt: "x", maxTokens: 1 });
      strictEqual(r.ok, true);
      strictEqual(r.chunks, 1); // one token, one output event
      strictEqual(r.outputChars, 1);
      deepStrictEqual(r.readGaps, []); // no gap to a closing event
    },
  );
});

Deno.test("sendRequest aborts with the run's signal", async () => {
  await withServer(() => ({ firstTokenMs: 5000 }), async (endpoint) => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const t0 = performance.now();
    const r = await sendRequest(endpoint, { prompt: "x", maxTokens: 4 }, {
      signal: controller.signal,
    });
    ok(performance.now() - t0 < 1000);
    strictEqual(r.error?.kind, "aborted");
  });
});

Deno.test("sendRequest times out", async () => {
  await withServer(
    () => ({ firstTokenMs: 50, gapMs: 500, tokens: ["a", "b"] }),
    async (endpoint) => {
      const r = await sendRequest({ ...endpoint, timeoutMs: 150 }, {
        prompt: "x",
        maxTokens: 2,
      });
      strictEqual(r.error?.kind, "timeout");
      strictEqual(r.error?.message, "no complete response within 150 ms");
    },
  );
});

Deno.test("sendRequest reports an unreachable server as a connect failure", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const r = await sendRequest({
    baseUrl: `http://127.0.0.1:${port}/v1/`,
    model: "m",
  }, { prompt: "x", maxTokens: 1 });
  strictEqual(r.error?.kind, "connect");
  ok(/refused/i.test(r.error!.message), r.error!.message);
});

Deno.test("codePoints counts like Python's len", () => {
  strictEqual(codePoints("abc"), 3);
  strictEqual(codePoints("é🙂"), 2);
  strictEqual(codePoints(""), 0);
});
