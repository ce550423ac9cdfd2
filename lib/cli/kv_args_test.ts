import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { kvHelp, type KvSchema, parseKvArgs } from "./kv_args.ts";

const SCHEMA: KvSchema = {
  workload_path: { type: "str", help: "path or alias", required: true },
  concurrency: { type: "int", help: "traces in flight", optional: true },
  duration: { type: "float", help: "seconds", default: 300 },
  stream: { type: "bool", help: "stream", default: false },
  seed: { type: "int", help: "seed" },
};

Deno.test("parseKvArgs casts like chz and lets the later value win", () => {
  deepStrictEqual(
    parseKvArgs([
      "workload_path=qa",
      "concurrency=8",
      "--duration=1.5",
      "stream=True",
      "concurrency=9",
    ], SCHEMA),
    {
      workload_path: "qa",
      concurrency: 9,
      duration: 1.5,
      stream: true,
      seed: null,
    },
  );
  for (const t of ["t", "true", "True", "1"]) {
    strictEqual(
      parseKvArgs(["workload_path=x", `stream=${t}`], SCHEMA).stream,
      true,
    );
  }
  for (const f of ["f", "false", "False", "0"]) {
    strictEqual(
      parseKvArgs(["workload_path=x", `stream=${f}`], SCHEMA).stream,
      false,
    );
  }
  strictEqual(parseKvArgs(["workload_path=x", "seed=None"], SCHEMA).seed, null);
  strictEqual(
    parseKvArgs(["workload_path=x", "concurrency=None"], SCHEMA).concurrency,
    null,
  );
});

Deno.test("parseKvArgs refuses in one line", () => {
  throws(
    () => parseKvArgs(["workload_path=x", "concurency=8"], SCHEMA),
    /^TypeError: Unknown argument "concurency"; did you mean "concurrency"\?$/,
  );
  throws(
    () => parseKvArgs(["workload_path=x", "zzz=8"], SCHEMA),
    /^TypeError: Unknown argument "zzz"$/,
  );
  throws(
    () => parseKvArgs([], SCHEMA),
    /Missing required argument "workload_path"/,
  );
  throws(
    () => parseKvArgs(["workload_path=x", "stream=yes"], SCHEMA),
    /"yes" is not a bool/,
  );
  throws(
    () => parseKvArgs(["workload_path=x", "concurrency=1.5"], SCHEMA),
    /"1.5" is not an int/,
  );
  throws(
    () => parseKvArgs(["workload_path=x", "duration=None"], SCHEMA),
    /"None" is not a float/,
  );
  throws(() => parseKvArgs(["concurrency"], SCHEMA), /expected key=value/);
});

Deno.test("kvHelp lists every key with type, default and meaning", () => {
  strictEqual(
    kvHelp(SCHEMA),
    "key            type        default     meaning\n" +
      "workload_path  str         (required)  path or alias\n" +
      "concurrency    int | None  None        traces in flight\n" +
      "duration       float       300.0       seconds\n" +
      "stream         bool        False       stream\n" +
      "seed           int | None  None        seed\n",
  );
});
