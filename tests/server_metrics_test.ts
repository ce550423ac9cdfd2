/**
 * The server's view end to end: `benchmark` against the simulator scrapes
 * its vLLM-named metrics, says in its pre-flight whether the working set
 * needs the offload tier, splits the prompt tokens by tier (equal to the
 * simulator's own counts), gives the verdict, and fails a CI run with
 * `--require-offload-hits`; a broken /metrics is reported once and the run
 * goes on; a counter reset mid-run is bridged.
 */
import assert from "node:assert/strict";
import { runCli } from "./cli_process.ts";
import { startSimulator } from "../lib/sim/mod.ts";
import type { SimOptions } from "../lib/sim/mod.ts";

// 9 contexts of 2000 tokens (0.9 × 2 GiB / 0.18 GiB at 98 304 B/token), 3 in
// flight, three laps: a working set of 9 × 2008 = 18 072 tokens.
const ARGS = [
  ...["--offload-size", "2", "--input-length", "2000", "--output-length", "8"],
  ...["--ignore-eos", "--num-prompts", "27", "--duration", "120"],
  ...["--interval", "0.2", "--seed", "1"],
];

async function bench(
  sim: SimOptions,
  extra: string[] = [],
): Promise<
  {
    code: number;
    stdout: string;
    stderr: string;
    summary: Record<string, unknown>;
    stats: ReturnType<Awaited<ReturnType<typeof startSimulator>>["stats"]>;
    dir: string;
  }
> {
  await using server = await startSimulator({
    timeScale: 0.05,
    seed: 2,
    ...sim,
  });
  const dir = await Deno.makeTempDir();
  const { code, stdout, stderr } = await runCli([
    "benchmark",
    ...["--endpoint", server.url],
    ...ARGS,
    ...["--output", `${dir}/summary.json`, "--records", `${dir}/r.jsonl`],
    ...extra,
  ]);
  const summary = code === 0 || code === 1
    ? JSON.parse(
      await Deno.readTextFile(`${dir}/summary.json`).catch(() => "{}"),
    )
    : {};
  return { code, stdout, stderr, summary, stats: server.stats(), dir };
}

Deno.test("server metrics: a run that cannot measure the offload tier is refused before it sends, with the fix from the server's capacities", async () => {
  // 0.5 GiB of offload (5 456 tokens) < the 18 072-token working set.
  const refused = await bench({ gpuKvGb: 0.25, offloadGb: 0.5 });
  try {
    assert.equal(refused.code, 1, refused.stderr);
    // 5 456 tokens × 98 304 B = 0.4995 GiB: the fix rounds down to 0.49.
    assert.ok(
      refused.stderr.includes(
        "[ERROR] Refusing the run: the working set exceeds the server's offload tier (0.50 GiB): every reuse would be recomputed and the run would measure no offload hit; size the run for the server's tier with --offload-size 0.49 (or pass --force to run anyway)\n",
      ),
      refused.stderr,
    );
    assert.equal(refused.stats.requests, 0); // nothing was sent
  } finally {
    await Deno.remove(refused.dir, { recursive: true });
  }
  // 8 GiB of GPU KV: the working set fits; the fix names the offload tier:
  // 218,448 tokens × 98,304 B = 19.9996 GiB, rounded down to 19.99.
  const fits = await bench({ gpuKvGb: 8, offloadGb: 20 });
  try {
    assert.equal(fits.code, 1, fits.stderr);
    assert.match(
      fits.stderr,
      /\[ERROR\] Refusing the run: the working set fits in the server's GPU KV \(8\.00 GiB\): .*size the run past the GPU with --offload-size 19\.99 \(or pass --force to run anyway\)\n/,
    );
    assert.equal(fits.stats.requests, 0);
  } finally {
    await Deno.remove(fits.dir, { recursive: true });
  }
});

Deno.test("server metrics: a working set that fits in GPU KV is called out; the split says GPU", async () => {
  // 8 GiB of GPU KV: 87 376 tokens hold all 18 072.
  const run = await bench({ gpuKvGb: 8, offloadGb: 20 }, ["--force"]);
  try {
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /\[WARN\] --force: the working set fits/);
    assert.ok(
      run.stderr.includes(
        "[WARN] The working set fits in GPU KV: every reuse can be served from GPU memory, so this run does not stress the offload tier.",
      ),
      run.stderr,
    );
    assert.match(run.stderr, /\[INFO\] server: kvbench-sim 0\.1\.0/);
    const server = run.summary.server as { split: Record<string, number> };
    assert.equal(server.split.device, run.stats.gpuHitTokens);
    assert.equal(server.split.offload, 0);
    assert.match(run.stdout, /Verdict: the offload tier served 0\.0% of the/);
  } finally {
    await Deno.remove(run.dir, { recursive: true });
  }
});

Deno.test("server metrics: a run that needs the offload tier attributes its reuse to it, as the simulator counted", async () => {
  // 0.5 GiB of GPU KV (5 456 tokens) < 18 072 ≤ 5 456 + 21 840 of offload.
  const run = await bench({ gpuKvGb: 0.5, offloadGb: 2 }, [
    "--require-offload-hits",
    "0.5",
  ]);
  try {
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stderr.includes("[WARN] The working set"), run.stderr);
    assert.match(
      run.stderr,
      /Pre-flight: working set 18,072 tokens \(9 contexts, 1\.65 GiB\); GPU KV 5,456 tokens, 0\.50 GiB \(server\); offload 21,840 tokens, 2\.00 GiB \(server\)/,
    );
    const server = run.summary.server as {
      split: Record<string, number>;
      offload_share: number;
      resets: number;
    };
    // Counter deltas over the run equal the simulator's own counts.
    assert.equal(server.split.offload, run.stats.offloadHitTokens);
    assert.equal(server.split.device, run.stats.gpuHitTokens);
    assert.equal(server.split.prompt, run.stats.promptTokens);
    assert.equal(server.resets, 0);
    assert.ok(run.stats.offloadHitTokens > 0);
    assert.ok(server.offload_share > 0.5, `${server.offload_share}`);
    assert.match(
      run.stdout,
      /KV source \(server counters, vllm\): [\d,]+ prompt tokens: /,
    );
    assert.match(
      run.stdout,
      /Verdict: the offload tier served \d+\.\d% of the [\d,]+ reusable prompt tokens/,
    );
    assert.match(run.stdout, /Reuses served from cache had a mean TTFT of/);
    // Every scrape is a line of the metrics file, timed on the run's clock.
    const lines = (await Deno.readTextFile(`${run.dir}/r.metrics.jsonl`))
      .trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines[0].server.engine, "kvbench-sim");
    assert.ok(lines.length >= 3, `${lines.length} lines`);
    assert.equal(
      lines.at(-1).counters.offloadHitTokens,
      run.stats.offloadHitTokens,
    );
  } finally {
    await Deno.remove(run.dir, { recursive: true });
  }
});

Deno.test("server metrics: a working set beyond GPU and offload is called out; every reuse recomputed; --require-offload-hits fails the run", async () => {
  // 5 456 + 5 456 tokens < 18 072.
  const run = await bench({ gpuKvGb: 0.5, offloadGb: 0.5 }, [
    "--require-offload-hits",
    "0.5",
    "--force",
  ]);
  try {
    assert.equal(run.code, 1, run.stderr);
    assert.ok(
      run.stderr.includes(
        // Offload tiers are inclusive (they copy the GPU's blocks): the
        // working set is compared with the offload tier alone.
        "[WARN] The working set exceeds the offload tier: offload tiers hold a copy of what is on the GPU (inclusive)",
      ),
      run.stderr,
    );
    assert.equal(run.stats.offloadHitTokens, 0);
    assert.match(
      run.stdout,
      /No reuse was served from cache: every one was recomputed\./,
    );
    assert.match(
      run.stderr,
      /\[ERROR\] --require-offload-hits 0\.5: the offload tier served 0\.0% of the reusable prompt tokens/,
    );
  } finally {
    await Deno.remove(run.dir, { recursive: true });
  }
});

Deno.test("server metrics: a failing /metrics (401, 404, garbage) is reported once per kind and the run goes on", async () => {
  const fake = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/401") return new Response("no", { status: 401 });
      if (path === "/garbage") {
        return new Response("this is { not prometheus\n");
      }
      return new Response("gone", { status: 404 });
    },
  );
  const base = `http://127.0.0.1:${fake.addr.port}`;
  // Real time: nine cold 2000-token prefills at 20 000 tok/s take 0.9 s, so
  // requests end in every 0.2 s interval: a report, and a scrape, in each.
  const run = await bench({ gpuKvGb: 0.5, offloadGb: 2, timeScale: 1 }, [
    ...["--metrics-url", `${base}/401`, "--metrics-url", `${base}/404`],
    ...["--metrics-url", `${base}/garbage`],
  ]);
  try {
    assert.equal(run.code, 0, run.stderr);
    const warnings = run.stderr.split("\n").filter((l) =>
      l.includes("[WARN] metrics ")
    );
    assert.equal(warnings.length, 3, run.stderr);
    assert.ok(warnings.some((w) => w.includes("/401: HTTP 401")));
    assert.ok(warnings.some((w) => w.includes("/404: HTTP 404")));
    assert.ok(warnings.some((w) => w.includes("/garbage: unreadable")));
    const server = run.summary.server as {
      scrape_failures: Record<string, number>;
    };
    // Several scrapes failed each time, one warning per kind.
    assert.ok(server.scrape_failures["HTTP 401"] >= 3);
    assert.match(
      run.stdout,
      /KV source: not known \(its \/metrics could not be read/,
    );
    assert.match(run.stdout, /Total Number of Requests Processed: 27\n/);
  } finally {
    await fake.shutdown();
    await Deno.remove(run.dir, { recursive: true });
  }
});

Deno.test("server metrics: a counter reset mid-run (a restart) is bridged, never negative or doubled", async () => {
  // The k-th scrape sees 1000, 1600, then the restarted server 300, 400, 500, …
  let k = 0;
  const fake = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => {
      const value = k === 0 ? 1000 : k === 1 ? 1600 : 300 + 100 * (k - 2);
      k++;
      return new Response(
        `# TYPE vllm:prefix_cache_hits_total counter\nvllm:prefix_cache_hits_total{model_name="m"} ${value}\n`,
      );
    },
  );
  // Real time, as above: at least four reports, so six scrapes or more.
  const run = await bench({ gpuKvGb: 0.5, offloadGb: 2, timeScale: 1 }, [
    "--metrics-url",
    `http://127.0.0.1:${fake.addr.port}/metrics`,
  ]);
  try {
    assert.equal(run.code, 0, run.stderr);
    const lines = (await Deno.readTextFile(`${run.dir}/r.metrics.jsonl`))
      .trim().split("\n").slice(1).map((l) => JSON.parse(l));
    assert.equal(lines.length, k);
    assert.ok(k >= 3, `${k} scrapes`);
    // Deltas: 0, 600, then 600 + 300 (the restart), then 100 more each time.
    lines.forEach((line, i) => {
      const want = i === 0 ? 0 : i === 1 ? 600 : 900 + 100 * (i - 2);
      assert.equal(line.counters.deviceHitTokens, want, `scrape ${i}`);
      assert.equal(line.resets, i >= 2 ? 1 : 0);
    });
  } finally {
    await fake.shutdown();
    await Deno.remove(run.dir, { recursive: true });
  }
});

Deno.test("server metrics: vLLM's cached_by_source names the host and disk tiers in the split, the verdict and summary.json", async () => {
  const run = await bench({
    gpuKvGb: 0.5,
    offloadGb: 2,
    metricsFlavor: "vllm-cached-by-source",
  });
  try {
    assert.equal(run.code, 0, run.stderr);
    const server = run.summary.server as {
      split: Record<string, number>;
      tier_shares: Record<string, number>;
      sources: Record<string, string>;
    };
    const disk = run.stats.diskHitTokens;
    assert.ok(disk > 0 && disk < run.stats.offloadHitTokens, `${disk}`);
    assert.equal(server.split.disk, disk);
    assert.equal(server.split.host, run.stats.offloadHitTokens - disk);
    assert.equal(server.split.external, 0);
    assert.equal(
      server.sources.offload,
      "vllm:prompt_tokens_cached_by_source_total",
    );
    assert.match(
      run.stdout,
      /% offload tier \([\d.]+% host memory, [\d.]+% disk\)/,
    );
    assert.match(
      run.stdout,
      /Verdict: the offload tier \(host memory [\d.]+%, disk [\d.]+%\) served/,
    );
    assert.ok(server.tier_shares.disk > 0);
  } finally {
    await Deno.remove(run.dir, { recursive: true });
  }
});

Deno.test("server metrics: a /metrics URL answered by two replicas in turn is said and left out; --require-offload-hits fails", async () => {
  const run = await bench({
    gpuKvGb: 0.5,
    offloadGb: 2,
    metricsReplicas: 2,
    timeScale: 1,
  }, ["--require-offload-hits", "0.5"]);
  try {
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /\[WARN\] metrics http:\/\/127\.0\.0\.1:\d+\/metrics: .*several servers answer this URL .*left out of the split/,
    );
    assert.match(
      run.stdout,
      /KV source: not known \(metrics http:\/\/127\.0\.0\.1:\d+\/metrics: .*several servers answer this URL/,
    );
    assert.match(
      run.stdout,
      /Verdict: which tier served the reuse is not known/,
    );
    assert.match(
      run.stderr,
      /\[ERROR\] --require-offload-hits 0\.5: the offload tier served an unknown share/,
    );
    const server = run.summary.server as { split: unknown; notes: string[] };
    assert.equal(server.split, null);
    assert.ok(server.notes.some((n) => n.includes("left out")));
  } finally {
    await Deno.remove(run.dir, { recursive: true });
  }
});

Deno.test("server metrics: a run with cut streams: no share above 100 %, the failed reuses accounted for", async () => {
  const run = await bench({
    gpuKvGb: 0.5,
    offloadGb: 2,
    faults: { cutRate: 0.3 },
  });
  try {
    const server = run.summary.server as {
      offload_share: number | null;
      reusable_tokens: number | null;
      split: Record<string, number>;
    };
    const verdict = /Verdict: [^\n]*/.exec(run.stdout)?.[0] ?? "";
    assert.ok(verdict !== "", run.stdout);
    // Every percentage printed about the server's split is within 0–100 %.
    for (const m of run.stdout.matchAll(/(-?\d+\.\d)%/g)) {
      const v = Number(m[1]);
      assert.ok(v >= 0 && v <= 100, `${m[0]} in ${run.stdout}`);
    }
    if (server.offload_share !== null) {
      assert.ok(server.offload_share >= 0 && server.offload_share <= 1);
      // By hand: offload hits over the reusable tokens the verdict names.
      assert.equal(
        server.offload_share,
        server.split.offload / server.reusable_tokens!,
      );
    } else {
      assert.match(verdict, /not known/);
    }
    // The faults did cut streams (else this run proves nothing).
    const failed = [...run.stdout.matchAll(/Failed Requests: (\d+)/g)].at(-1);
    assert.ok(Number(failed?.[1]) > 0, run.stdout);
  } finally {
    await Deno.remove(run.dir, { recursive: true });
  }
});

Deno.test("server metrics: KVBM's port beside vLLM's, as the README sets it: one source, never added; the onboarded blocks shown", async () => {
  await using server = await startSimulator({
    timeScale: 0.05,
    seed: 2,
    gpuKvGb: 0.5,
    offloadGb: 2,
    metricsFlavor: "vllm-by-source",
  });
  const dir = await Deno.makeTempDir();
  const origin = new URL(server.url).origin;
  try {
    const { code, stdout, stderr } = await runCli([
      "benchmark",
      ...["--endpoint", server.url],
      ...ARGS,
      ...["--output", `${dir}/summary.json`],
      ...["--metrics-url", `${origin}/metrics`],
      ...["--metrics-url", `${origin}/connector/metrics`],
      ...["--require-offload-hits", "0.5"],
    ]);
    assert.equal(code, 0, stderr);
    const summary = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`));
    const stats = server.stats();
    assert.ok(stats.offloadHitTokens > 0);
    // Not doubled by kvbm_matched_tokens on the second URL.
    assert.equal(summary.server.split.offload, stats.offloadHitTokens);
    assert.equal(
      summary.server.sources.offload,
      "vllm:prompt_tokens_by_source_total",
    );
    assert.match(stdout, /KV source \(server counters, vllm \+ dynamo-kvbm\)/);
    const blocks = (t: number) => (t / 16).toLocaleString("en-US");
    assert.ok(
      stdout.includes(
        `KVBM onboarded ${
          blocks(stats.offloadHitTokens - stats.diskHitTokens)
        } KV blocks from host memory and ${
          blocks(stats.diskHitTokens)
        } from disk`,
      ),
      stdout,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
