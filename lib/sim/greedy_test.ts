import {
  deepStrictEqual,
  notDeepStrictEqual,
  strictEqual,
} from "node:assert/strict";
import { SseParser } from "../openai/sse.ts";
import type { SimOptions } from "./config.ts";
import { startSimulator } from "./server.ts";

const ids = (from: number, n: number): number[] =>
  Array.from({ length: n }, (_, i) => from + i);

// 16 GPU blocks: three 100-token prompts with 8 output tokens (7 blocks each)
// push the first one to the offload tier.
const SMALL: SimOptions = {
  timeScale: 0.001,
  seed: 5,
  blockSize: 16,
  gpuKvTokens: 256,
  offloadTokens: 4096,
};

interface Answer {
  text: string;
  tokens: string[];
  logprobs: number[];
  cached: number;
}

async function complete(
  url: string,
  body: Record<string, unknown>,
): Promise<Answer> {
  const response = await fetch(url + "completions", {
    method: "POST",
    body: JSON.stringify({
      max_tokens: 8,
      ignore_eos: true,
      temperature: 0,
      logprobs: 0,
      ...body,
    }),
  });
  const json = await response.json();
  strictEqual(response.status, 200, JSON.stringify(json));
  const choice = json.choices[0];
  return {
    text: choice.text,
    tokens: choice.logprobs?.tokens,
    logprobs: choice.logprobs?.token_logprobs,
    cached: json.usage.prompt_tokens_details.cached_tokens,
  };
}

async function post(url: string, path: string): Promise<number> {
  const response = await fetch(url.replace("/v1/", path), { method: "POST" });
  await response.body?.cancel();
  return response.status;
}

Deno.test("sim greedy: the same tokens and logprobs cold, from GPU and from offload", async () => {
  await using sim = await startSimulator(SMALL);
  const a = ids(1, 100);
  const cold = await complete(sim.url, { prompt: a });
  strictEqual(cold.cached, 0);
  strictEqual(cold.tokens.length, 8);
  strictEqual(cold.tokens.join(""), cold.text);
  const gpu = await complete(sim.url, { prompt: a });
  strictEqual(gpu.cached, 96); // floor(99 / 16) blocks of 16
  deepStrictEqual(gpu, { ...cold, cached: 96 });
  await complete(sim.url, { prompt: ids(1000, 100) });
  await complete(sim.url, { prompt: ids(2000, 100) });
  const before = sim.stats().offloadHitTokens;
  const offload = await complete(sim.url, { prompt: a });
  // The tail left GPU first: 3 blocks from offload, 3 still in GPU.
  strictEqual(sim.stats().offloadHitTokens - before, 48);
  deepStrictEqual(offload, { ...cold, cached: 96 });
  // Another prompt, other words.
  const b = await complete(sim.url, { prompt: ids(3, 100) });
  notDeepStrictEqual(b.tokens, cold.tokens);
});

Deno.test("sim greedy: chat logprobs and streamed logprobs match the whole response", async () => {
  await using sim = await startSimulator(SMALL);
  const body = {
    messages: [{ role: "user", content: "Say something" }],
    max_tokens: 5,
    ignore_eos: true,
    temperature: 0,
    logprobs: true,
  };
  const whole = await (await fetch(sim.url + "chat/completions", {
    method: "POST",
    body: JSON.stringify(body),
  })).json();
  const content = whole.choices[0].logprobs.content as {
    token: string;
    logprob: number;
  }[];
  strictEqual(content.length, 5);
  strictEqual(
    content.map((c) => c.token).join(""),
    whole.choices[0].message.content,
  );
  const response = await fetch(sim.url + "chat/completions", {
    method: "POST",
    body: JSON.stringify({ ...body, stream: true }),
  });
  const streamed: { token: string; logprob: number }[] = [];
  const parser = new SseParser((data) => {
    if (data === "[DONE]") return;
    const lp = JSON.parse(data).choices[0]?.logprobs;
    if (lp) streamed.push(...lp.content);
  });
  parser.push(new Uint8Array(await response.arrayBuffer()));
  parser.end();
  deepStrictEqual(
    streamed.map((c) => [c.token, c.logprob]),
    content.map((c) => [c.token, c.logprob]),
  );
});

Deno.test("sim cache controls: cache_salt, cache_prompt false, flush and reset", async () => {
  await using sim = await startSimulator(SMALL);
  const a = ids(1, 100);
  const first = await complete(sim.url, { prompt: a });
  // A new salt is a new namespace: cold, and then warm within it.
  const salted = await complete(sim.url, { prompt: a, cache_salt: "s1" });
  strictEqual(salted.cached, 0);
  strictEqual(
    (await complete(sim.url, { prompt: a, cache_salt: "s1" })).cached,
    96,
  );
  deepStrictEqual(salted.tokens, first.tokens); // the salt never changes the answer
  strictEqual((await complete(sim.url, { prompt: a })).cached, 96);
  // cache_prompt false: nothing reused, twice in a row.
  for (let i = 0; i < 2; i++) {
    const nocache = await complete(sim.url, { prompt: a, cache_prompt: false });
    strictEqual(nocache.cached, 0);
    deepStrictEqual(nocache.tokens, first.tokens);
  }
  strictEqual(await post(sim.url, "/flush_cache"), 200);
  strictEqual((await complete(sim.url, { prompt: a })).cached, 0);
  strictEqual((await complete(sim.url, { prompt: a })).cached, 96);
  strictEqual(await post(sim.url, "/reset_prefix_cache"), 200);
  strictEqual((await complete(sim.url, { prompt: a })).cached, 0);
  strictEqual(sim.stats().offloadUsedTokens, 0);
  // Bad salt: 400, as vLLM.
  const bad = await fetch(sim.url + "completions", {
    method: "POST",
    body: JSON.stringify({ prompt: a, cache_salt: "" }),
  });
  strictEqual(bad.status, 400);
  await bad.body?.cancel();
});

Deno.test("sim cache controls: a flush is refused while a request runs", async () => {
  await using sim = await startSimulator({ ...SMALL, timeScale: 1 });
  const running = complete(sim.url, { prompt: ids(1, 100), max_tokens: 50 });
  while (sim.stats().running === 0) {
    await new Promise((r) => setTimeout(r, 1));
  }
  strictEqual(await post(sim.url, "/flush_cache"), 400);
  await running;
  strictEqual(await post(sim.url, "/flush_cache"), 200);
});

Deno.test("sim corrupt-offload fault: outputs change after a restore from offload only", async () => {
  await using sim = await startSimulator({
    ...SMALL,
    faults: { corruptOffloadRate: 1, corruptOffloadAt: 3 },
  });
  const a = ids(1, 100);
  const cold = await complete(sim.url, { prompt: a });
  const gpu = await complete(sim.url, { prompt: a });
  deepStrictEqual(gpu.tokens, cold.tokens); // a GPU hit is not corrupted
  await complete(sim.url, { prompt: ids(1000, 100) });
  await complete(sim.url, { prompt: ids(2000, 100) });
  const restored = await complete(sim.url, { prompt: a });
  strictEqual(restored.cached, 96);
  deepStrictEqual(restored.tokens.slice(0, 3), cold.tokens.slice(0, 3));
  for (let i = 3; i < 8; i++) {
    strictEqual(restored.tokens[i] !== cold.tokens[i], true, `token ${i}`);
    strictEqual(
      restored.logprobs[i],
      Math.round((cold.logprobs[i] - 0.5) * 1e4) / 1e4,
    );
  }
  // Cold again (salted): the right answer.
  const salted = await complete(sim.url, { prompt: a, cache_salt: "x" });
  deepStrictEqual(salted.tokens, cold.tokens);
});
