import { strictEqual, throws } from "node:assert/strict";
import { resolveSimOptions, SIM_DEFAULTS } from "./config.ts";

Deno.test("resolveSimOptions: defaults of the module doc for Qwen3-30B-A3B (98,304 bytes per token)", () => {
  const { model, bytesPerToken, engine, faults } = resolveSimOptions();
  strictEqual(model, "Qwen/Qwen3-30B-A3B-Instruct-2507");
  strictEqual(bytesPerToken, 98_304);
  strictEqual(engine.gpuKvTokens, 87_381); // floor(8 × 2^30 / 98 304)
  strictEqual(engine.offloadTokens, 1_092_266); // floor(100 × 2^30 / 98 304)
  strictEqual(engine.timing.loadTokensPerS, 254_313); // round(25e9 / 98 304)
  strictEqual(engine.timing.prefillTokensPerS, SIM_DEFAULTS.prefillTokensPerS);
  strictEqual(engine.blockSize, 16);
  strictEqual(engine.maxRunningSeqs, 256);
  strictEqual(faults.errorRate500, 0);
});

Deno.test("resolveSimOptions: another model sizes through its bytes per token; tokens override GiB", () => {
  const gptoss = resolveSimOptions({
    model: "openai/gpt-oss-120b",
    gpuKvGb: 4.5,
  });
  strictEqual(gptoss.bytesPerToken, 73_728);
  strictEqual(gptoss.engine.gpuKvTokens, 65_536); // 4.5 × 2^30 / 73 728
  strictEqual(resolveSimOptions({ offloadTokens: 0 }).engine.offloadTokens, 0);
  strictEqual(
    resolveSimOptions({ gpuKvTokens: 1000 }).engine.gpuKvTokens,
    1000,
  );
  // A model not in the file is served with the default model's sizes.
  strictEqual(resolveSimOptions({ model: "my/model" }).bytesPerToken, 98_304);
  throws(
    () => resolveSimOptions({ gpuKvTokens: 10, gpuKvGb: 1 }),
    /Cannot use both gpuKvTokens and gpuKvGb/,
  );
  throws(() => resolveSimOptions({ seed: 1.5 }), /Cannot use seed 1.5/);
  throws(
    () => resolveSimOptions({ faults: { cutRate: 2 } }),
    /cutRate 2: expected a fraction in \[0, 1\]/,
  );
  throws(
    () =>
      resolveSimOptions({ faults: { errorRate500: 0.6, errorRate429: 0.6 } }),
    /above 1/,
  );
});
