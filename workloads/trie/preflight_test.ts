/**
 * trie's working set on the test fixture, and its pre-flight against the
 * capacities a server reports, with a fixture config's bytes per token.
 */
import assert from "node:assert/strict";
import { loadTraceFile } from "./trace_file.ts";
import { triePreflight, trieWorkingSet } from "./preflight.ts";
import { modelKv } from "../../lib/cli/model_kv.ts";

const TRACES = new URL(
  "../../tests/testdata/traces_small.jsonl",
  import.meta.url,
).pathname;
const CONFIG = new URL(
  "../../tests/testdata/configs/llama-3.1-8b-instruct.json",
  import.meta.url,
).pathname;

Deno.test("trieWorkingSet: the fixture's traces in flight at their largest", async () => {
  const rows = await loadTraceFile(TRACES);
  // Unique prefix tokens: 32 + 16 + 8 + 20 + 12 = 88; 100; 200 + 8 + 50 +
  // 4 + 0 + 12 + 30 = 304.
  const at = (concurrency: number, extra = {}) =>
    trieWorkingSet(rows, { concurrency, ...extra }).tokens;
  assert.equal(at(1), 304);
  assert.equal(at(2), 404); // 100 + 304 (304 + 88 = 392, 88 + 100 = 188)
  assert.equal(at(3), 492);
  assert.equal(at(5), 492 + 404); // a lap and the largest pair
  assert.equal(at(5, { maxTraces: 2 }), 404);
  // 16 shared tokens counted once: 16 + (100 - 16) + (304 - 16) = 388.
  assert.equal(at(2, { sharedPrefixTokens: 16 }), 388);
});

Deno.test("triePreflight: the fixture's working set × a fixture config's bytes per token against the server's tiers", async () => {
  const rows = await loadTraceFile(TRACES);
  // Llama-3.1-8B: 2 × 32 × 8 × 128 × 2 = 131,072 B per token (8,192 per GiB).
  const kv = await modelKv("m", { hfConfig: CONFIG });
  const v = { max_traces: null, shared_prefix_tokens: null };
  const p = triePreflight(rows, v, {
    kv,
    capacities: { deviceKvTokens: 8_192, offloadKvTokens: 81_920 },
    concurrency: 3,
  });
  // 492 × 131,072 / 1024³ = 0.0601 GiB; 8,192 → 1.00; 81,920 → 10.00
  assert.equal(
    p.lines[1],
    "Pre-flight: working set 492 tokens (3 traces in flight, 0.06 GiB); GPU KV 8,192 tokens, 1.00 GiB (server); offload 81,920 tokens, 10.00 GiB (server)",
  );
  assert.equal(p.verdict, "fits_device");
  assert.match(p.lines[2], /Raise concurrency= /);
  // 20 traces in flight: 6 laps (6 × 492) + the largest pair (404) = 3,356
  // tokens, past 2,048 tokens of GPU KV, inside the offload tier.
  const busy = triePreflight(rows, v, {
    kv,
    capacities: { deviceKvTokens: 2_048, offloadKvTokens: 81_920 },
    concurrency: 20,
  });
  assert.equal(busy.record.working_set_tokens, 3_356);
  assert.equal(busy.verdict, "needs_offload");
  // llama.cpp: 4 slots, 3 traces in flight: each has a slot of its own.
  const slots = triePreflight(rows, v, {
    kv,
    capacities: { deviceKvTokens: 16_384, slots: 4, slotTokens: 4_096 },
    concurrency: 3,
  });
  assert.equal(slots.verdict, "fits_device");
  assert.match(slots.lines[2], /^\[WARN\] Every trace in flight has a slot/);
  // An arrival rate: the traces in flight are unknown before the run.
  const open = triePreflight(rows, v, {
    kv,
    capacities: { deviceKvTokens: 8_192 },
    arrivalRate: 2,
  });
  assert.equal(open.verdict, "unknown");
  assert.match(
    open.lines[1],
    /^Pre-flight: working set unknown \(arrival_rate/,
  );
});
