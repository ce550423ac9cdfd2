/**
 * Counts of a thousand and more print with thousands separators in the
 * summary shared by the workloads (`Requests: 1,200 completed`, as `Output
 * tokens: 125,898` beside it) and in `kvbench compare`'s table, as in its
 * HTML: end to end through cli.ts against the simulator. benchmark's
 * tmesh-cli lines (`Failed Requests: 0 (0 in interval)`) keep tmesh-cli's
 * plain integers.
 */
import assert from "node:assert/strict";
import { runCli } from "./cli_process.ts";
import { startSimulator } from "../lib/sim/server.ts";
import { parseTables } from "../lib/testing/tables.ts";

Deno.test("1,200 requests: the summary and compare's table group the thousands, as compare.html", async () => {
  await using sim = await startSimulator({ timeScale: 0.0005 });
  const root = await Deno.makeTempDir();
  try {
    const run = await runCli([
      "benchmark",
      ...["--endpoint", sim.url, "--offload-size", "0.1", "--force"],
      ...["--input-length", "100", "--output-length", "1", "--ignore-eos"],
      ...["--num-prompts", "1200", "--max-inflight", "32", "--seed", "1"],
      ...["--output-dir", `${root}/a`],
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(
      run.stdout.includes("Requests: 1,200 completed, 0 failed\n"),
      run.stdout.slice(-3000),
    );
    // 1,200 requests of one output token each.
    assert.ok(run.stdout.includes("Output tokens: 1,200 ("), run.stdout);
    assert.match(run.stdout, /Failed Requests: 0 \(0 in interval\)\n/);
    const cmp = await runCli([
      ...["compare", `${root}/a`, `${root}/a`, "--names", "x,y"],
      ...["--output", `${root}/compare.html`],
    ]);
    assert.equal(cmp.code, 0, cmp.stderr);
    const table = parseTables(cmp.stdout)[0];
    const row = table.rows.find((r) => r[0] === "requests completed");
    assert.deepEqual(row, ["requests completed", "1,200", "1,200", "1.00×"]);
    const html = await Deno.readTextFile(`${root}/compare.html`);
    assert.ok(
      html.includes(
        "<tr><th>requests completed</th><td>1,200</td><td>1,200</td><td>1.00×</td></tr>",
      ),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
