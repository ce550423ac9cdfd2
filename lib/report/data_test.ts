/**
 * The numbers a report embeds are the records' own: the JSON parsed out of
 * the HTML is compared with figures recomputed from the records through
 * requestFigures, interTokenLatencies and LatencyDistributions (not with a
 * snapshot of the file).
 */
import assert from "node:assert/strict";
import { LatencyDistributions } from "../metrics/distributions.ts";
import {
  interTokenLatencies,
  outputReads,
  requestFigures,
} from "../metrics/figures.ts";
import { promptSplit } from "../server/attribution.ts";
import type { RequestRecord } from "../types.ts";
import { loadRun, runData } from "./data.ts";
import { renderReport } from "./html.ts";
import { syntheticRun, writeRunDir } from "../../tests/_support/synthetic.ts";

/** The JSON a report embeds. */
// deno-lint-ignore no-explicit-any
function embedded(html: string): any {
  const m =
    /<script type="application\/json" id="kvbench-data">([^]*?)<\/script>/
      .exec(html);
  assert.ok(m, "no embedded data");
  return JSON.parse(m[1]);
}

/** `actual` equals `expected` within what rounding to `digits` decimals changes. */
function near(
  actual: number | null,
  expected: number | undefined,
  digits: number,
  what: string,
): void {
  if (expected === undefined) {
    assert.equal(actual, null, what);
    return;
  }
  assert.ok(actual !== null, `${what}: null, expected ${expected}`);
  assert.ok(
    Math.abs(actual - expected) <= 0.5 * 10 ** -digits + 1e-9,
    `${what}: ${actual}, expected ${expected}`,
  );
}

async function withRun<T>(
  run: ReturnType<typeof syntheticRun>,
  f: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "kvbench-report-" });
  try {
    await writeRunDir(dir, run);
    return await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The embedded run's timelines against the synthetic run's records and
 * scrapes: output tokens and request-seconds binned, the client's hit rate,
 * the server's split per scrape interval.
 */
function assertTimelines(
  // deno-lint-ignore no-explicit-any
  run: any,
  synthetic: ReturnType<typeof syntheticRun>,
): void {
  const records = synthetic.records;
  const ok = records.filter((r) => r.ok && !r.warmup);
  // Throughput: every output token lands in a bin.
  const tokens = ok.reduce((s, r) => s + requestFigures(r).outputTokens!, 0);
  const binned =
    run.timeline.outputTokS.reduce((s: number, x: number) => s + x, 0) *
    run.binS;
  assert.ok(
    Math.abs(binned - tokens) < run.timeline.t.length * 0.1,
    `${binned} vs ${tokens}`,
  );
  // In flight: the request-seconds of every record.
  const busy = records.reduce((s, r) => s + (r.endAt - r.sentAt) / 1000, 0);
  const inFlight =
    run.timeline.inFlight.reduce((s: number, x: number) => s + x, 0) * run.binS;
  assert.ok(
    Math.abs(inFlight - busy) < run.timeline.t.length * 0.01,
    `${inFlight} vs ${busy}`,
  );
  // Client hits: Σ cached / Σ prompt over the whole run.
  const prompt = ok.reduce((s, r) => s + r.promptTokens!, 0);
  const cached = ok.reduce((s, r) => s + r.cachedTokens!, 0);
  assert.equal(run.cache.hitRate, cached / prompt);

  // The server's split per scrape interval, from the counter deltas.
  const scrapes = synthetic.metrics.scrapes as unknown as {
    counters: Record<string, number>;
  }[];
  assert.equal(run.serverCache.t.length, scrapes.length - 1);
  for (let i = 1; i < scrapes.length; i++) {
    const a = scrapes[i - 1].counters, b = scrapes[i].counters;
    const split = promptSplit({
      promptTokens: b.promptTokens - a.promptTokens,
      computedTokens: b.computedTokens - a.computedTokens,
      deviceHitTokens: b.deviceHitTokens - a.deviceHitTokens,
      offloadHitTokens: b.offloadHitTokens - a.offloadHitTokens,
    })!;
    if (split.prompt === 0) {
      assert.equal(run.serverCache.offload[i - 1], null);
      continue;
    }
    near(
      run.serverCache.offload[i - 1],
      split.offload! / split.prompt,
      4,
      `offload ${i}`,
    );
    near(
      run.serverCache.computed[i - 1],
      split.computed / split.prompt,
      4,
      `computed ${i}`,
    );
  }
}

Deno.test("report data: per-request points, CDFs and the table equal the records' figures", async () => {
  const synthetic = syntheticRun({
    requests: 400,
    groups: 6,
    inFlight: 3,
    warmup: 4,
    failEvery: 37,
  });
  // One request aborted by the stop: left out like the distributions leave it out.
  const aborted: RequestRecord = {
    ...synthetic.records.at(-1)!,
    ok: false,
    error: { kind: "aborted", message: "stopped" },
    session: 9999,
  };
  synthetic.records.push(aborted);
  await withRun(synthetic, async (dir) => {
    const html = renderReport([await loadRun(dir)]);
    const data = embedded(html);
    assert.equal(data.runs.length, 1);
    const run = data.runs[0];
    const records = synthetic.records;
    const start = synthetic.info.runStartedAt as number;

    // Per-request points: every counted record, by send time.
    const counted = records.filter((r) =>
      !r.warmup && r.error?.kind !== "aborted"
    )
      .sort((a, b) => a.sentAt - b.sentAt);
    assert.equal(run.requests.t.length, counted.length);
    counted.forEach((r, i) => {
      const f = requestFigures(r);
      near(run.requests.t[i], (r.sentAt - start) / 1000, 3, `t[${i}]`);
      near(
        run.requests.ttftMs[i],
        f.ok ? f.ttftMs : undefined,
        2,
        `ttft[${i}]`,
      );
      near(run.requests.lagMs[i], f.lagMs, 2, `lag[${i}]`);
      assert.equal(run.requests.group[i], r.tags!.context);
    });

    // The percentile table: LatencyDistributions over the same records, exactly.
    const d = new LatencyDistributions();
    for (const r of records) d.add(r);
    const expected = d.summary({
      percentiles: [50, 90, 95, 99],
      elapsedMs: synthetic.end.elapsedMs,
    });
    assert.deepEqual(run.distributions, JSON.parse(JSON.stringify(expected)));
    assert.ok(run.distributions.failed > 0);
    assert.equal(run.distributions.warmup, 4);

    // The table as shown: TTFT's p99 printed with 2 decimals.
    assert.ok(
      html.includes(
        expected.ttftMs!.percentiles["99"].toLocaleString("en-US", {
          minimumFractionDigits: 2,
          maximumFractionDigits: 2,
        }),
      ),
    );

    // CDFs: the samples' quantiles; here every sample (fewer than 1 000).
    const ok = records.filter((r) => r.ok && !r.warmup);
    const sorted = (xs: number[]) => xs.sort((a, b) => a - b);
    const ttfts = sorted(ok.map((r) => requestFigures(r).ttftMs!));
    assert.equal(run.cdf.ttftMs.count, ttfts.length);
    // Each distinct value (to 0.01 ms) at the rank of its last sample.
    const expectedCdf = new Map<number, number>();
    ttfts.forEach((v, i) =>
      expectedCdf.set(Math.round(v * 100) / 100, i / (ttfts.length - 1))
    );
    assert.deepEqual(run.cdf.ttftMs.x, [...expectedCdf.keys()]);
    run.cdf.ttftMs.p.forEach((p: number, i: number) =>
      near(p, [...expectedCdf.values()][i], 4, `cdf ttft p ${i}`)
    );
    assert.equal(run.cdf.ttftMs.p[0], 0);
    assert.equal(run.cdf.ttftMs.p.at(-1), 1);
    const itls = ok.flatMap((r) => interTokenLatencies(r));
    assert.equal(run.cdf.itlMs.count, itls.length);
    assert.equal(run.cdf.itlMs.count, expected.itlMs!.count);
    assert.equal(run.cdf.e2eMs.count, expected.e2eMs!.count);
    assert.equal(run.cdf.tpotMs.count, expected.tpotMs!.count);
    near(run.cdf.e2eMs.x.at(-1), expected.e2eMs!.max, 2, "max E2E");

    // ITL points: one per read after the first, at the read's time.
    const reads = ok.flatMap((r) => outputReads(r).slice(1));
    assert.equal(run.itl.reads, reads.length);
    assert.equal(run.itl.t.length, reads.length);
    assert.equal(run.itl.decimated, false);

    assertTimelines(run, synthetic);
    // Verdict and split from summary.json.
    assert.deepEqual(
      run.split,
      (synthetic.summary.server as Record<string, unknown>).split,
    );
    assert.ok(html.includes("the offload tier served"));
  });
});

Deno.test("report data: a trie run has per-turn means", async () => {
  const synthetic = syntheticRun({ command: "trie", requests: 100, groups: 5 });
  await withRun(synthetic, async (dir) => {
    const data = embedded(renderReport([await loadRun(dir)]));
    const run = data.runs[0];
    assert.equal(run.groupBy, "turn");
    assert.deepEqual(run.perTurn.turn, [0, 1, 2, 3, 4]);
    for (const [i, turn] of run.perTurn.turn.entries()) {
      const f = synthetic.records.filter((r) => r.turn === turn && r.ok).map(
        requestFigures,
      );
      near(
        run.perTurn.ttftMs[i],
        f.reduce((s, x) => s + x.ttftMs!, 0) / f.length,
        2,
        `turn ${turn}`,
      );
      near(
        run.perTurn.hit[i],
        f.reduce((s, x) => s + x.cacheHitRate!, 0) / f.length,
        4,
        `hit ${turn}`,
      );
      assert.equal(run.perTurn.requests[i], f.length);
    }
    assert.deepEqual(
      run.requests.group.slice(0, 3).map((g: number) => typeof g),
      ["number", "number", "number"],
    );
  });
});

Deno.test("report data: many output reads are decimated for the plot, never for the CDF", () => {
  const synthetic = syntheticRun({ requests: 300, outputTokens: 64 });
  const run = runData(
    { source: "x", records: { records: synthetic.records, reports: [] } },
    { itlPoints: 100 },
  );
  const reads = synthetic.records.filter((r) => r.ok).flatMap((r) =>
    outputReads(r).slice(1)
  );
  assert.equal(run.itl.reads, reads.length);
  assert.equal(run.itl.decimated, true);
  assert.ok(run.itl.t.length <= 100);
  // The slices keep the extremes, and the CDF every sample.
  const itls = synthetic.records.filter((r) => r.ok).flatMap((r) =>
    interTokenLatencies(r)
  );
  near(Math.max(...run.itl.ms), Math.max(...itls), 2, "highest ITL");
  near(Math.min(...run.itl.ms), Math.min(...itls), 2, "lowest ITL");
  assert.equal(run.cdf.itlMs!.count, itls.length);
  assert.ok(run.cdf.itlMs!.x.length <= 1001);
  // Sorted by time.
  assert.deepEqual(run.itl.t, [...run.itl.t].sort((a, b) => a - b));
});

Deno.test("report data: a records file alone gives what the records give", async () => {
  const synthetic = syntheticRun({ requests: 30 });
  const path = await Deno.makeTempFile({ suffix: ".jsonl" });
  try {
    await Deno.writeTextFile(
      path,
      synthetic.records.map((r) => JSON.stringify(r) + "\n").join(""),
    );
    const run = await loadRun(path);
    assert.equal(run.name, path.split("/").at(-1)!.replace(/\.jsonl$/, ""));
    assert.equal(run.command, "benchmark");
    assert.equal(run.serverCache, undefined);
    assert.equal(run.verdict, undefined);
    assert.equal(run.split, undefined);
    assert.equal(run.run.params, undefined);
    assert.equal(run.requests.t.length, 30);
    // Without the run's line, the run starts at the records' runStartedAt.
    assert.equal(
      run.requests.t[0],
      Math.round(
        synthetic.records.reduce((m, r) => Math.min(m, r.sentAt), Infinity) -
          1000.25,
      ) / 1000,
    );
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("report data: records of two processes are put on one clock", () => {
  const a = syntheticRun({ requests: 10, timeOrigin: 1.8e12 }).records;
  // The same requests written by a process whose clock started 5 s later.
  const b = a.map((r) => ({
    ...r,
    session: r.session + 100,
    timeOrigin: r.timeOrigin! + 5000,
    scheduledAt: r.scheduledAt - 5000,
    sentAt: r.sentAt - 5000,
    firstTokenAt: r.firstTokenAt === undefined
      ? undefined
      : r.firstTokenAt - 5000,
    firstAnswerAt: r.firstAnswerAt === undefined
      ? undefined
      : r.firstAnswerAt - 5000,
    endAt: r.endAt - 5000,
    runStartedAt: r.runStartedAt! - 5000,
  }));
  const run = runData({
    source: "x",
    records: { records: [...a, ...b], reports: [] },
  });
  // Each request appears twice at the same time since the start.
  for (let i = 0; i < run.requests.t.length; i += 2) {
    assert.equal(run.requests.t[i], run.requests.t[i + 1]);
  }
});

Deno.test("report data: unreadable runs are errors that name the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(loadRun(dir), {
      message: `Cannot read run "${dir}": no records.jsonl`,
    });
    await Deno.writeTextFile(`${dir}/records.jsonl`, "");
    await Deno.writeTextFile(`${dir}/run.json`, "{not json");
    await assert.rejects(loadRun(dir), {
      message: `Cannot read run "${dir}": run.json is not JSON`,
    });
    await Deno.remove(`${dir}/run.json`);
    await Deno.writeTextFile(`${dir}/metrics.jsonl`, "[1]\n");
    await assert.rejects(
      loadRun(dir),
      /metrics\.jsonl": line 1 is not an object/,
    );
    await Deno.remove(`${dir}/metrics.jsonl`);
    const empty = await loadRun(dir);
    assert.equal(empty.requests.t.length, 0);
    assert.equal(empty.distributions.completed, 0);
    await assert.rejects(
      loadRun(`${dir}/nothing`),
      /no such file or directory/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
