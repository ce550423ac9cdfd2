/**
 * Replaying the public KV-cache trace formats against the simulator: every
 * request token-exact in length, blocks shared exactly as the hash ids say,
 * sent on schedule (asserted on `scheduledAt`), the theoretical and reported
 * cached tokens side by side, and a malformed row refused with its line.
 */
import {
  deepStrictEqual,
  ok,
  rejects,
  strictEqual,
  throws,
} from "node:assert/strict";
import { startSimulator } from "../lib/sim/server.ts";
import { readRecordsFile } from "../lib/run/records_file.ts";
import { runCli, RUNS_DIR } from "./cli_process.ts";
import { createSynthesizer } from "../lib/text/synth.ts";
import { startScriptedServer } from "../lib/testing/scripted_server.ts";
import {
  qwen3Tokenizer,
  qwen3TokenizerDir,
} from "../lib/testing/tokenizers.ts";
import type { RequestRecord } from "../lib/types.ts";
import { loadTrace, parseTrace } from "../workloads/replay/formats.ts";
import { theoreticalReuse } from "../workloads/replay/theory.ts";
import { probeTokenIds } from "../workloads/replay/probe.ts";
import { replayTrace } from "../workloads/replay/run.ts";
import { rangeVocabulary } from "../workloads/replay/token_blocks.ts";
import { runTrie } from "../workloads/trie/run.ts";
import type { ReplayTrace } from "../workloads/replay/trace.ts";

const DATA = new URL("./testdata/traces/", import.meta.url);

async function load(file: string): Promise<ReplayTrace> {
  return parseTrace(await Deno.readTextFile(new URL(file, DATA)), {
    name: file,
  });
}

/** Records by trace request index. */
function byRequest(records: RequestRecord[]): Map<number, RequestRecord> {
  return new Map(
    records.map((r) => [r.tags!.trace_request as number, r] as const),
  );
}

/** When a record ended, ms after the run's start. */
function endMs(r: RequestRecord): number {
  return r.endAt - r.runStartedAt!;
}

Deno.test("replay: a Mooncake trace is token-exact and on schedule; theory and server side by side", async () => {
  const trace = await load("mooncake.jsonl");
  strictEqual(trace.format, "mooncake");
  strictEqual(trace.blockSize, 512);
  await using sim = await startSimulator({ timeScale: 0.001 });
  const speed = 100;
  const result = await replayTrace(trace, {
    endpoint: { baseUrl: sim.url, model: sim.model },
    speed,
    salt: "mooncake test",
  });
  strictEqual(result.summary.requests.ok, 7);
  strictEqual(result.prompts, "token ids");
  const records = byRequest(result.records);
  for (const request of trace.requests) {
    const record = records.get(request.index)!;
    strictEqual(record.promptTokens, request.inputLength);
    // Every session is one row: due at its timestamp, exactly.
    strictEqual(
      record.scheduledAt,
      record.runStartedAt! + request.atMs / speed,
    );
  }
  strictEqual(result.fidelitySummary.lengthMismatches, 0);
  strictEqual(result.fidelitySummary.lengthDrift, 0);
  // Block 0 is shared by the first four rows; rows 5 to 7 share block 46.
  deepStrictEqual(result.theory.unbounded, [0, 512, 512, 512, 0, 512, 512]);
  strictEqual(result.theory.unboundedHitRate, 2560 / 25577);
  const cached = result.fidelity.map((f) => f.cachedTokens!);
  // The first two rows are sent at once: one of them finds block 0.
  strictEqual(cached[0] + cached[1], 512);
  // The server's 16-token blocks also reuse the partial block 47 (655 tokens
  // = 512 + 143: 8 more server blocks) that the trace's 512-token blocks
  // cannot count.
  deepStrictEqual(cached.slice(2), [512, 512, 0, 640, 640]);
  // Rows 6 and 7 differ from the theory; rows 1 and 2 too when row 2 came
  // to the server first.
  strictEqual(
    result.fidelitySummary.cachedMismatches,
    cached[1] === 512 ? 2 : 4,
  );
  strictEqual(result.fidelitySummary.theoreticalCached, 2560);
  strictEqual(result.fidelitySummary.reportedCached, 2816);
});

Deno.test("replay: blocks on the wire are shared exactly as the hash ids say", async () => {
  const trace = await load("mooncake.jsonl");
  const server = startScriptedServer();
  const tokenizer = qwen3Tokenizer();
  try {
    const result = await replayTrace(trace, {
      endpoint: { baseUrl: `${server.origin}/v1/`, model: "test-model" },
      speed: 1000,
      tokenizer,
      stream: false,
    });
    strictEqual(result.summary.requests.ok, 7);
    ok(result.vocabularySource.startsWith("token ids: 24206 whole-word"));
  } finally {
    await server.close();
  }
  const prompts = new Map<number, number[]>();
  const received = server.received.filter((r) => r.path === "/v1/completions");
  strictEqual(received.length, 7);
  // Requests go out in trace order (their timestamps differ by ≥ 1 ms at
  // this speed, or are one session each at the same time, in file order).
  for (const r of received) {
    const prompt = r.body!.prompt as number[];
    const index = trace.requests.findIndex((t, i) =>
      !prompts.has(i) && t.inputLength === prompt.length
    );
    prompts.set(index, prompt);
  }
  const bs = trace.blockSize;
  for (const a of trace.requests) {
    const pa = prompts.get(a.index)!;
    strictEqual(pa.length, a.inputLength);
    // Ordinary vocabulary only: no special tokens.
    ok(pa.every((id) => id < tokenizer.vocabSize));
    for (const b of trace.requests) {
      const pb = prompts.get(b.index)!;
      for (let i = 0; i < a.blocks.length && i < b.blocks.length; i++) {
        const n = Math.min(bs, a.inputLength - i * bs, b.inputLength - i * bs);
        const same = pa.slice(i * bs, i * bs + n).join() ===
          pb.slice(i * bs, i * bs + n).join();
        // Equal ids: identical (a partial block is its full block's start);
        // different ids: different blocks.
        strictEqual(
          same,
          a.blocks[i] === b.blocks[i],
          `${a.index}/${b.index}/${i}`,
        );
      }
    }
  }
});

Deno.test("replay: Bailian sessions follow parent_chat_id; each turn waits for the previous answer", async () => {
  const trace = await load("bailian.jsonl");
  strictEqual(trace.format, "bailian");
  strictEqual(trace.blockSize, 16);
  deepStrictEqual(
    trace.sessions.map((s) =>
      s.steps.map((x) => x.kind === "request" && x.request)
    ),
    [[0, 1], [2, 3, 4]],
  );
  await using sim = await startSimulator({ timeScale: 0.001 });
  const speed = 10;
  const result = await replayTrace(trace, {
    endpoint: { baseUrl: sim.url, model: sim.model },
    speed,
  });
  strictEqual(result.summary.requests.ok, 5);
  const records = byRequest(result.records);
  for (const request of trace.requests) {
    strictEqual(records.get(request.index)!.promptTokens, request.inputLength);
  }
  // The replay starts with the first row (61.114 s): due times are the
  // timestamps since then, unless the previous turn's answer came later.
  deepStrictEqual(trace.requests.map((r) => Math.round(r.atMs)), [
    0,
    1386,
    86,
    786,
    1186,
  ]);
  for (const [turn, previous] of [[1, 0], [3, 2], [4, 3]]) {
    const r = records.get(turn)!, p = records.get(previous)!;
    strictEqual(
      r.scheduledAt,
      r.runStartedAt! +
        Math.max(trace.requests[turn].atMs / speed, endMs(p)),
    );
  }
  // Rows without hash_ids share nothing; 201 → 202 → 203 share 2 then 6 blocks.
  deepStrictEqual(result.theory.unbounded, [0, 0, 0, 32, 96]);
  deepStrictEqual(result.fidelity.map((f) => f.cachedTokens), [
    0,
    0,
    0,
    32,
    96,
  ]);
  strictEqual(result.fidelitySummary.cachedMismatches, 0);
});

Deno.test("replay: a WEKA conversation runs its subagents as branches, with think times", async () => {
  const trace = await load("weka.json");
  strictEqual(trace.format, "weka");
  strictEqual(trace.blockSize, 64);
  await using sim = await startSimulator({ timeScale: 0.001 });
  const speed = 10;
  const result = await replayTrace(trace, {
    endpoint: { baseUrl: sim.url, model: sim.model },
    speed,
  });
  strictEqual(result.summary.requests.ok, 5);
  strictEqual(result.summary.sessions.started, 1);
  const r = byRequest(result.records);
  const at = (i: number): number =>
    r.get(i)!.scheduledAt - r.get(i)!.runStartedAt!;
  const due = (i: number, after: number): number =>
    Math.max(
      trace.requests[i].atMs / speed,
      after + trace.requests[i].thinkMs / speed,
    );
  strictEqual(at(0), 0);
  strictEqual(at(1), due(1, endMs(r.get(0)!))); // the subagent, at t = 1 s
  strictEqual(at(2), due(2, endMs(r.get(1)!))); // its next turn: 0.2 s think time
  strictEqual(at(3), due(3, endMs(r.get(0)!))); // the async subagent
  // The parent's next turn waits for the joined subagent, not the async one.
  strictEqual(
    at(4),
    due(4, Math.max(endMs(r.get(0)!), endMs(r.get(2)!))),
  );
  deepStrictEqual(
    result.fidelity.map((f) => f.promptTokens),
    [300, 200, 260, 130, 400],
  );
  deepStrictEqual(result.theory.unbounded, [0, 128, 192, 128, 256]);
  // The server's 16-token blocks also reuse the first 32 tokens of block 5,
  // partial in the first request (300 = 4 × 64 + 44).
  deepStrictEqual(
    result.fidelity.map((f) => f.cachedTokens),
    [0, 128, 192, 128, 288],
  );
});

Deno.test("replay: a malformed row is refused with its line number", async () => {
  const text = await Deno.readTextFile(new URL("malformed.jsonl", DATA));
  throws(() => parseTrace(text, { name: "malformed.jsonl" }), {
    name: "SyntaxError",
    message:
      'Cannot load trace "malformed.jsonl": line 3 has 1 hash_ids for 655 tokens: 2 blocks of 512 expected (is the block size 512?)',
  });
  throws(() => parseTrace('{"timestamp": 0}\nnot json', { name: "x.jsonl" }), {
    message: 'Cannot load trace "x.jsonl": line 2 is not JSON',
  });
  throws(
    () =>
      parseTrace(
        '{"id": "t", "block_size": 64, "requests": [{"t": 0, "type": "x", "in": 1, "out": 1}]}',
        { name: "w.json" },
      ),
    {
      message:
        'Cannot load trace "w.json": line 1: requests[0] "type" must be "n", "s" or "subagent", got "x"',
    },
  );
});

Deno.test("replay: text prompts through the tokenizer, with the length drift measured", async () => {
  const trace = await load("bailian.jsonl");
  const tokenizer = qwen3Tokenizer();
  await using sim = await startSimulator({ timeScale: 0.001, tokenizer });
  const endpoint = { baseUrl: sim.url, model: sim.model };
  const text = await replayTrace(trace, {
    endpoint,
    speed: 100,
    tokenizer,
    text: true,
  });
  strictEqual(text.prompts, "text");
  // Whole-word tokens decode and encode back to themselves: no drift.
  strictEqual(text.fidelitySummary.lengthMismatches, 0);
  strictEqual(text.fidelitySummary.lengthDrift, 0);
  const chat = await replayTrace(trace, {
    endpoint,
    speed: 100,
    tokenizer,
    api: "chat",
  });
  // The chat template adds `<|im_start|>user\n`, `<|im_end|>\n` and
  // `<|im_start|>assistant\n`: 8 tokens per request.
  strictEqual(chat.fidelitySummary.lengthMismatches, 5);
  strictEqual(chat.fidelitySummary.lengthDrift, 5 * 8);
});

Deno.test("trie shared_prefix_tokens: every trace's prompt starts with the same tokens", async () => {
  const tokenizer = qwen3Tokenizer();
  await using sim = await startSimulator({ timeScale: 0.001, tokenizer });
  const row = {
    num_turns: 0,
    input_prompt_length: 201,
    assistant_response_length: [],
    tool_call_output_length: [],
    tool_call_latency: [],
    final_assistant_response_length: 4,
  };
  const records: RequestRecord[] = [];
  const options = {
    endpoint: { baseUrl: sim.url, model: sim.model },
    concurrency: 1,
    maxTraces: 3,
    duration: 60,
    onRecord: (r: RequestRecord) => records.push(r),
  };
  await runTrie([row], {
    ...options,
    synthesizer: createSynthesizer(tokenizer, { seed: 5 }),
    sharedPrefixTokens: 128,
  });
  // 200 tokens each (the server adds no BOS here); the second and third
  // traces find the 128 shared tokens (8 blocks of 16) in the cache.
  deepStrictEqual(records.map((r) => r.promptTokens), [200, 200, 200]);
  deepStrictEqual(records.map((r) => r.cachedTokens), [0, 128, 128]);
  records.length = 0;
  await runTrie([row], {
    ...options,
    synthesizer: createSynthesizer(tokenizer, { seed: 6 }),
  });
  deepStrictEqual(records.map((r) => r.cachedTokens), [0, 0, 0]);
  await rejects(
    runTrie([row], {
      ...options,
      synthesizer: createSynthesizer(tokenizer, { seed: 5 }),
      sharedPrefixTokens: 201,
    }),
    {
      message:
        "Cannot use shared_prefix_tokens=201: row 1 has input_prompt_length 201 (the prefix must fit in input_prompt_length - 1)",
    },
  );
});

Deno.test("replay: a folder of WEKA files is one trace; errors name the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const weka = await Deno.readTextFile(new URL("weka.json", DATA));
    await Deno.writeTextFile(`${dir}/a.json`, weka);
    await Deno.writeTextFile(`${dir}/b.json`, weka);
    const trace = await loadTrace(dir);
    strictEqual(trace.sessions.length, 2);
    strictEqual(trace.requests.length, 10);
    // Local hash scope: the two conversations share no block.
    strictEqual(theoreticalReuse(trace).unbounded[5], 0);
    await Deno.writeTextFile(
      `${dir}/c.json`,
      weka.replace('"in": 400', '"in": "400"'),
    );
    await rejects(loadTrace(dir), {
      message:
        `Cannot load trace "${dir}": c.json: requests[3] "in" must be an integer >= 1, got "400"`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replay: a server that refuses token ids is found before the replay", async () => {
  const server = startScriptedServer({
    script: (body) =>
      Array.isArray(body.prompt)
        ? { status: 400, message: "prompt must be a string" }
        : {},
  });
  try {
    const endpoint = { baseUrl: `${server.origin}/v1/`, model: "test-model" };
    deepStrictEqual(await probeTokenIds(endpoint, rangeVocabulary()), {
      accepted: false,
      message: "HTTP 400: prompt must be a string",
    });
  } finally {
    await server.close();
  }
  const down = startScriptedServer({ script: () => ({ status: 503 }) });
  try {
    const endpoint = { baseUrl: `${down.origin}/v1/`, model: "test-model" };
    await rejects(
      probeTokenIds(endpoint, rangeVocabulary()),
      /^Error: Cannot check whether/,
    );
  } finally {
    await down.close();
  }
});

Deno.test("replay: two parts (workers, shards) split the sessions and keep the schedule", async () => {
  const trace = await load("mooncake.jsonl");
  await using sim = await startSimulator({ timeScale: 0.001 });
  const startedAt = performance.now();
  const speed = 100;
  const parts = await Promise.all([0, 1].map((index) =>
    replayTrace(trace, {
      endpoint: { baseUrl: sim.url, model: sim.model },
      speed,
      salt: "one run",
      startedAt,
      part: { index, count: 2 },
    })
  ));
  deepStrictEqual(
    parts.map((p) => p.records.map((r) => r.tags!.trace_request).sort()),
    [[0, 2, 4, 6], [1, 3, 5]],
  );
  for (const record of parts.flatMap((p) => p.records)) {
    const request = trace.requests[record.tags!.trace_request as number];
    strictEqual(record.scheduledAt, startedAt + request.atMs / speed);
    strictEqual(record.promptTokens, request.inputLength);
    // Sessions keep their ids in the whole run: part k has k, k + 2, …
    strictEqual(record.session, request.index);
  }
});

Deno.test("kvbench replay: a Mooncake trace end to end through cli.ts, token-exact and on schedule", async () => {
  await using sim = await startSimulator({ timeScale: 0.001 });
  const dir = `${RUNS_DIR}/replay-mooncake`;
  const file = new URL("mooncake.jsonl", DATA).pathname;
  const { code, stdout, stderr } = await runCli([
    "replay",
    file,
    "--endpoint",
    sim.url,
    "--speed",
    "100",
    "--context-salt",
    "e2e",
    "--output-dir",
    dir,
  ]);
  strictEqual(code, 0, stderr);
  ok(
    stdout.includes(
      `[INFO] Trace "${file}": mooncake, 7 requests in 7 sessions, 25,577 prompt tokens, 2,230 output tokens, 512-token blocks\n`,
    ),
    stdout,
  );
  ok(
    stdout.includes(
      "[INFO] Schedule: 27.482 s of trace, 0.275 s at speed 100\n",
    ),
  );
  ok(
    stdout.includes(
      "[INFO] Theoretical hit rate at 512-token blocks: 10.0% with an unbounded cache, 10.0% with an LRU cache of 87,040 tokens\n",
    ),
    stdout,
  );
  // No --tokenizer: the ids the simulator's /tokenize gives for 194 words.
  ok(
    stdout.includes(
      "[INFO] token ids: 194 ids from the server's /tokenize of common English words\n",
    ),
    stdout,
  );
  ok(
    stdout.includes(
      "Prompt length: 0 of 7 requests differ from input_length (drift +0 tokens, +0.0%)\n",
    ),
  );
  // Rows 1 and 2 go out at once: one of them finds block 0 (2 or 4 differ).
  ok(
    /\nCached tokens: [24] of 7 requests differ from the theory \(theory 2560 = 10\.0%, server 2816 = 11\.0%\)\n/
      .test(stdout),
    stdout,
  );
  const trace = await load("mooncake.jsonl");
  const { records } = await readRecordsFile(`${dir}/records.jsonl`);
  strictEqual(records.length, 7);
  for (const record of records) {
    const request = trace.requests[record.tags!.trace_request as number];
    strictEqual(record.promptTokens, request.inputLength);
    strictEqual(record.scheduledAt, record.runStartedAt! + request.atMs / 100);
  }
  const fidelity = (await Deno.readTextFile(`${dir}/fidelity.jsonl`)).trim()
    .split("\n").map((l) => JSON.parse(l));
  deepStrictEqual(fidelity.map((f) => f.theoreticalCached), [
    0,
    512,
    512,
    512,
    0,
    512,
    512,
  ]);
  const summary = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`));
  ok([2, 4].includes(summary.fidelity.cached_mismatches));
  strictEqual(summary.theory.unbounded_hit_rate, 2560 / 25577);
});

Deno.test("kvbench replay: a malformed trace is refused with its line, without a stack trace", async () => {
  const file = new URL("malformed.jsonl", DATA).pathname;
  const { code, stdout, stderr } = await runCli([
    "replay",
    file,
    "--endpoint",
    "http://127.0.0.1:9",
  ]);
  strictEqual(code, 1);
  strictEqual(stdout, "");
  strictEqual(
    stderr,
    `[ERROR] Cannot load trace "${file}": line 3 has 1 hash_ids for 655 tokens: 2 blocks of 512 expected (is the block size 512?)\n`,
  );
});

Deno.test("kvbench replay --help lists its options", async () => {
  const { code, stdout } = await runCli(["replay", "--help"]);
  strictEqual(code, 0);
  ok(
    stdout.startsWith(
      "usage: kvbench replay FILE --endpoint URL [--format mooncake|bailian|weka|auto] [--block-size N] [--speed X]",
    ),
  );
  for (
    const flag of [
      "--format",
      "--block-size",
      "--speed",
      "--tokenizer",
      "--context-salt",
      "--capacity-tokens",
      "--text",
      "--workers",
      "--shard",
    ]
  ) {
    ok(stdout.includes(flag), flag);
  }
});

Deno.test("kvbench replay: a sweep of speeds, each level with its own salt (no level hits the cache an earlier one left)", async () => {
  await using sim = await startSimulator({ timeScale: 0.001 });
  const { code, stdout, stderr } = await runCli([
    "replay",
    new URL("mooncake.jsonl", DATA).pathname,
    "--endpoint",
    sim.url,
    "--speed",
    "100,200",
    "--no-artifacts",
  ]);
  strictEqual(code, 0, stderr);
  const cached = stdout.split("\n").filter((l) =>
    l.startsWith("Cached tokens:")
  );
  strictEqual(cached.length, 2);
  for (const line of cached) {
    const m =
      /^Cached tokens: [24] of 7 requests differ from the theory \(theory 2560 = 10\.0%, server (\d+) = [\d.]+%\)$/
        .exec(line);
    ok(m, line);
    // 2,816 in a run without a resend (docs/replay.md: rows 6 and 7 reuse
    // 128 tokens of row 5's partial block); a request resent by the
    // transport on a busy machine may hit its own first attempt's blocks
    // once more. A level that hit an earlier level's cache would add at
    // least a whole earlier prompt (hundreds of tokens and more).
    const server = Number(m[1]);
    ok(server >= 2816 && server <= 2816 + 2 * 16, line);
  }
  ok(/│ --speed 200 │ .* 10\.0% │ +11\.[01]% │ +0 │/.test(stdout), stdout);
});

Deno.test("kvbench trie shared_prefix_tokens=N: every trace's first N tokens are the same, end to end", async () => {
  const tokenizer = qwen3Tokenizer();
  await using sim = await startSimulator({ timeScale: 0.001, tokenizer });
  const tok = await qwen3TokenizerDir();
  const dir = await Deno.makeTempDir();
  try {
    const row = {
      num_turns: 0,
      input_prompt_length: 201,
      assistant_response_length: [],
      tool_call_output_length: [],
      tool_call_latency: [],
      final_assistant_response_length: 4,
    };
    await Deno.writeTextFile(`${dir}/t.jsonl`, JSON.stringify(row) + "\n");
    const run = (extra: string[]) =>
      runCli([
        "trie",
        `workload_path=${dir}/t.jsonl`,
        `endpoint=${sim.url}`,
        `model=${sim.model}`,
        `tokenizer_model=${tok}`,
        "concurrency=1",
        "max_traces=3",
        "duration=60",
        "artifacts=False",
        `records=${dir}/records-${extra.length}.jsonl`,
        ...extra,
      ]);
    const shared = await run(["shared_prefix_tokens=128", "seed=1"]);
    strictEqual(shared.code, 0, shared.stderr);
    const { records } = await readRecordsFile(`${dir}/records-2.jsonl`);
    deepStrictEqual(records.map((r) => r.promptTokens), [200, 200, 200]);
    deepStrictEqual(records.map((r) => r.cachedTokens), [0, 128, 128]);
    const bad = await run(["shared_prefix_tokens=201", "seed=1"]);
    strictEqual(bad.code, 1);
    ok(
      bad.stderr.includes(
        "Cannot use shared_prefix_tokens=201: row 1 has input_prompt_length 201 (the prefix must fit in input_prompt_length - 1)",
      ),
      bad.stderr,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(tok, { recursive: true });
  }
});

Deno.test("kvbench replay: two shards merged; merge recomputes the fidelity from the trace", async () => {
  await using sim = await startSimulator({ timeScale: 0.001 });
  const root = `${RUNS_DIR}/replay-shards`;
  const file = new URL("mooncake.jsonl", DATA).pathname;
  const startAt = String(Math.ceil(Date.now() / 1000) + 3);
  const shards = await Promise.all([0, 1].map((k) =>
    runCli([
      "replay",
      file,
      "--endpoint",
      sim.url,
      "--speed",
      "100",
      "--context-salt",
      "shards",
      "--shard",
      `${k}/2`,
      "--start-at",
      startAt,
      "--output-dir",
      `${root}/s${k}`,
    ])
  ));
  for (const s of shards) strictEqual(s.code, 0, s.stderr);
  const merged = await runCli([
    "merge",
    `${root}/s0`,
    `${root}/s1`,
    "--output-dir",
    `${root}/merged`,
  ]);
  strictEqual(merged.code, 0, merged.stderr);
  ok(
    merged.stdout.includes(
      "Prompt length: 0 of 7 requests differ from input_length (drift +0 tokens, +0.0%)\n",
    ),
    merged.stdout,
  );
  // Rows 1 and 2 go out at once from two processes: one of them finds block 0.
  ok(
    merged.stdout.includes(
      "requests differ from the theory (theory 2560 = 10.0%, server 2816 = 11.0%)\n",
    ),
    merged.stdout,
  );
});

Deno.test("kvbench replay --context-salt: run (the default) starts every rerun cold, none starts it warm", async () => {
  await using sim = await startSimulator({ timeScale: 0.001 });
  const replay = async (salt: string[]): Promise<number> => {
    const { code, stdout, stderr } = await runCli([
      "replay",
      new URL("mooncake.jsonl", DATA).pathname,
      ...["--endpoint", sim.url, "--speed", "100", "--no-artifacts"],
      ...salt,
    ]);
    strictEqual(code, 0, stderr);
    const m = /\nCached tokens: .* server (\d+) = /.exec(stdout);
    ok(m, stdout);
    return Number(m[1]);
  };
  // Twice with a fresh salt each: each run finds only its own reuse.
  for (
    const salt of [[], ["--context-salt", "run"], ["--context-salt", "run"]]
  ) {
    const cached = await replay(salt);
    ok(cached <= 2816, String(cached));
  }
  // Twice unsalted: the second finds the first's blocks (all 25,577 prompt
  // tokens but each request's partial last block, in 512-token blocks).
  await replay(["--context-salt", "none"]);
  const warm = await replay(["--context-salt", "none"]);
  ok(warm > 20_000, String(warm));
  // A shard cannot use a per-run salt: the shards would send different blocks.
  const shard = await runCli([
    "replay",
    new URL("mooncake.jsonl", DATA).pathname,
    ...["--endpoint", sim.url, "--shard", "0/2", "--context-salt", "run"],
  ]);
  strictEqual(shard.code, 2);
  ok(
    shard.stderr.includes("a shard needs --context-salt S (or none)"),
    shard.stderr,
  );
});
