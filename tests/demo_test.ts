/**
 * `deno task demo`, shortened: all three parts run, the comparison shows the
 * offload tier's effect, and no process is left behind, also when the demo
 * is interrupted.
 */
import { ok, strictEqual } from "node:assert/strict";
import { RUNS_DIR } from "./cli_process.ts";

const DEMO = new URL("../_tools/demo.ts", import.meta.url).pathname;

/** `/proc/<pid>/stat`'s start time, which tells a pid from a later reuse of it. */
async function startTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined; // gone
  }
}

async function children(pid: number): Promise<number[]> {
  const out: number[] = [];
  try {
    for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
      const text = await Deno.readTextFile(
        `/proc/${pid}/task/${task.name}/children`,
      ).catch(() => "");
      out.push(...text.split(" ").filter((p) => p !== "").map(Number));
    }
  } catch {
    // The process ended while we looked.
  }
  return out;
}

/**
 * Every process the demo spawned (its descendants), polled while it runs,
 * each with its start time.
 */
function watchDescendants(
  root: number,
): { stop(): Promise<Map<number, string>> } {
  const seen = new Map<number, string>();
  let running = true;
  const poll = (async () => {
    while (running) {
      const queue = [root];
      while (queue.length > 0) {
        for (const child of await children(queue.pop()!)) {
          if (!seen.has(child)) {
            const start = await startTime(child);
            if (start !== undefined) seen.set(child, start);
          }
          queue.push(child);
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    async stop() {
      running = false;
      await poll;
      return seen;
    },
  };
}

/** The spawned processes still alive (same pid, same start time), after giving exiting ones 2 s to be reaped. */
async function leftovers(spawned: Map<number, string>): Promise<number[]> {
  let alive: number[] = [];
  for (let i = 0; i < 20; i++) {
    alive = [];
    for (const [pid, start] of spawned) {
      if (await startTime(pid) === start) alive.push(pid);
    }
    if (alive.length === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return alive;
}

function startDemo(
  args: string[],
): { child: Deno.ChildProcess; output: () => string; done: Promise<void> } {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", DEMO, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", KVBENCH_RUNS_DIR: RUNS_DIR },
  }).spawn();
  let text = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text += chunk;
    }
  };
  return {
    child,
    output: () => text,
    done: Promise.all([collect(child.stdout), collect(child.stderr)]).then(
      () => {},
    ),
  };
}

Deno.test("demo: benchmark, trie and the offload comparison run to completion; nothing is left running", async () => {
  const demo = startDemo(["--seconds", "3", "--time-scale", "0.1"]);
  const watch = watchDescendants(demo.child.pid);
  const [{ code }] = await Promise.all([demo.child.status, demo.done]);
  const spawned = await watch.stop();
  const out = demo.output();
  strictEqual(code, 0, out);
  ok(out.includes("1/3  kvbench benchmark"), out);
  ok(out.includes("Final metrics:"));
  ok(out.includes("[INFO] Benchmark stopped gracefully."));
  ok(out.includes("2/3  kvbench trie"));
  ok(out.includes("Per-trace metrics") && out.includes("Workload metrics"));
  ok(out.includes("3/3  the same benchmark without the offload tier"));
  // kvbench compare's table: a row per figure, on and off side by side.
  const row = (label: string) =>
    new RegExp(`│ ${label}\\s*│\\s*([\\d.]+)%?\\s*│\\s*([\\d.]+)%?\\s*│`)
      .exec(out);
  ok(/┃\s*┃ offload on ┃ offload off ┃/.test(out), out);
  const hit = row("cache hit rate");
  ok(hit, out);
  ok(Number(hit[1]) > 50, `offload on: ${hit[1]}%`);
  strictEqual(
    Number(hit[2]),
    0,
    "offload off: every context was evicted before its reuse",
  );
  const ttft = row("mean TTFT of reuses \\(s\\)");
  ok(ttft && Number(ttft[1]) < Number(ttft[2]), out);
  const share = row("offload tier's share of reuse");
  ok(share && Number(share[1]) > 50, out);
  // The GPU prefix cache's share beside it: together at most all of it; the
  // off-run recomputed everything.
  const gpu = row("GPU prefix cache's share of reuse");
  ok(gpu && Number(gpu[1]) + Number(share[1]) <= 100.05, out);
  strictEqual(Number(gpu[2]), 0);
  const failed = row("failed requests");
  ok(failed && failed[1] === "0" && failed[2] === "0", out);
  // The on-run's A/B recipe names the directories the demo then runs and
  // compares (offload_on → offload_off).
  const step2 = /\n {2}2\. kvbench benchmark .* --output-dir (\S+)\n/.exec(out);
  ok(step2 && step2[1].endsWith("/offload_off"), out);
  ok(out.includes(`--output-dir ${step2[1]} > /dev/null\n`), out);
  const step3 = /\n {2}3\. (kvbench compare \S+ \S+)\n/.exec(out);
  ok(step3, out);
  ok(
    out.includes(`$ ${step3[1]} --names`) &&
      step3[1].endsWith(`/offload_on ${step2[1]}`),
    out,
  );
  // It ends by saying where the reports are, and they are there.
  const reports = [...out.matchAll(/^ {2}(\S+\.html)/gm)].map((m) => m[1]);
  strictEqual(reports.length, 4, out);
  for (const path of reports) {
    ok((await Deno.readTextFile(path)).startsWith("<!doctype html>"), path);
  }
  // The simulators and the clients: two simulators, three clients at least.
  ok(spawned.size >= 5, `only ${spawned.size} processes seen`);
  strictEqual((await leftovers(spawned)).length, 0, "processes left behind");
});

Deno.test("demo: SIGTERM stops it with the benchmark's summary, exit 130, nothing left running", async () => {
  const demo = startDemo(["--seconds", "30", "--time-scale", "0.1"]);
  const watch = watchDescendants(demo.child.pid);
  for (
    let i = 0;
    i < 200 && !demo.output().includes("Workload Specifications");
    i++
  ) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 1_000));
  demo.child.kill("SIGTERM");
  const [{ code }] = await Promise.all([demo.child.status, demo.done]);
  const spawned = await watch.stop();
  const out = demo.output();
  strictEqual(code, 130, out);
  ok(
    out.includes("[INFO] Received termination signal. Stopping benchmark..."),
    out,
  );
  ok(out.includes("Final metrics:"), out);
  ok(!out.includes("2/3"), "the demo stops after the interrupted part");
  ok(spawned.size >= 2, `only ${spawned.size} processes seen`);
  strictEqual((await leftovers(spawned)).length, 0, "processes left behind");
});
