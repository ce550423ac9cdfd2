/**
 * `kvbench benchmark --verify / --cold-method / --reset-cache / --cache-salt
 * / --controls` end to end: cli.ts in a subprocess against the simulator on
 * 127.0.0.1, directly or behind a recording proxy that answers the probes
 * as vLLM, SGLang or llama.cpp would.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { runCli, RUNS_DIR, startCli } from "./cli_process.ts";
import { startSimulator } from "../lib/sim/server.ts";
import type { SimOptions } from "../lib/sim/config.ts";
import { readRecordsFile } from "../lib/run/records_file.ts";
import { startScriptedServer } from "../lib/testing/scripted_server.ts";

// 14 contexts of 1,000 tokens (0.9 × 16,384 offload tokens), 4 of which fit
// in GPU memory: every reuse comes from the offload tier.
const SIM: SimOptions = {
  timeScale: 0.001,
  seed: 1,
  gpuKvTokens: 4096,
  offloadTokens: 16384,
};

function benchmarkArgs(url: string, dir: string, extra: string[]): string[] {
  return [
    "benchmark",
    "--endpoint",
    url,
    "--offload-size",
    "1.5",
    "--bytes-per-token",
    "98304",
    "--input-length",
    "1000",
    "--output-length",
    "8",
    "--max-inflight",
    "2",
    "--num-prompts",
    "28",
    "--seed",
    "3",
    "--interval",
    "60",
    "--output-dir",
    dir,
    // tmesh-cli's texts: the simulator's greedy answers (their lengths, so
    // where a corruption shows) depend on the prompts' text.
    "--context-salt",
    "none",
    ...extra,
  ];
}

async function readPairs(dir: string): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(`${dir}/verify.jsonl`);
  return text.trim().split("\n").map((l) => JSON.parse(l));
}

Deno.test("benchmark --verify: reused contexts identical to cold compute pass (exit 0)", async () => {
  await using sim = await startSimulator(SIM);
  const dir = `${RUNS_DIR}/verify-ok`;
  const { code, stdout, stderr } = await runCli(
    benchmarkArgs(sim.url, dir, ["--verify", "3"]),
  );
  strictEqual(code, 0, stderr + stdout.slice(-2000));
  ok(
    stdout.includes(
      "[INFO] --verify 3: checking 3 reused contexts against cold compute (salt, from engine kvbench-sim)\n",
    ),
    stdout,
  );
  ok(
    stdout.includes(
      "\nverify: 3 of 3 reused contexts gave outputs identical to cold compute (cold reference: cache_salt)\n",
    ),
    stdout.slice(-2000),
  );
  const pairs = await readPairs(dir);
  // 28 requests over 14 contexts in tile order: contexts 0, 1, 2 are the oldest.
  deepStrictEqual(pairs.map((p) => p.context), [0, 1, 2]);
  for (const p of pairs) {
    strictEqual(p.outcome, "identical");
    const warm = p.warm as { cached_tokens: number; tokens: string[] };
    const cold = p.cold as { cached_tokens: number; tokens: string[] };
    ok(warm.cached_tokens > 900, JSON.stringify(warm));
    strictEqual(cold.cached_tokens, 0);
    // Greedy without ignore_eos: a length of its own per prompt, up to 8.
    ok(warm.tokens.length >= 1 && warm.tokens.length <= 8);
    deepStrictEqual(warm.tokens, cold.tokens);
    deepStrictEqual(p.warm_vs_cold, {
      unit: "token",
      compared: warm.tokens.length,
      first_at: null,
      max_logprob_diff: 0,
    });
  }
});

Deno.test("benchmark --verify: kvbench sim --corrupt-offload-rate is caught (exit 1, the token right)", async () => {
  const sim = startCli([
    "sim",
    "--port",
    "0",
    "--time-scale",
    "0.001",
    "--gpu-kv-tokens",
    "4096",
    "--offload-tokens",
    "16384",
    "--corrupt-offload-rate",
    "1",
    "--corrupt-offload-at",
    "3",
  ]);
  try {
    const [, url] = await sim.waitFor(
      /at (http:\/\/127\.0\.0\.1:\d+\/v1\/) \(/,
    );
    const dir = `${RUNS_DIR}/verify-corrupt`;
    const { code, stdout, stderr } = await runCli(
      benchmarkArgs(url, dir, ["--verify", "3"]),
    );
    strictEqual(code, 1, stderr + stdout.slice(-2000));
    ok(
      stdout.includes(
        "\nverify: 3 of 3 reused contexts diverged from cold compute beyond the control, first at token 4 (cold reference: cache_salt)\n",
      ),
      stdout.slice(-2000),
    );
    deepStrictEqual(JSON.parse(await Deno.readTextFile(`${dir}/verify.json`)), {
      verdict:
        "verify: 3 of 3 reused contexts diverged from cold compute beyond the control, first at token 4 (cold reference: cache_salt)",
      cold_method: "salt",
      cold_reference: "cache_salt",
      engine: "kvbench-sim",
      contexts: 3,
      checked: 3,
      identical: 0,
      beyond_control: 3,
      first_at: 4,
      unit: "token",
      exit_code: 1,
    });
    const pairs = await readPairs(dir);
    for (const p of pairs) {
      strictEqual(p.outcome, "beyond_control");
      strictEqual((p.warm_vs_cold as { first_at: number }).first_at, 4);
      strictEqual((p.cold_vs_control as { first_at: null }).first_at, null);
      ok((p.warm as { cached_tokens: number }).cached_tokens > 900);
    }
  } finally {
    sim.kill("SIGTERM");
    await sim.done();
  }
});

interface Received {
  path: string;
  body?: Record<string, unknown>;
}

/**
 * A proxy to the simulator that answers the detection probes as `engine`
 * does (vLLM `/version`, SGLang `/server_info`, llama.cpp `/props`) and
 * records what it receives.
 */
function engineProxy(target: string, engine: "vllm" | "sglang" | "llamacpp") {
  const received: Received[] = [];
  const origin = new URL(target).origin;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const { pathname } = new URL(request.url);
      const probes: Record<string, Record<string, unknown> | undefined> = {
        "/version": engine === "vllm" ? { version: "0.11.0" } : undefined,
        "/server_info": engine === "sglang" ? { version: "0.5.0" } : undefined,
        "/props": engine === "llamacpp" ? { build_info: "b6000" } : undefined,
      };
      if (pathname in probes) {
        const answer = probes[pathname];
        return answer
          ? Response.json(answer)
          : new Response(null, { status: 404 });
      }
      const text = request.method === "POST" ? await request.text() : undefined;
      received.push({
        path: pathname,
        body: text ? JSON.parse(text) : undefined,
      });
      const response = await fetch(origin + pathname, {
        method: request.method,
        headers: request.headers,
        body: text,
      });
      if (pathname === "/v1/models") {
        const models = await response.json();
        models.data[0].owned_by = engine;
        return Response.json(models);
      }
      return new Response(response.body, {
        status: response.status,
        headers: response.headers,
      });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/v1/`,
    received,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

const greedy = (r: Received) => r.body?.temperature === 0;

Deno.test("benchmark --verify: each engine gets its own cold control (cache_salt, /flush_cache, cache_prompt false)", async () => {
  for (const engine of ["vllm", "sglang", "llamacpp"] as const) {
    await using sim = await startSimulator(SIM);
    await using proxy = engineProxy(sim.url, engine);
    const dir = `${RUNS_DIR}/verify-${engine}`;
    const { code, stdout, stderr } = await runCli(
      benchmarkArgs(proxy.url, dir, [
        "--verify",
        "2",
        "--reset-cache",
        "--cache-salt",
        "run",
        "--no-metrics",
      ]),
    );
    strictEqual(code, 0, `${engine}: ${stderr}${stdout.slice(-1500)}`);
    const flush = engine === "sglang" ? "/flush_cache" : "/reset_prefix_cache";
    const posts = proxy.received.filter((r) => r.path === "/v1/completions");
    const run = posts.filter((r) => !greedy(r));
    const checks = posts.filter(greedy);
    strictEqual(run.length, 28, engine);
    strictEqual(checks.length, 6, engine); // 2 × (warm, cold, control)
    const resets = proxy.received.filter((r) => r.path === flush).length;
    const cold = checks.slice(2);
    const salt = run[0].body!.cache_salt;
    if (engine === "vllm") {
      // One salt for the run, and the warm checks carry it to find its cache.
      ok(typeof salt === "string" && salt.startsWith("kvbench-"), String(salt));
      ok(run.every((r) => r.body!.cache_salt === salt));
      ok(checks.slice(0, 2).every((r) => r.body!.cache_salt === salt));
      const coldSalts = cold.map((r) => r.body!.cache_salt as string);
      strictEqual(new Set([...coldSalts, salt]).size, 5, coldSalts.join());
      strictEqual(resets, 1); // --reset-cache before the run
      ok(stdout.includes("(cold reference: cache_salt)"), stdout.slice(-1500));
    } else {
      // No salt for engines that take none, and a warning saying so.
      ok(run.every((r) => r.body!.cache_salt === undefined), engine);
      ok(
        stderr.includes(
          `[WARN] --cache-salt run: ${engine} takes no cache_salt`,
        ),
        stderr,
      );
    }
    if (engine === "sglang") {
      strictEqual(resets, 1 + 4); // the run, then before each cold request
      ok(cold.every((r) => r.body!.cache_prompt === undefined));
      ok(
        stdout.includes("(cold reference: POST /flush_cache)"),
        stdout.slice(-1500),
      );
    }
    if (engine === "llamacpp") {
      strictEqual(resets, 1);
      ok(cold.every((r) => r.body!.cache_prompt === false));
      ok(checks.slice(0, 2).every((r) => r.body!.cache_prompt === undefined));
      ok(
        stdout.includes("(cold reference: cache_prompt: false)"),
        stdout.slice(-1500),
      );
    }
    for (const r of checks) {
      strictEqual(r.body!.seed, 0);
      strictEqual(r.body!.logprobs, 1);
      strictEqual(r.body!.stream, false);
    }
    ok(
      stdout.includes(
        "verify: 2 of 2 reused contexts gave outputs identical to cold compute",
      ),
      `${engine}: ${stdout.slice(-1500)}`,
    );
  }
});

Deno.test("benchmark --controls: cold and warm TTFT at the same load, the speed-up the simulator's rates predict", async () => {
  const rates = { prefillTokensPerS: 2500, loadTokensPerS: 10_000 };
  await using sim = await startSimulator({ ...SIM, timeScale: 1, ...rates });
  const dir = `${RUNS_DIR}/controls`;
  const { code, stdout, stderr } = await runCli(
    benchmarkArgs(sim.url, dir, [
      "--controls",
      "0.3",
      "--max-inflight",
      "1",
      "--num-prompts",
      "42",
      "--output-length",
      "2",
    ]),
    { timeoutMs: 120_000 },
  );
  strictEqual(code, 0, stderr + stdout.slice(-2000));
  const line = stdout.match(
    /Like with like: reuses served from cache had a mean TTFT of ([\d.]+) s \((\d+) requests\) against ([\d.]+) s for (\d+) cold controls interleaved at the same load \(--controls\): ([\d.]+)× faster\./,
  );
  ok(line, stdout.slice(-2500));
  // The model's prediction from the records' token counts: prefill of what
  // was not cached, load of what came from the offload tier (at most one
  // request in flight: no queueing).
  const { records } = await readRecordsFile(`${dir}/records.jsonl`);
  const seen = new Set<number | string>();
  const modelMs = { warm: [] as number[], cold: [] as number[] };
  for (const r of records) {
    const key = r.tags?.context ?? r.tags?.control;
    const first = !seen.has(key!);
    if (r.tags?.context !== undefined) seen.add(r.tags.context);
    if (first) continue;
    const cached = r.cachedTokens!, prompt = r.promptTokens!;
    const ms = ((prompt - cached) / rates.prefillTokensPerS +
      cached / rates.loadTokensPerS) * 1000;
    if (r.tags?.control !== undefined) {
      strictEqual(cached, 0);
      modelMs.cold.push(ms);
    } else if (cached * 2 >= prompt) modelMs.warm.push(ms);
  }
  strictEqual(modelMs.cold.length, Number(line[4]));
  strictEqual(modelMs.warm.length, Number(line[2]));
  ok(modelMs.cold.length >= 3, `controls ${modelMs.cold.length}`);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const predicted = mean(modelMs.cold) / mean(modelMs.warm);
  ok(predicted > 3, `predicted ${predicted}`);
  // Wall-clock TTFT adds HTTP and timer overhead to both sides, more on a
  // busy machine; at the same load it is the same on both, so the gap
  // between the means is the model's (within 25 %), whatever the overhead.
  const [warmS, coldS] = [Number(line[1]), Number(line[3])];
  const predictedGapS = (mean(modelMs.cold) - mean(modelMs.warm)) / 1000;
  ok(
    Math.abs((coldS - warmS) / predictedGapS - 1) < 0.25,
    `measured gap ${(coldS - warmS).toFixed(3)} s against ${
      predictedGapS.toFixed(3)
    } s predicted`,
  );
  // No side faster than the model lets it be (the means are printed to 0.01 s).
  ok(warmS >= mean(modelMs.warm) / 1000 - 0.005, `warm ${warmS} s`);
  ok(coldS >= mean(modelMs.cold) / 1000 - 0.005, `cold ${coldS} s`);
  // The speed-up printed is the ratio of the means printed (to rounding).
  ok(Math.abs(Number(line[5]) - coldS / warmS) < 0.1 * coldS / warmS, line[0]);
});

Deno.test("benchmark --cache-salt session: a salt per context, which the check's warm requests carry", async () => {
  await using sim = await startSimulator(SIM);
  await using proxy = engineProxy(sim.url, "vllm");
  const { code, stdout, stderr } = await runCli(
    benchmarkArgs(proxy.url, `${RUNS_DIR}/verify-session`, [
      "--verify",
      "2",
      "--cache-salt",
      "session",
      "--no-metrics",
    ]),
  );
  strictEqual(code, 0, stderr + stdout.slice(-1500));
  const posts = proxy.received.filter((r) => r.path === "/v1/completions");
  const run = posts.filter((r) => !greedy(r));
  const salt = /cache_salt (kvbench-[0-9a-f]{8})-s<context> on every request/
    .exec(stdout)?.[1];
  ok(salt, stdout.slice(0, 2000));
  // The contexts' indices start the prompts ("0hihi…", "13hihi…").
  for (const r of run) {
    const context = /^\d+/.exec(r.body!.prompt as string)![0];
    strictEqual(r.body!.cache_salt, `${salt}-s${context}`);
  }
  const warm = posts.filter(greedy).slice(0, 2);
  deepStrictEqual(warm.map((r) => r.body!.cache_salt), [
    `${salt}-s0`,
    `${salt}-s1`,
  ]);
  ok(stdout.includes("verify: 2 of 2 reused contexts gave outputs identical"));
});

Deno.test("benchmark --reset-cache on a server without the route: one line, exit 1; bad values are usage errors (exit 2)", async () => {
  const server = startScriptedServer({
    script: () => ({
      tokens: ["x"],
      usage: { prompt_tokens: 10, completion_tokens: 1 },
    }),
  });
  try {
    const { code, stdout, stderr } = await runCli(
      benchmarkArgs(server.origin, `${RUNS_DIR}/reset-404`, ["--reset-cache"]),
    );
    strictEqual(code, 1, stdout.slice(-1500));
    strictEqual(
      stderr,
      'kvbench benchmark: error: Cannot reset the server\'s cache: POST /reset_prefix_cache answered HTTP 404 {"error":{"message":"no route"}} (vLLM serves it with VLLM_SERVER_DEV_MODE=1)\n',
    );
    ok(!server.received.some((r) => r.path === "/v1/completions"));
    for (
      const [flags, message] of [
        [
          ["--verify", "0"],
          '--verify: invalid value "0" (expected an integer > 0)',
        ],
        [
          ["--controls", "1"],
          '--controls: invalid value "1" (expected a fraction between 0 and 1)',
        ],
        [
          ["--cache-salt", "all"],
          "--cache-salt all: expected run, session or none",
        ],
        [["--cold-method", "salt"], "--cold-method needs --verify N"],
        [
          ["--verify", "2", "--cold-method", "x"],
          "--cold-method x: expected salt, flush or nocache",
        ],
      ]
    ) {
      const bad = await runCli(
        benchmarkArgs(server.origin, `${RUNS_DIR}/bad`, flags as string[]),
      );
      strictEqual(bad.code, 2, bad.stderr);
      ok(
        bad.stderr.endsWith(`kvbench benchmark: error: ${message}\n`),
        bad.stderr,
      );
    }
  } finally {
    await server.close();
  }
});
