/**
 * Reports as a person sees them: opened from disk (file://) in headless
 * Chromium with the network blocked, no console error, no request but the
 * file itself, every plot drawn (pixels of a series colour inside its plot
 * area), and a PNG screenshot. Skipped when Chromium is not installed
 * (`apt-get install -y chromium`).
 */
import assert from "node:assert/strict";
import { findChromium, HeadlessChromium } from "./_support/chromium.ts";
import { loadRun } from "../lib/report/data.ts";
import { renderReport } from "../lib/report/html.ts";
import { syntheticRun, writeRunDir } from "./_support/synthetic.ts";

const chromium = findChromium();

/** Counted by the test itself: plots whose plot area holds coloured pixels. */
const INKED = `(() => {
  const out = {};
  const scratch = document.createElement("canvas");
  const ctx = scratch.getContext("2d", { willReadFrequently: true });
  for (const fig of document.querySelectorAll("figure.plot")) {
    const canvas = fig.querySelector("canvas");
    if (!canvas) { out[fig.id] = -1; continue; }
    scratch.width = canvas.width;
    scratch.height = canvas.height;
    ctx.drawImage(canvas, 0, 0);
    const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4) {
      const hi = Math.max(px[i], px[i + 1], px[i + 2]), lo = Math.min(px[i], px[i + 1], px[i + 2]);
      if (px[i + 3] > 100 && hi - lo > 50) n++;
    }
    out[fig.id] = n;
  }
  return out;
})()`;

const READY = `new Promise((resolve, reject) => {
  const started = performance.now();
  const poll = () => {
    const r = window.__kvbenchReport;
    if (r && r.ready) resolve(r);
    else if (performance.now() - started > 15000) reject(new Error("not ready"));
    else setTimeout(poll, 20);
  };
  poll();
})`;

interface PageReport {
  plots: string[];
  drawn: number;
  errors: string[];
  ready: boolean;
}

async function check(
  browser: HeadlessChromium,
  path: string,
): Promise<{ report: PageReport; inked: Record<string, number> }> {
  browser.console.length = 0;
  browser.requests.length = 0;
  await browser.open(`file://${path}`);
  const report = await browser.evaluate(READY) as PageReport;
  const inked = await browser.evaluate(INKED) as Record<string, number>;
  assert.deepEqual(
    browser.console.filter((c) => /error|exception|warning/.test(c.type)),
    [],
  );
  assert.deepEqual(browser.requests, [`file://${path}`]);
  assert.deepEqual(report.errors, []);
  assert.ok(report.plots.length > 0);
  assert.equal(report.drawn, report.plots.length);
  for (const id of report.plots) {
    assert.ok((inked[id] ?? 0) >= 10, `${id}: ${inked[id]} coloured pixels`);
  }
  return { report, inked };
}

Deno.test({
  name: chromium === undefined
    ? "browser: skipped: chromium not installed"
    : "browser: reports open from disk offline, every plot drawn, no console error",
  ignore: chromium === undefined,
  sanitizeResources: true,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "kvbench-report-browser-" });
    const browser = await HeadlessChromium.launch({ width: 1280, height: 900 });
    try {
      // A benchmark run with the server's metrics, and a trie run.
      await writeRunDir(
        `${dir}/on`,
        syntheticRun({ requests: 3000, inFlight: 4 }),
      );
      await writeRunDir(
        `${dir}/off`,
        syntheticRun({ requests: 800, inFlight: 4, seed: 7 }),
      );
      await writeRunDir(
        `${dir}/trie`,
        syntheticRun({ command: "trie", requests: 400, groups: 8 }),
      );
      const on = await loadRun(`${dir}/on`);
      const pages: [string, string][] = [
        ["single.html", renderReport([on])],
        ["compare.html", renderReport([on, await loadRun(`${dir}/off`)])],
        ["trie.html", renderReport([await loadRun(`${dir}/trie`)])],
      ];
      for (const [name, html] of pages) {
        await Deno.writeTextFile(`${dir}/${name}`, html);
      }
      const single = await check(browser, `${dir}/single.html`);
      assert.ok(single.report.plots.includes("plot-cache-server"));
      const png = await browser.screenshot();
      assert.deepEqual([...png.subarray(0, 8)], [
        137,
        80,
        78,
        71,
        13,
        10,
        26,
        10,
      ]);
      // 1280 × 900, from the PNG's header.
      const view = new DataView(png.buffer, png.byteOffset);
      assert.deepEqual([view.getUint32(16), view.getUint32(20)], [1280, 900]);
      await Deno.writeFile(`${dir}/single.png`, png);

      const compare = await check(browser, `${dir}/compare.html`);
      assert.equal(compare.report.plots.length, single.report.plots.length);
      // Two legends entries per overlaid line plot (uPlot's legend rows).
      const legends = await browser.evaluate(
        `[...document.querySelectorAll("#plot-cdf-ttft .u-legend .u-series .u-label")].map((e) => e.textContent.trim())`,
      ) as string[];
      assert.deepEqual(legends.slice(1), ["on", "off"]);

      // The network is blocked: a page that asks for a remote image gets nothing.
      browser.requests.length = 0;
      await browser.open(
        `data:text/html,<img id=i src="http://kvbench.invalid/x.png">`,
      );
      assert.deepEqual(browser.requests.slice(1), [
        "http://kvbench.invalid/x.png",
      ]);
      assert.equal(
        await browser.evaluate(`document.getElementById("i").naturalWidth`),
        0,
      );

      const trie = await check(browser, `${dir}/trie.html`);
      assert.ok(trie.report.plots.includes("plot-turn-ttft"));
      // The page was laid out: the first plot is on screen.
      const top = await browser.evaluate(
        `document.getElementById("plot-ttft").getBoundingClientRect().top`,
      ) as number;
      assert.ok(top > 0 && top < 900);
    } finally {
      await browser.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
