/**
 * Reports readable as screenshots, checked in headless Chromium (opened
 * from disk, network blocked): without any hover, every line plot's legend
 * shows a value for each series (not uPlot's `--`); 14 contexts get 14
 * distinct swatch colours; the pre-flight and `--verify` sections are on
 * the page. Skipped when Chromium is not installed
 * (`apt-get install -y chromium`).
 */
import assert from "node:assert/strict";
import { findChromium, HeadlessChromium } from "./_support/chromium.ts";
import { loadRun } from "../lib/report/data.ts";
import { renderReport } from "../lib/report/html.ts";
import { syntheticRun, writeRunDir } from "./_support/synthetic.ts";

const chromium = findChromium();

/** CIELAB (D65) of an sRGB colour `rgb(r, g, b)`. */
function lab(css: string): number[] {
  const [r, g, b] = css.match(/\d+/g)!.slice(0, 3).map((v) => {
    const c = Number(v) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const f = (t: number) => t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116;
  const x = f((r * 0.4124 + g * 0.3576 + b * 0.1805) / 0.95047);
  const y = f(r * 0.2126 + g * 0.7152 + b * 0.0722);
  const z = f((r * 0.0193 + g * 0.1192 + b * 0.9505) / 1.08883);
  return [116 * y - 16, 500 * (x - y), 200 * (y - z)];
}

/** The smallest CIE76 ΔE between two of the colours. */
function closestDeltaE(colours: string[]): number {
  const l = colours.map(lab);
  let closest = Infinity;
  for (let i = 0; i < l.length; i++) {
    for (let j = i + 1; j < l.length; j++) {
      closest = Math.min(
        closest,
        Math.hypot(...l[i].map((v, k) => v - l[j][k])),
      );
    }
  }
  return closest;
}

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

/** Each line plot's legend: its series' labels and shown values. */
const LEGENDS = `(() => {
  const out = {};
  for (const fig of document.querySelectorAll("figure.plot")) {
    const rows = [...fig.querySelectorAll(".u-legend .u-series")].slice(1);
    if (rows.length === 0) continue;
    out[fig.id] = rows.map((r) => [
      r.querySelector(".u-label")?.textContent.trim(),
      r.querySelector(".u-value")?.textContent.trim(),
    ]);
  }
  return out;
})()`;

Deno.test({
  name: chromium === undefined
    ? "browser: skipped: chromium not installed"
    : "browser: legends show values without hover, 14 contexts in 14 colours, the pre-flight and verify sections",
  ignore: chromium === undefined,
  sanitizeResources: true,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "kvbench-readable-" });
    const browser = await HeadlessChromium.launch({ width: 1280, height: 900 });
    try {
      const run = syntheticRun({ requests: 1400, groups: 14, inFlight: 4 });
      run.info.params = {
        ...(run.info.params as Record<string, unknown>),
        force: true,
        preflight: {
          verdict: "exceeds_offload",
          lines: ["Pre-flight: working set 28,112 tokens"],
          refusal: "the working set exceeds the server's offload tier",
        },
      };
      await writeRunDir(`${dir}/on`, run);
      await writeRunDir(`${dir}/off`, syntheticRun({ requests: 600, seed: 7 }));
      await Deno.writeTextFile(
        `${dir}/on/verify.json`,
        JSON.stringify({
          verdict:
            "verify: 1 of 1 reused contexts gave outputs identical to cold compute (cold reference: cache_salt)",
        }),
      );
      await Deno.writeTextFile(
        `${dir}/on/verify.jsonl`,
        JSON.stringify({
          context: 0,
          outcome: "identical",
          warm: { tokens: [" a"], text: " a", cached_tokens: 990 },
          cold: { tokens: [" a"], text: " a", cached_tokens: 0 },
          warm_vs_cold: {
            unit: "token",
            compared: 1,
            first_at: null,
            max_logprob_diff: 0,
          },
        }) + "\n",
      );
      const on = await loadRun(`${dir}/on`);
      const pages: [string, string][] = [
        ["single.html", renderReport([on])],
        ["compare.html", renderReport([on, await loadRun(`${dir}/off`)])],
      ];
      for (const [name, html] of pages) {
        const path = `${dir}/${name}`;
        await Deno.writeTextFile(path, html);
        await browser.open(`file://${path}`);
        const report = await browser.evaluate(READY) as { errors: string[] };
        assert.deepEqual(report.errors, [], name);
        const legends = await browser.evaluate(LEGENDS) as Record<
          string,
          [string, string][]
        >;
        assert.ok(
          Object.keys(legends).length >= 1,
          `${name}: ${Object.keys(legends)}`,
        );
        for (const [id, rows] of Object.entries(legends)) {
          for (const [label, value] of rows) {
            assert.ok(
              value !== undefined && value !== "" && value !== "--",
              `${name} ${id}: ${label} shows "${value}" before any hover`,
            );
          }
        }
        if (name === "compare.html") {
          assert.deepEqual(
            legends["plot-cdf-ttft"].map(([label]) => label),
            ["on", "off"],
          );
          continue;
        }
        // 14 contexts: 14 swatches, 14 different colours.
        const swatches = await browser.evaluate(
          `[...document.querySelectorAll("#plot-ttft .groups .swatch")].map((s) => getComputedStyle(s).backgroundColor)`,
        ) as string[];
        assert.equal(swatches.length, 14);
        assert.equal(new Set(swatches).size, 14, swatches.join(" "));
        // Apart enough to tell on a screenshot: no two closer than ΔE 25
        // in CIELAB (a 14-step rainbow ramp has neighbours ΔE 15 apart).
        const closest = closestDeltaE(swatches);
        assert.ok(closest >= 25, `closest swatches ΔE ${closest.toFixed(1)}`);
        const sections = await browser.evaluate(
          `[!!document.getElementById("preflight-0"), document.querySelectorAll("#verify td.pass").length, getComputedStyle(document.querySelector("#preflight-0")).borderLeftColor]`,
        ) as [boolean, number, string];
        assert.deepEqual(sections, [true, 1, "rgb(214, 39, 40)"]);
      }
      await Deno.writeFile(`${dir}/single.png`, await browser.screenshot());
    } finally {
      await browser.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
