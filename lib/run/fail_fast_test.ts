import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { FailFast } from "./fail_fast.ts";
import { run } from "./runner.ts";
import { closedLoop } from "./load.ts";
import { startScriptedServer } from "../testing/scripted_server.ts";
import type { RequestRecord, Session } from "../types.ts";

function* requests(): Generator<Session> {
  while (true) {
    yield async (ctx) => (await ctx.send({ prompt: "x", maxTokens: 2 })).ok;
  }
}

function record(
  endAt: number,
  fields: Partial<RequestRecord> = {},
): RequestRecord {
  return {
    session: 0,
    turn: 0,
    scheduledAt: 0,
    sentAt: 0,
    endAt,
    chunks: 0,
    promptChars: 1,
    outputChars: 0,
    maxTokens: 1,
    ok: true,
    retries: 0,
    runStartedAt: 0,
    ...fields,
  };
}

const FAILED = {
  ok: false,
  status: 500,
  error: { kind: "http" as const, message: "HTTP 500: engine down" },
};

Deno.test("FailFast: 48 of the first 50 failing within the window stops; 47 does not", () => {
  const stops = (failures: number) => {
    const watch = new FailFast();
    let why: string | undefined;
    for (let i = 0; i < 50; i++) {
      why = watch.observe(record(100 + i, i < failures ? FAILED : {}));
    }
    return why;
  };
  // 95 % of 50 is 47.5: 48 failures reach it.
  strictEqual(
    stops(48),
    "48 of the first 50 requests failed within 10 s of the start",
  );
  strictEqual(stops(47), undefined);
});

Deno.test("FailFast: failures after the window, and aborted requests, count for nothing", () => {
  const watch = new FailFast({ minRequests: 2 });
  strictEqual(watch.observe(record(10_001, FAILED)), undefined);
  strictEqual(watch.observe(record(10_002, FAILED)), undefined);
  const aborted = {
    ok: false,
    error: { kind: "aborted" as const, message: "x" },
  };
  strictEqual(watch.observe(record(5, aborted)), undefined);
  strictEqual(watch.observe(record(6, aborted)), undefined);
  deepStrictEqual(watch.firstError, {
    kind: "http",
    status: 500,
    message: "HTTP 500: engine down",
  });
});

Deno.test("FailFast: a success between permanent errors restarts the burst", () => {
  const watch = new FailFast({ burst: 3, minRequests: 100 });
  const refused = {
    ok: false,
    status: 403,
    error: { kind: "http" as const, message: "HTTP 403: forbidden" },
  };
  strictEqual(watch.observe(record(1, refused)), undefined);
  strictEqual(watch.observe(record(2, refused)), undefined);
  strictEqual(watch.observe(record(3)), undefined);
  strictEqual(watch.observe(record(4, refused)), undefined);
  strictEqual(watch.observe(record(5, refused)), undefined);
  strictEqual(
    watch.observe(record(6, refused)),
    "3 permanent errors in a row (HTTP 403): every further request would fail the same way",
  );
});

Deno.test("run: a refused key stops after 5 refusals in a row, with one warning and the first error", async () => {
  const server = startScriptedServer({
    script: () => ({ status: 401, message: "Incorrect API key provided." }),
  });
  const warnings: string[] = [];
  try {
    const summary = await run(requests(), {
      endpoint: { baseUrl: `${server.origin}/v1/`, model: "m" },
      load: closedLoop(3),
      warn: (message) => warnings.push(message),
    });
    strictEqual(summary.stopReason, "fail_fast");
    // The fifth refusal stops it; at most the 2 others in flight follow.
    const { failed, ok } = summary.requests;
    strictEqual(ok, 0);
    strictEqual(failed >= 5 && failed <= 7, true, `${failed} failed`);
    strictEqual(
      summary.failFast,
      "5 permanent errors in a row (HTTP 401): every further request would fail the same way",
    );
    deepStrictEqual(summary.firstError, {
      kind: "http",
      status: 401,
      message: "HTTP 401: Incorrect API key provided.",
    });
    deepStrictEqual(warnings, [
      "kvbench: a request failed (HTTP 401: Incorrect API key provided.); the run summary counts the failures",
    ]);
  } finally {
    await server.close();
  }
});

Deno.test("run: an engine failing every request stops once 50 failed in the first 10 s; failFast: false runs on", async () => {
  const server = startScriptedServer({
    script: () => ({ status: 500, message: "engine down" }),
  });
  try {
    const stopped = await run(requests(), {
      endpoint: { baseUrl: `${server.origin}/v1/`, model: "m" },
      load: closedLoop(4),
      warn: false,
    });
    strictEqual(stopped.stopReason, "fail_fast");
    const failed = stopped.requests.failed;
    strictEqual(failed >= 50 && failed <= 53, true, `${failed} failed`);
    strictEqual(
      stopped.failFast,
      "50 of the first 50 requests failed within 10 s of the start",
    );
    const ran = await run(requests(), {
      endpoint: { baseUrl: `${server.origin}/v1/`, model: "m" },
      load: closedLoop(4),
      stop: { maxSessions: 60 },
      failFast: false,
      warn: false,
    });
    strictEqual(ran.stopReason, "max_sessions");
    strictEqual(ran.requests.failed, 60);
    strictEqual(ran.failFast, undefined);
  } finally {
    await server.close();
  }
});
