/**
 * The HTML report's styles and script: plain CSS, and plain JS run once the
 * embedded data and uPlot are in (it draws each plot of the page's specs and
 * publishes `window.__kvbenchReport`).
 *
 * @module
 */

/**
 * The page's styles.
 *
 * @example Usage
 * ```ts
 * import { CSS } from "./page_script.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(CSS.includes(".swatch"));
 * ```
 */
export const CSS = `
:root { --fg: #1d2125; --muted: #5f6b76; --line: #dde2e6; --bg: #ffffff; --panel: #f6f8f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 1240px; margin: 0 auto; padding: 16px 20px 40px; }
header h1 { font-size: 20px; margin: 0 0 2px; }
header p { margin: 0; color: var(--muted); }
h2 { font-size: 17px; margin: 0 0 2px; }
h3 { font-size: 15px; margin: 0; }
h4 { font-size: 13px; margin: 12px 0 4px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.runs { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 12px; margin: 12px 0; }
.run { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; }
.where { margin: 0 0 6px; color: var(--muted); font-size: 12.5px; }
.facts { display: flex; flex-wrap: wrap; gap: 4px 22px; margin: 0; }
.facts div { min-width: 90px; }
.facts dt { font-size: 11.5px; color: var(--muted); }
.facts dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; }
.verdict { margin: 8px 0 4px; padding: 6px 10px; background: #fff8e6; border-left: 3px solid #ff7f0e; }
.preflight { margin: 4px 0 8px; padding: 4px 10px; border-left: 3px solid #2ca02c; background: #f1f8f1; font-size: 12.5px; }
.preflight.warn { border-left-color: #d62728; background: #fdf0f0; }
.preflight p { margin: 2px 0; }
.preflight ul.lines { margin: 2px 0; padding-left: 18px; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
.preflight .forced { color: #a1161b; }
table.verify td.pass { color: #1b7a1b; font-weight: 600; }
table.verify td.fail { color: #a1161b; font-weight: 600; }
table.verify td.skip { color: var(--muted); }
.split .bar { display: flex; height: 10px; border-radius: 3px; overflow: hidden; background: var(--line); margin-top: 6px; }
.split .bar span { display: block; height: 100%; }
.split .legend { margin: 3px 0 0; font-size: 12.5px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin: 0 4px 0 0; vertical-align: -1px; }
.note { color: var(--muted); margin: 2px 0 0; font-size: 12.5px; }
.plots { display: flex; flex-wrap: wrap; gap: 8px 16px; }
figure.plot { margin: 8px 0; flex: 1 1 100%; min-width: 0; }
figure.plot.half { flex: 1 1 calc(50% - 8px); }
figure.plot .chart { min-height: 60px; }
.groups { font-size: 12px; color: var(--muted); display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
.groups .ramp { display: inline-block; width: 180px; height: 10px; border-radius: 2px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.numbers th, table.numbers td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: right; }
table.numbers th:first-child, table.numbers td.run { text-align: left; }
table.numbers thead th { color: var(--muted); font-weight: 600; }
table.kv th { text-align: left; font-weight: 500; color: var(--muted); padding: 2px 14px 2px 0; vertical-align: top; }
table.kv td { padding: 2px 0; word-break: break-all; }
details.params { margin: 8px 0; padding: 6px 12px; border: 1px solid var(--line); border-radius: 6px; }
details.params summary { cursor: pointer; font-weight: 600; }
section.block { margin-top: 18px; }
.u-legend { font-size: 12px; }
`;

/**
 * The page's script (plain JS, run once the data and uPlot are in).
 *
 * @example Usage
 * ```ts
 * import { CLIENT_JS } from "./page_script.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(CLIENT_JS.includes("window.__kvbenchReport"));
 * ```
 */
export const CLIENT_JS = String.raw`(function () {
  "use strict";
  var report = { plots: [], drawn: 0, errors: [], ready: false };
  window.__kvbenchReport = report;
  window.addEventListener("error", function (e) { report.errors.push(String(e.message || e)); });
  var data = JSON.parse(document.getElementById("kvbench-data").textContent);
  var runs = data.runs;
  var PALETTE = data.palette;
  var made = [];

  function get(path) {
    var v = runs[path[0]];
    for (var i = 1; i < path.length; i++) v = v == null ? undefined : v[path[i]];
    return v || [];
  }
  function scaled(ys, percent) {
    if (!percent) return ys;
    return ys.map(function (v) { return v == null ? null : Math.round(v * 1e6) / 1e4; });
  }
  // Group colours: a categorical palette for few groups, else a ramp.
  function rampColor(kind, f) {
    if (kind === "sequential") {
      // dark blue → teal → green → yellow (viridis-like)
      var stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
      var x = Math.max(0, Math.min(1, f)) * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(x)), t = x - i;
      var c = stops[i].map(function (a, k) { return Math.round(a + (stops[i + 1][k] - a) * t); });
      return "rgb(" + c.join(",") + ")";
    }
    return "hsl(" + Math.round(f * 300) + ",75%,45%)";
  }
  // 11 to 24 categories: a palette picked for distance (plots.ts
  // GROUP_PALETTE), so neighbours differ (a rainbow ramp of 12+ does not).
  var GROUP_PALETTE = data.groupPalette || [];
  function categorical(i) {
    return GROUP_PALETTE[i % GROUP_PALETTE.length];
  }
  function groupColors(groups) {
    var n = groups.count, hue = groups.ramp === "hue", levels = hue && n <= 24 ? n : Math.min(n, 24);
    var colors = [];
    for (var i = 0; i < levels; i++) {
      colors.push(hue && n <= PALETTE.length ? PALETTE[i] : hue && n <= GROUP_PALETTE.length ? categorical(i) : rampColor(groups.ramp, levels > 1 ? i / (levels - 1) : 0));
    }
    return { levels: levels, colors: colors, of: function (g) { return levels === n ? g % levels : Math.min(levels - 1, Math.floor(g / n * levels)); } };
  }
  function groupLegend(el, groups, gc) {
    var html = "";
    if (gc.levels === groups.count && (groups.count <= PALETTE.length || groups.ramp === "hue")) {
      for (var i = 0; i < groups.count; i++) {
        html += '<span><span class="swatch" style="background:' + gc.colors[i] + '"></span>' + groups.label + " " + i + "</span>";
      }
    } else {
      html = "<span>" + groups.label + " 0</span><span class=\"ramp\" style=\"background:linear-gradient(90deg," + gc.colors.join(",") + ')"></span><span>' + groups.label + " " + (groups.count - 1) + "</span>";
    }
    el.innerHTML = html;
  }
  function extent(arrays) {
    var lo = Infinity, hi = -Infinity;
    arrays.forEach(function (a) {
      for (var i = 0; i < a.length; i++) { var v = a[i]; if (v != null) { if (v < lo) lo = v; if (v > hi) hi = v; } }
    });
    if (lo === Infinity) { lo = 0; hi = 1; }
    if (lo === hi) { hi = lo + 1; }
    return [lo, hi];
  }
  function lowerBound(a, v) {
    var lo = 0, hi = a.length;
    while (lo < hi) { var m = (lo + hi) >> 1; if (a[m] < v) lo = m + 1; else hi = m; }
    return lo;
  }

  // Points as small squares, in the order of x (later points on top), one
  // fill colour change per change of group.
  function scatterDraw(sets) {
    return function (u) {
      var ctx = u.ctx, bb = u.bbox, sx = u.scales.x, sy = u.scales.y;
      if (sx.min == null || sy.min == null) return;
      var kx = bb.width / (sx.max - sx.min), ky = bb.height / (sy.max - sy.min);
      var r = Math.max(1, Math.round(1.5 * devicePixelRatio)), d = 2 * r;
      var left = bb.left - r, bottom = bb.top + bb.height - r;
      ctx.save();
      ctx.beginPath();
      ctx.rect(bb.left, bb.top, bb.width, bb.height);
      ctx.clip();
      sets.forEach(function (set, si) {
        if (!u.series[si + 1].show) return;
        var xs = set.x, ys = set.y, classOf = set.classOf, colors = set.colors, current = -1;
        if (set.joined) {
          ctx.strokeStyle = colors[0];
          ctx.lineWidth = Math.max(1, devicePixelRatio);
          ctx.setLineDash((set.dash || []).map(function (v) { return v * devicePixelRatio; }));
          ctx.beginPath();
          for (var j = 0; j < xs.length; j++) {
            var px = bb.left + (xs[j] - sx.min) * kx, py = bb.top + bb.height - (ys[j] - sy.min) * ky;
            if (j === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
          }
          ctx.stroke();
          ctx.setLineDash([]);
          return;
        }
        var i0 = lowerBound(xs, sx.min), i1 = Math.min(xs.length, lowerBound(xs, sx.max + 1e-9));
        if (!classOf) ctx.fillStyle = colors[0];
        for (var i = i0; i < i1; i++) {
          var y = ys[i];
          if (y == null) continue;
          if (classOf) {
            var c = classOf(i);
            if (c !== current) { ctx.fillStyle = colors[c]; current = c; }
          }
          ctx.fillRect(left + (xs[i] - sx.min) * kx, bottom - (y - sy.min) * ky, d, d);
        }
      });
      ctx.restore();
    };
  }

  function width(el) { return Math.max(280, Math.floor(el.clientWidth || 600)); }

  function build(spec) {
    var fig = document.getElementById(spec.id), target = fig.querySelector(".chart");
    var axisFont = "12px system-ui, sans-serif";
    var axes = [
      { label: spec.xLabel, labelSize: 22, font: axisFont, labelFont: axisFont, stroke: "#444", grid: { stroke: "#eceff1" }, ticks: { stroke: "#ccd" } },
      { label: spec.yLabel, labelSize: 22, font: axisFont, labelFont: axisFont, stroke: "#444", size: 60, grid: { stroke: "#eceff1" }, ticks: { stroke: "#ccd" } }
    ];
    if (spec.integerX) axes[0].incrs = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
    var opts = {
      width: width(target), height: spec.kind === "scatter" ? 300 : 260,
      scales: { x: { time: false } },
      axes: axes,
      cursor: { drag: { x: true, y: false } },
      legend: { live: spec.kind === "line" },
      series: [{ label: spec.xLabel }],
      hooks: {}
    };
    var table;
    if (spec.kind === "scatter") {
      var sets = spec.series.map(function (s) {
        var set = { x: get(s.x), y: scaled(get(s.y), s.percent), colors: [s.color], joined: !!s.joined, dash: s.dash };
        if (s.colorBy && spec.groups) {
          var groups = get(s.colorBy), gc = groupColors(spec.groups);
          set.colors = gc.colors;
          set.classOf = function (i) { var g = groups[i]; return g == null ? 0 : gc.of(g); };
          groupLegend(fig.querySelector(".groups"), spec.groups, gc);
        }
        return set;
      });
      var xr = extent(sets.map(function (s) { return s.x; }));
      var yr = extent(sets.map(function (s) { return s.y; }));
      if (spec.zero) yr[0] = Math.min(0, yr[0]);
      var pad = (yr[1] - yr[0]) * 0.04;
      opts.scales.y = { auto: false, range: [spec.zero ? yr[0] : yr[0] - pad, yr[1] + pad] };
      opts.scales.x = { time: false, auto: false, range: [xr[0], xr[1] === xr[0] ? xr[0] + 1 : xr[1]] };
      spec.series.forEach(function (s) {
        opts.series.push({ label: s.label, stroke: s.color, fill: s.color, width: 0, paths: function () { return null; }, points: { show: false } });
      });
      table = [[xr[0], xr[1]]].concat(spec.series.map(function () { return [null, null]; }));
      opts.hooks.draw = [scatterDraw(sets)];
      opts.legend.show = spec.series.length > 1;
    } else {
      var tables = spec.series.map(function (s) { return [get(s.x), scaled(get(s.y), s.percent)]; });
      table = tables.length === 1 ? tables[0] : uPlot.join(tables);
      opts.legend.show = spec.series.length > 1;
      spec.series.forEach(function (s) {
        opts.series.push({
          label: s.label, stroke: s.color, width: 1.6, dash: s.dash, spanGaps: false,
          points: { show: !!s.points, size: 5, fill: s.color }
        });
      });
      if (spec.percentAxis) opts.scales.y = { auto: false, range: [0, 100] };
      else if (spec.zero) opts.scales.y = { range: function (u, lo, hi) { return [Math.min(0, lo), hi > 0 ? hi * 1.05 : 1]; } };
    }
    // A line plot's legend shows each series' last value until the cursor
    // picks a point (a screenshot reads values, not "--").
    if (spec.kind !== "scatter" && opts.legend.show) {
      var atLast = function (u) {
        if (u.cursor.idx != null) return;
        var idxs = u.data.map(function (ys) {
          for (var j = ys.length - 1; j >= 0; j--) if (ys[j] != null) return j;
          return null;
        });
        if (idxs[0] != null) u.setLegend({ idxs: idxs });
      };
      opts.hooks.ready = [atLast];
      opts.hooks.setCursor = [atLast];
    }
    var u = new uPlot(opts, table, target);
    made.push({ id: spec.id, u: u, target: target });
  }

  data.plots.forEach(function (spec) {
    report.plots.push(spec.id);
    try { build(spec); } catch (e) { report.errors.push(spec.id + ": " + (e && e.message || e)); }
  });

  // Pixels of a series colour (not grey: grid, axes) inside the plot area,
  // read through one scratch canvas made for reading.
  var scratch = document.createElement("canvas");
  var scratchCtx = scratch.getContext("2d", { willReadFrequently: true });
  function inked(u) {
    var bb = u.bbox;
    if (bb.width <= 0 || bb.height <= 0) return 0;
    scratch.width = bb.width;
    scratch.height = bb.height;
    scratchCtx.clearRect(0, 0, bb.width, bb.height);
    scratchCtx.drawImage(u.ctx.canvas, bb.left, bb.top, bb.width, bb.height, 0, 0, bb.width, bb.height);
    var px = scratchCtx.getImageData(0, 0, bb.width, bb.height).data, n = 0;
    for (var i = 0; i < px.length; i += 4) {
      if (px[i + 3] < 100) continue;
      var hi = Math.max(px[i], px[i + 1], px[i + 2]), lo = Math.min(px[i], px[i + 1], px[i + 2]);
      if (hi - lo > 50) n++;
    }
    return n;
  }
  requestAnimationFrame(function () {
    made.forEach(function (m) {
      try { if (inked(m.u) >= 10) report.drawn++; else report.errors.push(m.id + ": nothing drawn"); }
      catch (e) { report.errors.push(m.id + ": " + (e && e.message || e)); }
    });
    report.ms = Math.round(performance.now());
    report.ready = true;
  });
  var timer = 0;
  window.addEventListener("resize", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      made.forEach(function (m) { m.u.setSize({ width: width(m.target), height: m.u.height }); });
    }, 100);
  });
})();`;
