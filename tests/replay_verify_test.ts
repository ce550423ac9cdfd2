/**
 * `kvbench replay --verify / --cold-method / --reset-cache` end to end:
 * cli.ts in a subprocess replays the Mooncake fixture against the
 * simulator on 127.0.0.1, then re-sends its longest reuses warm and cold.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { runCli, RUNS_DIR, startCli } from "./cli_process.ts";
import { startSimulator } from "../lib/sim/server.ts";
import { readRecordsFile } from "../lib/run/records_file.ts";
import { loadTrace } from "../workloads/replay/formats.ts";
import { reusedRequests } from "../workloads/replay/verify.ts";

const TRACE = new URL("./testdata/traces/mooncake.jsonl", import.meta.url)
  .pathname;

// 8,192 GPU tokens: the rows of 7,000 tokens leave each other's KV in the
// offload tier.
const SIM_FLAGS = [
  "--time-scale",
  "0.001",
  "--gpu-kv-tokens",
  "8192",
  "--offload-tokens",
  "65536",
];

function replayArgs(
  url: string,
  dir: string,
  extra: string[],
  speed = "100",
): string[] {
  return [
    "replay",
    TRACE,
    "--endpoint",
    url,
    "--speed",
    speed,
    "--output-dir",
    dir,
    // Every answer exactly its max_tokens, the check's requests too.
    "--extra-body",
    '{"ignore_eos": true}',
    ...extra,
  ];
}

interface Answer {
  cached_tokens: number;
  tokens: string[];
  finish_reason: string;
}

interface Pair {
  context: number;
  outcome: string;
  warm: Answer;
  cold: Answer;
  control: Answer;
  warm_vs_cold: { first_at: number | null; compared: number };
  cold_vs_control: { first_at: number | null };
}

async function readPairs(dir: string): Promise<Pair[]> {
  const text = await Deno.readTextFile(`${dir}/verify.jsonl`);
  return text.trim().split("\n").map((l) => JSON.parse(l));
}

/** The requests the check should have picked, from the run's own records. */
async function expectedPicks(dir: string): Promise<number[]> {
  const trace = await loadTrace(TRACE);
  const { records } = await readRecordsFile(`${dir}/records.jsonl`);
  return reusedRequests(trace, records, { count: 3 }).map((p) =>
    p.request.index
  );
}

Deno.test("replay --verify: the longest reuses identical to cold compute pass (exit 0); --reset-cache before the run", async () => {
  await using sim = await startSimulator({
    timeScale: 0.001,
    gpuKvTokens: 8192,
    offloadTokens: 65536,
  });
  const dir = `${RUNS_DIR}/replay-verify-ok`;
  const { code, stdout, stderr } = await runCli(
    replayArgs(sim.url, dir, ["--verify", "3", "--reset-cache"]),
  );
  strictEqual(code, 0, stderr + stdout.slice(-3000));
  ok(
    stdout.includes(
      "[INFO] --reset-cache: POST /reset_prefix_cache before the run\n",
    ),
    stdout,
  );
  ok(
    stdout.includes(
      "[INFO] --verify 3: checking 3 reused contexts against cold compute (salt, from engine kvbench-sim)\n",
    ),
    stdout,
  );
  ok(
    stdout.includes(
      "\nverify: 3 of 3 reused contexts gave outputs identical to cold compute (cold reference: cache_salt)\n",
    ),
    stdout.slice(-2000),
  );
  const pairs = await readPairs(dir);
  const picks = await expectedPicks(dir);
  deepStrictEqual(pairs.map((p) => p.context), picks);
  // The longest reuse: 655 tokens of a row replayed twice (rows 5 and 7, or
  // row 6's first 655), 640 of them in the simulator's 16-token blocks.
  const { records } = await readRecordsFile(`${dir}/records.jsonl`);
  const first = records.find((r) => r.tags!.trace_request === picks[0])!;
  strictEqual(first.cachedTokens, 640);
  // The line names them as the trace does, with their cached tokens.
  const trace = await loadTrace(TRACE);
  const named = picks.map((i) => {
    const r = records.find((r) => r.tags!.trace_request === i)!;
    return `${trace.requests[i].where} (${r.cachedTokens} cached tokens)`;
  });
  ok(
    stdout.includes(
      `[INFO] --verify 3: the longest reuses: ${
        named.join(", ")
      }; max_tokens: output_length, at most 128\n`,
    ),
    stdout,
  );
  for (const p of pairs) {
    strictEqual(p.outcome, "identical");
    ok(p.warm.cached_tokens > 0, JSON.stringify(p.warm));
    strictEqual(p.cold.cached_tokens, 0);
    strictEqual(p.control.cached_tokens, 0);
    // max_tokens: the row's output_length, at most 128 (ignore_eos).
    const length = Math.min(trace.requests[p.context].outputLength, 128);
    strictEqual(p.warm.tokens.length, length);
    deepStrictEqual(p.warm.tokens, p.cold.tokens);
    deepStrictEqual(p.warm_vs_cold, {
      unit: "token",
      compared: length,
      first_at: null,
      max_logprob_diff: 0,
    });
  }
  const verdict = JSON.parse(await Deno.readTextFile(`${dir}/verify.json`));
  deepStrictEqual(verdict, {
    verdict:
      "verify: 3 of 3 reused contexts gave outputs identical to cold compute (cold reference: cache_salt)",
    cold_method: "salt",
    cold_reference: "cache_salt",
    engine: "kvbench-sim",
    contexts: 3,
    checked: 3,
    identical: 3,
    beyond_control: 0,
    first_at: null,
    unit: null,
    exit_code: 0,
  });
  const run = JSON.parse(await Deno.readTextFile(`${dir}/run.json`));
  strictEqual(run.params.verify, 3);
  strictEqual(run.params.reset_cache, true);
});

Deno.test("replay --verify: kvbench sim --corrupt-offload-rate is caught (exit 1, the token right)", async () => {
  const sim = startCli([
    "sim",
    "--port",
    "0",
    ...SIM_FLAGS,
    "--corrupt-offload-rate",
    "1",
    "--corrupt-offload-at",
    "3",
  ]);
  try {
    const [, url] = await sim.waitFor(
      /at (http:\/\/127\.0\.0\.1:\d+\/v1\/) \(/,
    );
    const dir = `${RUNS_DIR}/replay-verify-corrupt`;
    const { code, stdout, stderr } = await runCli(
      replayArgs(url, dir, ["--verify", "3", "--cold-method", "flush"]),
    );
    strictEqual(code, 1, stderr + stdout.slice(-3000));
    ok(
      stdout.includes(
        "[INFO] --verify 3: checking 3 reused contexts against cold compute (flush)\n",
      ),
      stdout,
    );
    const pairs = await readPairs(dir);
    deepStrictEqual(pairs.map((p) => p.context), await expectedPicks(dir));
    // A reuse restored from the offload tier is corrupted from its 4th
    // token on; one still in GPU memory is not (which rows depends on the
    // timing). The cold references agree with each other.
    const beyond = pairs.filter((p) => p.outcome === "beyond_control");
    ok(beyond.length >= 1, JSON.stringify(pairs.map((p) => p.outcome)));
    for (const p of pairs) {
      ok(["identical", "beyond_control"].includes(p.outcome), p.outcome);
      strictEqual(p.cold_vs_control.first_at, null);
      strictEqual(p.cold.cached_tokens, 0);
      strictEqual(p.warm_vs_cold.first_at, beyond.includes(p) ? 4 : null);
    }
    // A row of 7,000 tokens, evicted to the offload tier by the rows after it.
    ok(beyond.some((p) => p.warm.cached_tokens > 7000));
    const text =
      `verify: ${beyond.length} of 3 reused contexts diverged from cold compute beyond the control, first at token 4 (cold reference: POST /reset_prefix_cache)`;
    ok(stdout.includes(`\n${text}\n`), stdout.slice(-2000));
    deepStrictEqual(JSON.parse(await Deno.readTextFile(`${dir}/verify.json`)), {
      verdict: text,
      cold_method: "flush",
      cold_reference: "POST /reset_prefix_cache",
      engine: "kvbench-sim",
      contexts: 3,
      checked: 3,
      identical: 3 - beyond.length,
      beyond_control: beyond.length,
      first_at: 4,
      unit: "token",
      exit_code: 1,
    });
  } finally {
    sim.kill("SIGTERM");
    await sim.done();
  }
});

Deno.test("replay --verify: a sweep with workers checks the last level's reuses, from its workers' records", async () => {
  await using sim = await startSimulator({
    timeScale: 0.001,
    gpuKvTokens: 8192,
    offloadTokens: 65536,
  });
  const dir = `${RUNS_DIR}/replay-verify-sweep`;
  const { code, stdout, stderr } = await runCli(
    replayArgs(sim.url, dir, ["--verify", "2", "--workers", "2"], "100,200"),
  );
  strictEqual(code, 0, stderr + stdout.slice(-3000));
  ok(stdout.includes("[INFO] --verify 2: the longest reuses of --speed 200: "));
  ok(
    stdout.includes(
      "\nverify: 2 of 2 reused contexts gave outputs identical to cold compute (cold reference: cache_salt)\n",
    ),
    stdout.slice(-2000),
  );
  // The run's directory holds the check; its picks are level 2's.
  const pairs = await readPairs(dir);
  const trace = await loadTrace(TRACE);
  const { records } = await readRecordsFile(`${dir}/level-2/records.jsonl`);
  deepStrictEqual(
    pairs.map((p) => p.context),
    reusedRequests(trace, records, { count: 2 }).map((p) => p.request.index),
  );
  for (const p of pairs) strictEqual(p.outcome, "identical");
});

Deno.test("replay --verify: a bad --cold-method is refused in one line; --help lists the options", async () => {
  const bad = await runCli([
    "replay",
    TRACE,
    "--endpoint",
    "http://127.0.0.1:9/v1/",
    "--cold-method",
    "salt",
  ]);
  strictEqual(bad.code, 2);
  ok(bad.stderr.includes("--cold-method needs --verify N"), bad.stderr);
  ok(!bad.stderr.includes("    at "), bad.stderr);
  const help = await runCli(["replay", "--help"]);
  strictEqual(help.code, 0);
  for (const flag of ["--verify N", "--cold-method M", "--reset-cache"]) {
    ok(help.stdout.includes(flag), flag);
  }
});
