/**
 * The verdict's denominator at a run's end, end to end through cli.ts
 * against the simulator: of the reuses the run's stop cut before their first
 * token, only those the server had scheduled (and so counted the hits of)
 * join the reusable tokens; one still waiting for GPU KV was never counted.
 */
import assert from "node:assert/strict";
import { runCli, RUNS_DIR } from "./cli_process.ts";
import { startSimulator } from "../lib/sim/mod.ts";
import type { RequestRecord } from "../lib/types.ts";

Deno.test("verdict: of the reuses cut before their first token, only those the server scheduled (hits counted) join the reusable tokens; one refused with a 500 is left out", async () => {
  // GPU KV holds one 2 000-token context (125 blocks + output) but not two,
  // so with 2 in flight one context runs and the other waits. Every request
  // stalls 3 s (model = wall time) before its first token, so the stop at
  // 11 s falls in a stall, with a request scheduled and maybe one waiting.
  // The simulator's fault draws (seed 0, 30 % of 500s) refuse the third
  // request (a reuse) before it reaches the scheduler: never counted.
  await using sim = await startSimulator({
    timeScale: 1,
    gpuKvTokens: 3000,
    offloadGb: 0.45,
    seed: 0,
    faults: { stallMs: 3000, errorRate500: 0.3 },
  });
  const dir = `${RUNS_DIR}/cut-reuses-${crypto.randomUUID()}`;
  const { code, stdout, stderr } = await runCli([
    "benchmark",
    ...["--endpoint", sim.url, "--input-length", "2000", "--output-length"],
    ...["8", "--ignore-eos", "--offload-size", "0.45", "--max-inflight", "2"],
    ...["--duration", "11", "--interval", "20", "--seed", "1"],
    ...["--output-dir", dir],
  ]);
  assert.equal(code, 0, stdout + stderr);
  const records = (await Deno.readTextFile(`${dir}/records.jsonl`)).trim()
    .split("\n").map((l) => JSON.parse(l) as RequestRecord)
    .filter((r) => r.tags?.context !== undefined)
    .toSorted((a, b) => a.sentAt - b.sentAt);
  // 2 014-token prompts: 7 of salt, 2 000 of context, a question.
  assert.ok(records.every((r) => r.expectedPromptTokens === 2014));
  const ok = records.filter((r) => r.ok);
  const refused = records.filter((r) => r.status === 500);
  const cut = records.filter((r) => !r.ok && r.status !== 500);
  // The refused one is the third sent: a reuse.
  assert.deepEqual(refused.map((r) => records.indexOf(r)), [2]);
  assert.ok(cut.length === 1 || cut.length === 2, `${cut.length} cut`);
  assert.ok(cut.every((r) => r.firstTokenAt === undefined));
  assert.ok(ok.length >= 3, `${ok.length} completed`); // 2 first + reuses
  // The server's truth as the run saw it: its last scrape in metrics.jsonl
  // (taken after the stop; a waiting request the server schedules later,
  // while it handles the client's aborts, is in neither that scrape nor the
  // verdict). Every request it scheduled counted 2 014 prompt tokens: the
  // completed ones and the cut ones it had scheduled.
  assert.equal(sim.stats().faults.status500, 1);
  const scrapes = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim()
    .split("\n").map((l) => JSON.parse(l))
    .filter((line) => line.counters !== undefined);
  const last = scrapes[scrapes.length - 1].counters;
  const stats = {
    gpuHitTokens: last.deviceHitTokens as number,
    offloadHitTokens: last.offloadHitTokens as number,
  };
  const scheduledCut = last.promptTokens / 2014 - ok.length;
  assert.ok(scheduledCut >= 1 && scheduledCut <= cut.length, `${scheduledCut}`);
  const hits = stats.gpuHitTokens + stats.offloadHitTokens;
  const completed = 2014 * (ok.length - 2);
  const reusable = completed + 2014 * scheduledCut;
  const left = 1 + cut.length - scheduledCut;
  const num = (x: number) => x.toLocaleString("en-US");
  const verdict = /Verdict: [^\n]*/.exec(stdout)?.[0] ?? "";
  assert.ok(
    verdict.includes(
      ` of the ${num(reusable)} reusable prompt tokens (${
        num(completed)
      } of completed reuses, ${num(2014 * scheduledCut)} of ${scheduledCut} ${
        scheduledCut === 1 ? "reuse" : "reuses"
      } cut before ${
        scheduledCut === 1 ? "its" : "their"
      } first token, whose hits the server counted when it scheduled ${
        scheduledCut === 1 ? "it" : "them"
      } (${left} more, which the server never scheduled (cut while still waiting, or refused): left out)) (GPU prefix cache ${
        (stats.gpuHitTokens / reusable * 100).toFixed(1)
      }%, recomputed ${((reusable - hits) / reusable * 100).toFixed(1)}%)`,
    ),
    verdict,
  );
  assert.match(
    verdict,
    new RegExp(
      `^Verdict: the offload tier served ${
        (stats.offloadHitTokens / reusable * 100).toFixed(1)
      }% of the`,
    ),
  );
});
