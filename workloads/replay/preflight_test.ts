/**
 * replay's working set on the Mooncake sample, and its pre-flight with
 * `--capacity-tokens` standing for the GPU KV, in place of the server's.
 */
import assert from "node:assert/strict";
import { loadTrace } from "./formats.ts";
import { theoreticalReuse } from "./theory.ts";
import { replayPreflight, replayWorkingSet } from "./preflight.ts";

const MOONCAKE = new URL(
  "../../tests/testdata/traces/mooncake.jsonl",
  import.meta.url,
).pathname;

Deno.test("replayWorkingSet: the Mooncake sample's unique prefix tokens", async () => {
  const trace = await loadTrace(MOONCAKE);
  // Full 512-token blocks: 13 + 14 + 14 + 4 + 1 + 1 + 1 = 48; rows 2-4
  // repeat block 0, rows 6-7 block 46: 43 unique blocks = 22,016 tokens.
  assert.deepEqual(replayWorkingSet(trace, theoreticalReuse(trace)), {
    tokens: 22_016,
  });
});

Deno.test("replayPreflight: --capacity-tokens is the GPU KV, in place of the server's, as in the LRU theory", async () => {
  const trace = await loadTrace(MOONCAKE);
  const p = replayPreflight(trace, theoreticalReuse(trace), {
    kv: { unknown: "KV bytes per token unknown" },
    capacities: {},
    capacityTokens: 32_768,
  });
  assert.equal(
    p.lines[1],
    "Pre-flight: working set 22,016 tokens; GPU KV 32,768 tokens (--capacity-tokens); offload unknown",
  );
  assert.equal(p.verdict, "fits_device");
  // The flag wins over the server's figure, as the theory beside it takes
  // it; the server's offload tier is still the server's.
  const served = replayPreflight(trace, theoreticalReuse(trace), {
    kv: { unknown: "KV bytes per token unknown" },
    capacities: { deviceKvTokens: 16_384, offloadKvTokens: 65_536 },
    capacityTokens: 32_768,
  });
  assert.equal(served.verdict, "fits_device");
  assert.equal(served.record.gpu_kv_tokens, 32_768);
  assert.equal(
    served.lines[1],
    "Pre-flight: working set 22,016 tokens; GPU KV 32,768 tokens (--capacity-tokens); offload 65,536 tokens (server)",
  );
  // Without the flag, the server's.
  const server = replayPreflight(trace, theoreticalReuse(trace), {
    kv: { unknown: "KV bytes per token unknown" },
    capacities: { deviceKvTokens: 16_384, offloadKvTokens: 65_536 },
  });
  assert.equal(server.verdict, "needs_offload");
  assert.equal(server.record.gpu_kv_tokens, 16_384);
});
