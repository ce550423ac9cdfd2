import assert from "node:assert/strict";
import { preflight } from "./preflight.ts";
import { detectServer } from "./detect.ts";

Deno.test("preflight: inclusive tiers: a working set between the offload size and GPU + offload is said to exceed, and why", () => {
  const p = preflight({
    workingSetTokens: 18_072,
    deviceKvTokens: 5_456,
    offloadKvTokens: 16_000,
  });
  assert.equal(p.verdict, "exceeds_offload");
  assert.match(
    p.lines[1],
    /^\[WARN\] The working set exceeds the offload tier: offload tiers hold a copy of what is on the GPU \(inclusive\)/,
  );
  // 18 072 ≤ 5 456 + 16 000: the assumption changes the answer, and it says so.
  assert.match(
    p.lines[1],
    /Counted as exclusive tiers, GPU KV \+ offload, it would fit: the assumption changes the answer/,
  );
  const fits = preflight({
    workingSetTokens: 18_072,
    deviceKvTokens: 5_456,
    offloadKvTokens: 21_840,
  });
  assert.equal(fits.verdict, "needs_offload");
  assert.match(
    fits.lines[1],
    /^Assumed: the offload tier holds a copy of GPU KV \(inclusive\)/,
  );
  // Beyond both: no "would fit" clause.
  const beyond = preflight({
    workingSetTokens: 30_000,
    deviceKvTokens: 5_456,
    offloadKvTokens: 16_000,
  });
  assert.equal(beyond.verdict, "exceeds_offload");
  assert.ok(!beyond.lines[1].includes("would fit"));
});

Deno.test("preflight: llama.cpp's per-slot KV: more contexts than slots need its host-RAM prompt cache", async () => {
  // /props as tools/server/server-context.cpp serves it (fields trimmed).
  const props = {
    build_info: "b7000-abcdef",
    total_slots: 1,
    default_generation_settings: { n_ctx: 16_384 },
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) =>
      new URL(req.url).pathname === "/props"
        ? Response.json(props)
        : new Response("no", { status: 404 }),
  );
  try {
    const info = await detectServer(
      `http://127.0.0.1:${server.addr.port}/v1/`,
    );
    assert.equal(info.engine, "llamacpp");
    assert.equal(info.slots, 1);
    assert.equal(info.slotTokens, 16_384);
    // 14 contexts of 4 000 tokens: 56 000 tokens would "fit" 16 384 × 4 of
    // pooled KV, but one slot holds one context.
    const p = preflight({
      workingSetTokens: 14 * 4_008,
      items: 14,
      deviceKvTokens: 65_536,
      slots: info.slots,
      slotTokens: info.slotTokens,
    });
    assert.equal(p.verdict, "needs_offload");
    assert.match(
      p.lines[0],
      /GPU KV 1 slot of 16,384 tokens \(per-slot KV: one context each\);/,
    );
    assert.match(
      p.lines[1],
      /14 contexts for 1 slot: reuse must come back from llama\.cpp's host-RAM prompt cache \(--cache-ram/,
    );
    const few = preflight({ workingSetTokens: 8_016, items: 2, slots: 4 });
    assert.equal(few.verdict, "fits_device");
  } finally {
    await server.shutdown();
  }
});
