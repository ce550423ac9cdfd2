/**
 * The vendored chart library is the npm package's: `report/vendor/uplot.ts`
 * holds exactly the `dist/` files and the licence of the uplot version it
 * names, from the tarball whose integrity it records (downloaded from the
 * npm registry and checked against the registry's integrity), and the task
 * that writes it names the same version.
 */
import assert from "node:assert/strict";
import {
  fetchUplot,
  UPLOT_VERSION as TASK_VERSION,
} from "../../_tools/vendor_uplot.ts";
import {
  UPLOT_CSS,
  UPLOT_INTEGRITY,
  UPLOT_JS,
  UPLOT_LICENSE,
  UPLOT_VERSION,
} from "./vendor/uplot.ts";

Deno.test("vendor: report/vendor/uplot.ts is the npm package uplot of its version", async () => {
  assert.equal(UPLOT_VERSION, TASK_VERSION);
  const npm = await fetchUplot(UPLOT_VERSION);
  assert.equal(npm.integrity, UPLOT_INTEGRITY);
  assert.equal(UPLOT_JS, npm.js);
  assert.equal(UPLOT_CSS, npm.css);
  assert.equal(UPLOT_LICENSE, npm.license);
  // The build's own licence header is kept, and the licence is MIT.
  assert.ok(
    UPLOT_JS.startsWith(
      `/*! https://github.com/leeoniya/uPlot (v${UPLOT_VERSION}) */`,
    ),
  );
  assert.match(UPLOT_LICENSE, /^The MIT License/);
});
