/**
 * A replay's fidelity in its report, end to end through cli.ts: `kvbench
 * replay` of a Mooncake trace against `kvbench sim`, then `kvbench report
 * DIR`; the report's fidelity plots hold exactly what fidelity.jsonl says
 * (recomputed here with plain loops), and its mismatch table the counts of
 * summary.json; in headless Chromium when installed, every plot is drawn.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { runCli, RUNS_DIR, startCli } from "./cli_process.ts";
import { findChromium, HeadlessChromium } from "./_support/chromium.ts";

const TRACE = new URL("./testdata/traces/mooncake.jsonl", import.meta.url)
  .pathname;

// deno-lint-ignore no-explicit-any
function embedded(html: string): any {
  const m =
    /<script type="application\/json" id="kvbench-data">([^]*?)<\/script>/
      .exec(html);
  ok(m, "no embedded data");
  return JSON.parse(m[1]);
}

/** x and y of the rows that have `y`, sorted by x then y, by insertion. */
function pairsOf(
  rows: Record<string, number>[],
  x: string,
  y: string,
): [number[], number[]] {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const row of rows) {
    if (row[y] === undefined) continue;
    let i = xs.length;
    while (
      i > 0 &&
      (xs[i - 1] > row[x] || (xs[i - 1] === row[x] && ys[i - 1] > row[y]))
    ) i--;
    xs.splice(i, 0, row[x]);
    ys.splice(i, 0, row[y]);
  }
  return [xs, ys];
}

/** In headless Chromium (when installed): every plot drawn, no error. */
async function drawnInBrowser(path: string): Promise<void> {
  await using browser = await HeadlessChromium.launch({
    width: 1280,
    height: 900,
  });
  await browser.open(`file://${path}`);
  const report = await browser.evaluate(`new Promise((resolve, reject) => {
    const started = performance.now();
    const poll = () => {
      const r = window.__kvbenchReport;
      if (r && r.ready) resolve(r);
      else if (performance.now() - started > 15000) reject(new Error("not ready"));
      else setTimeout(poll, 20);
    };
    poll();
  })`) as { plots: string[]; drawn: number; errors: string[] };
  // A 0.3 s run has one time bin and may have no measurable decode: its
  // line plots and the TPOT CDF can draw nothing; the fidelity plots are
  // what this test checks.
  deepStrictEqual(
    report.errors.filter((e) => /^plot-fidelity-/.test(e)),
    [],
  );
  ok(report.plots.includes("plot-fidelity-cached"), String(report.plots));
  ok(report.plots.includes("plot-fidelity-length"), String(report.plots));
  strictEqual(
    report.drawn,
    report.plots.length - report.errors.length,
  );
  if (Deno.env.get("KVBENCH_SCREENSHOT")) {
    await browser.evaluate(
      `document.getElementById("plot-fidelity-cached").scrollIntoView()`,
    );
    await Deno.writeFile(
      Deno.env.get("KVBENCH_SCREENSHOT")!,
      await browser.screenshot(),
    );
  }
}

Deno.test("kvbench report of a replay: the fidelity plots hold fidelity.jsonl, the table its mismatches", async () => {
  const sim = startCli(["sim", "--port", "0", "--time-scale", "0.001"]);
  try {
    const [, url] = await sim.waitFor(
      /at (http:\/\/127\.0\.0\.1:\d+\/v1\/) \(/,
    );
    const dir = `${RUNS_DIR}/report-fidelity`;
    const replay = await runCli([
      "replay",
      TRACE,
      "--endpoint",
      url,
      "--speed",
      "100",
      "--context-salt",
      "report-fidelity",
      "--output-dir",
      dir,
    ]);
    strictEqual(replay.code, 0, replay.stderr);
    // The run's own report has the plots; `kvbench report DIR` writes it anew.
    const own = await Deno.readTextFile(`${dir}/report.html`);
    ok(own.includes('id="plot-fidelity-cached"'));
    await Deno.remove(`${dir}/report.html`);
    const report = await runCli(["report", dir]);
    strictEqual(report.code, 0, report.stderr);
    const html = await Deno.readTextFile(`${dir}/report.html`);

    const rows: Record<string, number>[] = (await Deno.readTextFile(
      `${dir}/fidelity.jsonl`,
    )).trim().split("\n").map((l) => JSON.parse(l));
    strictEqual(rows.length, 7);
    const page = embedded(html);
    const fidelity = page.runs[0].fidelity;
    const [theory, server] = pairsOf(rows, "theoreticalCached", "cachedTokens");
    const [intended, prompt] = pairsOf(rows, "intendedTokens", "promptTokens");
    strictEqual(theory.length, 7); // the simulator reports cached_tokens
    deepStrictEqual(fidelity.cached, { theory, server });
    deepStrictEqual(fidelity.length, { intended, prompt });
    let lo = Infinity, hi = -Infinity;
    for (const v of [...theory, ...server]) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    deepStrictEqual(fidelity.diagonal.cached, [lo, hi]);

    // Both plots, drawing those arrays.
    for (const id of ["plot-fidelity-cached", "plot-fidelity-length"]) {
      ok(html.includes(`<figure class="plot" id="${id}">`), id);
    }
    const cachedPlot = page.plots.find((p: { id: string }) =>
      p.id === "plot-fidelity-cached"
    );
    deepStrictEqual(cachedPlot.series[0].x, [
      0,
      "fidelity",
      "cached",
      "theory",
    ]);
    deepStrictEqual(cachedPlot.series[0].y, [
      0,
      "fidelity",
      "cached",
      "server",
    ]);

    // The table: the counts of fidelity.jsonl, as summary.json has them.
    let lengthOff = 0, cachedOff = 0, sumTheory = 0, sumServer = 0;
    for (const row of rows) {
      if (row.promptTokens !== row.intendedTokens) lengthOff++;
      if (row.cachedTokens !== row.theoreticalCached) cachedOff++;
      sumTheory += row.theoreticalCached;
      sumServer += row.cachedTokens;
    }
    const summary = JSON.parse(
      await Deno.readTextFile(`${dir}/summary.json`),
    );
    strictEqual(summary.fidelity.cached_mismatches, cachedOff);
    strictEqual(sumTheory, 2560);
    ok(
      html.includes(
        `<td class="run">report-fidelity</td><td>7</td><td>${lengthOff} of 7</td><td>+0 (+0.0%)</td><td>${cachedOff} of 7</td><td>${sumTheory} (10.0%)</td><td>${sumServer} (${
          (100 * sumServer / 25577).toFixed(1)
        }%)</td>`,
      ),
      html.slice(
        html.indexOf('id="fidelity"'),
        html.indexOf('id="fidelity"') + 600,
      ),
    );
    if (findChromium() !== undefined) {
      await drawnInBrowser(`${dir}/report.html`);
    }
  } finally {
    sim.kill("SIGTERM");
    await sim.done();
  }
});
