import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { sendRequest } from "../openai/request.ts";
import { SseParser } from "../openai/sse.ts";
import { renderChat } from "./protocol.ts";
import type { SimOptions } from "./config.ts";
import { startSimulator } from "./server.ts";
import { approximateTokenIds } from "./token_count.ts";

const ids = (from: number, n: number): number[] =>
  Array.from({ length: n }, (_, i) => from + i);

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Every `data:` payload of an SSE body. */
async function events(response: Response): Promise<string[]> {
  const out: string[] = [];
  const parser = new SseParser((data) => out.push(data));
  parser.push(new Uint8Array(await response.arrayBuffer()));
  parser.end();
  return out;
}

const FAST: SimOptions = { timeScale: 0.001, seed: 3 };

Deno.test("sim: /v1/models, /health and /metrics", async () => {
  await using sim = await startSimulator({ ...FAST, model: "m/x" });
  const models = await (await fetch(sim.url + "models")).json();
  strictEqual(models.data[0].id, "m/x");
  strictEqual(models.object, "list");
  const health = await fetch(sim.url.replace("/v1/", "/health"));
  strictEqual(health.status, 200);
  await health.body?.cancel();
  await (await post(sim.url + "completions", {
    prompt: ids(1, 40),
    max_tokens: 3,
  })).json();
  await (await post(sim.url + "completions", {
    prompt: ids(1, 40),
    max_tokens: 3,
  })).json();
  const metrics = await (await fetch(sim.url.replace("/v1/", "/metrics")))
    .text();
  ok(
    metrics.includes("# TYPE vllm:prefix_cache_queries_total counter"),
    metrics,
  );
  // Two 40-token prompts: 80 queried; the second hits floor(39 / 16) × 16 = 32.
  ok(
    metrics.includes('vllm:prefix_cache_queries_total{model_name="m/x"} 80\n'),
    metrics,
  );
  ok(
    metrics.includes('vllm:prefix_cache_hits_total{model_name="m/x"} 32\n'),
    metrics,
  );
  ok(
    metrics.includes('vllm:generation_tokens_total{model_name="m/x"} 6\n'),
    metrics,
  );
  ok(
    metrics.includes('vllm:num_requests_running{model_name="m/x"} 0\n'),
    metrics,
  );
  ok(
    metrics.includes(
      'kvbench_sim:faults_total{kind="cut",model_name="m/x"} 0\n',
    ),
    metrics,
  );
});

Deno.test("sim: streamed completions carry one token per event, then usage and [DONE]", async () => {
  await using sim = await startSimulator(FAST);
  const body = {
    model: sim.model,
    prompt: ids(100, 50),
    max_tokens: 5,
    ignore_eos: true,
    stream: true,
    stream_options: { include_usage: true },
  };
  const response = await post(sim.url + "completions", body);
  strictEqual(
    response.headers.get("content-type"),
    "text/event-stream; charset=utf-8",
  );
  const data = await events(response);
  strictEqual(data.length, 7);
  strictEqual(data[6], "[DONE]");
  const chunks = data.slice(0, 5).map((d) => JSON.parse(d));
  for (const [i, chunk] of chunks.entries()) {
    strictEqual(chunk.object, "text_completion");
    ok(/^ [a-z]+$/.test(chunk.choices[0].text));
    strictEqual(chunk.choices[0].finish_reason, i === 4 ? "length" : null);
  }
  deepStrictEqual(JSON.parse(data[5]).usage, {
    prompt_tokens: 50,
    total_tokens: 55,
    completion_tokens: 5,
    prompt_tokens_details: { cached_tokens: 0 },
  });
  // The same prompt again: 49 reusable tokens → 3 full blocks of 16 hit.
  const again = await events(await post(sim.url + "completions", body));
  strictEqual(
    JSON.parse(again[5]).usage.prompt_tokens_details.cached_tokens,
    48,
  );
  // Without include_usage there is no usage chunk.
  const bare = await events(
    await post(sim.url + "completions", { ...body, stream_options: undefined }),
  );
  strictEqual(bare.length, 6);
});

Deno.test("sim: chat completions, streamed and not; text prompts use the approximation", async () => {
  await using sim = await startSimulator(FAST);
  const messages = [{ role: "user", content: "tell me a long story" }];
  const whole = await (await post(sim.url + "chat/completions", {
    messages,
    max_tokens: 4,
    ignore_eos: true,
  }))
    .json();
  strictEqual(whole.object, "chat.completion");
  strictEqual(whole.choices[0].message.role, "assistant");
  strictEqual(whole.choices[0].finish_reason, "length");
  strictEqual(whole.usage.completion_tokens, 4);
  // The ChatML rendering, counted by the approximation.
  strictEqual(
    whole.usage.prompt_tokens,
    approximateTokenIds(renderChat(messages)).length,
  );
  const streamed = await events(
    await post(sim.url + "chat/completions", {
      messages,
      max_tokens: 4,
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true },
    }),
  );
  // Role chunk, 4 tokens, usage, [DONE].
  strictEqual(streamed.length, 7);
  deepStrictEqual(JSON.parse(streamed[0]).choices[0].delta, {
    role: "assistant",
    content: "",
  });
  strictEqual(JSON.parse(streamed[1]).object, "chat.completion.chunk");
  ok(typeof JSON.parse(streamed[1]).choices[0].delta.content === "string");
  strictEqual(JSON.parse(streamed[5]).usage.completion_tokens, 4);
  // A text completion: the text of the non-streamed answer is the streamed tokens joined.
  const text = await (await post(sim.url + "completions", {
    prompt: "Hello",
    max_tokens: 8,
    ignore_eos: true,
  }))
    .json();
  strictEqual(text.object, "text_completion");
  strictEqual(text.choices[0].text.split(" ").length, 9);
});

Deno.test("sim: max_tokens, min_tokens and ignore_eos bound the length; the seed fixes it", async () => {
  const lengths = async (seed: number): Promise<number[]> => {
    await using sim = await startSimulator({ ...FAST, seed });
    const out: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await (await post(sim.url + "completions", {
        prompt: ids(i * 50, 20),
        max_tokens: 10,
        min_tokens: 4,
      }))
        .json();
      out.push(r.usage.completion_tokens);
      strictEqual(
        r.choices[0].finish_reason,
        r.usage.completion_tokens === 10 ? "length" : "stop",
      );
    }
    return out;
  };
  const a = await lengths(5);
  ok(a.every((n) => n >= 4 && n <= 10), String(a));
  ok(new Set(a).size > 1, "lengths vary without ignore_eos");
  deepStrictEqual(await lengths(5), a);
});

Deno.test("sim: OpenAI-shaped errors: bad JSON, bad body, unknown model, unknown path, wrong key", async () => {
  await using sim = await startSimulator({ ...FAST, apiKey: "sk-right" });
  const auth = { authorization: "Bearer sk-right" };
  const cases: [Response, number, RegExp][] = [
    [
      await post(sim.url + "completions", "{not json", auth),
      400,
      /not valid JSON/,
    ],
    [
      await post(sim.url + "completions", { prompt: "" }, auth),
      400,
      /"prompt" must be a non-empty string/,
    ],
    [
      await post(
        sim.url + "completions",
        { prompt: "x", max_tokens: -1 },
        auth,
      ),
      400,
      /"max_tokens"/,
    ],
    [
      await post(sim.url + "chat/completions", { messages: [] }, auth),
      400,
      /"messages" must be a non-empty array/,
    ],
    [
      await post(sim.url + "completions", { prompt: "x", model: "nope" }, auth),
      404,
      /The model `nope` does not exist/,
    ],
    [
      await post(sim.url + "completions", { prompt: "x" }, {
        authorization: "Bearer sk-wrong",
      }),
      401,
      /API key/,
    ],
    [await post(sim.url + "completions", { prompt: "x" }), 401, /API key/],
    [await post(sim.url.replace("/v1/", "/v2/x"), {}, auth), 404, /Not found/],
    [
      await fetch(sim.url + "completions", { headers: auth }),
      405,
      /not allowed/,
    ],
  ];
  for (const [response, status, message] of cases) {
    strictEqual(response.status, status);
    const { error } = await response.json();
    ok(message.test(error.message), error.message);
    strictEqual(error.code, status);
    ok(typeof error.type === "string");
  }
  // A prompt longer than the GPU KV cache can ever hold is a 400, not a hang.
  await using small = await startSimulator({ ...FAST, gpuKvTokens: 64 });
  const tooLong = await post(small.url + "completions", {
    prompt: ids(0, 100),
    max_tokens: 1,
  });
  strictEqual(tooLong.status, 400);
  ok(/GPU KV cache holds 64 tokens/.test((await tooLong.json()).error.message));
  strictEqual(small.stats().rejected, 1);
});

// The timing model itself is pinned exactly in engine_test.ts (virtual
// clock). Here, in real time through HTTP, a server can be late (a busy
// machine) but never early: the client's times are bounded below by the model.
Deno.test("sim: in real time, responses are never earlier than the timing model; cache tiers as modelled", async () => {
  await using sim = await startSimulator({
    seed: 1,
    gpuKvTokens: 2_400,
    offloadTokens: 10_000,
    prefillTokensPerS: 10_000,
    loadTokensPerS: 100_000,
    itlBaseMs: 15,
    itlPerSeqMs: 5,
  });
  const endpoint = { baseUrl: sim.url, model: sim.model };
  const measure = async (prompt: number[]) => {
    const r = await sendRequest(endpoint, {
      prompt,
      maxTokens: 11,
      ignoreEos: true,
    });
    ok(r.ok, JSON.stringify(r.error));
    return {
      ttft: r.firstTokenAt! - r.sentAt,
      e2e: r.endAt - r.sentAt,
      cached: r.cachedTokens,
    };
  };
  const a = ids(0, 2_000), b = ids(10_000, 2_000);
  // Cold: 2000 / 10 000 tok/s = 200 ms; then 10 gaps of 15 + 5 = 20 ms.
  const cold = await measure(a);
  ok(cold.ttft >= 200, `cold TTFT ${cold.ttft}`);
  ok(cold.e2e >= 400, `cold E2E ${cold.e2e}`);
  strictEqual(cold.cached, 0);
  // GPU hit: 1984 cached tokens, 16 computed: 1.6 ms.
  const warm = await measure(a);
  strictEqual(warm.cached, 1_984);
  ok(warm.e2e >= 201.6, `GPU-hit E2E ${warm.e2e}`);
  await measure(b);
  // a again: 384 tokens from GPU, 1600 loaded from offload: 17.6 ms.
  const loaded = await measure(a);
  strictEqual(loaded.cached, 1_984);
  ok(loaded.ttft >= 17.6, `offload-hit TTFT ${loaded.ttft}`);
  const stats = sim.stats();
  strictEqual(stats.offloadHitTokens, 1_600);
  strictEqual(stats.gpuHitTokens, 1_984 + 384);
  strictEqual(stats.promptTokens, 8_000);
});

Deno.test("sim: in real time, the running cap holds a third request back", async () => {
  await using sim = await startSimulator({
    seed: 1,
    prefillTokensPerS: 1_000_000,
    itlBaseMs: 10,
    itlPerSeqMs: 10,
    maxRunningSeqs: 2,
  });
  const endpoint = { baseUrl: sim.url, model: sim.model };
  const spec = (i: number) => ({
    prompt: ids(i * 1000, 32),
    maxTokens: 6,
    ignoreEos: true,
  });
  const records = await Promise.all(
    [0, 1, 2].map((i) => sendRequest(endpoint, spec(i))),
  );
  ok(records.every((r) => r.ok));
  // Two decode together (20 ms, then 30 ms per token: done at ≥ 140 ms); the
  // third to arrive (any of the three: they race to the server) is admitted
  // only then.
  const ttft = records.map((r) => r.firstTokenAt! - r.sentAt)
    .toSorted((a, b) => a - b);
  ok(ttft[2] >= 140, `queued TTFT ${ttft[2]}`);
  strictEqual(sim.stats().finished, 3);
});

Deno.test("sim: offload disabled: evicted prefixes are recomputed", async () => {
  for (const offloadTokens of [0, 10_000]) {
    await using sim = await startSimulator({
      ...FAST,
      gpuKvTokens: 256,
      offloadTokens,
    });
    const endpoint = { baseUrl: sim.url, model: sim.model };
    const cached: (number | undefined)[] = [];
    for (const p of [ids(0, 160), ids(1000, 160), ids(0, 160)]) {
      cached.push(
        (await sendRequest(endpoint, {
          prompt: p,
          maxTokens: 2,
          ignoreEos: true,
        })).cachedTokens,
      );
    }
    // 16 GPU blocks; a prompt takes 10 + 1 for its output. The second evicts
    // 5 of the first's blocks (its tail): without offload they are recomputed
    // and only the 5 head blocks hit; with offload, 9 blocks (the hit limit).
    deepStrictEqual(cached, [0, 0, offloadTokens ? 144 : 80]);
  }
});

Deno.test("sim: each fault kind is produced as specified", async () => {
  const run = async (faults: SimOptions["faults"], stream = true) => {
    await using sim = await startSimulator({ ...FAST, faults });
    const endpoint = { baseUrl: sim.url, model: sim.model };
    const records = [];
    for (let i = 0; i < 8; i++) {
      records.push(
        await sendRequest(endpoint, {
          prompt: ids(i * 100, 20),
          maxTokens: 6,
          ignoreEos: true,
          stream,
        }),
      );
    }
    return { records, stats: sim.stats() };
  };
  const e500 = await run({ errorRate500: 1 });
  ok(e500.records.every((r) => r.status === 500 && r.error?.kind === "http"));
  strictEqual(e500.stats.faults.status500, 8);
  await using sim429 = await startSimulator({
    ...FAST,
    faults: { errorRate429: 1, retryAfterS: 7 },
  });
  const r429 = await post(sim429.url + "completions", { prompt: "x" });
  strictEqual(r429.status, 429);
  strictEqual(r429.headers.get("retry-after"), "7");
  strictEqual((await r429.json()).error.type, "rate_limit_error");
  const cut = await run({ cutRate: 1 });
  for (const r of cut.records) {
    strictEqual(r.error?.kind, "stream_cut", JSON.stringify(r.error));
    ok(r.chunks >= 1 && r.chunks < 6, `cut after ${r.chunks} of 6`);
  }
  strictEqual(cut.stats.faults.cut, 8);
  const malformed = await run({ malformedRate: 1 });
  ok(malformed.records.every((r) => r.error?.kind === "malformed"));
  // Faults of streams do not touch non-streamed answers.
  const calm = await run({ cutRate: 1, malformedRate: 1 }, false);
  ok(calm.records.every((r) => r.ok));
  const half = await run({ errorRate500: 0.5 });
  const failed = half.records.filter((r) => !r.ok).length;
  ok(failed > 0 && failed < 8, `${failed} of 8 failed at rate 0.5`);
  // A stall of 100 model ms at timeScale 0.001 is 0.1 ms; use real time for it.
  await using stall = await startSimulator({
    seed: 1,
    prefillTokensPerS: 1e9,
    faults: { stallMs: 150 },
  });
  const s = await sendRequest({ baseUrl: stall.url, model: stall.model }, {
    prompt: ids(0, 8),
    maxTokens: 1,
  });
  ok(
    s.firstTokenAt! - s.sentAt >= 145,
    `stalled TTFT ${s.firstTokenAt! - s.sentAt}`,
  );
  strictEqual(stall.stats().faults.stall, 1);
  // Jitter adds [0, 40) ms before the first token and to each of the 9 gaps.
  await using jitter = await startSimulator({
    seed: 2,
    itlBaseMs: 5,
    itlPerSeqMs: 0,
    faults: { jitterMs: 40 },
  });
  const j = await sendRequest({ baseUrl: jitter.url, model: jitter.model }, {
    prompt: ids(0, 8),
    maxTokens: 10,
    ignoreEos: true,
  });
  // Lower bounds only: a busy machine delays a stream, it never speeds one up.
  // Without jitter this stream would take 9 × 5 = 45 ms; the seeded draws add
  // far more than 20 ms to it.
  const e2e = j.endAt - j.sentAt;
  ok(e2e >= 45 + 20, `jittered E2E ${e2e}`);
});

Deno.test("sim: the same seed and arrival order give the same text", async () => {
  const texts = async (): Promise<string[]> => {
    await using sim = await startSimulator({ ...FAST, seed: 11 });
    const out: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await (await post(sim.url + "completions", {
        prompt: ids(i, 20),
        max_tokens: 5,
        ignore_eos: true,
      }))
        .json();
      out.push(r.choices[0].text);
    }
    return out;
  };
  const first = await texts();
  deepStrictEqual(await texts(), first);
  strictEqual(new Set(first).size, 3);
});
