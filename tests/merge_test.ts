/**
 * `kvbench merge` on hand-made run directories: the clock arithmetic pinned
 * to hand-computed times, the warnings a merge owes, and the refusals.
 */
import assert from "node:assert/strict";
import { runCli, RUNS_DIR } from "./cli_process.ts";
import { readRecordsFile } from "../lib/run/records_file.ts";
import { estimateClockOffset } from "../lib/run/clock_offset.ts";
import { testRecord } from "../lib/testing/records.ts";

const SIZING = {
  model: "m",
  offloadSizeGib: 1,
  bytesPerToken: 1,
  inputLength: 10,
  outputLength: 4,
  contexts: 2,
  questions: 2,
  maxInFlight: 1,
};

interface PartSpec {
  timeOrigin: number;
  runStartedAt: number;
  clock: Record<string, unknown>;
  /** Absent (and no worker): a whole run, not a part. */
  shard?: { index: number; count: number };
  /** A worker of a `--workers` run. */
  worker?: { index: number; count: number };
  records: ReturnType<typeof testRecord>[];
  end?: { startedAt: number; elapsedMs: number; stopReason: string };
  /** The run's parameters (default none). */
  params?: Record<string, unknown>;
}

async function writePart(dir: string, spec: PartSpec): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/run.json`,
    JSON.stringify({
      command: "benchmark",
      timeOrigin: spec.timeOrigin,
      runStartedAt: spec.runStartedAt,
      params: spec.params ?? {},
      workload: SIZING,
      part: spec.shard !== undefined
        ? { shard: spec.shard }
        : spec.worker !== undefined
        ? { worker: spec.worker }
        : undefined,
      clock: spec.clock,
    }),
  );
  const lines = spec.records.map((r) =>
    JSON.stringify({ ...r, timeOrigin: spec.timeOrigin })
  );
  if (spec.end) {
    lines.push(
      JSON.stringify({ run: { ...spec.end, timeOrigin: spec.timeOrigin } }),
    );
  }
  await Deno.writeTextFile(`${dir}/records.jsonl`, lines.join("\n") + "\n");
}

const record = (session: number, sentAt: number, endAt: number) =>
  testRecord({
    session,
    scheduledAt: sentAt,
    sentAt,
    firstTokenAt: sentAt + 50,
    endAt,
    chunks: 4,
    readGaps: [500, 500, 0],
    readEvents: [1, 1, 2],
    promptTokens: 12,
    completionTokens: 4,
    cachedTokens: 0,
    maxTokens: 4,
    runStartedAt: 0,
    tags: { context: session % 2, question: 0, index: session },
  });

async function twoShards(root: string): Promise<string[]> {
  // Shard 0: origin 1 000 000, its host 50 ms ahead of the server.
  // Shard 1: origin 999 700, its host 10 ms ahead: its times + (999 700 −
  // 10) − (1 000 000 − 50) = −260 ms land on shard 0's clock.
  const a = `${root}/a`, b = `${root}/b`;
  await writePart(a, {
    timeOrigin: 1_000_000,
    runStartedAt: 100,
    clock: { method: "server-date", offsetMs: 50, uncertaintyMs: 1 },
    shard: { index: 0, count: 2 },
    records: [record(0, 200, 300)],
    end: { startedAt: 100, elapsedMs: 250, stopReason: "max_requests" },
  });
  await writePart(b, {
    timeOrigin: 999_700,
    runStartedAt: 360,
    clock: { method: "server-date", offsetMs: 10, uncertaintyMs: 1.5 },
    shard: { index: 1, count: 2 },
    records: [record(1, 400, 500)],
    end: { startedAt: 360, elapsedMs: 200, stopReason: "max_requests" },
  });
  return [b, a]; // order on the command line does not matter
}

Deno.test("merge: records moved onto the first shard's clock by origins and offsets, sorted by end, one run end", async () => {
  const root = `${RUNS_DIR}/merge-${crypto.randomUUID()}`;
  const dirs = await twoShards(root);
  const { code, stdout, stderr } = await runCli([
    "merge",
    ...dirs,
    ...["--output-dir", `${root}/out`],
  ]);
  assert.equal(code, 0, stderr);
  assert.equal(stderr, "", "aligned to ±2.5 ms, within the default 10 ms");
  assert.match(
    stdout,
    /Merged 2 runs \(2 records, clocks aligned to ±2\.5 ms by the server's Date header\)/,
  );
  const { records, run } = await readRecordsFile(`${root}/out/records.jsonl`);
  assert.deepEqual(records.map((r) => [r.session, r.sentAt, r.endAt]), [
    [1, 140, 240],
    [0, 200, 300],
  ]);
  assert.deepEqual(records.map((r) => r.timeOrigin), [1_000_000, 1_000_000]);
  assert.deepEqual(records.map((r) => r.runStartedAt), [100, 100]);
  // Shard 0 ends at 350, shard 1 at 560 − 260 = 300: 250 ms from 100.
  assert.deepEqual(
    [run?.startedAt, run?.elapsedMs, run?.timeOrigin],
    [100, 250, 1_000_000],
  );
  const info = JSON.parse(await Deno.readTextFile(`${root}/out/run.json`));
  assert.deepEqual(
    info.part.merged.map((p: { delta_ms: number }) => p.delta_ms),
    [0, -260],
  );
  assert.equal(info.part.clock_uncertainty_ms, 2.5);
  assert.ok(stdout.includes("Total Number of Requests Processed: 2"));
  // 8 output tokens over 0.25 s.
  const summary = JSON.parse(
    await Deno.readTextFile(`${root}/out/summary.json`),
  );
  assert.equal(summary.distributions.output_tokens_per_s, 32);
});

Deno.test("merge: the merged block keeps the parts' report interval, and the Transport line", async () => {
  const root = `${RUNS_DIR}/merge-${crypto.randomUUID()}`;
  const params = { interval_s: 2, transport: "http1" };
  for (const index of [0, 1]) {
    await writePart(`${root}/${index}`, {
      timeOrigin: 1_000_000,
      runStartedAt: 100,
      clock: { method: "server-date", offsetMs: 0, uncertaintyMs: 1 },
      shard: { index, count: 2 },
      records: [record(index, 200, 300)],
      end: { startedAt: 100, elapsedMs: 250, stopReason: "max_requests" },
      params,
    });
  }
  const { code, stdout, stderr } = await runCli([
    "merge",
    `${root}/0`,
    `${root}/1`,
    ...["--output-dir", `${root}/out`],
  ]);
  assert.equal(code, 0, stderr);
  // Today: "Last 5 second Interval" whatever the parts', and no transport.
  assert.ok(
    stdout.includes("Requests Processed in Last 2 second Interval: 2\n"),
    stdout,
  );
  assert.ok(stdout.includes("\nTransport: http1\n"), stdout);
});

Deno.test("merge: says when the clocks are known less precisely than asked, or the shards did not start together", async () => {
  const root = `${RUNS_DIR}/merge-${crypto.randomUUID()}`;
  const dirs = await twoShards(root);
  const precise = await runCli([
    "merge",
    ...dirs,
    ...["--output-dir", `${root}/out1`, "--precision", "2"],
  ]);
  assert.equal(precise.code, 0, precise.stderr);
  assert.match(
    precise.stderr,
    /\[WARN\] the clocks are aligned to ±2\.5 ms only, more than --precision 2 ms/,
  );
  // Shard 1 started 40 ms after shard 0.
  const late = JSON.parse(await Deno.readTextFile(`${root}/a/../b/run.json`));
  late.runStartedAt = 400;
  await Deno.writeTextFile(`${root}/b/run.json`, JSON.stringify(late));
  const spread = await runCli([
    "merge",
    ...dirs,
    "--output-dir",
    `${root}/out2`,
  ]);
  assert.match(
    spread.stderr,
    /\[WARN\] the parts started 40\.0 ms apart \(more than --precision 10 ms\): give them one --start-at/,
  );
});

Deno.test("merge: refuses a shard twice, different splits, other commands; says which shard is missing", async () => {
  const root = `${RUNS_DIR}/merge-${crypto.randomUUID()}`;
  const [b, a] = await twoShards(root);
  const twice = await runCli(["merge", a, a, "--output-dir", `${root}/o1`]);
  assert.equal(twice.code, 1);
  assert.equal(
    twice.stderr,
    `kvbench merge: error: Cannot merge "${a}" twice\n`,
  );
  // A copy of a part is the same run (the same clock origin and start).
  await Deno.mkdir(`${root}/copy`);
  for (const file of ["run.json", "records.jsonl"]) {
    await Deno.copyFile(`${a}/${file}`, `${root}/copy/${file}`);
  }
  const copied = await runCli(["merge", a, `${root}/copy`]);
  assert.equal(copied.code, 1);
  assert.equal(
    copied.stderr,
    `kvbench merge: error: Cannot merge "${a}" with "${root}/copy": they are the same run\n`,
  );
  // A run that was not split is no part of a split one.
  await writePart(`${root}/whole`, {
    timeOrigin: 2_000_000,
    runStartedAt: 100,
    clock: { method: "server-date", offsetMs: 0, uncertaintyMs: 1 },
    records: [record(0, 200, 300)],
  });
  const whole = await runCli(["merge", a, `${root}/whole`]);
  assert.equal(whole.code, 1);
  assert.equal(
    whole.stderr,
    `kvbench merge: error: Cannot merge "${root}/whole" with shards: it is a whole run, not a part of one\n`,
  );
  // Workers of one run share its clock origin and start: not the same run.
  for (const index of [0, 1]) {
    await writePart(`${root}/w${index}`, {
      timeOrigin: 3_000_000,
      runStartedAt: 100,
      clock: { method: "same-host", offsetMs: 0, uncertaintyMs: 0 },
      worker: { index, count: 2 },
      records: [record(index, 200 + index, 300 + index)],
      end: { startedAt: 100, elapsedMs: 250, stopReason: "max_requests" },
    });
  }
  const workers = await runCli([
    "merge",
    `${root}/w0`,
    `${root}/w1`,
    "--output-dir",
    `${root}/ow`,
  ]);
  assert.equal(workers.code, 0, workers.stderr);
  assert.match(workers.stdout, /Merged 2 runs \(2 records/);
  const shardTwice = await runCli(["merge", a, b, a]);
  assert.equal(shardTwice.code, 1);
  assert.equal(
    shardTwice.stderr,
    `kvbench merge: error: Cannot merge "${a}" twice\n`,
  );
  const alone = await runCli(["merge", a, "--output-dir", `${root}/o2`]);
  assert.equal(alone.code, 0, alone.stderr);
  assert.match(
    alone.stderr,
    /\[WARN\] shard 1 of 2 missing: the merged run is partial/,
  );
  const info = JSON.parse(await Deno.readTextFile(`${b}/run.json`));
  await Deno.writeTextFile(
    `${b}/run.json`,
    JSON.stringify({ ...info, command: "trie" }),
  );
  const mixed = await runCli(["merge", a, b, "--output-dir", `${root}/o3`]);
  assert.equal(mixed.code, 1);
  assert.match(mixed.stderr, /Cannot merge a benchmark run with a trie run/);
  const none = await runCli(["merge", `${root}/nope`]);
  assert.equal(none.code, 1);
  assert.equal(
    none.stderr,
    `kvbench merge: error: Cannot merge "${root}/nope": no run.json (is it a run directory?)\n`,
  );
  const usage = await runCli(["merge"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /give the run directories to merge/);
});

Deno.test("clock offset: a server without a Date header leaves the host's clock as it is, and says why", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of listener) {
      const buf = new Uint8Array(4096);
      await conn.read(buf);
      await conn.write(
        new TextEncoder().encode(
          "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
        ),
      );
      conn.close();
    }
  })();
  const offset = await estimateClockOffset(
    `http://127.0.0.1:${listener.addr.port}/`,
  );
  assert.deepEqual(
    [offset.method, offset.offsetMs, offset.uncertaintyMs, offset.note],
    ["host-clock", 0, null, "the server sends no Date header"],
  );
  listener.close();
  await serving.catch(() => {});
});
