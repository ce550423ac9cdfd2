/**
 * The scripts of `examples/` run as a user runs them (`deno run -A`, in a
 * subprocess) against a scripted server or the simulator on loopback, and
 * print the figures their workloads imply.
 *
 * @module
 */
import assert from "node:assert/strict";
import { poisson } from "../mod.ts";
import { startSimulator } from "../lib/sim/server.ts";
import { qwen3TokenizerDir } from "../lib/testing/tokenizers.ts";
import { startScriptedServer } from "../lib/testing/scripted_server.ts";

const ROOT = new URL("../", import.meta.url).pathname;

async function runExample(
  name: string,
  args: string[],
): Promise<{ stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", `examples/${name}`, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, `${name} failed:\n${stdout}\n${stderr}`);
  return { stdout, stderr };
}

/** The body rows of the tables in `text`, cells trimmed. */
function tableRows(text: string): string[][] {
  return text.split("\n").filter((line) => line.startsWith("│")).map((line) =>
    line.split("│").slice(1, -1).map((cell) => cell.trim())
  );
}

function between(value: string, low: number, high: number): void {
  const x = Number(value);
  assert.ok(x >= low && x <= high, `${value} is not in [${low}, ${high}]`);
}

Deno.test("multi_round_qa: shared system prompt, growing history, cache hits per round", async () => {
  // Usage scripted per round (round r = number of questions in the prompt − 1).
  const server = startScriptedServer({
    script: (body) => {
      const round = String(body.prompt).split("\nQ").length - 2;
      return {
        firstTokenMs: 20,
        tokens: ["tok ", "tok ", "tok ", "tok "],
        usage: {
          prompt_tokens: 1000 * (round + 1),
          completion_tokens: 4,
          cached_tokens: 1000 * round + 100,
        },
      };
    },
  });
  try {
    const { stdout } = await runExample("multi_round_qa.ts", [
      ...["--endpoint", server.origin, "--users", "3", "--rounds", "2"],
      ...["--qps", "50", "--system-tokens", "2", "--context-tokens", "3"],
      ...["--answer-tokens", "4"],
    ]);
    assert.match(
      stdout,
      /^3 users x 2 rounds at 50 qps on test-model: 6 of 6 requests ok in \d+\.\d s\n/,
    );
    const rows = tableRows(stdout);
    assert.deepEqual(rows.map((r) => [r[0], r[1], ...r.slice(4)]), [
      ["0", "3/3", "3000", "300", "10.0"],
      ["1", "3/3", "6000", "3300", "55.0"],
      ["all", "6/6", "9000", "3600", "40.0"],
    ]);
    for (const row of rows) {
      between(row[2], 20, 1000); // mean TTFT: the scripted 20 ms plus overhead
      between(row[3], 20, 1000);
    }
    const prompts = server.received.filter((r) => r.body?.prompt !== undefined)
      .map((r) => ({ at: r.at, prompt: String(r.body!.prompt) }));
    assert.equal(prompts.length, 6);
    const first = (user: number) =>
      `System: rule rule\nUser ${user} fact fact fact\nQ0: tell me more\nA:`;
    for (let user = 0; user < 3; user++) {
      const asked = prompts.filter((p) => p.prompt.startsWith(first(user)));
      assert.deepEqual(asked.map((p) => p.prompt), [
        first(user),
        first(user) + "tok tok tok tok \nQ1: tell me more\nA:",
      ]);
      // 3 users / 50 qps: 60 ms between a user's answer and its next question.
      assert.ok(asked[1].at - asked[0].at >= 20 + 60);
    }
  } finally {
    await server.close();
  }
});

Deno.test("long_doc_qa: interleave order hits the GPU cache, tile order misses it", async () => {
  // GPU cache of 48 blocks: one 521-token document (33 blocks with its answer)
  // fits, two do not; no offload tier, so tile order never finds a document.
  // Prefill at 5,000 tokens/s: a cold prefill (104 ms) stands well above
  // the timer and HTTP noise of a busy machine.
  const sim = await startSimulator({
    seed: 1,
    gpuKvTokens: 768,
    offloadTokens: 0,
    prefillTokensPerS: 5_000,
  });
  try {
    const { stdout } = await runExample("long_doc_qa.ts", [
      ...["--endpoint", sim.url, "--documents", "4", "--questions", "3"],
      ...["--doc-tokens", "500", "--answer-tokens", "4"],
    ]);
    assert.match(
      stdout,
      /Long-document QA: 4 documents x 3 questions on\s+Qwen\/Qwen3-30B-A3B-Instruct-2507/,
    );
    // A prompt is "Set 0, document 0" (7 tokens), " hi" × 500, then
    // "\nQuestion 0: what does the document say?\nAnswer:" (14 tokens): 521.
    // Questions about one document share 510 tokens: 31 full blocks, 496.
    // Interleave: 4 documents × 2 repeated questions × 496 = 3968 cached.
    const rows = tableRows(stdout);
    assert.deepEqual(rows.map((r) => [r[0], r[1], ...r.slice(3)]), [
      ["tile", "12/12", "6252", "0", "0.000"],
      ["interleave", "12/12", "6252", "3968", "0.635"],
    ]);
    // 521 tokens of prefill at 5,000 tokens/s take 104.2 ms; a hit leaves
    // 25 (5 ms).
    const [tile, interleave] = rows.map((r) => Number(r[2]));
    assert.ok(tile >= 104.2, `tile mean TTFT ${tile}`);
    assert.ok(interleave >= (4 * 104.2 + 8 * 5) / 12);
    assert.ok(interleave < tile, `${interleave} ≥ ${tile}`);
    assert.equal(sim.stats().finished, 24);
  } finally {
    await sim.shutdown();
  }
});

Deno.test("concurrency_sweep: a row per level, throughput consistent with the scripted server", async () => {
  const server = startScriptedServer({
    script: () => {
      return {
        firstTokenMs: 30,
        tokens: ["a ", "b ", "c ", "d ", "e "],
        usage: { prompt_tokens: 11, completion_tokens: 5 },
      };
    },
  });
  try {
    const { stdout } = await runExample("concurrency_sweep.ts", [
      ...["--endpoint", server.origin, "--levels", "1,3", "--requests", "6"],
      ...["--prompt-tokens", "10", "--output-tokens", "5"],
    ]);
    assert.match(stdout, /Concurrency sweep on test-model/);
    const rows = tableRows(stdout);
    assert.deepEqual(rows.map((r) => r.slice(0, 2)), [["1", "6/6"], [
      "3",
      "6/6",
    ]]);
    for (const [, , p50, p99, perS, tokS] of rows) {
      between(p50, 30, 1000);
      between(p99, 30, 1000);
      // 5 output tokens per request.
      assert.ok(Math.abs(Number(tokS) / Number(perS) - 5) < 0.05);
    }
    // One at a time, each request takes at least 30 ms: ≤ 33.3/s; 3 at a time ≤ 100/s.
    between(rows[0][4], 0.1, 1000 / 30);
    between(rows[1][4], 0.1, 3000 / 30);
    assert.ok(Number(rows[1][4]) > Number(rows[0][4]));
    const requests = server.received.filter((r) => r.body?.prompt);
    assert.equal(requests.length, 12);
    assert.deepEqual(requests.map((r) => r.concurrent).slice(0, 6), [
      1,
      1,
      1,
      1,
      1,
      1,
    ]);
    assert.equal(server.maxConcurrent(), 3);
    assert.ok(requests.every((r) => r.body!.max_tokens === 5));
    const prompts = requests.map((r) => String(r.body!.prompt));
    assert.deepEqual(
      prompts.map((p) => Number(p.split(" ")[0])).sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    );
    assert.ok(prompts.every((p) => p.endsWith(" hi".repeat(10))));
  } finally {
    await server.close();
  }
});

Deno.test("poisson_trace: a JSONL trace replayed with seeded Poisson arrivals", async () => {
  const tokenizer = await qwen3TokenizerDir();
  const records = await Deno.makeTempFile({ suffix: ".jsonl" });
  const server = startScriptedServer();
  try {
    const { stdout } = await runExample("poisson_trace.ts", [
      "tests/testdata/traces_small.jsonl",
      ...["--endpoint", server.origin, "--tokenizer", tokenizer],
      ...["--rate", "20", "--traces", "6", "--seed", "3"],
      ...["--records", records],
    ]);
    assert.match(
      stdout,
      /^tests\/testdata\/traces_small\.jsonl: 6 traces at Poisson rate 20\/s \(seed 3\) on test-model\n/,
    );
    assert.match(stdout, /completed=6\/6 {2}trace\/s=/);
    // Trace k (session k) was due at the seeded Poisson times: the sum of
    // the first k gaps after trace 0. That is what the client controls; when
    // it actually went out (sentAt) depends on the machine, but never earlier.
    const lines = (await Deno.readTextFile(records)).trim().split("\n")
      .map((line) => JSON.parse(line));
    const firsts = lines.filter((r) => r.turn === 0)
      .sort((a, b) => a.session - b.session);
    assert.deepEqual(firsts.map((r) => r.session), [0, 1, 2, 3, 4, 5]);
    for (const r of lines) assert.ok(r.sentAt >= r.scheduledAt);
    const draw = poisson(20, { seed: 3 });
    let due = 0;
    for (let k = 1; k < 6; k++) {
      due += draw(k - 1, 0);
      const at = firsts[k].scheduledAt - firsts[0].scheduledAt;
      // Epoch milliseconds keep about 1e-4 ms of precision.
      assert.ok(Math.abs(at - due) < 0.01, `trace ${k}: ${at} vs ${due}`);
    }
  } finally {
    await server.close();
    await Deno.remove(tokenizer, { recursive: true });
    await Deno.remove(records);
  }
});
