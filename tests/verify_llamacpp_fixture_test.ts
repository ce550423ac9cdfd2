/**
 * `--verify` on llama.cpp's own answers: the greedy requests that
 * `kvbench benchmark --verify 3` sent to a real `llama-server` (CPU, one slot,
 * `--cache-ram`), and what it answered, replayed by a local HTTP server on
 * loopback. CI does not need llama.cpp: the streams are recorded in
 * `tests/testdata/llamacpp_verify/` (how: its README.md).
 *
 * - `nocache.jsonl`: `--cold-method nocache` (llama.cpp's `cache_prompt:
 *   false`): warm and cold answers agree token for token;
 * - `salt.jsonl`: `--cold-method salt`: llama.cpp ignores `cache_salt`, its
 *   "cold" answers report cached tokens, and no context is checked.
 */
import assert from "node:assert/strict";
import {
  type VerifyContext,
  type VerifyResult,
  verifyReuse,
} from "../lib/verify/verify.ts";
import type { ColdMethod } from "../lib/verify/cold.ts";
import {
  numberedQuestions,
  repeatedWordContexts,
} from "../lib/shapes/prompts.ts";

const DIR = new URL("./testdata/llamacpp_verify/", import.meta.url);

/** One request the recording proxy saw, and llama.cpp's answer. */
interface Exchange {
  path: string;
  request: Record<string, unknown>;
  status: number;
  response: Record<string, unknown>;
}

async function load(name: string): Promise<Exchange[]> {
  const text = await Deno.readTextFile(new URL(name, DIR));
  return text.trim().split("\n").map((line) => JSON.parse(line));
}

/** What makes a request warm or cold: its cold-method fields, not their values. */
const kind = (body: Record<string, unknown>): string =>
  body.cache_prompt === false
    ? "nocache"
    : typeof body.cache_salt === "string"
    ? "salt"
    : "warm";

/** Replays the recorded answers: each request gets the next unused answer to its prompt and kind. */
function replay(exchanges: Exchange[]) {
  const queues = new Map<string, Exchange[]>();
  const key = (body: Record<string, unknown>) =>
    JSON.stringify([body.prompt, kind(body)]);
  for (const e of exchanges) {
    const k = key(e.request);
    queues.set(k, [...(queues.get(k) ?? []), e]);
  }
  const received: Record<string, unknown>[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const body = await request.json();
      received.push(body);
      const next = queues.get(key(body))?.shift();
      if (next === undefined || new URL(request.url).pathname !== next.path) {
        return Response.json({ error: { message: "not recorded" } }, {
          status: 404,
        });
      }
      return Response.json(next.response, { status: next.status });
    },
  );
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}/v1/`,
    received,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** The contexts the recording checked, in the order their warm requests went. */
function contextsOf(exchanges: Exchange[]): VerifyContext[] {
  return exchanges.filter((e) => kind(e.request) === "warm").map((e, id) => ({
    id,
    prompt: e.request.prompt as string,
  }));
}

async function check(
  exchanges: Exchange[],
  method: ColdMethod,
): Promise<{ result: VerifyResult; received: Record<string, unknown>[] }> {
  await using server = replay(exchanges);
  const result = await verifyReuse(
    { baseUrl: server.baseUrl, model: String(exchanges[0].request.model) },
    {
      contexts: contextsOf(exchanges),
      method,
      maxTokens: Number(exchanges[0].request.max_tokens),
      saltPrefix: "replay",
    },
  );
  return { result, received: server.received };
}

Deno.test("llama.cpp fixture: the recorded prompts are the ones kvbench sends (context i, 2,000 words, question 0)", async () => {
  const exchanges = await load("nocache.jsonl");
  const texts = repeatedWordContexts(5, { tokens: 2000 });
  const question = numberedQuestions(1)[0];
  assert.deepEqual(
    contextsOf(exchanges).map((c) => c.prompt),
    [0, 1, 2].map((i) => texts[i] + question),
  );
});

Deno.test("llama.cpp fixture: warm and cold (cache_prompt: false) greedy outputs are identical", async () => {
  const exchanges = await load("nocache.jsonl");
  const { result, received } = await check(exchanges, "nocache");
  assert.equal(
    result.verdict.text,
    "verify: 3 of 3 reused contexts gave outputs identical to cold compute (cold reference: cache_prompt: false)",
  );
  assert.equal(result.verdict.code, 0);
  assert.deepEqual(result.pairs.map((p) => p.outcome), [
    "identical",
    "identical",
    "identical",
  ]);
  const first = result.pairs[0];
  // llama.cpp's usage: 2,007 prompt tokens; the warm request found 2,001 of
  // them in its host-RAM prompt cache, the cold ones none.
  assert.equal(first.warm?.promptTokens, 2007);
  assert.equal(first.warm?.cachedTokens, 2001);
  assert.equal(first.cold?.cachedTokens, 0);
  assert.equal(first.control?.cachedTokens, 0);
  assert.equal(first.warm?.tokens?.length, 16);
  assert.equal(first.warm?.tokens?.join(""), first.warm?.text);
  // Same tokens, but the reused KV's log-probabilities differ a little from
  // a full prefill (max |Δ| over 16 tokens, from the fixture by hand), while
  // the two cold prefills agree exactly.
  assert.deepEqual(first.warmVsCold, {
    unit: "token",
    compared: 16,
    maxLogprobDiff: 0.076317,
  });
  assert.equal(first.coldVsControl?.maxLogprobDiff, 0);
  // What went to llama.cpp: 3 warm requests, then cold and control of each
  // context with cache_prompt: false; all greedy, seeded, with logprobs.
  assert.deepEqual(received.map(kind), [
    "warm",
    "warm",
    "warm",
    ...Array(6).fill("nocache"),
  ]);
  for (const body of received) {
    assert.equal(body.temperature, 0);
    assert.equal(body.seed, 0);
    assert.equal(body.logprobs, 1);
    assert.equal(body.stream, false);
  }
});

Deno.test("llama.cpp fixture: a warm answer changed at token 5 diverges beyond the control", async () => {
  const exchanges = structuredClone(await load("nocache.jsonl"));
  const choice = (exchanges[0].response.choices as {
    text: string;
    logprobs: { content: { token: string }[] };
  }[])[0];
  choice.logprobs.content[4].token = " engines";
  choice.text = choice.logprobs.content.map((c) => c.token).join("");
  const { result } = await check(exchanges, "nocache");
  assert.deepEqual(result.pairs.map((p) => p.outcome), [
    "beyond_control",
    "identical",
    "identical",
  ]);
  assert.equal(result.pairs[0].warmVsCold?.firstAt, 5);
  assert.equal(
    result.verdict.text,
    "verify: 1 of 3 reused contexts diverged from cold compute beyond the control, first at token 5 (cold reference: cache_prompt: false)",
  );
  assert.equal(result.verdict.code, 1);
});

Deno.test("llama.cpp fixture: cache_salt is ignored, so the salted cold references are not cold", async () => {
  const exchanges = await load("salt.jsonl");
  const { result, received } = await check(exchanges, "salt");
  assert.deepEqual(result.pairs.map((p) => p.outcome), [
    "not_cold",
    "not_cold",
    "not_cold",
  ]);
  // llama.cpp served 2,006 of the 2,007 prompt tokens of a "cold" request from its cache.
  assert.equal(result.pairs[0].cold?.cachedTokens, 2006);
  assert.equal(
    result.verdict.text,
    "verify: no reused context could be compared with cold compute (cold reference: cache_salt; not checked: 3 with a cold reference served from the cache)",
  );
  assert.equal(result.verdict.code, 1);
  assert.deepEqual(received.slice(3).map(kind), Array(6).fill("salt"));
});
