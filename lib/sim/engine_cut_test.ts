/**
 * When the simulator counts a cut sequence's hits (what the verdict's
 * denominator relies on, `lib/server/cut_reuses.ts`): at admission, as vLLM
 * counts them at scheduling; a sequence cut while it waited for GPU KV counts
 * nothing, and one waiting behind a cut running one is admitted, and counted,
 * once the running one frees its KV.
 */
import { strictEqual } from "node:assert/strict";
import { Engine } from "./engine.ts";
import { VirtualClock } from "../testing/virtual_clock.ts";

/** 64 GPU KV tokens: one 48-token prompt (3 blocks) + output fits, not two. */
function engine(clock: VirtualClock): Engine {
  return new Engine({
    blockSize: 16,
    gpuKvTokens: 64,
    offloadTokens: 0,
    maxRunningSeqs: 8,
    timeScale: 1,
    clock,
    timing: {
      prefillTokensPerS: 1000,
      loadTokensPerS: 1e9,
      itlBaseMs: 1,
      itlPerSeqMs: 0,
    },
  });
}

const PROMPT = Array.from({ length: 48 }, (_, i) => i + 1);
const sink = { progress() {}, aborted() {} };

/** Warm the cache with PROMPT, then submit two reuses of it: one runs, one waits. */
async function twoReuses(clock: VirtualClock, e: Engine) {
  e.submit({ promptIds: PROMPT, outputIds: [7] }, sink);
  await clock.runAll();
  const running = e.submit({ promptIds: PROMPT, outputIds: [7, 8] }, sink);
  const waiting = e.submit({ promptIds: PROMPT, outputIds: [7, 8] }, sink);
  const s = e.stats();
  strictEqual(s.running, 1);
  strictEqual(s.waiting, 1);
  // Hits of the running reuse only: 2 whole blocks short of the last token.
  strictEqual(s.gpuHitTokens, 32);
  return { running, waiting };
}

Deno.test("Engine: a sequence cut while waiting for GPU KV never counts hits; the running one counted them at admission", async () => {
  const clock = new VirtualClock();
  const e = engine(clock);
  const { running, waiting } = await twoReuses(clock, e);
  waiting.cancel();
  running.cancel();
  await clock.runAll();
  const s = e.stats();
  strictEqual(s.cancelled, 2);
  strictEqual(s.promptTokens, 96); // the first request and the running reuse
  strictEqual(s.gpuHitTokens, 32);
  strictEqual(s.atFirstToken.promptTokens, 48); // the first request only
  e.close();
});

Deno.test("Engine: cutting the running sequence first admits the waiting one, whose hits then count", async () => {
  const clock = new VirtualClock();
  const e = engine(clock);
  const { running, waiting } = await twoReuses(clock, e);
  running.cancel();
  strictEqual(e.stats().gpuHitTokens, 64);
  waiting.cancel();
  await clock.runAll();
  const s = e.stats();
  strictEqual(s.cancelled, 2);
  strictEqual(s.promptTokens, 144);
  e.close();
});
