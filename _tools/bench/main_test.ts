import assert from "node:assert/strict";
import { errorStats, renderRows } from "./main.ts";

Deno.test("errorStats gives p50, p99 (interpolated) and max", () => {
  // 101 values 0..100: the p-quantile is exactly 100 p.
  const values = Array.from({ length: 101 }, (_, i) => 100 - i);
  assert.deepEqual(errorStats(values), { p50: 50, p99: 99, max: 100, n: 101 });
  // Two values: p99 = 1 + 0.99 × (3 − 1).
  assert.deepEqual(errorStats([3, 1]), { p50: 2, p99: 2.98, max: 3, n: 2 });
});

Deno.test("renderRows aligns columns under their headers", () => {
  assert.equal(
    renderRows([{ a: 1, bbb: "x" }, { a: 22, bbb: "yyyy" }]),
    "a   bbb\n--  ----\n1   x\n22  yyyy\n",
  );
});

Deno.test("deno task bench --quick --scenario 4 runs, prints and writes its JSON", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kvbench-bench-smoke-" });
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./main.ts", import.meta.url).pathname,
        "--quick",
        "--scenario",
        "4",
        "--out-dir",
        dir,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    assert.match(stdout, /4\. Prompt synthesis/);
    assert.match(stdout, /exact-length synthesis: [\d,]+ tokens\/s/);
    const files = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.equal(files.length, 1);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/${files[0]}`));
    assert.equal(json.quick, true);
    assert.equal(json.machine.deno.deno, Deno.version.deno);
    const data = json.scenarios["4"].data;
    assert.equal(data.verifiedExact, true);
    // The five bundled models, sized as `benchmark` sizes them (hand-computed
    // in workloads/benchmark/sizing_test.ts), 32 000 tokens per context.
    assert.deepEqual(
      data.contexts.map((c: { contexts: number; tokens: number }) => [
        c.contexts,
        c.tokens,
      ]),
      [40, 61, 250, 95, 30].map((n) => [n, n * 32_000]),
    );
    // The rate is the tokens synthesized over the time it took.
    assert.equal(
      data.tokensPerSecond,
      data.prompts * data.promptTokens / (data.synthMs / 1000),
    );
    assert.equal(data.verifiedPrompts, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bench: an unknown scenario is a usage error", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./main.ts", import.meta.url).pathname,
      "--scenario",
      "9",
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 2);
  assert.match(
    new TextDecoder().decode(output.stderr),
    /unknown scenario "9"/,
  );
});
