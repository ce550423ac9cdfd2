/**
 * `kvbench benchmark --context-salt` end to end through `cli.ts` against the
 * simulator on 127.0.0.1: a rerun starts cold by default and warm with
 * `--context-salt none`; workers, shards (as `kvbench k8s` starts them) and
 * `kvbench merge` share one salt; `--cache-salt` and `--controls` reach
 * `--workers`.
 */
import assert from "node:assert/strict";
import { parse } from "npm:yaml@2.9.1";
import { runCli, RUNS_DIR } from "./cli_process.ts";
import { startSimulator } from "../lib/sim/server.ts";
import type { SimOptions } from "../lib/sim/config.ts";
import { readRecordsFile } from "../lib/run/records_file.ts";
import type { RequestRecord } from "../lib/types.ts";

// 14 contexts of 1,000 tokens (0.9 × 16,384 offload tokens), 4 of which fit
// in GPU memory: one run's contexts stay in the offload tier for the next.
const SIM: SimOptions = {
  timeScale: 0.001,
  seed: 1,
  gpuKvTokens: 4096,
  offloadTokens: 16384,
};
const CONTEXTS = 14;

function benchmarkArgs(url: string, dir: string, extra: string[]): string[] {
  return [
    "benchmark",
    ...["--endpoint", url, "--offload-size", "1.5"],
    ...["--bytes-per-token", "98304", "--input-length", "1000"],
    ...["--output-length", "8", "--max-inflight", "2", "--num-prompts", "28"],
    ...["--interval", "60", "--output-dir", dir],
    ...extra,
  ];
}

async function records(dir: string): Promise<RequestRecord[]> {
  return (await readRecordsFile(`${dir}/records.jsonl`)).records;
}

async function params(dir: string): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(`${dir}/run.json`)).params;
}

/** Prompt and cached tokens of the first lap (each context's first request). */
function firstLap(rs: RequestRecord[]): { prompt: number; cached: number } {
  const lap = rs.filter((r) => r.ok && (r.tags!.index as number) < CONTEXTS);
  assert.equal(lap.length, CONTEXTS);
  return {
    prompt: lap.reduce((a, r) => a + r.promptTokens!, 0),
    cached: lap.reduce((a, r) => a + r.cachedTokens!, 0),
  };
}

/** Run once into a fresh directory; the code must be 0. */
async function run(url: string, name: string, extra: string[] = []) {
  const dir = `${RUNS_DIR}/${name}-${crypto.randomUUID()}`;
  const result = await runCli(benchmarkArgs(url, dir, extra));
  assert.equal(result.code, 0, result.stderr + result.stdout.slice(-1500));
  return { ...result, dir, records: await records(dir) };
}

Deno.test("benchmark: a rerun against the same server starts cold by default, warm with --context-salt none", async () => {
  await using sim = await startSimulator(SIM);
  const a = await run(sim.url, "salt-a", ["--seed", "3"]);
  const b = await run(sim.url, "salt-b", ["--seed", "3"]);
  const [pa, pb] = [await params(a.dir), await params(b.dir)];
  const saltA = pa.context_salt as string, saltB = pb.context_salt as string;
  assert.match(saltA, /^[0-9]{6}$/);
  assert.match(saltB, /^[0-9]{6}$/);
  assert.notEqual(saltA, saltB); // one in 10^6 to fail: a new tag per run
  // The tag on stderr, on every record, and in summary.json's params.
  assert.ok(
    b.stderr.includes(
      `[INFO] context salt ${saltB}: every context starts with "${saltB}-" (7 tokens), so no other run's cache holds it; --context-salt ${saltB} repeats this run's contexts\n`,
    ),
    b.stderr,
  );
  assert.ok(b.records.every((r) => r.tags!.salt === saltB));
  const summary = JSON.parse(await Deno.readTextFile(`${b.dir}/summary.json`));
  assert.equal(summary.params.context_salt, saltB);
  // The same seed, the same questions: only the salt differs, and the second
  // run's first lap found nothing of the first's in the cache.
  assert.deepEqual(firstLap(b.records).cached, 0);
  // 1,000 words + the index and question (7) + the tag and "-" (7), as meant.
  const lapB = firstLap(b.records);
  assert.equal(
    b.records.filter((r) => r.ok).every((r) => r.expectedPromptTokens === 1014),
    true,
  );
  assert.ok(
    Math.abs(lapB.prompt / CONTEXTS - 1014) <= 1,
    `${lapB.prompt / CONTEXTS} prompt tokens per request`,
  );
  assert.ok(!b.stdout.includes("Prompt tokens: the server counted"));
  // Its second lap is served from the offload tier, as the first run's.
  const reused = b.records.filter((r) => (r.tags!.index as number) >= 14);
  assert.ok(reused.every((r) => r.cachedTokens! * 2 >= r.promptTokens!));

  // --context-salt DIGITS repeats a run's contexts: warm.
  const e = await run(sim.url, "salt-e", [
    ...["--seed", "3", "--context-salt", saltB],
  ]);
  assert.ok(e.records.every((r) => r.tags!.salt === saltB));
  assert.ok(
    e.stderr.includes(
      `[INFO] context salt ${saltB}: every context starts with "${saltB}-" (7 tokens), as in every run with --context-salt ${saltB}\n`,
    ),
    e.stderr,
  );
  const lapE = firstLap(e.records);
  assert.ok(
    lapE.cached / lapE.prompt > 0.9,
    `${lapE.cached} of ${lapE.prompt}`,
  );

  // --context-salt none: tmesh-cli's texts, the same every run, so the
  // second run starts warm, and its verdict says why.
  const c = await run(sim.url, "salt-c", [
    "--seed",
    "3",
    "--context-salt",
    "none",
  ]);
  const d = await run(sim.url, "salt-d", [
    "--seed",
    "3",
    "--context-salt",
    "none",
  ]);
  assert.equal((await params(d.dir)).context_salt, null);
  assert.ok(d.records.every((r) => r.tags!.salt === undefined));
  assert.ok(!d.stderr.includes("context salt"), d.stderr);
  assert.equal(firstLap(c.records).cached, 0); // the tags' runs left other texts
  const lapD = firstLap(d.records);
  assert.ok(
    lapD.cached / lapD.prompt > 0.9,
    `${lapD.cached} of ${lapD.prompt}`,
  );
  assert.ok(
    d.stdout.includes(
      "no cold prefill to compare with (every context was already cached when the run began: an earlier run or sweep level sent the same contexts; --context-salt run, the default, gives each run texts of its own)",
    ),
    d.stdout.slice(-1500),
  );
});

Deno.test("benchmark --context-salt: a bad value is a usage error (exit 2)", async () => {
  const bad = await runCli(
    benchmarkArgs("http://127.0.0.1:9", `${RUNS_DIR}/salt-bad`, [
      "--context-salt",
      "abc",
    ]),
  );
  assert.equal(bad.code, 2, bad.stderr);
  assert.ok(
    bad.stderr.endsWith(
      "kvbench benchmark: error: --context-salt abc: expected run, none or a tag of 1 to 16 digits\n",
    ),
    bad.stderr,
  );
});

/** A proxy to `target` that records the bodies of the completions it forwards. */
function recordingProxy(target: string) {
  const bodies: Record<string, unknown>[] = [];
  const origin = new URL(target).origin;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const { pathname } = new URL(request.url);
      const text = request.method === "POST" ? await request.text() : undefined;
      if (pathname === "/v1/completions" && text) bodies.push(JSON.parse(text));
      const response = await fetch(origin + pathname, {
        method: request.method,
        headers: request.headers,
        body: text,
      });
      return new Response(response.body, {
        status: response.status,
        headers: response.headers,
      });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/v1/`,
    bodies,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("benchmark --workers 2: every worker sends the parent's salt, cache_salt and distinct controls", async () => {
  await using sim = await startSimulator(SIM);
  await using proxy = recordingProxy(sim.url);
  const w = await run(proxy.url, "salt-workers", [
    ...["--seed", "3", "--workers", "2", "--cache-salt", "run"],
    ...["--controls", "0.3"],
  ]);
  const salt = (await params(w.dir)).context_salt as string;
  assert.match(salt, /^[0-9]{6}$/);
  // Each worker's records and run.json carry the parent's tag.
  for (const k of [0, 1]) {
    const part = await records(`${w.dir}/worker-${k}`);
    assert.ok(part.length > 0);
    assert.ok(part.every((r) => r.tags!.salt === salt), `worker ${k}`);
    assert.equal((await params(`${w.dir}/worker-${k}`)).context_salt, salt);
  }
  // Every prompt starts with the tag; the run's requests share one
  // cache_salt, the one the parent printed.
  assert.equal(proxy.bodies.length, 28);
  assert.ok(
    proxy.bodies.every((b) => (b.prompt as string).startsWith(`${salt}-`)),
  );
  const cacheSalt = /\[INFO\] cache_salt (kvbench-[0-9a-f]{8}) on every request/
    .exec(w.stdout)?.[1];
  assert.ok(cacheSalt, w.stdout.slice(0, 2000));
  const salts = proxy.bodies.map((b) => b.cache_salt as string);
  const controls = salts.filter((s) => s.includes("-control-"));
  assert.ok(controls.length > 0, salts.join());
  assert.deepEqual(
    new Set(salts.filter((s) => !s.includes("-control-"))),
    new Set([cacheSalt]),
  );
  // Controls of both workers, each with a salt of its own.
  assert.equal(new Set(controls).size, controls.length, controls.join());
  for (const k of [0, 1]) {
    assert.ok(
      controls.some((s) => s.startsWith(`${cacheSalt}-p${k}-control-`)),
      controls.join(),
    );
  }
  // The parent compares warm and cold from its workers' records.
  assert.match(w.stdout, /Like with like: /);
});

Deno.test("benchmark shards as kvbench k8s starts them share one salt (from --seed), and merge keeps it", async () => {
  await using sim = await startSimulator(SIM);
  const printed = await runCli([
    "k8s",
    ...["--shards", "2", "--name", "kvb-salt", "--start-delay", "2"],
    "--",
    // 1,100 tokens: 13 contexts, so each context's next request goes to
    // the other shard (request i to shard i mod 2).
    ...benchmarkArgs(sim.url, "unused", ["--input-length", "1100"]).filter(
      (a, i, all) => a !== "--output-dir" && all[i - 1] !== "--output-dir",
    ),
  ]);
  assert.equal(printed.code, 0, printed.stderr);
  const args: string[] = parse(printed.stdout).spec.template.spec
    .containers[0].args;
  const sub = args.indexOf("benchmark");
  const runs = `${RUNS_DIR}/salt-job-${crypto.randomUUID()}`;
  // One after the other (a pod that comes late starts at once), so the
  // second finds everything the first sent, whatever the machine's load.
  const shards = [];
  for (const k of [0, 1]) {
    shards.push(
      await runCli(
        args.slice(sub).map((a) =>
          a.replaceAll("$(JOB_COMPLETION_INDEX)", String(k))
        ),
        { env: { JOB_COMPLETION_INDEX: String(k), KVBENCH_RUNS_DIR: runs } },
      ),
    );
  }
  for (const shard of shards) assert.equal(shard.code, 0, shard.stderr);
  const dirs: string[] = [];
  for await (const entry of Deno.readDir(runs)) {
    dirs.push(`${runs}/${entry.name}`);
  }
  dirs.sort();
  assert.equal(dirs.length, 2);
  const salts = await Promise.all(dirs.map(async (d) => ({
    param: (await params(d)).context_salt,
    tags: new Set((await records(d)).map((r) => r.tags!.salt)),
  })));
  const salt = salts[0].param as string;
  assert.match(salt, /^[0-9]{6}$/);
  assert.deepEqual(salts, [
    { param: salt, tags: new Set([salt]) },
    { param: salt, tags: new Set([salt]) },
  ]);
  assert.ok(
    shards[1].stderr.includes(
      `[INFO] context salt ${salt} (from --seed, as every shard's): every context starts with "${salt}-" (7 tokens), as in every shard and rerun with this --seed; --context-salt ${salt} repeats them elsewhere\n`,
    ),
    shards[1].stderr,
  );
  // The shards reuse each other's contexts: one namespace. Shard 0 sent
  // all 13 contexts (requests 0, 2, …, 26); every request of shard 1 finds
  // its context in the cache.
  const contexts = JSON.parse(await Deno.readTextFile(`${dirs[0]}/run.json`))
    .workload.contexts;
  assert.equal(contexts, 13);
  const second = (await records(dirs.find((d) => d.endsWith("-1-of-2"))!))
    .filter((r) => r.ok);
  assert.equal(second.length, 14);
  assert.ok(
    second.every((r) => r.cachedTokens! * 2 >= r.promptTokens!),
    second.map((r) => `${r.cachedTokens}/${r.promptTokens}`).join(),
  );
  const out = `${RUNS_DIR}/salt-merged-${crypto.randomUUID()}`;
  const merged = await runCli(["merge", ...dirs, "--output-dir", out]);
  assert.equal(merged.code, 0, merged.stderr);
  const summary = JSON.parse(await Deno.readTextFile(`${out}/summary.json`));
  assert.equal(summary.params.context_salt, salt);
});

Deno.test("benchmark --verify with the run's context salt: the checks send the run's texts, found in its cache", async () => {
  await using sim = await startSimulator(SIM);
  const v = await run(sim.url, "salt-verify", ["--seed", "3", "--verify", "2"]);
  const salt = (await params(v.dir)).context_salt as string;
  assert.match(salt, /^[0-9]{6}$/);
  const pairs = (await Deno.readTextFile(`${v.dir}/verify.jsonl`)).trim()
    .split("\n").map((l) => JSON.parse(l));
  assert.equal(pairs.length, 2);
  for (const p of pairs) {
    // The warm request found the run's context; the cold ones did not.
    assert.ok(p.warm.cached_tokens * 2 >= p.warm.prompt_tokens, p.warm);
    assert.equal(p.cold.cached_tokens, 0);
  }
  assert.match(
    v.stdout,
    /\nverify: 2 of 2 reused contexts gave outputs identical to cold compute \(cold reference: cache_salt\)\n/,
  );
});
