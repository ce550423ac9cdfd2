/**
 * kvbench imported the way users import it: from a script outside the clone
 * (no deno.json of ours in reach), by path to `mod.ts` and its subpath
 * modules, or through an import map naming every entry point of deno.json's
 * `exports` as `@kvbench/cli/<subpath>`; run against the simulator, and the
 * run directories a script writes read back by `kvbench compare` and
 * `kvbench report`.
 */
import assert from "node:assert/strict";
import { runCli } from "./cli_process.ts";
import { parseTables } from "../lib/testing/tables.ts";

const ROOT = new URL("../", import.meta.url);

async function runScript(
  dir: string,
  script: string,
): Promise<{ stdout: string }> {
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
  return { stdout: new TextDecoder().decode(output.stdout) };
}

Deno.test("a script in another folder imports mod.ts, sim/mod.ts and testing/mod.ts and runs a workload", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kvbench-user-" });
  try {
    const { stdout } = await runScript(
      dir,
      `
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
    `,
    );
    assert.deepEqual(JSON.parse(stdout), { ok: 6, completion: 24 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every subpath of deno.json's exports, through an import map; a script's run directories read by kvbench compare and report", async () => {
  const { exports } = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", ROOT)),
  ) as { exports: Record<string, string> };
  assert.deepEqual(Object.keys(exports).sort(), [
    ".",
    "./benchmark",
    "./cli",
    "./replay",
    "./report",
    "./server",
    "./sim",
    "./testing",
    "./trie",
  ]);
  const imports = Object.fromEntries(
    Object.entries(exports).map(([subpath, file]) => [
      `@kvbench/cli${subpath.slice(1)}`,
      new URL(file, ROOT).href,
    ]),
  );
  const dir = await Deno.makeTempDir({ prefix: "kvbench-user-" });
  try {
    await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify({ imports }));
    const { stdout } = await runScript(
      dir,
      `
      import { closedLoop, run, singleRequest } from "@kvbench/cli";
      import { sizeBenchmark } from "@kvbench/cli/benchmark";
      import { parseTraceRows } from "@kvbench/cli/trie";
      import { parseTrace, theoreticalReuse } from "@kvbench/cli/replay";
      import { writeRunDirectory } from "@kvbench/cli/report";
      import { benchmarkVerdict, ReuseTracker } from "@kvbench/cli/server";
      import { startSimulator } from "@kvbench/cli/sim";
      import { testRecord } from "@kvbench/cli/testing";
      import { main } from "@kvbench/cli/cli";

      await using sim = await startSimulator({ timeScale: 0.01 });
      // Run "a" asks one prompt 6 times (cache hits), run "b" 6 distinct ones.
      for (const name of ["a", "b"]) {
        const records = [];
        const summary = await run((function* () {
          for (let i = 0; i < 6; i++) {
            const head = name === "a" ? "same" : \`prompt \${i}\`;
            yield singleRequest({ prompt: head + " words".repeat(200), maxTokens: 4, ignoreEos: true });
          }
        })(), {
          endpoint: { baseUrl: sim.url, model: sim.model },
          load: closedLoop(1),
          onRecord: (r) => records.push(r),
        });
        await writeRunDirectory(name, { records, run: summary, command: "script", params: { name } });
      }
      const sizing = sizeBenchmark("m", { offloadSizeGib: 1, bytesPerToken: 1024, inputLength: 1024, outputLength: 1 });
      const rows = parseTraceRows('{"num_turns":0,"input_prompt_length":8,"assistant_response_length":[],"tool_call_output_length":[],"tool_call_latency":[],"final_assistant_response_length":2}\\n', "t");
      const trace = parseTrace('{"timestamp":0,"input_length":1024,"output_length":1,"hash_ids":[1,2]}\\n{"timestamp":5,"input_length":1024,"output_length":1,"hash_ids":[1,2]}\\n', { name: "t.jsonl" });
      const tracker = new ReuseTracker();
      tracker.add(testRecord({ tags: { context: 0 }, promptTokens: 10 }));
      console.log(JSON.stringify({
        contexts: sizing.contexts,
        rows: rows.length,
        reuse: theoreticalReuse(trace).unboundedHitRate,
        verdict: benchmarkVerdict(tracker.figures()).text.slice(0, 40),
        help: await main(["--version"]),
      }));
    `,
    );
    const lines = stdout.trimEnd().split("\n");
    assert.equal(lines[0], "kvbench 0.1.0"); // main(["--version"]) printed
    assert.deepEqual(JSON.parse(lines[1]), {
      contexts: 921, // 0.9 × 1 GiB / (1024 tokens × 1 KiB per token)
      rows: 1,
      reuse: 0.5, // the second request's two 512-token blocks are the first's
      verdict: "Verdict: no context came back within the",
      help: 0,
    });
    const run = JSON.parse(await Deno.readTextFile(`${dir}/a/run.json`));
    assert.equal(run.command, "script");
    assert.deepEqual(run.params, { name: "a" });
    const cmp = await runCli(["compare", `${dir}/a`, `${dir}/b`, "--no-html"]);
    assert.equal(cmp.code, 0, cmp.stderr);
    const table = parseTables(cmp.stdout)[0];
    assert.deepEqual(table.header.slice(1), ["a", "b", "b / a"]);
    const row = (label: string): string[] =>
      table.rows.find((r) => r[0] === label)!.slice(1);
    assert.deepEqual(row("requests completed"), ["6", "6", "1.00×"]);
    // "a": the simulator serves 5 of its 6 prompts from cache, "b" none.
    const [hitA, hitB] = row("cache hit rate").map(parseFloat);
    assert.ok(hitA > 50 && hitB < 10, `${hitA}% vs ${hitB}%`);
    const report = await runCli([
      "report",
      `${dir}/a`,
      `${dir}/b`,
      "--output",
      `${dir}/ab.html`,
    ]);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /Report of 2 runs \(12 records/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mod.ts, the script core, exports at most 100 names; every entry point of deno.json's exports passes deno doc --lint", async () => {
  const deno = async (args: string[]): Promise<Deno.CommandOutput> =>
    await new Deno.Command(Deno.execPath(), {
      args,
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
  const doc = await deno(["doc", "--json", "mod.ts"]);
  assert.equal(doc.code, 0, new TextDecoder().decode(doc.stderr));
  const { nodes } = JSON.parse(new TextDecoder().decode(doc.stdout)) as {
    nodes: Record<string, { symbols: { name: string }[] }>;
  };
  const names = Object.values(nodes).flatMap((n) =>
    n.symbols.map((s) => s.name)
  );
  assert.ok(names.includes("run") && names.includes("requestFigures"));
  assert.ok(!names.includes("runBenchmark")); // a subpath's (./benchmark)
  assert.ok(names.length <= 100, `mod.ts exports ${names.length} names`);
  const { exports } = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", ROOT)),
  ) as { exports: Record<string, string> };
  // One by one: each entry point's docs stand alone.
  for (const file of Object.values(exports)) {
    const lint = await deno(["doc", "--lint", file]);
    assert.equal(
      lint.code,
      0,
      `${file}: ${new TextDecoder().decode(lint.stderr)}`,
    );
  }
});
