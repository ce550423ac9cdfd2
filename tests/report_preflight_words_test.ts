/**
 * The report's pre-flight in words, end to end through cli.ts against the
 * simulator: the heading says what the verdict means (never its internal
 * word), a server without an offload tier is said to have none, and the
 * run-parameters table leaves the pre-flight to its own block.
 */
import assert from "node:assert/strict";
import { runCli, RUNS_DIR } from "./cli_process.ts";
import { startSimulator } from "../lib/sim/server.ts";

Deno.test("report: a server with no offload tier is said to have none; the parameters table has no raw pre-flight", async () => {
  await using sim = await startSimulator({
    timeScale: 0.001,
    gpuKvTokens: 4096,
    offloadTokens: 0,
  });
  const dir = `${RUNS_DIR}/report-no-offload-tier`;
  const run = await runCli([
    "benchmark",
    ...["--endpoint", sim.url, "--bytes-per-token", "98304"],
    ...["--offload-size", "1.5", "--input-length", "1000"],
    ...["--output-length", "4", "--num-prompts", "4", "--force"],
    ...["--output-dir", dir],
  ]);
  assert.equal(run.code, 0, run.stderr);
  const info = JSON.parse(await Deno.readTextFile(`${dir}/run.json`));
  assert.equal(info.params.preflight.verdict, "exceeds_offload");
  const html = await Deno.readTextFile(`${dir}/report.html`);
  assert.ok(
    html.includes(
      '<div class="preflight warn" id="preflight-0">\n<p><strong>Pre-flight: the server has no offload tier</strong> — its offload capacity is 0 tokens: reuse past GPU KV is recomputed, and the run measures no offload hit</p>',
    ),
    html.slice(html.indexOf('class="preflight'), 2000),
  );
  assert.ok(!html.includes("exceeds_offload"));
  // The parameters table: the run's other parameters, not the pre-flight.
  const params = html.slice(
    html.indexOf('<details class="params" id="params-0"'),
  );
  assert.ok(params.includes("<tr><th>force</th><td>true</td></tr>"));
  assert.ok(!params.includes("<th>preflight</th>"));
  assert.ok(!html.includes("&quot;verdict&quot;"));
});
