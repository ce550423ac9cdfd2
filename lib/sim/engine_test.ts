import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { Engine, type EngineConfig } from "./engine.ts";
import { VirtualClock } from "../testing/virtual_clock.ts";

const config = {
  blockSize: 16,
  gpuKvTokens: 4096,
  offloadTokens: 0,
  maxRunningSeqs: 8,
  timeScale: 1,
  timing: {
    prefillTokensPerS: 1e9,
    loadTokensPerS: 1e9,
    itlBaseMs: 1,
    itlPerSeqMs: 0,
  },
};

Deno.test("Engine never calls a sink from inside submit() or cancel()", async () => {
  const clock = new VirtualClock();
  const engine = new Engine({ ...config, clock });
  let inside = false;
  const calls: string[] = [];
  const sink = (name: string) => ({
    progress(_emitted: number, done: boolean) {
      ok(!inside, `${name} was called from inside submit() or cancel()`);
      calls.push(`${name}${done ? " done" : ""}`);
    },
    aborted() {
      ok(!inside);
      calls.push(`${name} aborted`);
    },
  });
  inside = true;
  engine.submit({ promptIds: [1, 2, 3], outputIds: [7] }, sink("a"));
  inside = false;
  // Let a's only token fall due without a timer firing, then make the engine
  // catch up inside submit() and cancel(), as a server does under load.
  clock.skip(5);
  inside = true;
  const b = engine.submit(
    { promptIds: [4, 5, 6], outputIds: [8, 9, 10] },
    sink("b"),
  );
  b.cancel();
  inside = false;
  await clock.runAll();
  strictEqual(calls[0], "a done");
  ok(
    !calls.some((c) => c.startsWith("b")),
    "a cancelled sequence is not reported",
  );
  engine.close();
});

Deno.test("Engine: a cancelled sequence's sink hears nothing more, even if its last token was already due", async () => {
  const clock = new VirtualClock();
  const engine = new Engine({ ...config, clock });
  const calls: string[] = [];
  const handle = engine.submit({ promptIds: [1, 2, 3], outputIds: [7] }, {
    progress: (_emitted, done) => calls.push(done ? "done" : "token"),
    aborted: () => calls.push("aborted"),
  });
  clock.skip(5); // the token falls due, no timer has fired
  handle.cancel();
  await clock.runAll();
  strictEqual(calls.length, 0, calls.join());
  engine.close();
  strictEqual(
    calls.length,
    0,
    "close() does not report a cancelled sequence either",
  );
});

const ids = (from: number, n: number): number[] =>
  Array.from({ length: n }, (_, i) => from + i);

/** Submit a sequence and resolve with the times (since submission) of its tokens. */
async function emissionTimes(
  engine: Engine,
  clock: VirtualClock,
  promptIds: number[],
  outputTokens: number,
): Promise<{ times: number[]; gpuHit: number; offloadHit: number }> {
  const start = clock.now();
  const times: number[] = [];
  const handle = engine.submit(
    { promptIds, outputIds: ids(90_000 + start, outputTokens) },
    {
      progress: (emitted) => {
        while (times.length < emitted) times.push(clock.now() - start);
      },
      aborted: () => {},
    },
  );
  await clock.runAll();
  return {
    times,
    gpuHit: handle.gpuHitTokens,
    offloadHit: handle.offloadHitTokens,
  };
}

/** `first`, then every `gap` ms, `n` values, each rounded to 1e-9 ms. */
function schedule(first: number, gap: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => round(first + i * gap));
}
const round = (x: number): number => Math.round(x * 1e9) / 1e9;

Deno.test("Engine timing model (virtual clock): cold, GPU-hit and offload-hit TTFT; one sequence decoding", async () => {
  const clock = new VirtualClock();
  const engine = new Engine({
    blockSize: 16,
    gpuKvTokens: 2_400,
    offloadTokens: 10_000,
    maxRunningSeqs: 256,
    timeScale: 1,
    clock,
    timing: {
      prefillTokensPerS: 10_000,
      loadTokensPerS: 100_000,
      itlBaseMs: 15,
      itlPerSeqMs: 5,
    },
  });
  const a = ids(0, 2_000), b = ids(10_000, 2_000);
  // Cold: 2000 / 10 000 tok/s = 200 ms; one sequence decoding: 15 + 5 × 1 = 20 ms.
  const cold = await emissionTimes(engine, clock, a, 11);
  deepStrictEqual(cold.times.map(round), schedule(200, 20, 11));
  deepStrictEqual([cold.gpuHit, cold.offloadHit], [0, 0]);
  // GPU hit: floor(1999 / 16) = 124 blocks = 1984 tokens; 16 computed: 1.6 ms.
  const warm = await emissionTimes(engine, clock, a, 11);
  deepStrictEqual(warm.times.map(round), schedule(1.6, 20, 11));
  deepStrictEqual([warm.gpuHit, warm.offloadHit], [1_984, 0]);
  // b needs 126 of the 150 GPU blocks: a's 101 least recently used blocks
  // (its tail) move to the offload tier.
  await emissionTimes(engine, clock, b, 11);
  // a again: 24 blocks (384 tokens) from GPU, 100 blocks (1600 tokens) loaded
  // at 100 000 tok/s = 16 ms, + 16 computed = 1.6 ms: 17.6 ms.
  const loaded = await emissionTimes(engine, clock, a, 11);
  deepStrictEqual(loaded.times.map(round), schedule(17.6, 20, 11));
  deepStrictEqual([loaded.gpuHit, loaded.offloadHit], [384, 1_600]);
  const stats = engine.stats();
  strictEqual(stats.promptTokens, 8_000);
  strictEqual(stats.gpuHitTokens, 1_984 + 384);
  strictEqual(stats.offloadHitTokens, 1_600);
  engine.close();
});

Deno.test("Engine timing model (virtual clock): decode slows with the batch; admission waits for the running cap", async () => {
  const clock = new VirtualClock();
  const engine = new Engine({
    blockSize: 16,
    gpuKvTokens: 4_096,
    offloadTokens: 0,
    maxRunningSeqs: 2,
    timeScale: 1,
    clock,
    timing: {
      prefillTokensPerS: 1_000_000,
      loadTokensPerS: 1e9,
      itlBaseMs: 10,
      itlPerSeqMs: 10,
    },
  });
  const times = [0, 1, 2].map((i) => {
    const t: number[] = [];
    engine.submit({ promptIds: ids(i * 1000, 32), outputIds: ids(50_000, 6) }, {
      progress: (emitted) => {
        while (t.length < emitted) t.push(clock.now());
      },
      aborted: () => {},
    });
    return t;
  });
  await clock.runAll();
  // Prefills of 32 tokens at 10⁶ tok/s take 0.032 ms each, one at a time.
  // Seq 0 decodes alone for its first gap (10 + 10 × 1 = 20 ms), then beside
  // seq 1 (10 + 10 × 2 = 30 ms); seq 2 waits for the cap of 2 until seq 0's
  // last token (140.032), prefills (140.064), decodes beside seq 1 until
  // 150.064 (30 ms), then alone (20 ms).
  deepStrictEqual(times[0].map(round), [
    0.032,
    20.032,
    50.032,
    80.032,
    110.032,
    140.032,
  ]);
  deepStrictEqual(times[1].map(round), schedule(0.064, 30, 6));
  deepStrictEqual(times[2].map(round), [
    140.064,
    170.064,
    190.064,
    210.064,
    230.064,
    250.064,
  ]);
  engine.close();
});

Deno.test("Engine: timeScale maps model time to wall time", async () => {
  const clock = new VirtualClock();
  const fast: EngineConfig = { ...config, timeScale: 0.01, clock };
  const engine = new Engine({
    ...fast,
    timing: { ...config.timing, prefillTokensPerS: 1_000, itlBaseMs: 50 },
  });
  // 100 tokens at 1000 tok/s = 100 ms of model time = 1 ms of wall time; then 50 ms → 0.5 ms.
  const { times } = await emissionTimes(engine, clock, ids(0, 100), 3);
  deepStrictEqual(times.map(round), [1, 1.5, 2]);
  engine.close();
});
