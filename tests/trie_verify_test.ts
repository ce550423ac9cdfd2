/**
 * `kvbench trie verify=N / cold_method= / reset_cache=` end to end: cli.ts
 * in a subprocess runs the small trie traces against `kvbench sim` on
 * 127.0.0.1, then re-sends the longest reuses warm and cold.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { runCli, RUNS_DIR, startCli } from "./cli_process.ts";
import { readRecordsFile } from "../lib/run/records_file.ts";

const TRACES =
  new URL("./testdata/traces_small.jsonl", import.meta.url).pathname;

interface Pair {
  context: string;
  outcome: string;
  warm: { cached_tokens: number; tokens: string[] };
  cold: { cached_tokens: number; tokens: string[] };
  warm_vs_cold: { first_at: number | null };
  cold_vs_control: { first_at: number | null };
}

async function readPairs(dir: string): Promise<Pair[]> {
  const text = await Deno.readTextFile(`${dir}/verify.jsonl`);
  return text.trim().split("\n").map((l) => JSON.parse(l));
}

/** `kvbench sim` (512 GPU KV tokens: the traces' turns leave each other's KV in the offload tier). */
function startSim(extra: string[] = []) {
  return startCli([
    "sim",
    "--port",
    "0",
    "--time-scale",
    "0.001",
    "--gpu-kv-tokens",
    "512",
    "--offload-tokens",
    "8192",
    ...extra,
  ]);
}

function trieArgs(url: string, dir: string, extra: string[]): string[] {
  return [
    "trie",
    `workload_path=${TRACES}`,
    `endpoint=${url}`,
    "tokenizer_model=bundled",
    "concurrency=2",
    "max_traces=6",
    "duration=120",
    "metrics=False",
    `output_dir=${dir}`,
    // Every answer exactly its max_tokens, the check's too (a greedy answer
    // of 3 tokens would end before a corruption at the 4th).
    'extra_body={"ignore_eos": true}',
    ...extra,
  ];
}

/**
 * The two traces with the most cached tokens in one request, each with that
 * request (ties: the first to complete, as the records file lists them).
 */
async function longestReuses(dir: string): Promise<string[]> {
  const { records } = await readRecordsFile(`${dir}/records.jsonl`);
  const best = new Map<number, { cached: number; at: number; name: string }>();
  for (const [at, r] of records.entries()) {
    const cached = r.cachedTokens ?? 0;
    if (!r.ok || cached <= 0) continue;
    if ((best.get(r.session)?.cached ?? 0) >= cached) continue;
    best.set(r.session, {
      cached,
      at,
      name: `trace ${r.session} turn ${r.turn}`,
    });
  }
  return [...best.values()]
    .sort((a, b) => b.cached - a.cached || a.at - b.at)
    .slice(0, 2)
    .map((b) => b.name);
}

Deno.test("trie verify=2: the longest reuses identical to cold compute pass (exit 0); reset_cache=True", async () => {
  const sim = startSim();
  try {
    const [, url] = await sim.waitFor(
      /at (http:\/\/127\.0\.0\.1:\d+\/v1\/) \(/,
    );
    const dir = `${RUNS_DIR}/trie-verify-ok`;
    const { code, stdout, stderr } = await runCli(
      trieArgs(url, dir, ["verify=2", "reset_cache=True"]),
    );
    strictEqual(code, 0, stderr + stdout.slice(-3000));
    ok(
      stdout.includes(
        "[INFO] reset_cache: POST /reset_prefix_cache before the run\n",
      ),
      stdout,
    );
    ok(
      stdout.includes(
        "[INFO] verify=2: checking 2 reused contexts against cold compute (salt, from engine kvbench-sim)\n",
      ),
      stdout,
    );
    ok(
      stdout.includes(
        "\nverify: 2 of 2 reused contexts gave outputs identical to cold compute (cold reference: cache_salt)\n",
      ),
      stdout.slice(-2000),
    );
    const pairs = await readPairs(dir);
    deepStrictEqual(pairs.map((p) => p.context), await longestReuses(dir));
    for (const p of pairs) {
      strictEqual(p.outcome, "identical");
      ok(p.warm.cached_tokens > 0);
      strictEqual(p.cold.cached_tokens, 0);
      deepStrictEqual(p.warm.tokens, p.cold.tokens);
    }
    const run = JSON.parse(await Deno.readTextFile(`${dir}/run.json`));
    strictEqual(run.params.verify, 2);
    strictEqual(run.params.reset_cache, true);
  } finally {
    sim.kill("SIGTERM");
    await sim.done();
  }
});

Deno.test("trie verify=2: kvbench sim --corrupt-offload-rate is caught (exit 1, the token right)", async () => {
  const sim = startSim([
    "--corrupt-offload-rate",
    "1",
    "--corrupt-offload-at",
    "3",
  ]);
  try {
    const [, url] = await sim.waitFor(
      /at (http:\/\/127\.0\.0\.1:\d+\/v1\/) \(/,
    );
    const dir = `${RUNS_DIR}/trie-verify-corrupt`;
    const { code, stdout, stderr } = await runCli(
      trieArgs(url, dir, ["verify=2"]),
    );
    strictEqual(code, 1, stderr + stdout.slice(-3000));
    const pairs = await readPairs(dir);
    deepStrictEqual(pairs.map((p) => p.context), await longestReuses(dir));
    // A reuse restored from the offload tier is corrupted from its 4th
    // token on; one still in GPU memory is not (which depends on timing).
    const beyond = pairs.filter((p) => p.outcome === "beyond_control");
    ok(beyond.length >= 1, JSON.stringify(pairs.map((p) => p.outcome)));
    for (const p of pairs) {
      ok(["identical", "beyond_control"].includes(p.outcome), p.outcome);
      strictEqual(p.cold_vs_control.first_at, null);
      strictEqual(p.warm_vs_cold.first_at, beyond.includes(p) ? 4 : null);
    }
    ok(
      stdout.includes(
        `\nverify: ${beyond.length} of 2 reused contexts diverged from cold compute beyond the control, first at token 4 (cold reference: cache_salt)\n`,
      ),
      stdout.slice(-2000),
    );
  } finally {
    sim.kill("SIGTERM");
    await sim.done();
  }
});

Deno.test("trie verify=: cold_method without verify, and verify with workers, are usage errors in one line", async () => {
  const base = [
    "trie",
    `workload_path=${TRACES}`,
    "endpoint=http://127.0.0.1:9/v1",
    "concurrency=2",
  ];
  const alone = await runCli([...base, "cold_method=salt"]);
  strictEqual(alone.code, 2);
  ok(alone.stderr.includes("cold_method needs verify=N"), alone.stderr);
  const bad = await runCli([...base, "verify=2", "cold_method=cold"]);
  strictEqual(bad.code, 2);
  ok(
    bad.stderr.includes("cold_method=cold: expected salt, flush or nocache"),
    bad.stderr,
  );
  const workers = await runCli([...base, "verify=2", "workers=2"]);
  strictEqual(workers.code, 2);
  ok(
    workers.stderr.includes(
      "verify= does not reach workers= yet: run without workers",
    ),
    workers.stderr,
  );
  const auto = await runCli([...base, "verify=2", "workers=auto"]);
  strictEqual(auto.code, 2);
  ok(auto.stderr.includes("verify= does not reach workers="), auto.stderr);
  for (const r of [alone, bad, workers, auto]) {
    ok(!r.stderr.includes("    at "), r.stderr);
  }
});
