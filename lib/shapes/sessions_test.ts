import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { run } from "../run/runner.ts";
import { startScriptedServer } from "../testing/scripted_server.ts";
import { multiTurn, sharedPrefix, singleRequest } from "./sessions.ts";

Deno.test("multiTurn grows the history with the actual answers, waits, then appends", async () => {
  const server = startScriptedServer({
    script: (body) => ({ tokens: [`<a${body.max_tokens}>`] }),
  });
  try {
    let appended = 0;
    const summary = await run([
      multiTurn({
        prompt: () => "P",
        turns: [
          { maxTokens: 1, waitMs: 100, append: () => `T${++appended}` },
          { maxTokens: 2, append: "U" },
          { maxTokens: 3 },
        ],
        request: { ignoreEos: true },
      }),
    ], { endpoint: { baseUrl: `${server.origin}/v1/`, model: "m" } });
    strictEqual(summary.sessions.completed, 1);
    const bodies = server.received.map((r) => r.body!);
    deepStrictEqual(bodies.map((b) => [b.prompt, b.max_tokens, b.ignore_eos]), [
      ["P", 1, true],
      ["P<a1>T1", 2, true],
      ["P<a1>T1<a2>U", 3, true],
    ]);
    ok(
      server.received[1].at - server.received[0].at >= 95,
      "the wait comes before the next request",
    );
  } finally {
    await server.close();
  }
});

Deno.test("multiTurn in chat form sends a growing list of messages; a failed turn fails the session", async () => {
  const server = startScriptedServer({
    script: (_b, i) => i === 1 ? { status: 500 } : { tokens: ["A"] },
  });
  try {
    const turns: number[] = [];
    const summary = await run([
      multiTurn({
        api: "chat",
        prompt: sharedPrefix("SYS ", "ctx"),
        turns: [
          { maxTokens: 1, append: "Q2" },
          { maxTokens: 1, append: "Q3" },
          { maxTokens: 1 },
        ],
        onRecord: (_r, turn) => turns.push(turn),
      }),
    ], { endpoint: { baseUrl: `${server.origin}/v1/`, model: "m" } });
    strictEqual(summary.sessions.failed, 1);
    deepStrictEqual(turns, [0, 1]);
    deepStrictEqual(server.received[1].body!.messages, [
      { role: "user", content: "SYS ctx" },
      { role: "assistant", content: "A" },
      { role: "user", content: "Q2" },
    ]);
    strictEqual(server.received.length, 2);
  } finally {
    await server.close();
  }
});

Deno.test("singleRequest fails with its request", async () => {
  const server = startScriptedServer({ script: () => ({ status: 429 }) });
  try {
    const summary = await run([singleRequest({ prompt: "x", maxTokens: 1 })], {
      endpoint: { baseUrl: `${server.origin}/v1/`, model: "m" },
    });
    strictEqual(summary.sessions.failed, 1);
  } finally {
    await server.close();
  }
});
