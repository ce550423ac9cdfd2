import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { closedLoop, constantRate, openLoop } from "./load.ts";
import { abortableSleep, run } from "./runner.ts";
import type { RequestRecord, Session } from "../types.ts";
import { startScriptedServer } from "../testing/scripted_server.ts";

function* requests(maxTokens = 2): Generator<Session> {
  while (true) {
    yield async (ctx) => (await ctx.send({ prompt: "x", maxTokens })).ok;
  }
}

Deno.test("closed loop keeps exactly `concurrency` sessions in flight and stops at maxSessions", async () => {
  const server = startScriptedServer({ script: () => ({ firstTokenMs: 20 }) });
  try {
    const summary = await run(requests(), {
      endpoint: { baseUrl: `${server.origin}/v1/`, model: "m" },
      load: closedLoop(4),
      stop: { maxSessions: 20 },
    });
    strictEqual(server.maxConcurrent(), 4);
    deepStrictEqual(summary.sessions, {
      started: 20,
      completed: 20,
      failed: 0,
      cancelled: 0,
    });
    deepStrictEqual(summary.requests, {
      sent: 20,
      ok: 20,
      failed: 0,
      aborted: 0,
    });
    strictEqual(summary.stopReason, "max_sessions");
  } finally {
    await server.close();
  }
});

Deno.test("the duration aborts in-flight requests at once and cancels their sessions", async () => {
  const server = startScriptedServer({
    script: () => ({ firstTokenMs: 10_000 }),
  });
  try {
    const records: RequestRecord[] = [];
    const summary = await run(requests(), {
      endpoint: { baseUrl: `${server.origin}/v1/`, model: "m" },
      load: closedLoop(3),
      stop: { durationMs: 200 },
      onRecord: (r) => records.push(r),
    });
    // Not before the duration; and far before the server's 10 s first token:
    // the requests in flight were aborted, not waited for.
    ok(
      summary.wallTimeMs >= 200 && summary.wallTimeMs < 10_000,
      `wall ${summary.wallTimeMs}`,
    );
    for (const r of records) ok(r.endAt - summary.startedAt >= 200);
    strictEqual(summary.stopReason, "duration");
    deepStrictEqual(summary.sessions, {
      started: 3,
      completed: 0,
      failed: 0,
      cancelled: 3,
    });
    deepStrictEqual(records.map((r) => r.error?.kind), [
      "aborted",
      "aborted",
      "aborted",
    ]);
  } finally {
    await server.close();
  }
});

Deno.test("a session's sleep is cut short by the stop signal", async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  const t0 = performance.now();
  const summary = await run([async (ctx) => await ctx.sleep(10_000)], {
    endpoint: { baseUrl: "http://127.0.0.1:1/v1/", model: "m" },
    stop: { signal: controller.signal },
  });
  ok(performance.now() - t0 < 10_000, "the 10 s sleep was cut short");
  strictEqual(summary.stopReason, "signal");
  strictEqual(summary.sessions.cancelled, 1);
});

Deno.test("an arrival rate past what the process can send still stops at the duration and on a signal", async () => {
  // 1e9 sessions/s: every arrival is already due, so admission never waits on
  // a timer. The workload ends by itself after 3M sessions, long after 50 ms:
  // a run that starved its own duration timer ends "exhausted" instead.
  function* flood(): Generator<Session> {
    for (let i = 0; i < 3_000_000; i++) yield async () => {};
  }
  const endpoint = { baseUrl: "http://127.0.0.1:1/v1/", model: "m" };
  const timed = await run(flood(), {
    endpoint,
    load: openLoop(constantRate(1e9)),
    stop: { durationMs: 50 },
  });
  strictEqual(timed.stopReason, "duration");
  ok(timed.sessions.started < 3_000_000, `${timed.sessions.started} started`);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  const signalled = await run(flood(), {
    endpoint,
    load: openLoop(constantRate(1e9)),
    stop: { signal: controller.signal },
  });
  strictEqual(signalled.stopReason, "signal");
});

Deno.test("past what the server takes, an open loop stops admitting while 10,000 requests wait for a slot", async () => {
  const server = startScriptedServer({
    script: () => ({ firstTokenMs: 5_000 }),
  });
  function* flood(): Generator<Session> {
    for (let i = 0; i < 1_000_000; i++) {
      yield async (ctx) => void await ctx.send({ prompt: "x", maxTokens: 1 });
    }
  }
  try {
    const summary = await run(flood(), {
      endpoint: { baseUrl: `${server.origin}/v1/`, model: "m" },
      load: openLoop(constantRate(1e9)),
      maxInFlight: 1,
      stop: { durationMs: 3_000 },
    });
    // One request in flight (held 5 s), 10,000 waiting: then admission
    // waited, where it used to admit every due arrival (a million here).
    const started = summary.sessions.started;
    ok(started >= 10_001 && started <= 10_100, `${started} sessions started`);
    strictEqual(summary.stopReason, "duration");
    strictEqual(summary.requests.aborted, started);
  } finally {
    await server.close();
  }
});

Deno.test("a duration longer than a timer can take (2^31 ms) does not end the run at once", async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  const summary = await run([async (ctx) => await ctx.sleep(2 ** 32)], {
    endpoint: { baseUrl: "http://127.0.0.1:1/v1/", model: "m" },
    stop: { durationMs: 2 ** 32, signal: controller.signal },
  });
  // Neither the 2^32 ms sleep nor the 2^32 ms duration fired early: the
  // signal at 100 ms ended the run.
  strictEqual(summary.stopReason, "signal");
  strictEqual(summary.sessions.cancelled, 1);
});

Deno.test("open loop admits at the arrival times, however many are running", async () => {
  const server = startScriptedServer({ script: () => ({ firstTokenMs: 300 }) });
  try {
    const records: RequestRecord[] = [];
    const summary = await run(requests(), {
      endpoint: { baseUrl: `${server.origin}/v1/`, model: "m" },
      load: openLoop(constantRate(20)), // one every 50 ms
      stop: { maxSessions: 6 },
      onRecord: (r) => records.push(r),
    });
    strictEqual(summary.sessions.completed, 6);
    // Each session's first request was due at its arrival time, exactly, and
    // was never sent before it.
    const due = records
      .map((r) => Math.round((r.scheduledAt - summary.startedAt) * 1e6) / 1e6)
      .sort((a, b) => a - b);
    deepStrictEqual(due, [0, 50, 100, 150, 200, 250]);
    for (const r of records) ok(r.sentAt >= r.scheduledAt);
    // The server holds every answer 300 ms: the open loop did not wait for
    // them (six in flight, admitted within 250 ms of schedule).
    ok(server.maxConcurrent() >= 5, `max concurrent ${server.maxConcurrent()}`);
  } finally {
    await server.close();
  }
});

Deno.test("maxInFlight caps requests across sessions; the client's queueing shows in sentAt − scheduledAt", async () => {
  const server = startScriptedServer({ script: () => ({ firstTokenMs: 50 }) });
  try {
    const records: RequestRecord[] = [];
    await run(requests(), {
      endpoint: { baseUrl: `${server.origin}/v1/`, model: "m" },
      load: closedLoop(6),
      maxInFlight: 2,
      stop: { maxSessions: 6 },
      onRecord: (r) => records.push(r),
    });
    strictEqual(server.maxConcurrent(), 2);
    // By send time: the first two went at once; each later one only after an
    // earlier one ended, so the last pair queued at least two 50 ms answers.
    const bySent = [...records].sort((a, b) => a.sentAt - b.sentAt);
    const firstEnd = Math.min(...records.map((r) => r.endAt));
    ok(bySent[1].sentAt < firstEnd, "the first two were not queued");
    for (const r of bySent.slice(2)) ok(r.sentAt >= firstEnd);
    const waits = records.map((r) => r.sentAt - r.scheduledAt).sort((a, b) =>
      a - b
    );
    ok(waits[5] >= 100, `waits ${waits}`);
  } finally {
    await server.close();
  }
});

Deno.test("maxRequests stops sending and lets the sessions in flight finish", async () => {
  const server = startScriptedServer();
  try {
    const summary = await run(requests(), {
      endpoint: { baseUrl: `${server.origin}/v1/`, model: "m" },
      load: closedLoop(2),
      stop: { maxRequests: 5 },
    });
    strictEqual(server.received.length, 5);
    strictEqual(summary.requests.ok, 5);
    strictEqual(summary.stopReason, "max_requests");
  } finally {
    await server.close();
  }
});

Deno.test("a failing sink stops the run and its error comes out of run()", async () => {
  const server = startScriptedServer();
  try {
    await rejects(
      run(requests(), {
        endpoint: { baseUrl: `${server.origin}/v1/`, model: "m" },
        onRecord: () => {
          throw new Error("disk full");
        },
      }),
      /disk full/,
    );
  } finally {
    await server.close();
  }
});

Deno.test("a session that throws or resolves false is counted failed; the run goes on", async () => {
  const sessions: Session[] = [
    () => Promise.reject(new Error("bug")),
    () => Promise.resolve(false),
    () => Promise.resolve(),
  ];
  const ends: string[] = [];
  const summary = await run(sessions, {
    endpoint: { baseUrl: "http://127.0.0.1:1/v1/", model: "m" },
    onSessionEnd: (_id, outcome) => ends.push(outcome),
  });
  deepStrictEqual(ends, ["failed", "failed", "completed"]);
  deepStrictEqual(summary.sessions, {
    started: 3,
    completed: 1,
    failed: 2,
    cancelled: 0,
  });
  strictEqual(summary.stopReason, "exhausted");
});

Deno.test("abortableSleep never wakes before its time (a timer may fire early)", async () => {
  for (const ms of [1, 2.5, 7.3, 20]) {
    const t0 = performance.now();
    await abortableSleep(ms);
    ok(performance.now() - t0 >= ms, `${ms} ms`);
  }
});
