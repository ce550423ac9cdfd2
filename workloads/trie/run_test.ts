import type { RequestRecord } from "../../lib/types.ts";
import {
  deepStrictEqual,
  ok,
  rejects,
  strictEqual,
  throws,
} from "node:assert/strict";
import { closedLoop, constantRate, openLoop } from "../../lib/run/load.ts";
import { createSynthesizer } from "../../lib/text/synth.ts";
import { qwen3Tokenizer } from "../../lib/testing/tokenizers.ts";
import type { TraceRow } from "./trace_file.ts";
import { startScriptedServer } from "../../lib/testing/scripted_server.ts";
import { parseTraceRows } from "./trace_file.ts";
import { runTrie, trieLoad } from "./run.ts";

const tokenizer = qwen3Tokenizer();

function row(
  turns: number[],
  tools: number[],
  latencies: number[],
  input = 32,
  final = 64,
): TraceRow {
  return {
    num_turns: turns.length,
    input_prompt_length: input,
    assistant_response_length: turns,
    tool_call_output_length: tools,
    tool_call_latency: latencies,
    final_assistant_response_length: final,
  };
}

Deno.test("a trace of N turns makes N+1 requests: max_tokens sequence, exact synthesized lengths, tool latencies waited", async () => {
  const server = startScriptedServer({
    script: (b) => ({ tokens: Array(Number(b.max_tokens)).fill("é") }),
  });
  try {
    const synthesizer = createSynthesizer(tokenizer, { seed: 1 });
    const records: RequestRecord[] = [];
    const result = await runTrie([
      row([16, 20], [8, 12], [0.15, 0.05], 32, 64),
    ], {
      endpoint: { baseUrl: `${server.origin}/v1/`, model: "m" },
      synthesizer,
      concurrency: 1,
      maxTraces: 1, // ends when the trace does, however slow the machine
      duration: 60,
      stream: true,
      onRecord: (r) => records.push(r),
    });
    const [r0, r1, r2] = server.received.map((r) => r.body!);
    deepStrictEqual([r0.max_tokens, r1.max_tokens, r2.max_tokens], [
      16,
      20,
      64,
    ]);
    deepStrictEqual([r0.ignore_eos, r0.stream, r0.stream_options], [
      true,
      true,
      { include_usage: true },
    ]);
    strictEqual(server.received[0].headers.get("x-smg-routing-key"), "0");
    // Prompt 0: input − 1 tokens; then + the answer verbatim + the tool output's tokens.
    const p0 = r0.prompt as string,
      p1 = r1.prompt as string,
      p2 = r2.prompt as string;
    strictEqual(tokenizer.encode(p0).length, 31);
    ok(p1.startsWith(p0 + "é".repeat(16)));
    strictEqual(tokenizer.encode(p1.slice(p0.length + 16)).length, 8);
    ok(p2.startsWith(p1 + "é".repeat(20)));
    strictEqual(tokenizer.encode(p2.slice(p1.length + 20)).length, 12);
    // Each tool latency is waited before the next request: the next turn
    // is due that long after the answer ended, and never sent before.
    const [t0, t1, t2] = records.filter((r) => r.session === 0);
    const near = (a: number, b: number) => Math.abs(a - b) < 1e-6;
    ok(near(t1.scheduledAt - t0.endAt, 150), `${t1.scheduledAt - t0.endAt}`);
    ok(near(t2.scheduledAt - t1.endAt, 50), `${t2.scheduledAt - t1.endAt}`);
    ok(t1.sentAt >= t1.scheduledAt && t2.sentAt >= t2.scheduledAt);
    strictEqual(result.completedTraces, 1);
    strictEqual(result.failedTraces, 0);
  } finally {
    await server.close();
  }
});

Deno.test("a zero-turn trace makes one request; rows are cycled in file order", async () => {
  const server = startScriptedServer();
  try {
    const rows = [row([], [], [], 10, 3), row([], [], [], 20, 5)];
    await runTrie(rows, {
      endpoint: { baseUrl: `${server.origin}/v1/`, model: "m" },
      synthesizer: createSynthesizer(tokenizer, { seed: 2 }),
      concurrency: 1,
      maxTraces: 4,
      duration: 60,
    });
    const sent = server.received.map((r) => r.body!);
    strictEqual(sent.length, 4);
    sent.forEach((b, i) => {
      strictEqual(b.max_tokens, i % 2 === 0 ? 3 : 5);
      strictEqual(b.stream, undefined, "non-streaming mode");
      strictEqual(
        tokenizer.encode(b.prompt as string).length,
        i % 2 === 0 ? 9 : 19,
      );
    });
  } finally {
    await server.close();
  }
});

Deno.test("the deadline aborts everything in flight at once; a failed request fails only its trace", async () => {
  const server = startScriptedServer({
    script: (_b, i) =>
      i === 0 ? { status: 400, message: "too long" } : { firstTokenMs: 60_000 },
  });
  try {
    const failures: number[] = [];
    const t0 = performance.now();
    const result = await runTrie([row([4], [4], [0])], {
      endpoint: { baseUrl: `${server.origin}/v1/`, model: "m", maxRetries: 0 },
      synthesizer: createSynthesizer(tokenizer, { seed: 3 }),
      concurrency: 3,
      duration: 2, // time enough to replace the failed trace on a busy machine
      stream: true,
      onFailure: (f) => failures.push(f.turn),
    });
    const took = performance.now() - t0;
    // The first token was 60 s away: ending within half of that means the
    // deadline aborted the requests in flight (whatever the machine's load).
    ok(took < 30_000, `ended ${took} ms after the start of a 2 s run`);
    ok(
      result.wallTime >= 2 && result.wallTime < 30,
      `wall ${result.wallTime}`,
    );
    deepStrictEqual(failures, [0]);
    strictEqual(result.failedTraces, 1);
    strictEqual(result.completedTraces, 0);
    strictEqual(
      server.received.length,
      4,
      "3 in flight after the failed one was replaced",
    );
  } finally {
    await server.close();
  }
});

Deno.test("per-trace cache metrics follow the server's usage exactly", async () => {
  // usage: prompt 100, completion = max_tokens, cached 40 on every request.
  const server = startScriptedServer({
    script: (b) => ({
      usage: {
        prompt_tokens: 100,
        completion_tokens: Number(b.max_tokens),
        cached_tokens: 40,
      },
    }),
  });
  try {
    const result = await runTrie([row([16, 20], [8, 12], [0, 0])], {
      endpoint: { baseUrl: `${server.origin}/v1/`, model: "m" },
      synthesizer: createSynthesizer(tokenizer, { seed: 4 }),
      concurrency: 1,
      maxTraces: 1,
      duration: 60,
      stream: true,
    });
    strictEqual(result.completedTraces, 1);
    const m = result.serverMetrics[0];
    // cached 3 × 40 = 120 of 300 prompt tokens; eligible 0 + (100 + 16) + (100 + 20) = 236
    deepStrictEqual([m.promptTokens, m.cachedTokens, m.eligiblePromptTokens], [
      300,
      120,
      236,
    ]);
    strictEqual(m.cacheHitRate, 0.4);
    strictEqual(m.eligibleCacheHitRate, 120 / 236);
    // Accounting point of a completed trace: completion 16 + 20 + 64 = 100;
    // new 32 + 8 + 12 = 52; cached 0 + (56 − 8) + (88 − 12) = 124 (reference §4.4).
    const p = result.points[2];
    deepStrictEqual([
      p.completionTokens,
      p.newPromptTokens,
      p.cachedPromptTokens,
    ], [100, 52, 124]);
  } finally {
    await server.close();
  }
});

Deno.test("trieLoad wants exactly one of concurrency and arrival_rate", () => {
  throws(
    () => trieLoad({}),
    /specify exactly one of concurrency or arrival_rate/,
  );
  throws(() => trieLoad({ concurrency: 2, arrivalRate: 1 }), /exactly one/);
  strictEqual(trieLoad({ arrivalRate: 2 }).kind, "open");
});

Deno.test("parseTraceRows gives line-numbered errors and skips blank lines", () => {
  const good = JSON.stringify(row([1], [2], [0.5]));
  strictEqual(parseTraceRows(`${good}\n\n  \n${good}\n`, "t.jsonl").length, 2);
  throws(
    () => parseTraceRows(`${good}\n{oops\n`, "t.jsonl"),
    /^SyntaxError: Cannot load workload "t.jsonl": line 2 is not JSON$/,
  );
  throws(
    () =>
      parseTraceRows(
        `\n${
          JSON.stringify({ ...row([1], [2], [0.5]), tool_call_latency: [] })
        }`,
        "t.jsonl",
      ),
    /^TypeError: Cannot load workload "t.jsonl": line 2: tool_call_latency must be a list of length 1 \(num_turns\)$/,
  );
  throws(
    () =>
      parseTraceRows(
        JSON.stringify({
          ...row([1], [2], [0.5]),
          assistant_response_length: [-1],
        }),
        "t.jsonl",
      ),
    /line 1: assistant_response_length\[0\] must be a non-negative integer/,
  );
  throws(
    () => parseTraceRows("[1]", "t.jsonl"),
    /line 1: expected a JSON object/,
  );
  throws(() => parseTraceRows("\n\n", "t.jsonl"), /it holds no traces/);
});

Deno.test("runTrie takes any load policy and a trace limit", async () => {
  const server = startScriptedServer({
    script: (b) => ({ tokens: Array(Number(b.max_tokens)).fill("a") }),
  });
  try {
    const synthesizer = createSynthesizer(tokenizer, { seed: 2 });
    const endpoint = { baseUrl: `${server.origin}/v1/`, model: "m" };
    const rows = [row([], [], [], 20, 4)];
    // Arrivals 100 ms apart; 3 traces, then stop.
    const records: RequestRecord[] = [];
    const result = await runTrie(rows, {
      endpoint,
      synthesizer,
      load: openLoop(constantRate(10)),
      maxTraces: 3,
      duration: 30,
      onRecord: (r) => records.push(r),
    });
    strictEqual(result.completedTraces, 3);
    strictEqual(server.received.length, 3);
    // Due 0, 100 and 200 ms after the start, as the load policy said.
    deepStrictEqual(
      records.map((r) => Math.round(r.scheduledAt - r.runStartedAt!)).sort(
        (a, b) => a - b,
      ),
      [0, 100, 200],
    );
    // It stopped once the 3 traces finished, not at the 30 s deadline.
    strictEqual(result.stopReason, "max_sessions");
    await rejects(
      runTrie(rows, {
        endpoint,
        synthesizer,
        load: closedLoop(1),
        concurrency: 2,
      }),
      /specify load, or one of concurrency and arrival_rate, not both/,
    );
  } finally {
    await server.close();
  }
});
