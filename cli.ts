#!/usr/bin/env -S deno run -A
/**
 * The `kvbench` command line: `benchmark` (KV-offload stress, successor of
 * `tmesh-cli benchmark`), `trie` (multi-turn agentic trace replay), `sim` (a
 * KV-cache-aware simulated endpoint).
 *
 * This file only parses the command line and turns outcomes into exit codes:
 * 0 success (also after Ctrl+C / SIGTERM), 1 a run-time failure, 2 a usage
 * error.
 *
 * @example Usage
 * ```sh
 * deno run -A jsr:@kvbench/cli benchmark --endpoint http://localhost:8000 --api-key sk-123
 * ```
 *
 * @module
 */
import {
  type Command,
  err,
  out,
  ReportedError,
  UsageError,
} from "./lib/cli/common.ts";
import { sizeCommand, WORKLOADS } from "./workloads/mod.ts";
import { simCommand } from "./lib/cli/sim_command.ts";
import { mergeCommand } from "./lib/cli/merge_command.ts";
import { k8sCommand } from "./lib/cli/k8s_command.ts";
import { compareCommand, reportCommand } from "./lib/cli/report_command.ts";
import { VERSION } from "./lib/cli/version.ts";
import { closestName } from "./lib/cli/kv_args.ts";

const COMMANDS: readonly Command[] = [
  ...WORKLOADS,
  simCommand,
  sizeCommand,
  reportCommand,
  compareCommand,
  mergeCommand,
  k8sCommand,
];

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "kvbench " + VERSION +
    ": benchmarks for OpenAI-compatible LLM endpoints and their KV cache",
    "",
    "usage: kvbench <command> [options]",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Run 'kvbench <command> --help' for the options of a command.",
    "",
  ].join("\n");
}

/**
 * Run the command line and resolve to the process exit code.
 *
 * @example Usage
 * ```ts
 * import { main } from "./cli.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await main(["--help"]), 0); // prints the list of commands
 * assert.equal(await main(["help", "sim"]), 0); // prints sim's options
 * assert.equal(await main(["no-such-command"]), 2); // a usage error
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args[0] === "help" && args.length > 1
    ? [args[1], "--help"] // `kvbench help benchmark`: the command's help
    : args;
  if (
    name === undefined || name === "-h" || name === "--help" || name === "help"
  ) {
    out(topHelp());
    return 0;
  }
  if (name === "-V" || name === "--version") {
    out(`kvbench ${VERSION}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    const guess = closestName(name, COMMANDS.map((c) => c.name));
    err(
      `kvbench: unknown command "${name}"${
        guess === undefined ? "" : `; did you mean "${guess}"?`
      }\n\n${topHelp()}`,
    );
    return 2;
  }
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    // A second Ctrl+C means "now": skip the graceful summary.
    if (signals > 1) Deno.exit(130);
    controller.abort(new DOMException("Interrupted by signal", "AbortError"));
  };
  const listening: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM"];
  for (const s of listening) Deno.addSignalListener(s, onSignal);
  try {
    return await command.run(rest, controller.signal, {
      workloads: WORKLOADS,
    });
  } catch (error) {
    if (error instanceof UsageError) {
      // As argparse does: the synopsis (its first paragraph), then the error.
      const synopsis = error.usage.split(/\n\s*\n/)[0].trimEnd();
      err(`${synopsis}\nkvbench ${name}: error: ${error.message}\n`);
      return 2;
    }
    if (error instanceof ReportedError) return error.code;
    err(
      `kvbench ${name}: error: ${
        error instanceof Error ? error.message : String(error)
      }\n`,
    );
    return 1;
  } finally {
    for (const s of listening) Deno.removeSignalListener(s, onSignal);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
