/**
 * `deno task bench`: kvbench's performance benchmarks. Every scenario runs
 * the server and the client in separate processes and reports the client
 * process's CPU time and peak RSS; results go to `.bench-results/*.json`
 * (with machine info and the Deno version) and to a table on stdout.
 *
 * 1. timing fidelity, 2. capacity, 3. long-run memory, 4. prompt synthesis,
 * 5. start-up, 6. the cost of per-token timing, 7. scaling over worker
 * processes. `--quick` runs small sizes (a smoke test); `--scenario N`
 * (repeatable) picks scenarios.
 *
 * Usage: `deno run -A bench/main.ts [--quick] [--scenario N]... [--out-dir DIR]
 * [--client-v8-flags FLAGS] [--streams 100,1000]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { percentile } from "../../lib/metrics/stats.ts";
import type { ClientConfig, ClientResult } from "./client.ts";
import type { SynthesisResult } from "./synthesis.ts";
import type { ServerConfig } from "./sse_server.ts";

const BENCH_DIR = new URL(".", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;

type Row = Record<string, string | number>;

/** A table to print: a title, rows of cells. */
interface Section {
  title: string;
  rows: Row[];
  notes?: string[];
}

// ---------------------------------------------------------------- processes

interface Server {
  url: string;
  close(): Promise<void>;
}

async function startServer(config: ServerConfig): Promise<Server> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${BENCH_DIR}sse_server.ts`, JSON.stringify(config)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("Cannot start the bench server: it exited");
    text += value;
  }
  const { port } = JSON.parse(text.split("\n")[0]);
  // Keep draining so the server never blocks on a full pipe.
  const drain = (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })();
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      child.kill("SIGTERM");
      await child.status;
      await drain.catch(() => {});
    },
  };
}

async function runChild<T>(
  script: string,
  config: Record<string, unknown>,
  v8Flags?: string,
): Promise<T> {
  const out = await Deno.makeTempFile({ prefix: "kvbench-bench-" });
  try {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        ...(v8Flags ? [`--v8-flags=${v8Flags}`] : []),
        `${BENCH_DIR}${script}`,
        JSON.stringify({ ...config, out }),
      ],
      stdout: "inherit",
      stderr: "piped",
    }).output();
    if (code !== 0) {
      throw new Error(
        `${script} failed (exit ${code}): ${
          new TextDecoder().decode(stderr).trim().slice(-2000)
        }`,
      );
    }
    return JSON.parse(await Deno.readTextFile(out)) as T;
  } finally {
    await Deno.remove(out).catch(() => {});
  }
}

/** V8 flags for client processes (`--client-v8-flags`), to compare GC settings. */
let clientV8Flags: string | undefined;
/** Timing scenario: only these stream counts (`--streams 100,1000`). */
let onlyStreams: number[] | undefined;

function runClient(config: Omit<ClientConfig, "out">): Promise<ClientResult> {
  return runChild<ClientResult>("client.ts", { ...config }, clientV8Flags);
}

// ---------------------------------------------------------------- statistics

/** p50, p99 (numpy's linear interpolation) and max of a sample. */
export function errorStats(
  values: number[],
): { p50: number; p99: number; max: number; n: number } {
  if (values.length === 0) return { p50: NaN, p99: NaN, max: NaN, n: 0 };
  return {
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    max: values.reduce((a, b) => Math.max(a, b)),
    n: values.length,
  };
}

const f1 = (x: number): string => Number.isFinite(x) ? x.toFixed(1) : "-";
const f2 = (x: number): string => Number.isFinite(x) ? x.toFixed(2) : "-";
const f3 = (x: number): string => Number.isFinite(x) ? x.toFixed(3) : "-";
const int = (x: number): string =>
  Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "-";

function errorsText(result: ClientResult): string {
  const kinds = Object.entries(result.errors);
  if (kinds.length === 0) return "0";
  return kinds.map(([kind, e]) => `${e.count} ${kind}: ${e.message}`).join(
    "; ",
  ).slice(0, 120);
}

// ---------------------------------------------------------------- scenarios

const READERS = ["floor", "http1", "fetch"] as const;

async function timingScenario(quick: boolean): Promise<{
  section: Section;
  data: unknown;
}> {
  // 1000 streams at one token per 100 ms is 10 000 events/s: a load the
  // server process can keep on schedule on a 2-core machine (at 20 ms it
  // cannot, and its own lag would be charged to the client).
  const delayMs = 100;
  const gapMs = quick ? 20 : 100;
  const maxTokens = quick ? 8 : 24;
  const plan: [number, number][] = quick
    ? [[1, 3], [10, 2]]
    : [[1, 4], [100, 2], [1000, 2]];
  const rows: Row[] = [];
  const data: unknown[] = [];
  for (const spread of [false, true]) {
    const server = await startServer({ mode: "truth", delayMs, gapMs, spread });
    try {
      for (const [streams, perStream] of plan) {
        if (spread && streams === 1) continue; // one stream cannot burst
        if (onlyStreams && !onlyStreams.includes(streams)) continue;
        for (const reader of READERS) {
          const result = await runClient({
            reader,
            url: server.url,
            concurrency: streams,
            requests: streams * perStream,
            maxTokens,
            promptTokens: 100,
            timing: true,
          });
          const truth: Record<string, number[]> = await (await fetch(
            `${server.url}/truth`,
          )).json();
          const ttftErrors: number[] = [];
          const itlErrors: number[] = [];
          for (const [id, timed] of Object.entries(result.timing ?? {})) {
            const sends = truth[id];
            if (sends === undefined) continue;
            ttftErrors.push(timed.ttft - sends[0]);
            for (let i = 1; i < timed.tokens.length && i < sends.length; i++) {
              itlErrors.push(
                (timed.tokens[i] - timed.tokens[i - 1]) -
                  (sends[i] - sends[i - 1]),
              );
            }
          }
          const ttft = errorStats(ttftErrors);
          const itl = errorStats(itlErrors.map(Math.abs));
          rows.push({
            streams,
            tokens: spread ? "spread" : "burst",
            reader,
            requests: result.completed,
            "TTFT err p50": f2(ttft.p50),
            "TTFT err p99": f2(ttft.p99),
            "TTFT err max": f2(ttft.max),
            "|ITL err| p50": f2(itl.p50),
            "|ITL err| p99": f2(itl.p99),
            "|ITL err| max": f2(itl.max),
            "CPU ms": int(result.cpuMs),
            "peak RSS MB": int(result.peakRssMb),
            errors: errorsText(result),
          });
          data.push({
            streams,
            spread,
            reader,
            ttft,
            itl,
            cpuMs: result.cpuMs,
            peakRssMb: result.peakRssMb,
            completed: result.completed,
            failed: result.failed,
            errors: result.errors,
          });
        }
      }
    } finally {
      await server.close();
    }
  }
  return {
    section: {
      title:
        `1. Timing fidelity (error vs server truth, ms; first token ${delayMs} ms after arrival, then every ${gapMs} ms, ${maxTokens} tokens)`,
      rows,
      notes: [
        "TTFT error = client TTFT − server's (first write − request arrival); it includes sending the request. ITL error = client gap − server gap.",
        "burst: every stream's token is written at the same instant each gap (a batching server); spread: each stream's schedule is shifted by a random fraction of the gap.",
      ],
    },
    data,
  };
}

async function capacityScenario(quick: boolean): Promise<{
  section: Section;
  data: unknown;
}> {
  const tokenCounts = quick ? [100] : [100, 1000];
  const promptSizes = quick ? [100] : [100, 32000];
  const concurrencies = quick ? [1, 64] : [1, 64, 512, 2048];
  const durationMs = quick ? 500 : 3000;
  const rows: Row[] = [];
  const data: unknown[] = [];
  const server = await startServer({ mode: "fast" });
  try {
    for (const maxTokens of tokenCounts) {
      for (const promptTokens of promptSizes) {
        for (const concurrency of concurrencies) {
          for (const reader of READERS) {
            const result = await runClient({
              reader,
              url: server.url,
              concurrency,
              durationMs,
              maxTokens,
              promptTokens,
            });
            const seconds = result.wallMs / 1000;
            const row = {
              K: maxTokens,
              prompt: promptTokens,
              conc: concurrency,
              reader,
              "req/s": int(result.completed / seconds),
              "events/s": int(result.events / seconds),
              "CPU ms/1k ev": f3(result.cpuMs / result.events * 1000),
              "peak RSS MB": int(result.peakRssMb),
              errors: errorsText(result),
            };
            rows.push(row);
            data.push({ maxTokens, promptTokens, concurrency, ...result });
          }
        }
      }
    }
  } finally {
    await server.close();
  }
  return {
    section: {
      title:
        `2. Capacity (zero-delay server, ${durationMs} ms per cell, client CPU and peak RSS)`,
      rows,
    },
    data,
  };
}

async function longRunScenario(quick: boolean): Promise<{
  section: Section;
  data: unknown;
}> {
  const samples = quick
    ? [1_000, 10_000, 20_000]
    : [10_000, 100_000, 1_000_000];
  const requests = samples[samples.length - 1];
  const dir = await Deno.makeTempDir({ prefix: "kvbench-bench-long-" });
  const records = `${dir}/records.jsonl`;
  const server = await startServer({ mode: "fast" });
  let result: ClientResult;
  let recordsBytes = 0;
  try {
    result = await runClient({
      reader: "http1",
      url: server.url,
      concurrency: 64,
      requests,
      maxTokens: 4,
      promptTokens: 100,
      samples,
      records,
    });
    recordsBytes = (await Deno.stat(records)).size;
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
  const rows: Row[] = (result.samples ?? []).map((s) => ({
    completed: int(s.completed),
    "RSS MB": f1(s.rssMb),
    "JS heap MB": f1(s.heapMb),
    "elapsed s": f1(s.atMs / 1000),
  }));
  const rss = result.samples ?? [];
  const growth = rss.length >= 2
    ? rss[rss.length - 1].rssMb - rss[rss.length - 2].rssMb
    : NaN;
  return {
    section: {
      title:
        `3. Long run (runner + BenchmarkMetrics + records file, concurrency 64, 4 tokens per request)`,
      rows,
      notes: [
        `RSS growth ${int(samples[samples.length - 2])} → ${
          int(requests)
        } requests: ${f1(growth)} MB; ${
          int(result.completed / (result.wallMs / 1000))
        } req/s; ${result.failed} failed; records file ${
          f1(recordsBytes / 2 ** 20)
        } MB; peak RSS ${f1(result.peakRssMb)} MB`,
      ],
    },
    data: { ...result, recordsBytes, growthMb: growth },
  };
}

async function tokenTimingScenario(quick: boolean): Promise<{
  section: Section;
  data: unknown;
}> {
  // Capacity cells with per-token timing off and on: CPU per 1,000 events and
  // record bytes; then a long run of short requests, where a record's fixed
  // cost dominates, off and on.
  const tokenCounts = quick ? [100] : [100, 1000];
  const durationMs = quick ? 500 : 3000;
  const longRequests = quick ? 20_000 : 1_000_000;
  const rows: Row[] = [];
  const data: unknown[] = [];
  const server = await startServer({ mode: "fast" });
  try {
    for (const maxTokens of tokenCounts) {
      for (const tokenTiming of [false, true]) {
        const result = await runClient({
          reader: "http1",
          url: server.url,
          concurrency: 64,
          durationMs,
          maxTokens,
          promptTokens: 100,
          tokenTiming,
        });
        rows.push({
          run: `${durationMs / 1000} s, K=${maxTokens}, conc 64`,
          "token timing": tokenTiming ? "on" : "off",
          requests: int(result.completed),
          "CPU ms/1k ev": f3(result.cpuMs / result.events * 1000),
          "record bytes": int(result.recordsBytes! / result.recordsWritten!),
          "peak RSS MB": int(result.peakRssMb),
        });
        data.push({ maxTokens, tokenTiming, ...result });
      }
    }
    for (const tokenTiming of [false, true]) {
      const result = await runClient({
        reader: "http1",
        url: server.url,
        concurrency: 64,
        requests: longRequests,
        maxTokens: 4,
        promptTokens: 100,
        tokenTiming,
      });
      rows.push({
        run: `${int(longRequests)} requests, K=4, conc 64`,
        "token timing": tokenTiming ? "on" : "off",
        requests: int(result.completed),
        "CPU ms/1k ev": f3(result.cpuMs / result.events * 1000),
        "record bytes": int(result.recordsBytes! / result.recordsWritten!),
        "peak RSS MB": int(result.peakRssMb),
        "file MB": f1(result.recordsBytes! / 2 ** 20),
        "CPU s": f1(result.cpuMs / 1000),
      });
      data.push({ maxTokens: 4, tokenTiming, long: true, ...result });
    }
  } finally {
    await server.close();
  }
  return {
    section: {
      title:
        "6. Per-token timing: its cost in client CPU and record size (http1, runner + metrics + distributions + records file)",
      rows,
      notes: [
        "vLLM's Python request function, for scale: 8.3 ms of CPU per 1,000 events (issue 6's measurement)",
      ],
    },
    data,
  };
}

/** CPU time (ms) of this process's children that have exited and been waited for, with their own waited-for children. */
async function childrenCpuMs(): Promise<number> {
  const stat = await Deno.readTextFile("/proc/self/stat");
  // Fields after the command name: cutime and cstime are fields 16 and 17.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) * 10; // 100 ticks a second
}

async function scalingScenario(quick: boolean): Promise<{
  section: Section;
  data: unknown;
}> {
  // The real command line, `kvbench benchmark`, with 1 and 2 worker
  // processes against the zero-delay server: events per second, and the
  // CPU of the whole process tree (parent and workers) per 1,000 events.
  const durationS = quick ? 1 : 6;
  const maxTokens = quick ? 100 : 1000;
  const inFlight = quick ? 64 : 256;
  const rows: Row[] = [];
  const data: unknown[] = [];
  const server = await startServer({ mode: "fast" });
  try {
    for (const workers of [1, 2]) {
      const dir = await Deno.makeTempDir({ prefix: "kvbench-bench-scale-" });
      try {
        const cpu0 = await childrenCpuMs();
        const { code, stderr } = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            `${ROOT}cli.ts`,
            "benchmark",
            ...["--endpoint", server.url, "--model", "bench-model"],
            ...["--offload-size", "1", "--bytes-per-token", "1024"],
            ...["--input-length", "100", "--output-length", String(maxTokens)],
            ...["--max-inflight", String(inFlight), "--ignore-eos"],
            ...["--duration", String(durationS), "--no-metrics"],
            // No run directory: its report, written at the end, is not the
            // run's cost.
            ...["--no-artifacts", "--workers", String(workers)],
            ...["--records", `${dir}/records.jsonl`],
            ...["--output", `${dir}/summary.json`],
          ],
          stdout: "null",
          stderr: "piped",
        }).output();
        const cpuMs = await childrenCpuMs() - cpu0;
        if (code !== 0) {
          throw new Error(
            `kvbench benchmark --workers ${workers} exited ${code}: ${
              new TextDecoder().decode(stderr).slice(-1000)
            }`,
          );
        }
        const summary = JSON.parse(
          await Deno.readTextFile(`${dir}/summary.json`),
        );
        let events = 0;
        for (
          const line of (await Deno.readTextFile(`${dir}/records.jsonl`))
            .split("\n")
        ) {
          if (line.startsWith('{"session"')) events += JSON.parse(line).chunks;
        }
        const seconds = summary.elapsed_s;
        rows.push({
          workers,
          "req/s": int(summary.requests.completed / seconds),
          "events/s": int(events / seconds),
          "CPU ms/1k ev": f3(cpuMs / events * 1000),
          "CPU s": f1(cpuMs / 1000),
          "wall s": f1(seconds),
        });
        data.push({ workers, events, cpuMs, seconds, summary });
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }
  } finally {
    await server.close();
  }
  const [one, two] = data as { events: number; seconds: number }[];
  const ratio = (two.events / two.seconds) / (one.events / one.seconds);
  return {
    section: {
      title:
        `7. Scaling: kvbench benchmark --workers 1 and 2 (zero-delay server in a third process, K=${maxTokens}, ${inFlight} in flight, ${durationS} s; CPU of parent + workers)`,
      rows,
      notes: [
        `2 workers deliver ${
          ratio.toFixed(2)
        }× the events of 1 on ${navigator.hardwareConcurrency} cores shared with the server`,
      ],
    },
    data,
  };
}

async function synthesisScenario(quick: boolean): Promise<{
  section: Section;
  data: unknown;
}> {
  const result = await runChild<SynthesisResult>("synthesis.ts", {
    tokens: quick ? 200_000 : 4_000_000,
  });
  const rows: Row[] = result.contexts.map((c) => ({
    what: `contexts of ${c.model}`,
    size: `${c.contexts} × 32000 tokens`,
    "build ms": f3(c.ms),
    "JSON-encode ms": f1(c.serializeMs),
  }));
  rows.push({
    what: "Qwen3 tokenizer load",
    size: "",
    "build ms": f1(result.tokenizerLoadMs),
    "JSON-encode ms": "",
  });
  rows.push({
    what: `synthesizer (${result.method}, pool ${result.poolSize}) build`,
    size: "",
    "build ms": f1(result.synthesizerBuildMs),
    "JSON-encode ms": "",
  });
  return {
    section: {
      title: "4. Prompt synthesis",
      rows,
      notes: [
        `exact-length synthesis: ${
          int(result.tokensPerSecond)
        } tokens/s (${result.prompts} prompts × ${result.promptTokens} tokens in ${
          f1(result.synthMs)
        } ms); ${result.verifiedPrompts} re-encoded to exactly ${result.promptTokens}: ${result.verifiedExact}`,
      ],
    },
    data: result,
  };
}

async function timeProcess(args: string[]): Promise<number> {
  const t0 = performance.now();
  const { code } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "null",
    stderr: "null",
  }).output();
  if (code !== 0) throw new Error(`deno ${args.join(" ")} exited ${code}`);
  return performance.now() - t0;
}

async function startupScenario(quick: boolean): Promise<{
  section: Section;
  data: unknown;
}> {
  const runs = quick ? 2 : 7;
  const help: number[] = [];
  await timeProcess(["run", "-A", "cli.ts", "--help"]); // warm the module cache
  for (let i = 0; i < runs; i++) {
    help.push(await timeProcess(["run", "-A", "cli.ts", "--help"]));
  }
  const firstRequest: number[] = [];
  const server = await startServer({ mode: "fast" });
  try {
    for (let i = 0; i < (quick ? 1 : 5); i++) {
      const spawnedAt = Date.now();
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "cli.ts",
          "benchmark",
          "--endpoint",
          server.url,
          "--model",
          "Qwen/Qwen3-30B-A3B-Instruct-2507",
          "--duration",
          "1",
          "--output-length",
          "4",
        ],
        cwd: ROOT,
        stdout: "null",
        stderr: "null",
      }).spawn();
      await child.status;
      const { at } = await (await fetch(`${server.url}/first`)).json();
      if (typeof at !== "number") {
        throw new Error("cli.ts benchmark sent no request");
      }
      firstRequest.push(at - spawnedAt);
    }
  } finally {
    await server.close();
  }
  const h = errorStats(help);
  const f = errorStats(firstRequest);
  return {
    section: {
      title: "5. Start-up (wall time from spawning `deno run -A cli.ts …`)",
      rows: [
        {
          what: "cli.ts --help",
          runs: h.n,
          "median ms": int(h.p50),
          "max ms": int(h.max),
        },
        {
          what: "cli.ts benchmark → first request at the server",
          runs: f.n,
          "median ms": int(f.p50),
          "max ms": int(f.max),
        },
      ],
    },
    data: { helpMs: help, firstRequestMs: firstRequest },
  };
}

// ---------------------------------------------------------------- output

/** Render rows as an aligned text table. */
export function renderRows(rows: Row[]): string {
  if (rows.length === 0) return "(no rows)\n";
  const columns = Object.keys(rows[0]);
  const widths = columns.map((c) =>
    Math.max(c.length, ...rows.map((r) => String(r[c] ?? "").length))
  );
  const line = (cells: string[]): string =>
    cells.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd();
  return [
    line(columns),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map((r) => line(columns.map((c) => String(r[c] ?? "")))),
  ].join("\n") + "\n";
}

async function machineInfo(): Promise<Record<string, unknown>> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const ulimit = await new Deno.Command("sh", {
    args: ["-c", "ulimit -n"],
    stdout: "piped",
  }).output().then((o) => new TextDecoder().decode(o.stdout).trim()).catch(
    () => "?",
  );
  return {
    deno: Deno.version,
    os: Deno.build.os,
    arch: Deno.build.arch,
    kernel: Deno.osRelease(),
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "?",
    cores: navigator.hardwareConcurrency,
    memTotalMb: Math.round(
      Number(/^MemTotal:\s*(\d+)/m.exec(meminfo)?.[1] ?? 0) / 1024,
    ),
    openFilesLimit: ulimit,
  };
}

const SCENARIOS: Record<
  string,
  (quick: boolean) => Promise<{ section: Section; data: unknown }>
> = {
  "1": timingScenario,
  "2": capacityScenario,
  "3": longRunScenario,
  "4": synthesisScenario,
  "5": startupScenario,
  "6": tokenTimingScenario,
  "7": scalingScenario,
};

if (import.meta.main) {
  const USAGE =
    "usage: deno task bench [--quick] [--scenario N]... [--out-dir DIR] [--client-v8-flags FLAGS] [--streams 100,1000]";
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        quick: { type: "boolean", default: false },
        scenario: { type: "string", multiple: true },
        "out-dir": { type: "string", default: `${ROOT}.bench-results` },
        "client-v8-flags": { type: "string" },
        streams: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n${USAGE}`);
    Deno.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  clientV8Flags = values["client-v8-flags"];
  if (values.streams) {
    onlyStreams = values.streams.split(",").map(Number);
  }
  const chosen = values.scenario ?? Object.keys(SCENARIOS);
  for (const s of chosen) {
    if (!(s in SCENARIOS)) {
      console.error(`bench: unknown scenario "${s}" (expected 1-7)`);
      Deno.exit(2);
    }
  }
  const machine = await machineInfo();
  if (clientV8Flags) machine.clientV8Flags = clientV8Flags;
  console.log(
    `kvbench bench on ${machine.cpu}, ${machine.cores} cores, Deno ${Deno.version.deno}, open files limit ${machine.openFilesLimit}${
      values.quick ? " (quick)" : ""
    }\n`,
  );
  // Each process holds one socket per stream (connections are kept alive and
  // reused, so there is no port churn): 2048 streams need ~2100 descriptors.
  const limit = Number(machine.openFilesLimit);
  if (Number.isFinite(limit) && limit < 2200) {
    console.log(
      `warning: open files limit ${limit} is below the 2048-stream runs' needs; raise it with 'ulimit -n 4096'\n`,
    );
  }
  const results: Record<string, unknown> = {};
  const startedAt = new Date().toISOString();
  for (const s of chosen) {
    const t0 = performance.now();
    const { section, data } = await SCENARIOS[s](values.quick);
    results[s] = { title: section.title, rows: section.rows, data };
    console.log(`${section.title}\n`);
    console.log(renderRows(section.rows));
    for (const note of section.notes ?? []) console.log(note);
    console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
  await Deno.mkdir(values["out-dir"], { recursive: true });
  const path = `${values["out-dir"]}/bench-${
    startedAt.replace(/[:.]/g, "-")
  }.json`;
  await Deno.writeTextFile(
    path,
    JSON.stringify(
      { startedAt, quick: values.quick, machine, scenarios: results },
      null,
      2,
    ),
  );
  console.log(`results: ${path}`);
}
