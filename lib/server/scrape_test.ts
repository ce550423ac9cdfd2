import assert from "node:assert/strict";
import { MetricsScraper } from "./scrape.ts";
import { preflight } from "./preflight.ts";
import { promptSplit, renderAttribution } from "./attribution.ts";

Deno.test("MetricsScraper: a timeout, a refused connection and garbage are counted, warned once each, and never thrown", async () => {
  const hang = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) =>
      new URL(req.url).pathname === "/garbage"
        ? new Response("{{{ not metrics\n")
        : new Promise<Response>((resolve) =>
          req.signal.addEventListener(
            "abort",
            () => resolve(new Response("late")),
          )
        ),
  );
  const warnings: string[] = [];
  const base = `http://127.0.0.1:${hang.addr.port}`;
  const scraper = new MetricsScraper(
    [`${base}/slow`, `${base}/garbage`, "http://127.0.0.1:1/metrics"],
    { timeoutMs: 100, warn: (w) => warnings.push(w) },
  );
  try {
    for (let i = 0; i < 3; i++) {
      const scrape = await scraper.scrape();
      assert.equal(scrape.ok, 0);
      assert.deepEqual(scrape.counters, {});
    }
    assert.deepEqual(Object.fromEntries(scraper.failures), {
      timeout: 3,
      unreadable: 3,
      connect: 3,
    });
    assert.equal(warnings.length, 3);
    assert.ok(warnings.some((w) => w.includes("/slow: timeout")));
    assert.ok(warnings.some((w) => w.includes("/garbage: unreadable")));
  } finally {
    await hang.shutdown();
  }
});

Deno.test("MetricsScraper: two URLs add up; a counter that appears later started at 0", async () => {
  const values = [
    [`vllm:prefix_cache_hits_total 10`, `vllm:prefix_cache_hits_total 5`],
    [
      `vllm:prefix_cache_hits_total 30\nvllm:external_prefix_cache_hits_total 40`,
      `vllm:prefix_cache_hits_total 6`,
    ],
  ];
  let round = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) =>
      new Response(
        values[round][new URL(req.url).pathname === "/a" ? 0 : 1] + "\n",
      ),
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  const scraper = new MetricsScraper([`${base}/a`, `${base}/b`]);
  try {
    await scraper.scrape();
    round = 1;
    const s = await scraper.scrape();
    // (30 − 10) + (6 − 5) device hits; the offload counter appeared at 40.
    assert.equal(s.counters.deviceHitTokens, 21);
    assert.equal(s.counters.offloadHitTokens, 40);
    assert.equal(s.ok, 2);
  } finally {
    await server.shutdown();
  }
});

Deno.test("preflight: the three verdicts and an unknown GPU", () => {
  const base = {
    workingSetTokens: 10_000,
    deviceKvTokens: 4_000,
    offloadKvTokens: 8_000,
  };
  assert.equal(
    preflight({ ...base, workingSetTokens: 4_000 }).verdict,
    "fits_device",
  );
  // Inclusive tiers (the default): the working set must fit the offload
  // tier alone; 10 000 > 8 000 exceeds it though 4 000 + 8 000 would hold it.
  assert.equal(preflight(base).verdict, "exceeds_offload");
  assert.equal(
    preflight({ ...base, offloadKvTokens: 10_000 }).verdict,
    "needs_offload",
  );
  assert.equal(
    preflight({ ...base, inclusive: false }).verdict,
    "needs_offload",
  );
  assert.equal(
    preflight({ ...base, workingSetTokens: 12_001, inclusive: false }).verdict,
    "exceeds_offload",
  );
  const unknown = preflight({ workingSetTokens: 10_000 });
  assert.equal(unknown.verdict, "unknown");
  assert.equal(
    unknown.lines[0],
    "Pre-flight: working set 10,000 tokens; GPU KV unknown; offload unknown",
  );
});

Deno.test("promptSplit and renderAttribution: tiers not named, and a disagreement", () => {
  // llama.cpp: computed and cached, no tier.
  const split = promptSplit({ computedTokens: 300, cachedTokens: 700 })!;
  assert.deepEqual(split, { prompt: 1000, computed: 300, cached: 700 });
  const lines = renderAttribution(split, {
    engines: ["llamacpp"],
    clientPromptTokens: 1000,
    clientCachedTokens: 500,
  });
  assert.equal(
    lines[0],
    "KV source (server counters, llamacpp): 1,000 prompt tokens: 30.0% computed, 70.0% cached (tier not reported)",
  );
  assert.match(
    lines[2],
    /^The server and the client disagree: 70\.0% of prompt tokens served from cache by the server's counters, 50\.0% by cached_tokens/,
  );
});
