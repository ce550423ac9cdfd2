import assert from "node:assert/strict";
import { promptSplit, renderAttribution } from "./attribution.ts";

Deno.test("renderAttribution: the server's total against the client's: other traffic said, requests not completed allowed for", () => {
  // One shard of two: the server counted both shards' prompt tokens.
  const split = promptSplit({
    promptTokens: 13_731_003,
    computedTokens: 1_000_000,
    deviceHitTokens: 731_003,
    offloadHitTokens: 12_000_000,
  })!;
  const lines = renderAttribution(split, {
    engines: ["vllm"],
    clientPromptTokens: 6_817_491,
  });
  assert.equal(
    lines[2],
    "The server counted 13,731,003 prompt tokens, the client 6,817,491 in completed requests: the server also counted other traffic (another client, another shard of this run), so its split is not this run's alone",
  );
  // Mid-run (requests in flight): not compared.
  assert.equal(
    renderAttribution(split, {
      clientPromptTokens: 6_817_491,
      compareTotals: false,
    }).length,
    2,
  );
  // 20 000 more on the server, 20 000 in requests that did not complete:
  // explained, no line.
  const inFlight = renderAttribution(
    promptSplit({ promptTokens: 1_020_000, computedTokens: 1_020_000 })!,
    { clientPromptTokens: 1_000_000, clientUnfinishedPromptTokens: 20_000 },
  );
  assert.equal(inFlight.length, 2);
  // 30 000 more with 5 000 unfinished (and 1 % of slack, 10 200): said.
  const more = renderAttribution(
    promptSplit({ promptTokens: 1_030_000, computedTokens: 1_030_000 })!,
    { clientPromptTokens: 1_000_000, clientUnfinishedPromptTokens: 5_000 },
  );
  assert.match(
    more[2],
    /^The server counted 1,030,000 prompt tokens, the client 1,000,000 in completed requests and 5,000 in requests that did not complete: the server also counted other traffic/,
  );
});

Deno.test("renderAttribution: counters that disagree are not split; named tiers are shown", () => {
  const bad = promptSplit({
    promptTokens: 1000,
    deviceHitTokens: 900,
    offloadHitTokens: 300,
  })!;
  assert.equal(bad.computed, -200); // not clamped
  assert.match(
    renderAttribution(bad)[0],
    /^KV source \(server counters\): 1,000 prompt tokens, not split: the counters disagree: 1,200 prompt tokens served from cache but 1,000 in all/,
  );
  const tiers = promptSplit({
    promptTokens: 1000,
    computedTokens: 100,
    deviceHitTokens: 100,
    offloadHitTokens: 800,
    hostHitTokens: 500,
    diskHitTokens: 200,
    remoteHitTokens: 0,
  })!;
  assert.equal(tiers.external, 100); // 800 − 500 − 200 − 0
  assert.equal(
    renderAttribution(tiers, { onboardBlocks: { host: 31, disk: 12 } }).join(
      "\n",
    ),
    "KV source (server counters): 1,000 prompt tokens: 10.0% computed, 10.0% GPU prefix cache, 80.0% offload tier (50.0% host memory, 20.0% disk, 10.0% tier not named)\n" +
      "KVBM onboarded 31 KV blocks from host memory and 12 from disk (blocks, not tokens: KVBM's metrics give no block size)",
  );
});
