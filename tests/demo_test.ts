/**
 * `deno task demo`, shortened: all three parts run, the comparison shows the
 * offload tier's effect, and no process is left behind, also when the demo
 * is interrupted.
 */
import { ok, strictEqual } from "node:assert/strict";

const DEMO = new URL("../tasks/demo.ts", import.meta.url).pathname;

/** Pids of processes running kvbench's cli.ts (the simulator and the clients). */
async function kvbenchPids(): Promise<Set<number>> {
  const pids = new Set<number>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      if (cmdline.includes("/cli.ts\0")) pids.add(Number(entry.name));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

async function leftovers(before: Set<number>): Promise<number[]> {
  // Give exiting children a moment to be reaped.
  for (let i = 0; i < 20; i++) {
    const left = [...await kvbenchPids()].filter((p) => !before.has(p));
    if (left.length === 0) return [];
    await new Promise((r) => setTimeout(r, 100));
  }
  return [...await kvbenchPids()].filter((p) => !before.has(p));
}

function startDemo(
  args: string[],
): { child: Deno.ChildProcess; output: () => string; done: Promise<void> } {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", DEMO, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
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
  const before = await kvbenchPids();
  const demo = startDemo(["--seconds", "3", "--time-scale", "0.1"]);
  const [{ code }] = await Promise.all([demo.child.status, demo.done]);
  const out = demo.output();
  strictEqual(code, 0, out);
  ok(out.includes("1/3  kvbench benchmark"), out);
  ok(out.includes("Final metrics:"));
  ok(out.includes("[INFO] Benchmark stopped gracefully."));
  ok(out.includes("2/3  kvbench trie"));
  ok(out.includes("Per-trace metrics") && out.includes("Workload metrics"));
  ok(out.includes("3/3  the same benchmark without the offload tier"));
  const hit = /cache hit rate\s+([\d.]+)%\s+([\d.]+)%/.exec(out);
  ok(hit, out);
  ok(Number(hit[1]) > 50, `offload on: ${hit[1]}%`);
  strictEqual(
    Number(hit[2]),
    0,
    "offload off: every context was evicted before its reuse",
  );
  const ttft = /mean TTFT of reuses \(s\)\s+([\d.]+)\s+([\d.]+)/.exec(out);
  ok(ttft && Number(ttft[1]) < Number(ttft[2]), out);
  const failed = /failed requests\s+(\d+)\s+(\d+)/.exec(out);
  ok(failed && failed[1] === "0" && failed[2] === "0", out);
  strictEqual((await leftovers(before)).length, 0, "processes left behind");
});

Deno.test("demo: SIGTERM stops it with the benchmark's summary, exit 130, nothing left running", async () => {
  const before = await kvbenchPids();
  const demo = startDemo(["--seconds", "30", "--time-scale", "0.1"]);
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
  const out = demo.output();
  strictEqual(code, 130, out);
  ok(
    out.includes("[INFO] Received termination signal. Stopping benchmark..."),
    out,
  );
  ok(out.includes("Final metrics:"), out);
  ok(!out.includes("2/3"), "the demo stops after the interrupted part");
  strictEqual((await leftovers(before)).length, 0, "processes left behind");
});
