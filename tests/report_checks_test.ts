/**
 * The report shows a benchmark's pre-flight (its verdict word, its lines,
 * and the refusal `--force` ran past) and `--verify`'s pairs (per context:
 * tokens compared, first divergence with the warm and the cold token, max
 * |Δ logprob|, pass or fail): cli.ts in a subprocess against the simulator
 * on 127.0.0.1, then report.html read back.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { runCli, RUNS_DIR } from "./cli_process.ts";
import { startSimulator } from "../lib/sim/server.ts";
import type { SimOptions } from "../lib/sim/config.ts";
import { SIM_WORDS } from "../lib/sim/words.ts";
import { runData } from "../lib/report/data.ts";
import { renderReport } from "../lib/report/html.ts";
import { syntheticRun } from "./_support/synthetic.ts";

// 16,384 offload tokens × 98,304 bytes = 1.5 GiB exactly; 4,096 GPU tokens.
const SIM: SimOptions = {
  timeScale: 0.001,
  seed: 1,
  gpuKvTokens: 4096,
  offloadTokens: 16384,
};

function benchmarkArgs(url: string, dir: string, extra: string[]): string[] {
  return [
    "benchmark",
    ...["--endpoint", url, "--bytes-per-token", "98304"],
    ...["--input-length", "1000", "--output-length", "8"],
    ...["--max-inflight", "2", "--num-prompts", "28", "--seed", "3"],
    ...["--interval", "60", "--output-dir", dir],
    // tmesh-cli's texts: the simulator's greedy answers (and so which pairs
    // reach the corrupted token) depend on the prompt, so a random context
    // salt would vary the count of diverging pairs.
    ...["--context-salt", "none"],
    ...extra,
  ];
}

const esc = (s: string): string =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&#39;");

Deno.test("report: the pre-flight and --verify's pairs of a run whose offload restores are corrupt", async () => {
  await using sim = await startSimulator({
    ...SIM,
    faults: { corruptOffloadRate: 1, corruptOffloadAt: 3 },
  });
  const dir = `${RUNS_DIR}/report-verify`;
  const { code, stdout, stderr } = await runCli(
    benchmarkArgs(sim.url, dir, ["--offload-size", "1.5", "--verify", "3"]),
  );
  strictEqual(code, 1, stderr + stdout.slice(-2000)); // the check failed
  const html = await Deno.readTextFile(`${dir}/report.html`);
  // The pre-flight, as run.json records it and stderr printed it.
  const info = JSON.parse(await Deno.readTextFile(`${dir}/run.json`));
  const pre = info.params.preflight;
  strictEqual(pre.verdict, "needs_offload");
  strictEqual(pre.refusal, null);
  ok(pre.lines.length > 0);
  ok(
    html.includes(
      '<div class="preflight" id="preflight-0">\n<p><strong>Pre-flight: the working set needs the offload tier</strong> — the working set exceeds GPU KV and fits the offload tier',
    ),
    html.slice(0, 3000),
  );
  for (const line of pre.lines) {
    ok(stderr.includes(line), line);
    ok(html.includes(`<li>${esc(line)}</li>`), line);
  }
  ok(!html.includes("Run past a refusal"));
  ok(!html.includes("--force was given"));
  // The verify section: the result line, then one row per context.
  ok(
    html.includes(
      '<p class="verdict"><strong>Verify.</strong> verify: 3 of 3 reused contexts diverged from cold compute beyond the control, first at token 4 (cold reference: cache_salt)</p>',
    ),
  );
  const pairs = (await Deno.readTextFile(`${dir}/verify.jsonl`)).trim()
    .split("\n").map((l) => JSON.parse(l));
  deepStrictEqual(pairs.map((p) => p.context), [0, 1, 2]);
  const rows = [...html.matchAll(/<tr><td class="run">(\d+)<\/td>(.*?)<\/tr>/g)]
    .filter((m) => m[2].includes("beyond_control"));
  strictEqual(rows.length, 3);
  for (const [i, pair] of pairs.entries()) {
    // The simulator's corruption from token 4 (index 3): word w becomes
    // (w + 1 + 3 % (words − 1)) mod words; the three tokens before agree,
    // so their logprobs differ by 0.
    const cold: string = pair.cold.tokens[3];
    const n = SIM_WORDS.length;
    const warm = SIM_WORDS[(SIM_WORDS.indexOf(cold) + 1 + 3) % n];
    strictEqual(pair.warm.tokens[3], warm);
    strictEqual(rows[i][1], String(pair.context));
    // Compared: the longer answer's tokens (greedy answers may stop early).
    const compared = Math.max(pair.warm.tokens.length, pair.cold.tokens.length);
    ok(compared >= 4 && compared <= 8);
    strictEqual(
      rows[i][2],
      `<td>${compared} tokens</td><td>token 4: ${
        esc(JSON.stringify(warm))
      } warm, ${
        esc(JSON.stringify(cold))
      } cold</td><td>0.000</td><td class="fail">fail (beyond_control)</td>`,
    );
  }
});

Deno.test("report: a run --force ran past the pre-flight's refusal says so, with the fix; no verify section without its files", async () => {
  await using sim = await startSimulator(SIM);
  const dir = `${RUNS_DIR}/report-forced`;
  const { code, stdout, stderr } = await runCli(
    benchmarkArgs(sim.url, dir, [
      ...["--offload-size", "3", "--num-prompts", "6", "--force"],
    ]),
  );
  strictEqual(code, 0, stderr + stdout.slice(-2000));
  const refusal =
    "the working set exceeds the server's offload tier (1.50 GiB): every reuse would be recomputed and the run would measure no offload hit; size the run for the server's tier with --offload-size 1.50 (or pass --force to run anyway)";
  ok(stderr.includes(`[WARN] --force: ${refusal}\n`), stderr);
  const info = JSON.parse(await Deno.readTextFile(`${dir}/run.json`));
  strictEqual(info.params.force, true);
  strictEqual(info.params.preflight.verdict, "exceeds_offload");
  // Recorded (and shown) without the "--force" hint: the run was forced.
  const recorded = refusal.replace(" (or pass --force to run anyway)", "");
  strictEqual(info.params.preflight.refusal, recorded);
  const html = await Deno.readTextFile(`${dir}/report.html`);
  ok(
    html.includes(
      '<div class="preflight warn" id="preflight-0">\n<p><strong>Pre-flight: the working set exceeds the offload tier</strong>',
    ),
  );
  ok(
    html.includes(
      `<p class="forced"><strong>Run past a refusal with --force:</strong> ${
        esc(recorded)
      }</p>`,
    ),
  );
  ok(!html.includes('id="verify"'));
});

Deno.test("report: a run without a pre-flight (older, or --no-metrics) shows none", () => {
  const run = syntheticRun({ requests: 10 });
  const render = (params: Record<string, unknown>) =>
    renderReport([runData({
      source: "/runs/old",
      records: { records: run.records, reports: [], run: run.end },
      info: { ...run.info, params },
      summary: run.summary,
    }, { name: "old" })]);
  ok(!render({ seed: 1 }).includes('class="preflight'));
  ok(!render({ preflight: null, force: false }).includes('class="preflight'));
  // Forced, by a run that did not record the refusal: said, not guessed.
  ok(
    render({ preflight: { verdict: "needs_offload", lines: [] }, force: true })
      .includes(
        "--force was given (the run did not record whether the pre-flight refused).",
      ),
  );
});

Deno.test("report: a sweep's --verify (run after its last level) shows with the last level", async () => {
  await using sim = await startSimulator(SIM);
  const dir = `${RUNS_DIR}/report-sweep-verify`;
  const args = benchmarkArgs(sim.url, dir, [
    ...["--offload-size", "1.5", "--verify", "2"],
  ]);
  args[args.indexOf("--max-inflight") + 1] = "1,2";
  args[args.indexOf("--num-prompts") + 1] = "14";
  const { code, stdout, stderr } = await runCli(args);
  strictEqual(code, 0, stderr + stdout.slice(-2000));
  const html = await Deno.readTextFile(`${dir}/report.html`);
  const verdict =
    "verify: 2 of 2 reused contexts gave outputs identical to cold compute (cold reference: cache_salt)";
  ok(stdout.includes(`\n${verdict}\n`), stdout.slice(-1500));
  // One section, under the last level's name; both pairs passed.
  strictEqual(html.split('<section class="block" id="verify">').length, 2);
  ok(
    html.includes(`<p class="verdict"><strong>Verify.</strong> ${verdict}</p>`),
  );
  strictEqual(
    html.match(/<td class="pass">pass \(identical\)<\/td>/g)?.length,
    2,
  );
  ok(html.includes("<td>none</td>"));
});
