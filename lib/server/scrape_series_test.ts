/**
 * The scraper per raw series: resets bridged per series, URLs whose series
 * set or lifetime changes left out and said, late baselines said, one
 * source per meaning over several URLs, counters that disagree said. Every
 * expected number is worked out by hand in the comments.
 */
import assert from "node:assert/strict";
import { MetricsScraper, type Scrape } from "./scrape.ts";
import { promptSplit } from "./attribution.ts";

/** A server answering `bodies[path][k]` at its k-th scrape of `path` (the last one after; `null`: HTTP 503). */
function scripted(bodies: Record<string, (string | null)[]>) {
  const seen = new Map<string, number>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      const path = new URL(req.url).pathname;
      const k = seen.get(path) ?? 0;
      seen.set(path, k + 1);
      const list = bodies[path] ?? [];
      const body = list[Math.min(k, list.length - 1)];
      return body === null || body === undefined
        ? new Response("down", { status: 503 })
        : new Response(body.trim() + "\n");
    },
  );
  const url = (path: string) => `http://127.0.0.1:${server.addr.port}${path}`;
  return { url, [Symbol.asyncDispose]: () => server.shutdown() };
}

async function scrapeAll(
  urls: string[],
  times: number,
  warnings: string[] = [],
): Promise<Scrape> {
  const scraper = new MetricsScraper(urls, { warn: (w) => warnings.push(w) });
  let last: Scrape | undefined;
  for (let i = 0; i < times; i++) last = await scraper.scrape();
  return last!;
}

const vllmOld = (e: string, prompt: number, hits: number) =>
  `vllm:prompt_tokens_total{engine="${e}"} ${prompt}\nvllm:prefix_cache_hits_total{engine="${e}"} ${hits}`;

Deno.test("scraper: a restarted DP rank is bridged on its own series; the summed and derived values are never reset", async () => {
  // Two DP engines behind one API server. Engine 1 restarts between scrape
  // 2 and 3; engine 0 goes on.
  await using s = scripted({
    "/m": [
      `${vllmOld("0", 10_000, 4_000)}\n${vllmOld("1", 10_000, 4_000)}`,
      `${vllmOld("0", 12_000, 5_000)}\n${vllmOld("1", 11_000, 4_500)}`,
      `${vllmOld("0", 14_000, 6_000)}\n${vllmOld("1", 1_000, 400)}`,
    ],
  });
  const warnings: string[] = [];
  const last = await scrapeAll([s.url("/m")], 3, warnings);
  // Engine 0: prompt 4 000, hits 2 000. Engine 1: 1 000 + 1 000 (after the
  // restart) = 2 000 prompt, 500 + 400 = 900 hits.
  assert.equal(last.counters.promptTokens, 6_000);
  assert.equal(last.counters.deviceHitTokens, 2_900);
  assert.equal(last.counters.computedTokens, 3_100); // 6 000 − 2 900
  assert.equal(last.resets, 1);
  assert.deepEqual(last.notes, []);
  assert.deepEqual(warnings, []);
});

Deno.test("scraper: vLLM counting hits at scheduling and prompt tokens at the first token reads right once requests finish", async () => {
  // A 10 000-token prompt, 9 000 of it cached: the hits move at scheduling
  // (scrape 2), the prompt tokens at the first token (scrape 3). Summed
  // deltas go 0 → computed −9 000 → 1 000: said, never clamped or reset.
  await using s = scripted({
    "/m": [
      vllmOld("0", 50_000, 20_000),
      vllmOld("0", 50_000, 29_000),
      vllmOld("0", 60_000, 29_000),
    ],
  });
  const warnings: string[] = [];
  const scraper = new MetricsScraper([s.url("/m")], {
    warn: (w) => warnings.push(w),
  });
  await scraper.scrape();
  const mid = await scraper.scrape();
  assert.equal(mid.counters.computedTokens, -9_000); // 0 − 9 000
  assert.match(promptSplit(mid.counters)!.problem!, /counters disagree/);
  const end = await scraper.scrape();
  assert.deepEqual(promptSplit(end.counters), {
    prompt: 10_000,
    computed: 1_000,
    device: 9_000,
    offload: 0,
  });
  assert.equal(end.resets, 0);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /9,000 prompt tokens served from cache but 0/);
  assert.match(
    warnings[1],
    /computed prompt tokens went backwards between scrapes \(0 to -9,000\)/,
  );
});

Deno.test("scraper: a URL answered by two replicas in turn is left out and said, never added", async () => {
  const a = (p: number) => vllmOld("0", p, p / 2);
  const b = (p: number) => vllmOld("0", p, p / 4);
  await using s = scripted({
    "/lb": [a(100_000), b(90_000), a(101_000), b(91_000), a(102_000)],
  });
  const warnings: string[] = [];
  const last = await scrapeAll([s.url("/lb")], 5, warnings);
  assert.deepEqual(last.counters, {});
  assert.match(
    last.notes.at(-1)!,
    /\/lb: a counter series went backwards at two scrapes: several servers answer this URL .* left out of the split/,
  );
  // Before that, B's first answer read as a restart, bridged: the counters
  // it gave were said to disagree, then the URL was left out.
  assert.equal(warnings.length, 2);
  assert.match(
    warnings[0],
    /went backwards between scrapes \(67,500 to 50,500\)/,
  );
});

Deno.test("scraper: a process seen before answering again (_created) is left out at once", async () => {
  const body = (created: number, p: number) =>
    `# TYPE vllm:prompt_tokens counter\nvllm:prompt_tokens_total ${p}\nvllm:prompt_tokens_created ${created}`;
  await using s = scripted({
    "/lb": [body(1, 500), body(2, 900), body(1, 600)],
  });
  const last = await scrapeAll([s.url("/lb")], 3);
  assert.match(last.notes[0], /a process seen before answered again/);
  assert.deepEqual(last.counters, {});
});

Deno.test("scraper: a URL whose series vanish is left out", async () => {
  await using s = scripted({
    "/m": [vllmOld("0", 100, 10), 'vllm:prompt_tokens_total{engine="7"} 5'],
  });
  const last = await scrapeAll([s.url("/m")], 2);
  assert.match(last.notes[0], /2 of its counter series vanished/);
});

Deno.test("scraper: a URL whose first scrape fails is said: its counters cover the run from its first answer", async () => {
  await using s = scripted({
    "/m": [null, vllmOld("0", 100, 10), vllmOld("0", 400, 110)],
  });
  const warnings: string[] = [];
  const last = await scrapeAll([s.url("/m")], 3, warnings);
  assert.equal(last.counters.promptTokens, 300); // 400 − 100, from scrape 2
  assert.match(
    last.notes[0],
    /no answer at the run's start; its counters cover the run from scrape 2 on/,
  );
  assert.ok(warnings.some((w) => w.includes("HTTP 503")));
});

Deno.test("scraper: KVBM's port beside vLLM's counts the same tokens: one source, never added", async () => {
  const vllm = (p: number, d: number, x: number) =>
    `${
      vllmOld("0", p, d)
    }\nvllm:external_prefix_cache_hits_total{engine="0"} ${x}`;
  const kvbm = (matched: number, h2d: number) =>
    `# TYPE kvbm_matched_tokens counter\nkvbm_matched_tokens ${matched}\n# TYPE kvbm_onboard_blocks_h2d counter\nkvbm_onboard_blocks_h2d ${h2d}`;
  await using s = scripted({
    "/vllm": [vllm(0, 0, 0), vllm(10_000, 1_000, 7_200)],
    "/kvbm": [kvbm(0, 0), kvbm(7_200, 450)],
  });
  const last = await scrapeAll([s.url("/vllm"), s.url("/kvbm")], 2);
  assert.equal(last.counters.offloadHitTokens, 7_200); // not 14 400
  assert.equal(last.counters.onboardHostBlocks, 450);
  assert.equal(
    last.sources.offload,
    "vllm:external_prefix_cache_hits_total",
  );
  assert.deepEqual(promptSplit(last.counters), {
    prompt: 10_000,
    computed: 1_800, // 10 000 − 1 000 − 7 200
    device: 1_000,
    offload: 7_200,
  });
});

Deno.test("scraper: LMCache on TP=2 counts one worker; its lookup pair gives the queries", async () => {
  const worker = (w: string, hits: number, lookups: number) =>
    [
      `lmcache:num_hit_tokens_total{model_name="m",worker_id="${w}"} ${hits}`,
      `lmcache:num_requested_tokens_total{model_name="m",worker_id="${w}"} ${hits}`,
      `lmcache:num_lookup_tokens_total{model_name="m",worker_id="${w}"} ${lookups}`,
    ].join("\n");
  const body = (p: number, d: number, hits: number, lookups: number) =>
    `${vllmOld("0", p, d)}\n${worker("0", hits, lookups)}\n${
      worker("1", hits, lookups)
    }`;
  await using s = scripted({
    "/m": [body(0, 0, 0, 0), body(10_000, 1_000, 7_200, 9_000)],
  });
  const last = await scrapeAll([s.url("/m")], 2);
  assert.equal(last.counters.offloadHitTokens, 7_200); // one worker, not 14 400
  assert.equal(last.counters.offloadQueryTokens, 9_000); // num_lookup_tokens
  assert.equal(last.sources.offload, "lmcache:num_hit_tokens_total");
});

Deno.test("scraper: the LMCache multiprocess server's port: L1 is host memory", async () => {
  const mp = (hit: number, l1: number, l2: number, req: number) =>
    [
      `lmcache_mp_lookup_hit_tokens_total ${hit}`,
      `lmcache_mp_lookup_hit_l1_tokens_total ${l1}`,
      `lmcache_mp_lookup_hit_l2_tokens_total ${l2}`,
      `lmcache_mp_lookup_requested_tokens_total ${req}`,
    ].join("\n");
  await using s = scripted({
    "/vllm": [vllmOld("0", 0, 0), vllmOld("0", 10_000, 1_000)],
    "/mp": [mp(0, 0, 0, 0), mp(7_200, 5_000, 2_200, 9_000)],
  });
  const last = await scrapeAll([s.url("/vllm"), s.url("/mp")], 2);
  assert.deepEqual(promptSplit(last.counters), {
    prompt: 10_000,
    computed: 1_800,
    device: 1_000,
    offload: 7_200,
    host: 5_000, // L1
    disk: 0,
    remote: 0,
    external: 2_200, // L2: disk or remote, not said
  });
  assert.equal(last.counters.offloadQueryTokens, 9_000);
});

Deno.test("scraper: llama.cpp's real captures replayed: computed and cached, the tier not said", async () => {
  // Captures around the same 1001-token prompt sent 3 times to a real
  // llama-server: the first evaluated in full, the next two all but the
  // last token from the cache (slot or --cache-ram: llama.cpp does not say).
  const fixture = (name: string) =>
    Deno.readTextFile(
      new URL(`../../tests/testdata/metrics/${name}`, import.meta.url),
    );
  await using s = scripted({
    "/metrics": [
      await fixture("llamacpp_real_before_long.prom"),
      await fixture("llamacpp_real_after_long.prom"),
    ],
  });
  const last = await scrapeAll([s.url("/metrics")], 2);
  assert.deepEqual(last.engines, ["llamacpp"]);
  assert.deepEqual(promptSplit(last.counters), {
    prompt: 3_003, // 3 × 1 001
    computed: 1_003, // 1 001 + 1 + 1
    cached: 2_000, // 1 000 + 1 000
  });
  assert.equal(last.sources.cached, "llamacpp:prompt_tokens_cached_total");
  assert.deepEqual(last.notes, []);
});

Deno.test("scraper: a restart drops lazily created series until their first count: bridged, not left out", async () => {
  const sglang = (prompt: number, device: number, host?: number) =>
    [
      `sglang:prompt_tokens_total{model_name="m"} ${prompt}`,
      `sglang:cached_tokens_total{cache_source="device",model_name="m"} ${device}`,
      ...(host === undefined ? [] : [
        `sglang:cached_tokens_total{cache_source="host",model_name="m"} ${host}`,
      ]),
    ].join("\n");
  await using s = scripted({
    "/m": [
      sglang(1_000, 200, 300),
      sglang(2_000, 400, 500),
      sglang(100, 50),
      sglang(600, 150, 100),
    ],
  });
  const last = await scrapeAll([s.url("/m")], 4);
  assert.deepEqual(last.notes, []);
  assert.equal(last.resets, 1);
  // prompt 1 000 + 100 + 500; device 200 + 50 + 100; host 200 + 100.
  assert.equal(last.counters.promptTokens, 1_600);
  assert.equal(last.counters.deviceHitTokens, 350);
  assert.equal(last.counters.hostHitTokens, 300);
});
