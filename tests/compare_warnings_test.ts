/**
 * `kvbench compare`'s warnings end to end through cli.ts: runs that differ
 * in their working set (contexts, offload size), duration, max in-flight or
 * request rate are said to mix unlike runs; an A/B that differs only in the
 * server (offload tier on, then off) gets no warning.
 */
import assert from "node:assert/strict";
import { runCli } from "./cli_process.ts";
import { startSimulator } from "../lib/sim/server.ts";

const SMALL = [
  ...["--input-length", "2000", "--output-length", "8", "--ignore-eos"],
  ...["--seed", "1", "--num-prompts", "6", "--force"],
];

Deno.test("compare: a warning per way the load differs; none for an A/B of two servers", async () => {
  await using on = await startSimulator({ timeScale: 0.05 });
  await using off = await startSimulator({ timeScale: 0.05, offloadTokens: 0 });
  const root = await Deno.makeTempDir();
  try {
    const bench = async (name: string, url: string, extra: string[]) => {
      const run = await runCli([
        "benchmark",
        ...["--endpoint", url, ...SMALL, ...extra],
        ...["--output-dir", `${root}/${name}`],
      ]);
      assert.equal(run.code, 0, run.stderr);
      return run.stdout;
    };
    const same = ["--offload-size", "2", "--duration", "120"];
    // 2000 tokens × 98,304 B = 0.1831 GiB a context: 0.9 × 2 GiB / 0.1831 =
    // 9.8 → 9 contexts, 3 in flight; 0.9 × 3 / 0.1831 = 14.7 → 14.
    assert.match(await bench("on", on.url, same), /Number of Contexts: 9\n/);
    await bench("off", off.url, same);
    assert.match(
      await bench("other", on.url, [
        ...["--offload-size", "3GiB", "--duration", "1m"],
        ...["--max-inflight", "1", "--request-rate", "50"],
      ]),
      /Number of Contexts: 14\n/,
    );
    const ab = await runCli(["compare", `${root}/on`, `${root}/off`]);
    assert.equal(ab.code, 0, ab.stderr);
    assert.equal(ab.stderr, "");
    const unlike = await runCli(["compare", `${root}/on`, `${root}/other`]);
    assert.equal(unlike.code, 0, unlike.stderr);
    const mixes = ": the comparison mixes unlike runs";
    assert.equal(
      unlike.stderr,
      [
        "contexts (on: 9, other: 14)",
        "offload size (on: 2 GiB, other: 3 GiB)",
        "duration (on: 120 s, other: 60 s)",
        "max in-flight (on: 3, other: 1)",
        "request rate (on: closed loop, other: 50 req/s)",
      ].map((w) => `[WARN] the runs differ in ${w}${mixes}\n`).join(""),
    );
    const html = await Deno.readTextFile(`${root}/compare-on-vs-other.html`);
    assert.ok(
      html.includes(
        `<p class="note warning">the runs differ in max in-flight (on: 3, other: 1)${mixes}</p>`,
      ),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
