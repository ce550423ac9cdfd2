/**
 * `kvbench sim --metrics-flavor`: the engine's names on /metrics and, where
 * it has one, the connector's port; a flavor kvbench does not know is a
 * one-line usage error.
 */
import assert from "node:assert/strict";
import { runCli, startCli } from "./cli_process.ts";

Deno.test("kvbench sim --metrics-flavor trtllm serves TensorRT-LLM's names; --metrics-flavor vllm-by-source adds KVBM's port", async () => {
  for (
    const [flavor, main, connector] of [
      ["trtllm", "trtllm_prompt_cache_hit_tokens_total{", undefined],
      [
        "vllm-by-source",
        "vllm:prompt_tokens_by_source_total{",
        "kvbm_matched_tokens ",
      ],
    ] as const
  ) {
    const sim = startCli([
      "sim",
      ...["--port", "0", "--time-scale", "0.01", "--metrics-flavor", flavor],
    ]);
    try {
      const [, url] = await sim.waitFor(/ at (http:\/\/\S+\/v1\/)/);
      const origin = new URL(url).origin;
      const text = await (await fetch(`${origin}/metrics`)).text();
      assert.ok(text.includes(main), text);
      const port = await fetch(`${origin}/connector/metrics`);
      const body = await port.text();
      if (connector === undefined) assert.equal(port.status, 404);
      else assert.ok(body.includes(connector), body);
    } finally {
      sim.kill("SIGTERM");
      await sim.done();
    }
  }
});

Deno.test("kvbench sim --metrics-flavor nope: a one-line usage error", async () => {
  const { code, stderr } = await runCli(["sim", "--metrics-flavor", "nope"]);
  assert.notEqual(code, 0);
  assert.match(
    stderr,
    /--metrics-flavor "nope": expected one of vllm, vllm-prefix, vllm-by-source, vllm-cached-by-source, sglang, lmcache-tp2, trtllm/,
  );
  assert.ok(!stderr.includes("    at "), stderr);
});
