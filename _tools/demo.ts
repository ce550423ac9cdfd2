/**
 * `deno task demo`: kvbench's main job on a machine without a GPU.
 *
 * Starts `kvbench sim` in its own process (so the server's CPU does not
 * distort the client's clocks), runs `kvbench benchmark` against it, then
 * `kvbench trie` on the small trace file shipped in `tests/testdata/`, and finally
 * the same `benchmark` against a simulator without an offload tier, to show
 * side by side what the offload tier does to TTFT and cache hits.
 *
 * The simulator is sized down (20 GiB offload, 4 GiB GPU KV for
 * Qwen3-30B-A3B) so that the benchmark's working set, 6 contexts of 32,000
 * tokens, passes through the offload tier within seconds: each context is
 * evicted from GPU before tile order comes back to it.
 *
 * Every run writes its run directory (records, metrics, summary, the HTML
 * report) under `kvbench-runs/<time>-demo/` (or `$KVBENCH_RUNS_DIR`), and
 * the demo ends with `kvbench compare` of the two benchmark runs, whose
 * report it says where to find.
 *
 * It prints every command exactly as it runs it (`kvbench` standing for
 * `deno run -A cli.ts`), so each can be pasted. trie counts tokens with the
 * simulator's own `/tokenize` (`tokenizer_model=server`): the client sizes
 * prompts as the server counts them.
 *
 * Options: `--seconds N` per run (default 30), `--time-scale X` of the
 * simulator (default 1: real time), `--tmp-dir DIR` for scratch files.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createRunDir } from "../lib/cli/run_dir.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const CLI = `${ROOT}cli.ts`;
const TRACES = `${ROOT}tests/testdata/traces_small.jsonl`;
const OFFLOAD_GIB = 20;
const GPU_KV_GIB = 4;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "30" },
    "time-scale": { type: "string", default: "1" },
    "tmp-dir": { type: "string" },
  },
});
const seconds = Number(values.seconds);
const timeScale = Number(values["time-scale"]);
if (!(seconds > 0) || !(timeScale > 0)) {
  console.error("demo: --seconds and --time-scale must be positive numbers");
  Deno.exit(2);
}
const interval = Math.max(1, Math.round(seconds / 3));

const bold = (text: string): void =>
  console.log(`\n%c${text}`, "font-weight: bold");

/** An argument as a POSIX shell reads it back: quoted when it needs to be. */
function shellWord(word: string): string {
  return /^[-\w.,:/=@%+]+$/.test(word)
    ? word
    : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The command line of `kvbench ARGS`, as it can be pasted. */
function commandLine(args: string[]): string {
  return ["kvbench", ...args].map(shellWord).join(" ");
}

/** Running children, stopped on the way out whatever happens. */
const children = new Set<Deno.ChildProcess>();
let interrupted = false;

function onSignal(signal: Deno.Signal): void {
  if (interrupted) return;
  interrupted = true;
  for (const child of children) {
    // A terminal's Ctrl+C already reached the client (same process group):
    // give it time to print its summary; a SIGTERM is for us alone, pass it on.
    if (signal === "SIGTERM") child.kill("SIGTERM");
    else setTimeout(() => children.has(child) && child.kill("SIGTERM"), 2_000);
  }
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => onSignal(signal));
}

function spawn(
  args: string[],
  options: { stdout?: "piped" | "inherit" | "null"; detached?: boolean } = {},
): Deno.ChildProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CLI, ...args],
    stdin: "null",
    stdout: options.stdout ?? "inherit",
    stderr: "inherit",
    detached: options.detached,
  }).spawn();
  children.add(child);
  child.status.finally(() => children.delete(child));
  return child;
}

/** Start a simulator (its own session: a terminal's Ctrl+C is for the client); resolves to its URL. */
async function startSim(
  args: string[],
): Promise<{ url: string; stop(): Promise<void> }> {
  const simArgs = [
    "sim",
    "--port",
    "0",
    "--time-scale",
    String(timeScale),
    ...args,
  ];
  console.log(`$ ${commandLine(simArgs)} &`);
  const child = spawn(simArgs, {
    stdout: "piped",
    detached: true,
  });
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/ at (\S+) /.test(text)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the simulator exited before listening: ${text}`);
    text += value;
  }
  console.log(text.trimEnd());
  reader.releaseLock();
  void child.stdout.pipeTo(new WritableStream()).catch(() => {});
  return {
    url: / at (\S+) /.exec(text)![1],
    async stop() {
      if (children.has(child)) child.kill("SIGTERM");
      await child.status;
    },
  };
}

async function run(args: string[], quiet = false): Promise<number> {
  if (interrupted) return 130;
  console.log(`$ ${commandLine(args)}${quiet ? " > /dev/null" : ""}`);
  const child = spawn(args, { stdout: quiet ? "null" : "inherit" });
  return (await child.status).code;
}

const dir = values["tmp-dir"] ??
  await Deno.makeTempDir({ prefix: "kvbench-demo-" });
await Deno.mkdir(dir, { recursive: true });
// No --tokenizer for the simulator: exact counts cost it ≈ 0.2 s of CPU per
// 32k-token prompt, which would land in every TTFT; the approximation counts
// tmesh prompts exactly.
const simArgs = ["--gpu-kv-gb", String(GPU_KV_GIB)];
// Where the runs go: one folder for the demo, a run directory per part.
const runs = await createRunDir("demo");
const benchArgs = (url: string, name: string): string[] => [
  "benchmark",
  "--endpoint",
  url,
  "--offload-size",
  String(OFFLOAD_GIB),
  "--duration",
  String(seconds),
  "--interval",
  String(interval),
  "--output-dir",
  `${runs}/${name}`,
];

let code = 0;
const sims: { stop(): Promise<void> }[] = [];
try {
  bold(
    `kvbench demo: a simulated H100 serving Qwen3-30B-A3B (${GPU_KV_GIB} GiB GPU KV, ${OFFLOAD_GIB} GiB offload)` +
      (timeScale === 1 ? "" : `, time scaled by ${timeScale}`),
  );
  console.log(
    `Each command is printed as it runs ($ …); kvbench is \`deno run -A ${CLI}\`\n` +
      `(\`deno install -g -A -n kvbench ${CLI}\` makes it a command).`,
  );
  const sim = await startSim([...simArgs, "--offload-gb", String(OFFLOAD_GIB)]);
  sims.push(sim);

  bold(
    `1/3  kvbench benchmark: 32k-token contexts in tile order, ${seconds} s, through the offload tier`,
  );
  code = await run(benchArgs(sim.url, "offload_on"));

  if (code === 0 && !interrupted) {
    bold(
      `2/3  kvbench trie: the small trace file, 4 traces in flight, tokens counted by the server's /tokenize\n     (a small trace: it fits in GPU KV, so its pre-flight says it does not stress the offload tier)`,
    );
    code = await run([
      "trie",
      `workload_path=${TRACES}`,
      `endpoint=${sim.url}`,
      "tokenizer_model=server",
      "concurrency=4",
      `duration=${seconds}`,
      `duration_update_interval=${interval}`,
      "stream=True",
      `output_dir=${runs}/trie`,
    ]);
  }
  await sim.stop();

  if (code === 0 && !interrupted) {
    bold(
      `3/3  the same benchmark without the offload tier (--offload-gb 0), ${seconds} s`,
    );
    const bare = await startSim([...simArgs, "--offload-gb", "0"]);
    sims.push(bare);
    code = await run(benchArgs(bare.url, "offload_off"), true);
    await bare.stop();
    if (code === 0 && !interrupted) {
      bold("kvbench compare: offload on against off");
      code = await run([
        "compare",
        `${runs}/offload_on`,
        `${runs}/offload_off`,
        "--names",
        "offload on,offload off",
        "--output",
        `${runs}/compare.html`,
      ]);
      console.log(
        "\nEvery context comes back after the others pushed it out of GPU KV: with the offload tier its\n" +
          "prefix is loaded back instead of recomputed, which is what `kvbench benchmark` exists to show.",
      );
    }
  }
  if (code === 0 && !interrupted) {
    bold(`The runs and their reports are in ${runs}:`);
    for (const name of ["offload_on", "trie", "offload_off"]) {
      console.log(`  ${runs}/${name}/report.html`);
    }
    console.log(`  ${runs}/compare.html (offload on against off)`);
  }
} catch (error) {
  console.error(`demo: ${error instanceof Error ? error.message : error}`);
  code = 1;
} finally {
  await Promise.all(sims.map((s) => s.stop()));
  for (const child of children) child.kill("SIGKILL");
  if (values["tmp-dir"] === undefined) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
Deno.exit(interrupted ? 130 : code);
