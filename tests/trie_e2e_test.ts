/**
 * `kvbench trie` end to end: cli.ts in a subprocess against a scripted
 * server, with the real Qwen3 tokenizer in a folder.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { runCli, startCli } from "./cli_process.ts";
import { qwen3TokenizerDir } from "../lib/testing/tokenizers.ts";
import { startScriptedServer } from "../lib/testing/scripted_server.ts";
import { parseTables } from "../lib/testing/tables.ts";
import { readRecordsFile } from "../lib/run/records_file.ts";

const TRACES =
  new URL("./testdata/traces_small.jsonl", import.meta.url).pathname;

function usageScript(b: Record<string, unknown>) {
  return {
    firstTokenMs: 10,
    // A token a millisecond: a decode window to measure (tokens written
    // back to back arrive as one burst, which has no decode rate).
    gapMs: 1,
    usage: {
      prompt_tokens: 100,
      completion_tokens: Number(b.max_tokens),
      cached_tokens: 40,
    },
  };
}

Deno.test("trie: a streamed run prints the log lines and both tables; output_json and records hold the figures", async () => {
  const server = startScriptedServer({ models: ["m"], script: usageScript });
  const tok = await qwen3TokenizerDir();
  const dir = await Deno.makeTempDir();
  try {
    const { code, stdout, stderr } = await runCli([
      "trie",
      `workload_path=${TRACES}`,
      `endpoint=${server.origin}/v1`,
      "model=m",
      `tokenizer_model=${tok}`,
      "concurrency=2",
      "duration=2",
      "stream=True",
      "num_gpus=4",
      "api_key=sk-secret-key-123456",
      `output_json=${dir}/summary.json`,
      `records=${dir}/records.jsonl`,
    ]);
    strictEqual(code, 0, stderr);
    const lines = stdout.split("\n");
    strictEqual(
      lines[0],
      "[info     ] starting benchmark             concurrency=2 duration=2.0 model=m num_gpus=4 workload_templates=3",
    );
    ok(
      lines[1].startsWith(
        "[info     ] benchmark complete             cache_hit_rate_pct_max=40.0 ",
      ),
      lines[1],
    );
    ok(/ failed_requests=0 /.test(lines[1]));
    ok(
      / eligible_cache_hit_rate_pct_max=50\.847457627118644 /.test(lines[1]),
      "120 / 236",
    );
    ok(
      / eligible_cache_hit_rate_pct_min=0\.0 /.test(lines[1]),
      "the zero-turn trace has nothing eligible",
    );
    strictEqual(lines[2], "");
    // The tables, compared by cells (their widths follow the figures).
    const [perTrace, workload] = parseTables(stdout);
    deepStrictEqual(perTrace.title, ["Per-trace metrics"]);
    deepStrictEqual(perTrace.header, [
      "Metric",
      "Latency (s)",
      "TTFT (s)",
      "TTFAT (s)",
      "Decode TPS (tok/s)",
      "Cache hit rate (%)",
      "Eligible cache hit rate (%)",
    ]);
    deepStrictEqual(perTrace.rows.map((r) => r[0]), [
      "mean",
      "min",
      "p50",
      "p90",
      "p95",
      "p99",
      "max",
    ]);
    const max = perTrace.rows[6];
    ok(max.slice(1, 5).every((cell) => /^\d+\.\d+$/.test(cell)), `${max}`);
    deepStrictEqual(max.slice(5), ["40.0", "50.8"]); // 40 / 100; 120 / 236
    strictEqual(workload.title[0], "Workload metrics");
    ok(
      /^completed=(\d+)\/\1 {2}trace\/s=[\d.]+$/.test(workload.title[1]),
      workload.title[1],
    );
    deepStrictEqual(workload.header, [
      "Metric",
      "Overall",
      "Last 30s Window",
      "Steady State",
      "Steady State / GPU",
    ]);
    deepStrictEqual(workload.rows.map((r) => r[0]), [
      "total prompt tok/s",
      "cached prompt tok/s",
      "uncached prompt tok/s",
      "completion tok/s",
    ]);
    const summary = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`));
    strictEqual(summary.per_trace.cache_hit_rate_pct.mean, 40);
    strictEqual(summary.params.concurrency, 2);
    ok(
      !JSON.stringify(summary).includes("sk-secret"),
      "no API key in the summary",
    );
    const { records } = await readRecordsFile(`${dir}/records.jsonl`);
    // completed_requests counts traces: those whose final request (turn =
    // num_turns of its row; rows cycle 0, 1, 2 by session) succeeded.
    const turns = [2, 0, 3];
    const completedTraces = new Set(
      records.filter((r) => r.ok && r.turn === turns[r.session % 3])
        .map((r) => r.session),
    );
    strictEqual(completedTraces.size, summary.completed_requests);
    strictEqual(
      server.received[1].headers.get("authorization"),
      "Bearer sk-secret-key-123456",
    );
  } finally {
    await server.close();
    await Deno.remove(tok, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trie: SIGTERM prints the summary of the partial run and exits 0", async () => {
  const server = startScriptedServer({ models: ["m"], script: usageScript });
  const tok = await qwen3TokenizerDir();
  try {
    const p = startCli([
      "trie",
      `workload_path=${TRACES}`,
      `endpoint=${server.origin}/v1`,
      "model=m",
      `tokenizer_model=${tok}`,
      "concurrency=2",
      "duration=60",
      "stream=True",
      "duration_update_interval=0.5",
    ]);
    await p.waitFor(/progress elapsed=00:01\/01:00 completed=\d+/);
    p.kill("SIGTERM");
    const { code, stdout } = await p.done();
    strictEqual(code, 0);
    ok(stdout.includes("[warning  ] benchmark interrupted\n"), stdout);
    ok(stdout.includes("Per-trace metrics"));
    const wall = Number(/wall_time_s=([\d.]+)/.exec(stdout)![1]);
    ok(
      wall >= 1 && wall < 60,
      `wall ${wall}: stopped by SIGTERM, not by the 60 s duration`,
    );
  } finally {
    await server.close();
    await Deno.remove(tok, { recursive: true });
  }
});

Deno.test("trie: when every trace fails, 20 warnings then one line, the tables, and exit 1", async () => {
  const server = startScriptedServer({
    models: ["m"],
    script: () => ({ status: 500, message: "engine down" }),
  });
  const tok = await qwen3TokenizerDir();
  const dir = await Deno.makeTempDir();
  try {
    // 30 traces, each failing at its first request (no retries).
    const line = (await Deno.readTextFile(TRACES)).split("\n")[0];
    await Deno.writeTextFile(
      `${dir}/t.jsonl`,
      (line + "\n").repeat(30),
    );
    const { code, stdout, stderr } = await runCli([
      "trie",
      `workload_path=${dir}/t.jsonl`,
      `endpoint=${server.origin}/v1`,
      "model=m",
      `tokenizer_model=${tok}`,
      "concurrency=2",
      "max_retries=0",
      "max_traces=30",
      "metrics=False",
    ]);
    strictEqual(code, 1, stderr);
    const lines = stderr.trimEnd().split("\n");
    strictEqual(
      lines.filter((l) => l.startsWith("[warning  ] request failed")).length,
      20,
      stderr,
    );
    strictEqual(
      lines[20],
      "[warning  ] more requests failed: not printed; failed_requests counts them all",
    );
    strictEqual(
      lines.at(-1),
      "[error    ] every trace failed (30): nothing was measured; exit 1",
    );
    ok(stdout.includes("failed_requests=30"), stdout);
  } finally {
    await server.close();
    await Deno.remove(tok, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trie: an alias is downloaded once into TRIE_DATASET_CACHE via HF_ENDPOINT, then reused", async () => {
  const traces = await Deno.readTextFile(TRACES);
  let downloads = 0;
  let auth = "";
  const hub = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      if (
        new URL(req.url).pathname !==
          "/datasets/lightseekorg/trie-dataset/resolve/main/code_qa_8k.jsonl"
      ) {
        return new Response("not found", { status: 404 });
      }
      downloads++;
      auth = req.headers.get("authorization") ?? "";
      return new Response(traces);
    },
  );
  const server = startScriptedServer({ models: ["m"], script: usageScript });
  const tok = await qwen3TokenizerDir();
  const cache = await Deno.makeTempDir();
  const args = [
    "trie",
    "workload_path=qa",
    `endpoint=${server.origin}/v1`,
    "model=m",
    `tokenizer_model=${tok}`,
    "concurrency=1",
    "duration=0.5",
  ];
  try {
    const env = {
      HF_ENDPOINT: `http://127.0.0.1:${hub.addr.port}`,
      TRIE_DATASET_CACHE: cache,
      HF_TOKEN: "hf_x",
    };
    const first = await runCli(args, { env });
    strictEqual(first.code, 0, first.stderr);
    ok(first.stdout.includes("workload_templates=3"));
    strictEqual(await Deno.readTextFile(`${cache}/code_qa_8k.jsonl`), traces);
    strictEqual(auth, "Bearer hf_x");
    await hub.shutdown();
    const second = await runCli(args, { env });
    strictEqual(second.code, 0, second.stderr);
    strictEqual(downloads, 1);
  } finally {
    await hub.shutdown().catch(() => {});
    await server.close();
    await Deno.remove(tok, { recursive: true });
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("trie: bad arguments exit 2 with one line; bad rows and missing tokenizers exit 1", async () => {
  const trieArgs = (...args: string[]) =>
    runCli(["trie", "workload_path=x", "endpoint=h", "model=m", ...args]);
  const unknown = await trieArgs("concurency=2");
  strictEqual(unknown.code, 2);
  ok(
    unknown.stderr.endsWith(
      `kvbench trie: error: Unknown argument "concurency"; did you mean "concurrency"?\n`,
    ),
  );
  const both = await trieArgs("concurrency=2", "arrival_rate=1");
  strictEqual(both.code, 2);
  ok(
    both.stderr.endsWith(
      "error: specify exactly one of concurrency or arrival_rate\n",
    ),
  );
  const badBool = await trieArgs("concurrency=2", "stream=yes");
  strictEqual(badBool.code, 2);
  const tooLong = await trieArgs("concurrency=2", "timeout=1e7");
  const overSplit = await trieArgs("concurrency=4,2", "workers=3");
  strictEqual(overSplit.code, 2);
  ok(
    overSplit.stderr.endsWith(
      "kvbench trie: error: concurrency=2 cannot be split over 3 processes: each needs at least 1 trace in flight\n",
    ),
    overSplit.stderr,
  );
  const badHeader = await trieArgs("concurrency=2", 'headers={"X Team":"kv"}');
  strictEqual(badHeader.code, 2);
  ok(
    badHeader.stderr.endsWith(
      'kvbench trie: error: headers: "X Team" is not a header name\n',
    ),
    badHeader.stderr,
  );
  const noFolder = await trieArgs(
    "concurrency=2",
    "output_json=/nonexistent/o.json",
  );
  strictEqual(noFolder.code, 1);
  strictEqual(
    noFolder.stderr,
    'kvbench trie: error: Cannot write output_json "/nonexistent/o.json": there is no folder "/nonexistent"\n',
  );
  strictEqual(tooLong.code, 2);
  ok(
    tooLong.stderr.endsWith(
      "kvbench trie: error: timeout must be at most 2147483.647 seconds (24.8 days): a longer wait would fire at once\n",
    ),
    tooLong.stderr,
  );
  const help = await runCli(["trie", "--help"]);
  strictEqual(help.code, 0);
  ok(
    /^arrival_rate +float \| None +None +new traces per second/m.test(
      help.stdout,
    ),
    help.stdout,
  );

  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.jsonl`, '{"num_turns": 0}\n');
    const bad = await runCli([
      "trie",
      `workload_path=${dir}/bad.jsonl`,
      "endpoint=h",
      "model=m",
      "concurrency=1",
    ]);
    strictEqual(bad.code, 1);
    strictEqual(
      bad.stderr,
      `kvbench trie: error: Cannot load workload "${dir}/bad.jsonl": line 1: input_prompt_length must be a non-negative integer\n`,
    );
    const noTok = await runCli(
      [
        "trie",
        `workload_path=${TRACES}`,
        "endpoint=h",
        "model=org/unknown-model",
        "concurrency=1",
      ],
      { env: { HF_HUB_OFFLINE: "1", HF_HOME: dir } },
    );
    strictEqual(noTok.code, 1);
    ok(
      noTok.stderr.includes(`Cannot load tokenizer "org/unknown-model"`),
      noTok.stderr,
    );
    ok(noTok.stderr.includes("tokenizer.json and tokenizer_config.json"));
    strictEqual(noTok.stderr.split("\n").length, 2, "one line");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
