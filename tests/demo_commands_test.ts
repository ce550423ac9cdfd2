/**
 * The demo prints exactly the commands it runs: every `$ kvbench …` line,
 * read back as a shell would, is the argument list of a process it started
 * (`deno run -A --quiet cli.ts …`, seen in /proc); and its trie part counts
 * tokens as its simulator does (no prompt-token drift line).
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { RUNS_DIR } from "./cli_process.ts";

const DEMO = new URL("../_tools/demo.ts", import.meta.url).pathname;
const CLI = new URL("../cli.ts", import.meta.url).pathname;

/** A command line split as a POSIX shell splits it (plain words and '…' quotes). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/(?:'([^']*)'|([^\s']+))+/g)) {
    words.push(m[0].replace(/'([^']*)'/g, "$1"));
  }
  return words;
}

/** The argument lists after cli.ts of the descendants of `root`, polled until stopped. */
function watchCommands(root: number): { stop(): Promise<string[][]> } {
  const seen = new Map<number, string[]>();
  let running = true;
  const children = async (pid: number): Promise<number[]> => {
    const out: number[] = [];
    try {
      for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
        const text = await Deno.readTextFile(
          `/proc/${pid}/task/${task.name}/children`,
        ).catch(() => "");
        out.push(...text.split(" ").filter((p) => p !== "").map(Number));
      }
    } catch {
      // gone
    }
    return out;
  };
  const poll = (async () => {
    while (running) {
      const queue = [root];
      while (queue.length > 0) {
        for (const child of await children(queue.pop()!)) {
          if (!seen.has(child)) {
            const argv = (await Deno.readTextFile(`/proc/${child}/cmdline`)
              .catch(() => "")).split("\0").filter((a) => a !== "");
            const at = argv.indexOf(CLI);
            if (at >= 0) seen.set(child, argv.slice(at + 1));
          }
          queue.push(child);
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await poll;
      return [...seen.values()];
    },
  };
}

Deno.test("demo: every printed command is exactly a command it ran; trie counts tokens as the simulator does", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      DEMO,
      "--seconds",
      "2",
      "--time-scale",
      "0.1",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", KVBENCH_RUNS_DIR: RUNS_DIR },
  }).spawn();
  const watch = watchCommands(child.pid);
  const [out, errText, status] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.status,
  ]);
  const ran = await watch.stop();
  strictEqual(status.code, 0, out + errText);
  const printed = [...out.matchAll(/^\$ (kvbench .*?)( &| > \/dev\/null)?$/gm)]
    .map((m) => shellWords(m[1]).slice(1));
  // Two simulators, two benchmarks, trie, compare.
  strictEqual(printed.length, 6, out);
  deepStrictEqual(
    printed.map((p) => p[0]),
    ["sim", "benchmark", "trie", "sim", "benchmark", "compare"],
  );
  for (const args of printed) {
    ok(
      ran.some((r) => JSON.stringify(r) === JSON.stringify(args)),
      `printed but not run as printed: ${args.join(" ")}\nran:\n${
        ran.map((r) => r.join(" ")).join("\n")
      }`,
    );
  }
  ok(printed[2].includes("tokenizer_model=server"), printed[2].join(" "));
  ok(out.includes("Per-trace metrics"), out);
  ok(!out.includes("Prompt tokens: the server counted"), out);
});
