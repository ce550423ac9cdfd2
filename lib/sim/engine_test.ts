import { ok, strictEqual } from "node:assert/strict";
import { Engine } from "./engine.ts";

const config = {
  blockSize: 16,
  gpuKvTokens: 4096,
  offloadTokens: 0,
  maxRunningSeqs: 8,
  timeScale: 1,
  timing: {
    prefillTokensPerS: 1e9,
    loadTokensPerS: 1e9,
    itlBaseMs: 1,
    itlPerSeqMs: 0,
  },
};

Deno.test("Engine never calls a sink from inside submit() or cancel()", async () => {
  const engine = new Engine(config);
  let inside = false;
  const calls: string[] = [];
  const sink = (name: string) => ({
    progress(_emitted: number, done: boolean) {
      ok(!inside, `${name} was called from inside submit() or cancel()`);
      calls.push(`${name}${done ? " done" : ""}`);
    },
    aborted() {
      ok(!inside);
      calls.push(`${name} aborted`);
    },
  });
  inside = true;
  engine.submit({ promptIds: [1, 2, 3], outputIds: [7] }, sink("a"));
  inside = false;
  // Let a's only token fall due without a timer firing, then make the engine
  // catch up inside submit() and cancel(), as a server does under load.
  const until = performance.now() + 5;
  while (performance.now() < until) { /* spin */ }
  inside = true;
  const b = engine.submit(
    { promptIds: [4, 5, 6], outputIds: [8, 9, 10] },
    sink("b"),
  );
  b.cancel();
  inside = false;
  await new Promise((r) => setTimeout(r, 20));
  strictEqual(calls[0], "a done");
  ok(
    !calls.some((c) => c.startsWith("b")),
    "a cancelled sequence is not reported",
  );
  engine.close();
});

Deno.test("Engine: a cancelled sequence's sink hears nothing more, even if its last token was already due", async () => {
  const engine = new Engine(config);
  const calls: string[] = [];
  const handle = engine.submit({ promptIds: [1, 2, 3], outputIds: [7] }, {
    progress: (_emitted, done) => calls.push(done ? "done" : "token"),
    aborted: () => calls.push("aborted"),
  });
  const until = performance.now() + 5;
  while (
    performance.now() < until
  ) { /* the token falls due, no timer has fired */ }
  handle.cancel();
  await new Promise((r) => setTimeout(r, 20));
  strictEqual(calls.length, 0, calls.join());
  engine.close();
  strictEqual(
    calls.length,
    0,
    "close() does not report a cancelled sequence either",
  );
});
