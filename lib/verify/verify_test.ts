import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { startSimulator } from "../sim/server.ts";
import type { SimOptions } from "../sim/config.ts";
import { type VerifyContext, verifyReuse } from "./verify.ts";

const ids = (from: number, n: number): number[] =>
  Array.from({ length: n }, (_, i) => from + i);

// 16 GPU blocks of 16 tokens: four 100-token contexts do not fit, the first
// two end up (partly) in the offload tier.
const SMALL: SimOptions = {
  timeScale: 0.001,
  seed: 2,
  gpuKvTokens: 256,
  offloadTokens: 4096,
};

async function prime(url: string, contexts: VerifyContext[]): Promise<void> {
  for (const c of contexts) {
    const response = await fetch(url + "completions", {
      method: "POST",
      body: JSON.stringify({ prompt: c.prompt, max_tokens: 8 }),
    });
    await response.text();
  }
}

const CONTEXTS: VerifyContext[] = [0, 1, 2, 3].map((i) => ({
  id: i,
  prompt: ids(1000 * (i + 1), 100),
}));

Deno.test("verifyReuse: a corrupting offload tier is caught at the right token", async () => {
  await using sim = await startSimulator({
    ...SMALL,
    faults: { corruptOffloadRate: 1, corruptOffloadAt: 3 },
  });
  const endpoint = { baseUrl: sim.url, model: sim.model };
  await prime(sim.url, CONTEXTS);
  const result = await verifyReuse(endpoint, {
    contexts: CONTEXTS.slice(0, 2),
    method: "salt",
    maxTokens: 8,
  });
  deepStrictEqual(result.pairs.map((p) => p.outcome), [
    "beyond_control",
    "beyond_control",
  ]);
  const pair = result.pairs[0];
  strictEqual(pair.warmVsCold?.firstAt, 4); // corruptOffloadAt 3, from 0
  strictEqual(pair.coldVsControl?.firstAt, undefined);
  strictEqual(pair.warmVsCold?.maxLogprobDiff, 0); // equal before the divergence
  strictEqual(pair.cold?.cachedTokens, 0);
  strictEqual(pair.warm?.cachedTokens, 96);
  strictEqual(
    result.verdict.text,
    "verify: 2 of 2 reused contexts diverged from cold compute beyond the control, first at token 4 (cold reference: cache_salt)",
  );
  strictEqual(result.verdict.code, 1);
});

Deno.test("verifyReuse: flush and nocache cold references on a correct cache", async () => {
  for (const method of ["flush", "nocache"] as const) {
    await using sim = await startSimulator(SMALL);
    await prime(sim.url, CONTEXTS);
    const result = await verifyReuse({ baseUrl: sim.url, model: sim.model }, {
      contexts: CONTEXTS.slice(2),
      method,
      maxTokens: 8,
    });
    strictEqual(
      result.verdict.text,
      `verify: 2 of 2 reused contexts gave outputs identical to cold compute (cold reference: ${
        method === "flush" ? "POST /reset_prefix_cache" : "cache_prompt: false"
      })`,
      method,
    );
    strictEqual(result.verdict.code, 0);
  }
});

Deno.test("verifyReuse: contexts never cached are not checked, and say so", async () => {
  await using sim = await startSimulator(SMALL);
  const result = await verifyReuse({ baseUrl: sim.url, model: sim.model }, {
    contexts: CONTEXTS.slice(0, 1),
    method: "salt",
    maxTokens: 4,
  });
  strictEqual(result.pairs[0].outcome, "not_reused");
  strictEqual(
    result.verdict.text,
    "verify: no reused context could be compared with cold compute (cold reference: cache_salt; not checked: 1 not served from the cache)",
  );
  strictEqual(result.verdict.code, 1);
});

/** An engine whose answers wander from the third token on every second call, and that ignores salts. */
function noisyServer(options: { ignoreSalt?: boolean } = {}) {
  let calls = 0;
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const body = await request.json();
      const n = calls++;
      const tokens = [" a", " b", n % 2 ? " x" : " c", " d"];
      const cached = body.cache_salt && !options.ignoreSalt ? 0 : 50;
      return Response.json({
        choices: [{
          text: tokens.join(""),
          logprobs: { tokens, token_logprobs: [-0.5, -1, -1, -1] },
          finish_reason: "length",
        }],
        usage: {
          prompt_tokens: 60,
          prompt_tokens_details: { cached_tokens: cached },
        },
      });
    },
  );
}

Deno.test("verifyReuse: a divergence no earlier than cold-vs-cold is the engine's, not the cache's", async () => {
  await using server = noisyServer();
  // Calls: warm 0 (" c"), cold 1 (" x"), control 2 (" c").
  const result = await verifyReuse({
    baseUrl: `http://127.0.0.1:${server.addr.port}/v1/`,
    model: "m",
  }, { contexts: [{ id: 0, prompt: "p" }], method: "salt", maxTokens: 4 });
  strictEqual(result.pairs[0].warmVsCold?.firstAt, 3);
  strictEqual(result.pairs[0].coldVsControl?.firstAt, 3);
  strictEqual(result.pairs[0].outcome, "within_control");
  strictEqual(
    result.verdict.text,
    "verify: 0 of 1 reused contexts gave outputs identical to cold compute; 1 diverged no earlier than cold compute against itself (the engine's own nondeterminism) (cold reference: cache_salt)",
  );
  strictEqual(result.verdict.code, 0);
});

Deno.test("verifyReuse: a server that ignores cache_salt gives no cold reference", async () => {
  await using server = noisyServer({ ignoreSalt: true });
  const result = await verifyReuse({
    baseUrl: `http://127.0.0.1:${server.addr.port}/v1/`,
    model: "m",
  }, { contexts: [{ id: 0, prompt: "p" }], method: "salt", maxTokens: 4 });
  strictEqual(result.pairs[0].outcome, "not_cold");
  strictEqual(result.verdict.code, 1);
  strictEqual(
    result.verdict.text,
    "verify: no reused context could be compared with cold compute (cold reference: cache_salt; not checked: 1 with a cold reference served from the cache)",
  );
});
