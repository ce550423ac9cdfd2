/**
 * `kvbench compare` worth sharing, end to end through cli.ts against the
 * simulator: ratio columns in the terminal and the same table in the HTML,
 * a warning when the runs differ, and the default outputs beside the runs
 * (never in the current directory).
 */
import assert from "node:assert/strict";
import { runCli, startCli } from "./cli_process.ts";

/** Run cli.ts in the folder `cwd`. */
const runIn = (args: string[], cwd: string) => startCli(args, { cwd }).done();
import { startSimulator } from "../lib/sim/server.ts";
import { parseTables } from "../lib/testing/tables.ts";

const SMALL = [
  ...["--offload-size", "2", "--input-length", "2000", "--output-length", "8"],
  ...["--ignore-eos", "--duration", "120", "--seed", "1", "--num-prompts", "6"],
];

Deno.test("compare: ratio columns in the terminal and compare.html, a warning for unlike runs, outputs beside the runs", async () => {
  await using sim = await startSimulator({ timeScale: 0.05 });
  const root = await Deno.makeTempDir();
  const cwd = await Deno.makeTempDir();
  try {
    for (const [name, extra] of [["on", []], ["off", ["--interval", "1"]]]) {
      const run = await runCli([
        "benchmark",
        "--force",
        ...["--endpoint", sim.url, ...SMALL, ...extra],
        ...["--output-dir", `${root}/runs/${name}`],
      ]);
      assert.equal(run.code, 0, run.stderr);
    }
    const cmp = await runIn(
      ["compare", `${root}/runs/on`, `${root}/runs/off`],
      cwd,
    );
    assert.equal(cmp.code, 0, cmp.stderr);
    assert.equal(
      cmp.stderr,
      "[WARN] the runs differ in interval (on: default, off: 1): the comparison mixes unlike runs\n",
    );
    const table = parseTables(cmp.stdout)[0];
    assert.deepEqual(table.header, ["", "on", "off", "off / on"]);
    const completed = table.rows.find((r) => r[0] === "requests completed")!;
    assert.deepEqual(completed, ["requests completed", "6", "6", "1.00×"]);
    // Each ratio is the second run's figure over the first's, at full
    // precision (summary.json's mean TTFT of each run).
    const meanTtft = async (name: string) =>
      JSON.parse(await Deno.readTextFile(`${root}/runs/${name}/summary.json`))
        .distributions.ttft_ms.mean;
    const ttft = table.rows.find((r) => r[0] === "mean TTFT (s)")!;
    assert.equal(
      ttft[3],
      `${((await meanTtft("off")) / (await meanTtft("on"))).toFixed(2)}×`,
      ttft.join(" | "),
    );
    // Beside the runs, not in the current directory.
    const output = `${root}/runs/compare-on-vs-off.html`;
    assert.ok(
      cmp.stdout.endsWith(`[INFO] Report written to ${output}\n`),
      cmp.stdout,
    );
    assert.deepEqual(await Array.fromAsync(Deno.readDir(cwd)), []);
    // The same table in the HTML, with the warning.
    const html = await Deno.readTextFile(output);
    assert.ok(
      html.includes(
        "<tr><th></th><th>on</th><th>off</th><th>off / on</th></tr>",
      ),
    );
    for (const row of table.rows) {
      assert.ok(
        html.includes(
          `<tr><th>${row[0].replaceAll("'", "&#39;")}</th>${
            row.slice(1).map((c) => `<td>${c}</td>`).join("")
          }</tr>`,
        ),
        row.join(" | "),
      );
    }
    assert.ok(
      html.includes(
        '<p class="note warning">the runs differ in interval (on: default, off: 1): the comparison mixes unlike runs</p>',
      ),
    );
    // report of two runs: beside them too; of a records file: beside it.
    const report = await runIn([
      "report",
      `${root}/runs/on`,
      `${root}/runs/off`,
    ], cwd);
    assert.equal(report.code, 0, report.stderr);
    assert.match(
      report.stdout,
      new RegExp(`written to ${root}/runs/report-on-off.html\\n$`),
    );
    const one = await runIn(["report", `${root}/runs/on/records.jsonl`], cwd);
    assert.equal(one.code, 0, one.stderr);
    assert.match(
      one.stdout,
      new RegExp(`written to ${root}/runs/on/records.html\\n$`),
    );
    assert.deepEqual(await Array.fromAsync(Deno.readDir(cwd)), []);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(cwd, { recursive: true });
  }
});
