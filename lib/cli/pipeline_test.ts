/**
 * The run pipeline with a toy workload, as a third workload would plug in:
 * its levels one after another in their own directories, the sweep table
 * and `sweep.json`, exit codes, a stop between levels.
 */
import assert from "node:assert/strict";
import { type LevelContext, runPipeline, type RunVoice } from "./pipeline.ts";
import { openLevel } from "./level_io.ts";
import { fixed } from "./sweep.ts";

const VOICE: RunVoice = {
  workersStarted: () => "",
  shardClock: () => "",
  startWait: () => "",
  startLate: () => "",
};

interface ToyLevel {
  label: string;
  rate: number;
}

/** A workload whose level writes its run.json, summary and records through the pipeline's files. */
function toy(codes: number[], onLevel?: (c: LevelContext<ToyLevel>) => void) {
  return {
    name: "toy",
    voice: VOICE,
    sweepColumns: [{
      header: "rate",
      cell: (s: Record<string, unknown>) => fixed(s.rate, 1),
    }],
    async runLevel(c: LevelContext<ToyLevel>) {
      onLevel?.(c);
      const io = await openLevel(c, {
        baseUrl: "http://127.0.0.1:9/v1/",
        scale: { workers: 1 },
        voice: VOICE,
        records: undefined,
        signal: new AbortController().signal,
      });
      await io.writeRunInfo({
        command: "toy",
        argv: [],
        params: { rate: c.level.rate },
      });
      io.end({
        startedAt: io.startedAt,
        elapsedMs: 0,
        stopReason: "exhausted",
      });
      io.close();
      const summary = { rate: c.level.rate * 2 };
      await io.writeSummary(summary);
      return { summary, code: codes[c.index] ?? 0 };
    },
    workers: () => ({ args: () => [] }),
  };
}

Deno.test("runPipeline: a sweep's levels in level-N directories, sweep.json, the last non-zero exit code", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const seen: (string | undefined)[] = [];
    const result = await runPipeline<ToyLevel>({
      workload: toy([0, 3, 0], (c) => seen.push(c.dir)),
      levels: [
        { label: "rate=1", rate: 1 },
        { label: "rate=2", rate: 2 },
        { label: "rate=4", rate: 4 },
      ],
      scale: { workers: 1 },
      outputs: { artifacts: true, outputDir: `${dir}/run` },
      signal: new AbortController().signal,
    });
    assert.equal(result.code, 3);
    assert.equal(result.dir, `${dir}/run`);
    assert.deepEqual(seen, [1, 2, 3].map((n) => `${dir}/run/level-${n}`));
    const sweep = JSON.parse(await Deno.readTextFile(`${dir}/run/sweep.json`));
    assert.deepEqual(
      sweep.map((r: { summary: { rate: number } }) => r.summary.rate),
      [2, 4, 8],
    );
    const run = JSON.parse(
      await Deno.readTextFile(`${dir}/run/level-2/run.json`),
    );
    assert.deepEqual(run.part.level, { index: 2, of: 3 });
    assert.deepEqual(run.params, { rate: 2 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runPipeline: levelDone adds its code; a stop ends the sweep before the next level", async () => {
  const controller = new AbortController();
  const result = await runPipeline<ToyLevel>({
    workload: {
      ...toy([], (c) => {
        if (c.index === 1) controller.abort();
      }),
      levelDone: (outcome) => (outcome.summary.rate as number) > 3 ? 1 : 0,
    },
    levels: [1, 2, 3].map((rate) => ({ label: `r${rate}`, rate })),
    scale: { workers: 1 },
    outputs: { artifacts: false },
    signal: controller.signal,
  });
  assert.equal(result.dir, undefined);
  assert.deepEqual(result.rows.map((r) => r.level.rate), [1, 2]);
  assert.equal(result.code, 1);
});
