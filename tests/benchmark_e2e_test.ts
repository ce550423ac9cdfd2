/**
 * `kvbench benchmark` end to end: cli.ts in a subprocess against a scripted
 * OpenAI-compatible server on 127.0.0.1.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { runCli, startCli } from "./cli_process.ts";
import { startScriptedServer } from "../lib/testing/scripted_server.ts";
import { readRecordsFile } from "../lib/run/records_file.ts";

const QWEN = "Qwen/Qwen3-30B-A3B-Instruct-2507";

Deno.test("benchmark: start-up lines, tile order, in-flight cap, stream flags; SIGTERM gives the final block and exit 0", async () => {
  const server = startScriptedServer({
    models: [QWEN, "other"],
    script: () => ({
      firstTokenMs: 30,
      gapMs: 2,
      tokens: Array(10).fill("x"),
      usage: {
        prompt_tokens: 32007,
        completion_tokens: 10,
        cached_tokens: 16000,
      },
    }),
  });
  const dir = await Deno.makeTempDir();
  try {
    const p = startCli([
      "benchmark",
      "--endpoint",
      server.origin,
      "--force", // the scripted server's GPU KV holds the working set
      "--context-salt", // tmesh-cli's texts exactly (the prompt shape below)
      "none",
      "--api-key",
      "sk-1234567890abcdef",
      "--interval",
      "1",
      "--seed",
      "5",
      "--records",
      `${dir}/records.jsonl`,
      "--output",
      `${dir}/summary.json`,
    ]);
    await p.waitFor(/Elapsed Time: [\s\S]*Elapsed Time: /);
    p.kill("SIGTERM");
    const { code, stdout, stderr } = await p.done();
    strictEqual(code, 0, stderr);
    const head = [
      `endpoint: ${server.origin}`,
      "api_key: sk-1…cdef",
      `normalized endpoint: ${server.origin}/v1/`,
      `found model: ${QWEN}`,
      "offload_size: 100",
      "",
      "",
      "",
      "NOTE: kvbench benchmark will run forever until you interrupt the process.",
      "",
      "",
      "Workload Specifications:",
      `Model: ${QWEN}`,
      "Number of Contexts: 30",
      "Number of Questions per Context: 30",
      "Max Inflight Requests (Load-Balancing): 10",
      "Input Length: 32000",
      "Output Length: 100",
      "",
      "Elapsed Time: ",
    ].join("\n");
    ok(stdout.startsWith(head), stdout.slice(0, 800));
    ok(
      !stdout.includes("sk-1234567890abcdef"),
      "the key is never printed in clear",
    );
    // The block's 12 labels in order, then kvbench's extra lines.
    const block = stdout.slice(head.length - "Elapsed Time: ".length).split(
      "\n\n",
    )[0].split("\n");
    deepStrictEqual(block.map((l) => l.split(":")[0]), [
      "Elapsed Time",
      "Total Number of Requests Processed",
      "QPS",
      "Global Average TTFT",
      "Global Average ITL",
      "Global Average Prefill Throughput",
      "Global Average Decode Throughput",
      "Requests Processed in Last 1 second Interval",
      "Interval Average TTFT",
      "Interval Average ITL",
      "Interval Average Prefill Throughput",
      "Interval Average Decode Throughput",
      "Failed Requests",
      "Global Cache Hit Rate",
      "Interval Cache Hit Rate",
    ]);
    ok(/Global Cache Hit Rate: 49\.99%/.test(stdout), "16000 / 32007");
    const tail = stdout.slice(
      stdout.indexOf("\n[INFO] Received termination signal"),
    );
    ok(
      /^\n\[INFO\] Received termination signal\. Stopping benchmark\.\.\.\n\n\[INFO\] Cancelled benchmark tasks\.\n\nFinal metrics:\nElapsed Time: [\d.]+\nTotal Number of Requests Processed: \d+\n[\s\S]*\[INFO\] Benchmark stopped gracefully\.\n$/
        .test(tail),
      tail,
    );

    // What the server received.
    const posts = server.received.filter((r) => r.method === "POST");
    ok(posts.length > 20);
    ok(
      server.maxConcurrent() <= 10,
      `max concurrent ${server.maxConcurrent()}`,
    );
    strictEqual(server.maxConcurrent(), 10);
    // SIGTERM can cut a request while its body is still being written: the
    // server saw its headers only (no body); the client recorded it aborted.
    const whole = posts.filter((r) => r.body !== undefined);
    const perContext = new Array(30).fill(0);
    whole.forEach((r, i) => {
      const body = r.body!;
      strictEqual(r.path, "/v1/completions");
      strictEqual(r.headers.get("authorization"), "Bearer sk-1234567890abcdef");
      strictEqual(body.model, QWEN);
      strictEqual(body.stream, true);
      deepStrictEqual(body.stream_options, { include_usage: true });
      strictEqual(body.max_tokens, 100);
      const m = /^(\d+)((?:hi){32000})(\d+)tell me a long story$/.exec(
        body.prompt as string,
      );
      ok(m, `prompt shape of request ${i}`);
      perContext[Number(m![1])]++;
      ok(Number(m![3]) < 30);
    });
    // Tile order: contexts sent round-robin, so their counts differ by at most one.
    ok(Math.max(...perContext) - Math.min(...perContext) <= 1, `${perContext}`);

    // Records: one per finished request, success or not (the file also
    // marks each report block and ends with the run's line).
    const { records: lines, run } = await readRecordsFile(
      `${dir}/records.jsonl`,
    );
    // Every request the server answered has its record; a request SIGTERM
    // cut before the server read it whole has its record (aborted) too.
    const aborted = lines.filter((r) => r.error?.kind === "aborted").length;
    ok(
      lines.length - aborted <= whole.length && posts.length <= lines.length,
      `${lines.length} records (${aborted} aborted), ${posts.length} POSTs (${whole.length} whole)`,
    );
    ok(posts.length - whole.length <= aborted);
    strictEqual(run?.stopReason, "signal");
    lines.forEach((r) =>
      strictEqual(
        r.tags?.context,
        r.session % 30,
        "session i uses context i mod 30",
      )
    );
    const done = lines.filter((r) => r.ok);
    ok(
      done.every((r) =>
        r.promptTokens === 32007 && r.cachedTokens === 16000 && r.chunks === 10
      ),
    );
    const summary = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`));
    strictEqual(summary.requests.completed, done.length);
    strictEqual(summary.stop_reason, "signal");
    strictEqual(summary.params.seed, 5);
    strictEqual(JSON.stringify(summary).includes("sk-1234567890abcdef"), false);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("benchmark: --duration stops by itself; failures are counted once per kind and the run goes on", async () => {
  const server = startScriptedServer({
    models: [QWEN],
    script: (_b, i) =>
      i % 3 === 1
        ? { status: 500, message: "engine overloaded" }
        : { firstTokenMs: 20 },
  });
  try {
    const { code, stdout, stderr } = await runCli([
      "benchmark",
      "--endpoint",
      `${server.origin}/v1/completions`,
      "--duration",
      "1.5",
      "--interval",
      "1",
    ]);
    strictEqual(code, 0, stderr);
    ok(stdout.includes("api_key: (none)"));
    ok(
      stdout.includes(
        "[INFO] Duration of 1.5 s reached. Stopping benchmark...",
      ),
    );
    const warnings = stderr.split("\n").filter((l) =>
      l.startsWith("[WARN] request failed (http)")
    );
    strictEqual(warnings.length, 1, stderr);
    ok(warnings[0].includes("HTTP 500: engine overloaded"));
    const failed = Number(
      /Final metrics:[\s\S]*Failed Requests: (\d+)/.exec(stdout)![1],
    );
    ok(failed > 3, stdout);
    const completed = Number(
      /Final metrics:\nElapsed Time: [\d.]+\nTotal Number of Requests Processed: (\d+)/
        .exec(stdout)![1],
    );
    ok(completed > failed, "the run went on after failures");
  } finally {
    await server.close();
  }
});

Deno.test("benchmark: a run where every request failed says so and exits 1", async () => {
  const server = startScriptedServer({
    models: [QWEN],
    script: () => ({ status: 500, message: "engine down" }),
  });
  try {
    const { code, stdout, stderr } = await runCli([
      "benchmark",
      "--endpoint",
      server.origin,
      "--num-prompts",
      "5",
      "--no-metrics",
    ]);
    strictEqual(code, 1, stderr);
    ok(
      stdout.includes(
        "NOTE: kvbench benchmark will send 5 requests (or until you interrupt the process).\n",
      ),
      stdout,
    );
    ok(stdout.includes("Failed Requests: 5 (5 in interval)\n"), stdout);
    ok(
      stderr.endsWith(
        "[ERROR] every request failed (5): nothing was measured\n",
      ),
      stderr,
    );
  } finally {
    await server.close();
  }
});

Deno.test("benchmark: unreachable endpoint gives tmesh-cli's three-line error and exit 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const { code, stdout, stderr } = await runCli([
    "benchmark",
    "--endpoint",
    `localhost:${port}`,
    "--api-key",
    "k",
  ]);
  strictEqual(code, 1);
  ok(stdout.includes(`normalized endpoint: http://localhost:${port}/v1/`));
  strictEqual(
    stderr,
    `\n[ERROR] Could not connect to endpoint: http://localhost:${port}/v1/\n` +
      "Make sure a model server is running and accessible.\n" +
      `Try: curl http://localhost:${port}/v1/models\n`,
  );
});

Deno.test("benchmark: an unknown model lists the known ones (exit 1); --offload-size and --bytes-per-token size it anyway", async () => {
  const server = startScriptedServer({
    models: ["my/model"],
    script: () => ({ firstTokenMs: 5 }),
  });
  try {
    const bad = await runCli(["benchmark", "--endpoint", server.origin]);
    strictEqual(bad.code, 1);
    ok(
      bad.stderr.startsWith(
        "\n[ERROR] model my/model not found in model_configs.json\nKnown models:\n  openai/gpt-oss-120b\n",
      ),
      bad.stderr,
    );
    ok(bad.stderr.includes("--offload-size GB --bytes-per-token N"));
    const sized = (bytesPerToken: string, inputLength: string) =>
      runCli([
        ...["benchmark", "--endpoint", server.origin, "--offload-size", "10"],
        ...["--bytes-per-token", bytesPerToken, "--input-length", inputLength],
        ...["--duration", "0.5"],
      ]);
    const good = await sized("98304", "1000");
    strictEqual(good.code, 0, good.stderr);
    // floor(0.9 × 10 / (98304 × 1000 / 2^30)) = floor(98.30) = 98 contexts, 32 in flight
    ok(good.stdout.includes("Number of Contexts: 98\n"), good.stdout);
    ok(good.stdout.includes("Max Inflight Requests (Load-Balancing): 32\n"));
    ok(good.stdout.includes("Input Length: 1000\n"));
    // A 1-token context: 0.9 × 10 GiB / 98,304 B = 98,304 contexts is fine,
    // but 1,024 B/token makes 9,437,184 of them: refused before any request.
    const sentBefore = server.received.length;
    const tiny = await sized("1024", "1");
    strictEqual(tiny.code, 1);
    strictEqual(
      tiny.stderr,
      "\n[ERROR] Cannot size the workload: 9437184 contexts of 1 tokens (more than 100000, with 3145728 requests in flight) would fill 0.9 × 10 GiB: give a longer input length or a smaller offload size\n",
    );
    strictEqual(
      server.received.slice(sentBefore).filter((r) => r.method === "POST")
        .length,
      0,
    );
  } finally {
    await server.close();
  }
});

Deno.test("benchmark: a refused key (401) says so, exit 1", async () => {
  const server = startScriptedServer({ modelsStatus: 401 });
  try {
    const { code, stderr } = await runCli([
      "benchmark",
      "--endpoint",
      server.origin,
      "--api-key",
      "wrong",
    ]);
    strictEqual(code, 1);
    strictEqual(
      stderr,
      "\n[ERROR] The server refused the API key (HTTP 401: models refused): check --api-key (or $OPENAI_API_KEY)\n",
    );
  } finally {
    await server.close();
  }
});

Deno.test("benchmark: usage errors print the synopsis and the error, exit 2; --help exits 0", async () => {
  const missing = await runCli(["benchmark"]);
  strictEqual(missing.code, 2);
  // As argparse: the synopsis line, then the error; the options are in --help.
  strictEqual(
    missing.stderr,
    "usage: kvbench benchmark --endpoint URL [--api-key KEY] [--model NAME] [options]\n" +
      "kvbench benchmark: error: the following arguments are required: --endpoint\n",
  );
  const unknown = await runCli(["benchmark", "--endpoint", "x", "--bogus"]);
  strictEqual(unknown.code, 2);
  ok(
    unknown.stderr.includes("error: Unknown option '--bogus'"),
    unknown.stderr,
  );
  const badUrl = await runCli(["benchmark", "--endpoint", "ftp://x"]);
  strictEqual(badUrl.code, 2);
  ok(
    badUrl.stderr.includes(
      `Cannot use endpoint "ftp://x": scheme "ftp" is not http or https`,
    ),
  );
  const badNumber = await runCli([
    "benchmark",
    "--endpoint",
    "x",
    "--duration",
    "soon",
  ]);
  strictEqual(badNumber.code, 2);
  ok(badNumber.stderr.includes(`--duration: invalid value "soon"`));
  const overSplit = await runCli([
    "benchmark",
    "--endpoint",
    "x",
    "--workers",
    "3",
    "--max-inflight",
    "2",
  ]);
  strictEqual(overSplit.code, 2);
  ok(
    overSplit.stderr.endsWith(
      "kvbench benchmark: error: --max-inflight 2 cannot be split over 3 processes: each needs at least 1 request in flight\n",
    ),
    overSplit.stderr,
  );
  // A file it could only fail to write after the run is refused before it.
  for (
    const [flag, path, why] of [
      ["--output", "/nonexistent/s.json", 'there is no folder "/nonexistent"'],
      ["--records", "runs/", "it names a folder, not a file"],
      ["--metrics-out", "/tmp", "it is a directory"],
    ]
  ) {
    const bad = await runCli(["benchmark", "--endpoint", "x", flag, path]);
    strictEqual(bad.code, 1);
    strictEqual(
      bad.stderr,
      `kvbench benchmark: error: Cannot write ${flag} "${path}": ${why}\n`,
    );
  }
  // Past 2^31 − 1 ms a timer fires at once: refused, not a 1 ms timeout.
  for (const flag of ["--timeout", "--duration", "--interval"]) {
    const tooLong = await runCli(["benchmark", "--endpoint", "x", flag, "1e7"]);
    strictEqual(tooLong.code, 2);
    ok(
      tooLong.stderr.endsWith(
        `kvbench benchmark: error: ${flag}: 1e7 s is longer than a timer can wait (at most 2147483.647 s, 24.8 days)\n`,
      ),
      tooLong.stderr,
    );
  }
  const help = await runCli(["benchmark", "--help"]);
  strictEqual(help.code, 0);
  ok(help.stdout.includes("--offload-size GB"));
  const top = await runCli([]);
  strictEqual(top.code, 0);
  ok(top.stdout.includes("benchmark"));
});
