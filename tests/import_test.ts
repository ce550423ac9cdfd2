/**
 * kvbench imported the way users import it: from a script outside the clone
 * (no deno.json of ours in reach), by path to `mod.ts` and its subpath
 * modules, run against the simulator.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

Deno.test("a script in another folder imports mod.ts, sim/mod.ts and testing/mod.ts and runs a workload", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kvbench-user-" });
  try {
    const script = `
      import { closedLoop, createSynthesizer, recordTotals, run, singleRequest } from ${
      JSON.stringify(new URL("mod.ts", ROOT).href)
    };
      import { startSimulator } from ${
      JSON.stringify(new URL("lib/sim/mod.ts", ROOT).href)
    };
      import { qwen3Tokenizer } from ${
      JSON.stringify(new URL("lib/testing/mod.ts", ROOT).href)
    };
      const synth = createSynthesizer(qwen3Tokenizer(), { seed: 1 });
      await using sim = await startSimulator({ timeScale: 0.01 });
      const records = [];
      await run((function* () {
        for (let i = 0; i < 6; i++) yield singleRequest({ prompt: synth.text(64), maxTokens: 4, ignoreEos: true });
      })(), {
        endpoint: { baseUrl: sim.url, model: sim.model },
        load: closedLoop(2),
        onRecord: (r) => records.push(r),
      });
      const t = recordTotals(records);
      console.log(JSON.stringify({ ok: t.ok, completion: t.completionTokens }));
    `;
    await Deno.writeTextFile(`${dir}/bench.ts`, script);
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", "bench.ts"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    assert.deepEqual(
      JSON.parse(new TextDecoder().decode(output.stdout)),
      { ok: 6, completion: 24 },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
