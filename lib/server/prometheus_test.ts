import assert from "node:assert/strict";
import {
  parsePrometheusText,
  type PromExposition,
  type PromSample,
} from "./prometheus.ts";

// Fixtures in testdata/metrics/: the *.prom files that start with a
// "# Composed …" line are composed from the engines' source names (see
// /work/notes/metrics_reference.md §8); llamacpp_real*.prom are byte-exact
// /metrics bodies of a real llama.cpp server (build b1-de3ff81).
const fixture = (name: string): Promise<string> =>
  Deno.readTextFile(
    new URL(`../../tests/testdata/metrics/${name}`, import.meta.url),
  );

const one = (line: string): PromSample => {
  const { samples } = parsePrometheusText(line);
  assert.equal(samples.length, 1);
  return samples[0];
};

const throwsAt = (text: string, line: number, reason: RegExp): void => {
  assert.throws(() => parsePrometheusText(text), (error: unknown) => {
    assert.ok(error instanceof SyntaxError, `not a SyntaxError: ${error}`);
    assert.match(
      error.message,
      new RegExp(`^Cannot read metrics: line ${line} "`),
    );
    assert.match(error.message, reason);
    return true;
  });
};

Deno.test("parsePrometheusText reads HELP and TYPE, unescaping HELP's \\\\ and \\n", () => {
  const { types, help, samples } = parsePrometheusText(
    [
      "# HELP a_total Counts \\\\ things\\nover two lines, \\t kept.",
      "# TYPE a_total counter",
      "# HELP no_text",
      "# TYPE h histogram",
      "#HELP tight Lenient about the space after #.",
      "a_total 1",
    ].join("\n"),
  );
  assert.equal(
    help.get("a_total"),
    "Counts \\ things\nover two lines, \\t kept.",
  );
  assert.equal(help.get("no_text"), "");
  assert.equal(help.get("tight"), "Lenient about the space after #.");
  assert.deepEqual([...types], [["a_total", "counter"], ["h", "histogram"]]);
  assert.equal(samples.length, 1);
});

Deno.test("parsePrometheusText ignores other comments and blank lines", () => {
  const { samples, types, help } = parsePrometheusText(
    "\n# plain comment\n#\n   # indented comment\n# HELPER not help\n# EOF\n \t \nx 1\n\n",
  );
  assert.deepEqual(samples, [{ name: "x", labels: {}, value: 1 }]);
  assert.equal(types.size, 0);
  assert.equal(help.size, 0);
});

Deno.test("parsePrometheusText reads an empty text as no samples", () => {
  assert.deepEqual(parsePrometheusText(""), {
    samples: [],
    types: new Map(),
    help: new Map(),
  });
});

Deno.test("parsePrometheusText keeps colons in metric names", () => {
  for (const name of ["vllm:prompt_tokens_total", ":leading", "a:b:c", "_x"]) {
    assert.equal(one(`${name} 1`).name, name);
  }
});

Deno.test("parsePrometheusText unescapes label values and keeps } , = inside quotes", () => {
  const s = one(
    String
      .raw`m{path="C:\\DIR\\F.TXT",msg="say \"hi\"\nbye",odd="a\tb",brace="a}b,c=d",empty=""} 1`,
  );
  assert.deepEqual(s.labels, {
    path: "C:\\DIR\\F.TXT",
    msg: 'say "hi"\nbye',
    odd: "a\\tb", // an unknown escape is kept as written
    brace: "a}b,c=d",
    empty: "",
  });
});

Deno.test("parsePrometheusText takes labels in any order, {} and a trailing comma", () => {
  const a = one('m{engine="0",model_name="x"} 1');
  const b = one('m{model_name="x",engine="0",} 1');
  assert.deepEqual(a.labels, b.labels);
  assert.deepEqual(one("m{} 2").labels, {});
  assert.deepEqual(one('m { a = "1" , b="2" , } 3').labels, { a: "1", b: "2" });
});

Deno.test("parsePrometheusText keeps a __proto__ label as an own property", () => {
  const s = one('m{__proto__="x"} 1');
  assert.equal(Object.getPrototypeOf(s.labels), Object.prototype);
  assert.deepEqual(Object.entries(s.labels), [["__proto__", "x"]]);
});

Deno.test("parsePrometheusText reads Go float values", () => {
  const cases: [string, number][] = [
    ["0", 0],
    ["42", 42],
    ["-2.5e-3", -0.0025],
    ["1.2288e+06", 1228800],
    ["3.3554432e+09", 3355443200],
    ["1.23457e+06", 1234570],
    ["1.7528483752598796e+09", 1752848375.2598796],
    ["614400.0", 614400],
    [".5", 0.5],
    ["5.", 5],
    ["1E3", 1000],
    ["+Inf", Infinity],
    ["Inf", Infinity],
    ["-Inf", -Infinity],
    ["+inf", Infinity],
  ];
  for (const [text, value] of cases) {
    assert.equal(one(`m ${text}`).value, value, text);
  }
  assert.ok(Number.isNaN(one("m NaN").value));
  assert.ok(Number.isNaN(one("m nan").value));
});

Deno.test("parsePrometheusText reads optional integer timestamps", () => {
  assert.deepEqual(one("m 1 1395066363000"), {
    name: "m",
    labels: {},
    value: 1,
    timestampMs: 1395066363000,
  });
  assert.equal(one("m +Inf -3982045").timestampMs, -3982045);
  assert.equal("timestampMs" in one("m 1"), false);
  assert.equal(one('m{a="b"}\t7\t\t12  ').timestampMs, 12);
});

Deno.test("parsePrometheusText accepts CRLF and a last line without a newline", () => {
  const lf = "# TYPE a counter\na 1\nb 2\n";
  const crlf = lf.replaceAll("\n", "\r\n");
  assert.deepEqual(parsePrometheusText(crlf), parsePrometheusText(lf));
  assert.deepEqual(
    parsePrometheusText(crlf.slice(0, -2)),
    parsePrometheusText(lf),
  );
  assert.deepEqual(parsePrometheusText("a 1\nb 2").samples.at(-1), {
    name: "b",
    labels: {},
    value: 2,
  });
});

Deno.test("parsePrometheusText keeps _created, _total, _bucket, _sum and _count samples under their own names", () => {
  const { samples } = parsePrometheusText(
    [
      "x_total 4",
      "x_created 1.75e9",
      'h_bucket{le="0.1"} 1',
      'h_bucket{le="+Inf"} 2',
      "h_sum 0.35",
      "h_count 2",
    ].join("\n"),
  );
  assert.deepEqual(samples.map((s) => [s.name, s.value]), [
    ["x_total", 4],
    ["x_created", 1.75e9],
    ["h_bucket", 1],
    ["h_bucket", 2],
    ["h_sum", 0.35],
    ["h_count", 2],
  ]);
});

Deno.test("parsePrometheusText rejects a malformed line, naming its number and start", () => {
  throwsAt("a 1\nb\n", 2, /expected a value/);
  throwsAt("a 1\n\nb{x=1} 2", 3, /quoted value for label x/);
  throwsAt('b{x="1} 2\n', 1, /unterminated value of label x/);
  throwsAt('b{x="1" y="2"} 2', 1, /expected "," or "}" after label x/);
  throwsAt('b{x:y="1"} 2', 1, /expected "=" after label x/);
  throwsAt('b{1x="1"} 2', 1, /expected a label name/);
  throwsAt('b{x="1",x="2"} 2', 1, /label x given twice/);
  throwsAt("b one", 1, /cannot read the value "one"/);
  throwsAt("b 0x10", 1, /cannot read the value "0x10"/);
  throwsAt("b 1 1.5", 1, /integer timestamp, not "1.5"/);
  throwsAt("b 1 2 3", 1, /unexpected text after the timestamp/);
  throwsAt("b-c 1", 1, /unexpected "-" after the metric name/);
  throwsAt("9b 1", 1, /expected a metric name/);
  throwsAt("# TYPE b counters", 1, /after # TYPE b/);
  throwsAt("# TYPE b", 1, /after # TYPE b/);
  throwsAt("# HELP", 1, /metric name after # HELP/);
  throwsAt("# TYPE 9b counter", 1, /metric name after # TYPE/);
  // OpenMetrics features that 0.0.4 lacks: an exemplar, a quoted UTF-8 name.
  throwsAt('c_total 1 # {trace_id="x"} 1', 1, /timestamp/);
  throwsAt('{"my.metric"} 1', 1, /expected a metric name/);
  // CRLF counts lines the same; a long line shows its first 60 characters.
  const long = `m{a="${"x".repeat(100)} 1`;
  throwsAt(`a 1\r\n${long}\r\n`, 2, /"m\{a="x{55}…": unterminated/);
});

/** A bucket bound: a Go float (`Number` does not read "+Inf"). */
const bound = (le: string): number => le === "+Inf" ? Infinity : Number(le);

/** A fixture's samples must follow the format's family rules. */
function checkFamilies(name: string, { samples, types }: PromExposition) {
  const family = (sample: string): string | undefined => {
    if (types.has(sample)) return sample;
    const base = sample.replace(/_(bucket|sum|count)$/, "");
    return types.get(base) === "histogram" || types.get(base) === "summary"
      ? base
      : undefined;
  };
  for (const s of samples) {
    assert.ok(family(s.name), `${name}: ${s.name} has no TYPE`);
  }
  // Histograms: cumulative buckets; the +Inf bucket equals _count.
  for (const [metric, type] of types) {
    if (type !== "histogram") continue;
    const series = new Map<
      string,
      { buckets: [number, number][]; count?: number }
    >();
    for (const s of samples) {
      if (family(s.name) !== metric) continue;
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(Object.entries(rest).sort());
      const entry = series.get(key) ?? { buckets: [] };
      series.set(key, entry);
      if (s.name.endsWith("_bucket")) entry.buckets.push([bound(le), s.value]);
      if (s.name.endsWith("_count")) entry.count = s.value;
    }
    for (const { buckets, count } of series.values()) {
      buckets.sort((a, b) => a[0] - b[0]);
      assert.equal(buckets.at(-1)?.[0], Infinity, `${name}: ${metric} +Inf`);
      assert.equal(buckets.at(-1)?.[1], count, `${name}: ${metric} count`);
      for (let i = 1; i < buckets.length; i++) {
        assert.ok(buckets[i][1] >= buckets[i - 1][1], `${name}: ${metric}`);
      }
    }
  }
}

Deno.test("every fixture parses, with the samples and families it holds", async () => {
  const expected: Record<string, [samples: number, types: number]> = {
    "dynamo_kvbm.prom": [10, 10],
    "edge_cases.prom": [6, 1],
    "llamacpp.prom": [11, 11],
    "llamacpp_real.prom": [15, 15],
    "llamacpp_real_before_long.prom": [15, 15],
    "llamacpp_real_after_long.prom": [15, 15],
    "lmcache_in_vllm.prom": [14, 10],
    "sglang_hicache.prom": [26, 17],
    "vllm_old_names_two_engines.prom": [18, 9],
    "vllm_v1_offload.prom": [47, 24],
    "vllm_v1_single_process_with_created.prom": [9, 6],
  };
  const names = [];
  for await (
    const entry of Deno.readDir(
      new URL("../../tests/testdata/metrics/", import.meta.url),
    )
  ) {
    if (entry.name.endsWith(".prom")) names.push(entry.name);
  }
  assert.deepEqual(names.sort(), Object.keys(expected).sort());
  for (const [name, [samples, types]] of Object.entries(expected)) {
    const exposition = parsePrometheusText(await fixture(name));
    assert.equal(exposition.samples.length, samples, name);
    assert.equal(exposition.types.size, types, name);
    assert.equal(exposition.help.size, types, name);
    if (name !== "edge_cases.prom") checkFamilies(name, exposition);
  }
});

Deno.test("edge_cases.prom: escapes, brace and comma in values, NaN, ±Inf, tabs, timestamps", async () => {
  const { samples, help } = parsePrometheusText(
    await fixture("edge_cases.prom"),
  );
  assert.equal(
    help.get("weird_help"),
    "Backslash \\ and newline \n escapes in HELP.",
  );
  assert.deepEqual(samples[0], {
    name: "weird_help",
    labels: {
      path: "C:\\DIR\\FILE.TXT",
      error: 'Cannot find file:\n"FILE.TXT"',
      brace: "a}b,c=d",
    },
    value: 1458255915,
  });
  assert.deepEqual(samples[1].labels, { trailing_comma: "yes" });
  assert.ok(Number.isNaN(samples[1].value));
  assert.deepEqual(samples[2], {
    name: "weird_help",
    labels: { leading_whitespace: "tab" },
    value: -Infinity,
    timestampMs: 1395066363000,
  });
  assert.deepEqual(samples[3], {
    name: "something_weird",
    labels: { problem: "division by zero" },
    value: Infinity,
    timestampMs: -3982045,
  });
  assert.deepEqual(samples.slice(4), [
    { name: "no_labels_no_type", labels: {}, value: 12.47 },
    { name: "empty_braces", labels: {}, value: 0 },
  ]);
});

Deno.test("llamacpp_real.prom: a real llama.cpp /metrics body", async () => {
  const { samples, types, help } = parsePrometheusText(
    await fixture("llamacpp_real.prom"),
  );
  const value = (name: string) => samples.find((s) => s.name === name)?.value;
  assert.equal(value("llamacpp:prompt_tokens_total"), 6662);
  assert.equal(value("llamacpp:prompt_tokens_cached_total"), 3107);
  assert.equal(value("llamacpp:tokens_predicted_total"), 1548);
  assert.equal(value("llamacpp:prompt_seconds_total"), 4.29141);
  assert.equal(value("llamacpp:n_busy_slots_per_decode"), 1);
  assert.equal(types.get("llamacpp:prompt_tokens_cached_total"), "counter");
  assert.equal(types.get("llamacpp:n_busy_slots_per_decode"), "gauge");
  assert.equal(
    help.get("llamacpp:prompt_tokens_total"),
    "Number of prompt tokens processed, excluding cached tokens",
  );
  assert.ok(samples.every((s) => Object.keys(s.labels).length === 0));
});

Deno.test("vllm_v1_offload.prom: sorted labels, e-notation values and le bounds", async () => {
  const { samples, types } = parsePrometheusText(
    await fixture("vllm_v1_offload.prom"),
  );
  const bySource = samples.filter((s) =>
    s.name === "vllm:prompt_tokens_by_source_total"
  );
  assert.deepEqual(bySource.map((s) => [s.labels.source, s.value]), [
    ["local_compute", 204800],
    ["local_cache_hit", 614400],
    ["external_kv_transfer", 409600],
  ]);
  assert.equal(
    samples.find((s) => s.name === "vllm:prompt_tokens_total")?.value,
    1228800,
  );
  const les = samples
    .filter((s) => s.name === "vllm:kv_offload_load_size_bucket")
    .map((s) => bound(s.labels.le));
  assert.deepEqual(les, [
    1e6,
    5e6,
    1e7,
    2e7,
    4e7,
    6e7,
    8e7,
    1e8,
    1.5e8,
    2e8,
    Infinity,
  ]);
  assert.equal(types.get("vllm:prompt_tokens_total"), "counter");
  assert.equal(types.get("vllm:time_to_first_token_seconds"), "histogram");
  const config = samples.find((s) => s.name === "vllm:cache_config_info");
  assert.equal(config?.labels.num_gpu_blocks, "16384");
  assert.equal(config?.labels.num_cpu_blocks, "None");
});

Deno.test("vllm_v1_single_process_with_created.prom: _created families and declaration-order labels", async () => {
  const { samples, types } = parsePrometheusText(
    await fixture("vllm_v1_single_process_with_created.prom"),
  );
  assert.equal(types.get("vllm:prompt_tokens_created"), "gauge");
  const created = samples.find((s) => s.name === "vllm:prompt_tokens_created");
  assert.equal(created?.value, 1752848375.2598796);
  assert.deepEqual(Object.keys(created?.labels ?? {}), [
    "model_name",
    "engine",
  ]);
  // Histogram lines in client_python's single-process order: buckets, _count, _sum.
  assert.deepEqual(
    samples.filter((s) =>
      s.name.startsWith("vllm:time_to_first_token_seconds_")
    )
      .map((s) => s.name.slice("vllm:time_to_first_token_seconds".length)),
    ["_bucket", "_bucket", "_count", "_sum", "_created"],
  );
});

Deno.test("parsePrometheusText reads 100 000 samples (its speed is deno bench's)", () => {
  const lines = [];
  for (let i = 0; i < 100_000; i++) {
    lines.push(
      `vllm:x_total{engine="${i % 8}",model_name="m",le="${i}"} ${i}.5`,
    );
  }
  const text = lines.join("\n");
  const { samples } = parsePrometheusText(text);
  assert.equal(samples.length, 100_000);
  assert.equal(samples[99_999].value, 99_999.5);
});
