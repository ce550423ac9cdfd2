import assert from "node:assert/strict";
import {
  checkKeys,
  flagsHelp,
  inherited,
  keysSchema,
  type OptionSchema,
  parseFlagOptions,
  POSITIVE,
  POSITIVE_INT,
  runParams,
} from "./options.ts";
import { SHARED_OPTIONS as S } from "./shared_options.ts";
import { parseKvArgs } from "./kv_args.ts";
import { UsageError } from "./common.ts";
import { parseDuration, parseSizeGib } from "./units.ts";

const SCHEMA: OptionSchema = {
  endpoint: S.endpoint,
  maxInFlight: {
    flag: "max-inflight",
    aliases: ["concurrency"],
    type: "numbers",
    check: POSITIVE_INT,
    inherit: false,
    help: "in flight",
  },
  timeout: S.timeout,
  offload: { flag: "offload-size", type: "size", check: POSITIVE, help: "o" },
  header: { flag: "header", type: "strings", help: "h" },
  metrics: S.metrics,
  ignoreEos: S.ignoreEos,
  seed: S.seed,
  worker: S.worker,
};

const usageError = (message: string) => (e: unknown): boolean => {
  assert.ok(e instanceof UsageError);
  assert.equal(e.message, message);
  return true;
};

Deno.test("parseFlagOptions: types, units, defaults, repeats and negations", () => {
  const v = parseFlagOptions(
    [
      "--endpoint=h:1",
      "--concurrency",
      "8,16",
      "--timeout",
      "1.5m",
      "--offload-size",
      "40GB",
      "--header",
      "A:1",
      "--header",
      "B:2",
      "--no-metrics",
    ],
    SCHEMA,
    { usage: "u" },
  );
  assert.deepEqual(v, {
    endpoint: "h:1",
    maxInFlight: [8, 16],
    timeout: 90,
    offload: 40e9 / 1024 ** 3,
    header: ["A:1", "B:2"],
    metrics: false,
    ignoreEos: false,
    seed: undefined,
    worker: false,
  });
  assert.equal(parseFlagOptions(["-h"], SCHEMA, { usage: "u" }), undefined);
});

Deno.test("parseFlagOptions: refusals in one line, with a suggestion", () => {
  const refused = (args: string[], message: string) =>
    assert.throws(
      () => parseFlagOptions(args, SCHEMA, { usage: "u" }),
      usageError(message),
    );
  refused([], "the following arguments are required: --endpoint");
  refused(
    ["--endpoint", "h", "--timout", "3"],
    `Unknown option '--timout'; did you mean "--timeout"?`,
  );
  refused(["--endpoint", "h", "--zzzzzzzz"], "Unknown option '--zzzzzzzz'");
  refused(
    ["--endpoint", "h", "--timeout", "soon"],
    '--timeout: invalid value "soon" (expected seconds > 0, or 30s, 2m, 1h)',
  );
  refused(
    ["--endpoint", "h", "--timeout", "0"],
    '--timeout: invalid value "0" (expected seconds > 0, or 30s, 2m, 1h)',
  );
  refused(
    ["--endpoint", "h", "--timeout", "1e7"],
    "--timeout: 1e7 s is longer than a timer can wait (at most 2147483.647 s, 24.8 days)",
  );
  refused(
    ["--endpoint", "h", "--concurrency", "2,0"],
    '--concurrency: invalid value "2,0" (expected an integer > 0)',
  );
  refused(
    ["--endpoint", "h", "--max-inflight", "2", "--concurrency", "3"],
    "--concurrency is --max-inflight: give one of them",
  );
  refused(
    ["--endpoint", "h", "--concurrency", "3", "--max-inflight", "2"],
    "--concurrency is --max-inflight: give one of them",
  );
  refused(
    ["--endpoint", "h", "--no-ignore-eos", "--ignore-eos"],
    "--ignore-eos and --no-ignore-eos exclude each other",
  );
  refused(["--endpoint", "h", "x"], "Unexpected argument 'x'");
  refused(["--endpoint"], "Option '--endpoint <value>' argument missing");
});

Deno.test("the keys syntax renders the same schema: casts, units, checks, hidden keys", () => {
  const schema = keysSchema(SCHEMA);
  assert.deepEqual(Object.keys(schema), [
    "endpoint",
    "timeout",
    "metrics",
    "ignore_eos",
    "seed",
    "worker",
  ]);
  const v = parseKvArgs(["endpoint=h", "timeout=2m", "metrics=False"], schema);
  assert.equal(v.timeout, 120);
  assert.equal(v.metrics, false);
  assert.equal(v.seed, null);
  assert.throws(() => checkKeys({ timeout: -1 }, SCHEMA), {
    message: "timeout must be > 0",
  });
  assert.throws(() => checkKeys({ timeout: 1e7 }, SCHEMA), {
    message:
      "timeout must be at most 2147483.647 seconds (24.8 days): a longer wait would fire at once",
  });
  // The internal key is parsed, but neither suggested nor listed.
  assert.throws(() => parseKvArgs(["workr=True"], schema), {
    message: 'Unknown argument "workr"',
  });
});

Deno.test("help, worker pass-through and run.json params come from the schema", () => {
  const help = flagsHelp(SCHEMA);
  assert.ok(help.includes("  --concurrency VALUE"), help);
  assert.ok(!help.includes("--worker"), help);
  assert.ok(
    help.includes(
      "  --timeout S           total timeout of one request (seconds, or 30s, 2m, 1h;\n" +
        "                        default 600)\n",
    ),
    help,
  );
  assert.deepEqual(
    inherited(
      [
        "--endpoint",
        "h",
        "--concurrency=4",
        "--seed",
        "1",
        "--no-metrics",
        "--worker",
      ],
      SCHEMA,
      { syntax: "flags" },
    ),
    ["--endpoint", "h"],
  );
  assert.deepEqual(runParams(SCHEMA, { timeout: 5 }), {
    timeout_s: 5,
    ignore_eos: null,
  });
});

Deno.test("durations and sizes: units, plain numbers, refusals", () => {
  assert.equal(parseDuration("45"), 45);
  assert.equal(parseDuration("1h"), 3600);
  assert.equal(parseDuration("-2s"), -2);
  assert.equal(parseDuration("2 weeks"), undefined);
  assert.equal(parseSizeGib("2TiB"), 2048);
  assert.equal(parseSizeGib("40gb"), 40e9 / 1024 ** 3);
  assert.equal(parseSizeGib("4 GiB"), 4);
  assert.equal(parseSizeGib("GiB"), undefined);
});
