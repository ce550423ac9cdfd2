import assert from "node:assert/strict";
import { logLine, PyFloat, pyFloat, pyRepr } from "./log_line.ts";

// Expected lines were checked against structlog's ConsoleRenderer
// (colors=False) fed the same Python values.

Deno.test("logLine() pads level and event and sorts keys", () => {
  assert.equal(
    logLine("info", "starting benchmark", {
      model: "/data/models/DeepSeek-R1",
      workload_templates: 8192,
      concurrency: 24,
      duration: pyFloat(300),
      num_gpus: 8,
    }),
    "[info     ] starting benchmark             concurrency=24 duration=300.0 model=/data/models/DeepSeek-R1 num_gpus=8 workload_templates=8192",
  );
  assert.equal(
    logLine("warning", "request failed", {
      turn: 3,
      error: "Error code: 500 - {'a': 'b'}",
    }),
    "[warning  ] request failed                 error=Error code: 500 - {'a': 'b'} turn=3",
  );
  assert.equal(
    logLine("info", "benchmark complete", {
      wall_time_s: 109.25,
      completed_requests: 8,
      failed_requests: 0,
      trace_per_s: pyFloat(0),
    }),
    "[info     ] benchmark complete             completed_requests=8 failed_requests=0 trace_per_s=0.0 wall_time_s=109.25",
  );
});

Deno.test("logLine() does not pad an event without fields", () => {
  assert.equal(
    logLine("warning", "benchmark interrupted"),
    "[warning  ] benchmark interrupted",
  );
  assert.equal(
    logLine("error", "x", { skipped: undefined }),
    "[error    ] x",
  );
});

Deno.test("logLine() renders values like Python repr, strings bare", () => {
  assert.equal(
    logLine("info", "a very long event name that exceeds thirty chars", {
      x: 0.00001,
      y: pyFloat(1e16),
      z: [1, "a", 2.5, null, true, "it's", "q\"'", "tab\there\n"],
      w: { k: pyFloat(1), n: null },
    }),
    `[info     ] a very long event name that exceeds thirty chars w={'k': 1.0, 'n': None} x=1e-05 y=1e+16 z=[1, 'a', 2.5, None, True, "it's", 'q"\\'', 'tab\\there\\n']`,
  );
  assert.equal(
    logLine("error", "e", {
      s: "",
      big: pyFloat(123456789012345678),
      neg: pyFloat(-0),
      inf: Infinity,
      nan: NaN,
      num_gpus: null,
      ok: false,
      big_int: 1e21,
    }),
    "[error    ] e                              big=1.2345678901234568e+17 big_int=1000000000000000000000 inf=inf nan=nan neg=-0.0 num_gpus=None ok=False s=",
  );
});

Deno.test("PyFloat renders as a float and serialises as a number", () => {
  assert.equal(String(new PyFloat(2)), "2.0");
  assert.equal(JSON.stringify({ a: pyFloat(2.5) }), '{"a":2.5}');
  assert.equal(pyRepr(pyFloat(7)), "7.0");
  assert.equal(pyRepr(7), "7");
  assert.equal(pyRepr(undefined), "None");
  assert.equal(pyRepr(10n), "10");
  assert.equal(pyRepr("\x01\\"), "'\\x01\\\\'");
});
