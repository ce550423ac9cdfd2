/**
 * `deno run -A report/chart_library_bench.ts [--points 100000] [--runs 3]`:
 * the measurement behind the report's choice of chart library (see
 * `report/README.md`). For uPlot, Observable Plot (with d3), ECharts and
 * Vega-Lite (with Vega and vega-embed) it downloads the npm package, prints
 * the size of its minified browser build (raw and gzipped), then renders a
 * line and a scatter of `--points` points in headless Chromium (network
 * blocked, every library inlined) and prints the median time from the call
 * to the chart drawn and painted (two animation frames later).
 *
 * @example Usage
 * ```sh
 * deno run -A report/chart_library_bench.ts --points 100000 --runs 3
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { fetchNpmTarball } from "../vendor_uplot.ts";
import { HeadlessChromium } from "../../tests/_support/chromium.ts";

/** One library: its npm files (inlined in order) and how it draws one chart. */
interface Library {
  name: string;
  files: { pkg: string; version: string; path: string }[];
  /** JS: draws `kind` ("line" | "scatter") of xs/ys into `el`; a promise of when it is drawn. */
  draw: string;
}

const LIBRARIES: Library[] = [
  {
    name: "uPlot",
    files: [{
      pkg: "uplot",
      version: "1.6.32",
      path: "dist/uPlot.iife.min.js",
    }],
    draw: `(kind, el, xs, ys) => {
      new uPlot({ width: 1000, height: 400, scales: { x: { time: false } },
        series: [{}, kind === "line" ? { stroke: "blue" }
          : { stroke: "blue", fill: "blue", paths: () => null, points: { show: true, size: 3 } }] },
        [xs, ys], el);
    }`,
  },
  {
    // uPlot with the scatter drawn as report/html.ts draws it.
    name: "uPlot, scatter drawn as the report does",
    files: [{
      pkg: "uplot",
      version: "1.6.32",
      path: "dist/uPlot.iife.min.js",
    }],
    draw: `(kind, el, xs, ys) => {
      // As report/html.ts draws: one 3 × 3 square per point, in x order.
      const rects = (u, si, i0, i1) => {
        const ctx = u.ctx, bb = u.bbox, sx = u.scales.x, sy = u.scales.y, d = u.data;
        const kx = bb.width / (sx.max - sx.min), ky = bb.height / (sy.max - sy.min);
        ctx.fillStyle = "blue";
        for (let i = i0; i <= i1; i++) {
          ctx.fillRect(bb.left - 1.5 + (d[0][i] - sx.min) * kx, bb.top + bb.height - 1.5 - (d[si][i] - sy.min) * ky, 3, 3);
        }
        return null;
      };
      new uPlot({ width: 1000, height: 400, scales: { x: { time: false } },
        series: [{}, kind === "line" ? { stroke: "blue" }
          : { stroke: "blue", paths: rects, points: { show: false } }] },
        [xs, ys], el);
    }`,
  },
  {
    name: "ECharts",
    files: [{ pkg: "echarts", version: "6.1.0", path: "dist/echarts.min.js" }],
    draw: `(kind, el, xs, ys) => new Promise((resolve) => {
      el.style.width = "1000px"; el.style.height = "400px";
      const chart = echarts.init(el, null, { renderer: "canvas" });
      const data = new Array(xs.length);
      for (let i = 0; i < xs.length; i++) data[i] = [xs[i], ys[i]];
      chart.on("finished", resolve);
      chart.setOption({ animation: false, xAxis: { type: "value" }, yAxis: { type: "value" },
        series: [kind === "line" ? { type: "line", showSymbol: false, data }
          : { type: "scatter", symbolSize: 3, large: true, data }] });
    })`,
  },
  {
    name: "Observable Plot",
    files: [
      { pkg: "d3", version: "7.9.2", path: "dist/d3.min.js" },
      {
        pkg: "@observablehq/plot",
        version: "0.6.17",
        path: "dist/plot.umd.min.js",
      },
    ],
    draw: `(kind, el, xs, ys) => {
      el.append(Plot.plot({ width: 1000, height: 400,
        marks: [kind === "line" ? Plot.line(xs, { x: (_, i) => xs[i], y: (_, i) => ys[i] })
          : Plot.dot(xs, { x: (_, i) => xs[i], y: (_, i) => ys[i], r: 1.5 })] }));
    }`,
  },
  {
    name: "Vega-Lite",
    files: [
      { pkg: "vega", version: "6.4.0", path: "build/vega.min.js" },
      { pkg: "vega-lite", version: "6.4.3", path: "build/vega-lite.min.js" },
      { pkg: "vega-embed", version: "7.3.0", path: "build/vega-embed.min.js" },
    ],
    draw: `async (kind, el, xs, ys) => {
      const values = new Array(xs.length);
      for (let i = 0; i < xs.length; i++) values[i] = { x: xs[i], y: ys[i] };
      const r = await vegaEmbed(el, { $schema: "", width: 1000, height: 400, data: { values },
        mark: kind === "line" ? "line" : { type: "point", size: 4 },
        encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } } },
        { renderer: "canvas", actions: false });
      await r.view.runAsync();
    }`,
  },
];

async function gzipSize(bytes: Uint8Array): Promise<number> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return (await new Response(stream).arrayBuffer()).byteLength;
}

function page(lib: string, draw: string, kind: string, points: number): string {
  return `<!doctype html><meta charset="utf-8"><body><div id="chart"></div>
<script>${lib.replaceAll("</script", "<\\/script")}</script>
<script>
window.__bench = (async () => {
  let seed = 1;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const xs = new Float64Array(${points}), ys = new Float64Array(${points});
  let y = 0;
  for (let i = 0; i < xs.length; i++) { xs[i] = i / 100; y += rand() - 0.5; ys[i] = y + rand() * 3; }
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  await frame();
  const t0 = performance.now();
  await (${draw})(${
    JSON.stringify(kind)
  }, document.getElementById("chart"), xs, ys);
  const drawn = performance.now() - t0;
  await frame(); await frame();
  return { drawn, painted: performance.now() - t0 };
})();
</script>`;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      points: { type: "string", default: "100000" },
      runs: { type: "string", default: "3" },
      only: { type: "string" },
    },
  });
  const points = Number(values.points);
  const runs = Number(values.runs);
  const dir = await Deno.makeTempDir({ prefix: "kvbench-chart-bench-" });
  const browser = await HeadlessChromium.launch();
  try {
    console.log(
      `| library | files | minified | gzipped | line ${points} pts (ms) | scatter ${points} pts (ms) |`,
    );
    console.log("| --- | --- | ---: | ---: | ---: | ---: |");
    for (const library of LIBRARIES) {
      if (values.only && !library.name.includes(values.only)) continue;
      const parts: Uint8Array[] = [];
      for (const file of library.files) {
        const { files } = await fetchNpmTarball(file.pkg, file.version);
        const bytes = files.get(file.path);
        if (bytes === undefined) throw new Error(`no ${file.path}`);
        parts.push(bytes);
      }
      const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        all.set(p, at);
        at += p.length;
      }
      const lib = parts.map((p) => new TextDecoder().decode(p)).join("\n;\n");
      const times: Record<string, string> = {};
      for (const kind of ["line", "scatter"]) {
        const painted: number[] = [];
        for (let run = 0; run < runs; run++) {
          const path = `${dir}/${library.name.replace(/\W/g, "")}-${kind}.html`;
          await Deno.writeTextFile(path, page(lib, library.draw, kind, points));
          browser.console.length = 0;
          await browser.open(`file://${path}`);
          const t = await browser.evaluate("window.__bench") as {
            painted: number;
          };
          const errors = browser.console.filter((c) =>
            c.type === "error" || c.type === "exception"
          );
          if (errors.length > 0) {
            throw new Error(`${library.name}: ${errors[0].text}`);
          }
          painted.push(t.painted);
        }
        times[kind] = median(painted).toFixed(0);
      }
      console.log(
        `| ${library.name} | ${
          library.files.map((f) => `${f.pkg}@${f.version} ${f.path}`).join(
            " + ",
          )
        } | ${all.length.toLocaleString("en-US")} B | ${
          (await gzipSize(all)).toLocaleString("en-US")
        } B | ${times.line} | ${times.scatter} |`,
      );
    }
  } finally {
    await browser.close();
    await Deno.remove(dir, { recursive: true });
  }
}
