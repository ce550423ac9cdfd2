/**
 * `kvbench sim` end to end, and both workloads through cli.ts surviving each
 * fault the simulator injects: failures counted, the run goes on, the
 * summary is printed.
 */
import { ok, strictEqual } from "node:assert/strict";
import type { FaultOptions } from "../lib/sim/faults.ts";
import { startSimulator } from "../lib/sim/server.ts";
import { readRecordsFile } from "../lib/run/records_file.ts";
import { runCli, startCli } from "./cli_process.ts";
import { qwen3TokenizerDir } from "../lib/testing/tokenizers.ts";

const TRACES =
  new URL("./testdata/traces_small.jsonl", import.meta.url).pathname;

Deno.test("kvbench sim: prints its URL, serves, counts, and stops on SIGTERM", async () => {
  const p = startCli([
    "sim",
    "--port",
    "0",
    "--model",
    "openai/gpt-oss-20b",
    "--gpu-kv-tokens",
    "4096",
    "--seed",
    "3",
  ]);
  const [, url] = await p.waitFor(
    /at (http:\/\/127\.0\.0\.1:\d+\/v1\/) \(/,
    10_000,
  );
  ok(
    p.stdout().startsWith(
      "kvbench sim: serving openai/gpt-oss-20b at " + url +
        " (GPU KV 4,096 tokens, offload 2,184,528 tokens, approximate token counts)",
    ),
    p.stdout(),
  );
  const models = await (await fetch(url + "models")).json();
  strictEqual(models.data[0].id, "openai/gpt-oss-20b");
  const answer = await (await fetch(url + "completions", {
    method: "POST",
    body: JSON.stringify({
      prompt: [1, 2, 3],
      max_tokens: 2,
      ignore_eos: true,
    }),
  })).json();
  strictEqual(answer.usage.completion_tokens, 2);
  p.kill("SIGTERM");
  const { code, stderr } = await p.done();
  strictEqual(code, 0, stderr);
  strictEqual(stderr, "");
});

Deno.test("kvbench sim: out of file descriptors, it warns and serves on (it does not crash)", async () => {
  const p = startCli(["sim", "--port", "0"], { fileLimit: 64 });
  const [, url] = await p.waitFor(/at (http:\/\/127\.0\.0\.1:\d+\/v1\/) \(/);
  const { port } = new URL(url);
  // More connections than the process may open files: accepting fails.
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < 100; i++) {
    try {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port: +port }));
    } catch {
      break; // refused or reset while the simulator had no free descriptor
    }
  }
  for (let i = 0; i < 200 && !p.stderr().includes("Too many open files"); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const conn of conns) conn.close();
  // It listens again on the same port and answers.
  let status = 0;
  for (let i = 0; i < 100 && status !== 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    status = await fetch(url.replace("/v1/", "/health"))
      .then(async (r) => (await r.body?.cancel(), r.status), () => 0);
  }
  strictEqual(status, 200);
  p.kill("SIGTERM");
  const { code, stderr } = await p.done();
  strictEqual(code, 0, stderr);
  ok(
    stderr.startsWith(
      "[WARN] kvbench sim: cannot accept connections (Error: Too many open files (os error 24)): listening again in 100 ms; raise the open-file limit (ulimit -n) for this many clients\n",
    ),
    stderr,
  );
  ok(!stderr.includes("Uncaught"), stderr);
});

Deno.test("kvbench sim: bad options exit 2 with one line", async () => {
  for (
    const [args, message] of [
      [["--port", "x"], 'kvbench sim: error: --port: invalid value "x"'],
      [
        ["--cut-rate", "1.5"],
        'kvbench sim: error: --cut-rate: invalid value "1.5"',
      ],
      [
        ["--gpu-kv-gb", "1", "--gpu-kv-tokens", "10"],
        "kvbench sim: error: give --gpu-kv-gb or --gpu-kv-tokens, not both",
      ],
    ] as const
  ) {
    const { code, stderr } = await runCli(["sim", ...args]);
    strictEqual(code, 2);
    ok(stderr.trimEnd().endsWith(message), stderr);
  }
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const { port } = taken.addr as Deno.NetAddr;
    const inUse = await runCli(["sim", "--port", String(port)]);
    strictEqual(inUse.code, 1);
    strictEqual(
      inUse.stderr,
      `kvbench sim: error: Cannot listen on 127.0.0.1:${port}: the address is in use (is another server running there?)\n`,
    );
  } finally {
    taken.close();
  }
  const help = await runCli(["sim", "--help"]);
  strictEqual(help.code, 0);
  ok(help.stdout.includes("--offload-gb GB"));
});

/** Failing fault kinds and the error kinds a client records for each. */
const FAILING: [string, FaultOptions, string[]][] = [
  ["500", { errorRate500: 0.3 }, ["http"]],
  ["429", { errorRate429: 0.3, retryAfterS: 0 }, ["http"]],
  ["cut", { cutRate: 0.3 }, ["stream_cut"]],
  ["malformed", { malformedRate: 0.3 }, ["malformed"]],
];

Deno.test("kvbench benchmark survives every fault kind: failures counted, run goes on, summary printed", async () => {
  const cases: [string, FaultOptions, string[] | undefined][] = [
    ...FAILING,
    [
      "stall + jitter",
      { stallMs: 200, stallRate: 0.5, jitterMs: 50 },
      undefined,
    ],
  ];
  const dir = await Deno.makeTempDir();
  await Promise.all(cases.map(async ([name, faults, kinds], i) => {
    await using sim = await startSimulator({
      timeScale: 0.01,
      seed: i,
      faults,
    });
    const records = `${dir}/${i}.jsonl`;
    const { code, stdout, stderr } = await runCli([
      "benchmark",
      "--endpoint",
      sim.url,
      // A fixed number of requests, not a duration: the seeded faults then
      // fall on the same requests however fast the machine is.
      "--num-prompts",
      "40",
      "--duration",
      "120",
      "--interval",
      "1",
      "--records",
      records,
    ]);
    strictEqual(code, 0, `${name}: ${stderr}`);
    const final = stdout.slice(stdout.indexOf("Final metrics:"));
    ok(
      final.includes("Total Number of Requests Processed:"),
      `${name}: ${stdout}`,
    );
    ok(stdout.includes("[INFO] Benchmark stopped gracefully."), name);
    const { records: rows } = await readRecordsFile(records);
    const failed = rows.filter((r) => !r.ok && r.error?.kind !== "aborted");
    const processed = rows.filter((r) => r.ok).length;
    ok(processed > 10, `${name}: ${processed} requests succeeded`);
    strictEqual(processed + failed.length, 40, `${name}: --num-prompts 40`);
    ok(
      final.includes(`Total Number of Requests Processed: ${processed}\n`),
      `${name}: ${final}`,
    );
    ok(
      final.includes(`Failed Requests: ${failed.length} (`),
      `${name}: ${final}`,
    );
    if (kinds === undefined) {
      strictEqual(failed.length, 0, name);
      ok(sim.stats().faults.stall > 0, name);
    } else {
      ok(failed.length > 0, `${name}: no failure`);
      const other = failed.find((r) => !kinds.includes(r.error!.kind));
      ok(other === undefined, `${name}: ${JSON.stringify(other)}`);
      const main = failed.filter((r) => r.error!.kind === kinds[0]).length;
      ok(
        main * 2 > failed.length,
        `${name}: ${main} of ${failed.length} are ${kinds[0]}`,
      );
    }
  }));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("kvbench trie survives every fault kind: failed traces counted, tables printed", async () => {
  const tok = await qwen3TokenizerDir();
  try {
    await Promise.all(FAILING.map(async ([name, faults], i) => {
      await using sim = await startSimulator({
        timeScale: 0.01,
        seed: 10 + i,
        faults,
      });
      const { code, stdout, stderr } = await runCli([
        "trie",
        `workload_path=${TRACES}`,
        `endpoint=${sim.url}`,
        `model=${sim.model}`,
        `tokenizer_model=${tok}`,
        "concurrency=4",
        "max_traces=30",
        "duration=120",
        "max_retries=0",
        "stream=True",
      ]);
      strictEqual(code, 0, `${name}: ${stderr}`);
      const failed = Number(/ failed_requests=(\d+) /.exec(stdout)?.[1]);
      const completed = Number(/ completed_requests=(\d+) /.exec(stdout)?.[1]);
      ok(failed > 0, `${name}: ${stdout.split("\n")[1]}`);
      ok(completed > 0, `${name}: ${stdout.split("\n")[1]}`);
      ok(stdout.includes("Per-trace metrics"), name);
      ok(stdout.includes("Workload metrics"), name);
    }));
  } finally {
    await Deno.remove(tok, { recursive: true });
  }
});
