/**
 * What a workload gives the command line: its command, and what the commands
 * that list every workload (`kvbench merge`, `kvbench k8s`) need from it.
 * `cli.ts` passes the registry (`workloads/mod.ts`) to every command, so
 * nothing in `lib/` imports a workload.
 *
 * @module
 */
import { type Command, out } from "./common.ts";
import type { Slos } from "../metrics/distributions.ts";
import type { RunSummary } from "../run/runner.ts";
import type { PromptSplit } from "../server/attribution.ts";
import type { EngineName } from "../server/engines.ts";
import type { RequestRecord } from "../types.ts";

/** A merged run, as `kvbench merge` hands it to the workload that ran it. */
export interface MergedRun {
  /** The merged records, on one clock, in end order. */
  records: RequestRecord[];
  /** The first part's `run.json` params. */
  params: Record<string, unknown>;
  /** The first part's `run.json` workload description, if any. */
  workload?: unknown;
  /** The first part's `run.json` server description, if any. */
  server?: unknown;
  /** From the merged start to the last end, in ms. */
  elapsedMs: number;
  /** The merged run's counts. */
  summary: RunSummary;
  /** The server's split at the last scrape, when a part scraped it. */
  split?: { split?: PromptSplit; engines?: EngineName[] };
  /** Percentiles the run reported. */
  percentiles?: number[];
  /** SLOs the run counted goodput against. */
  slos?: Slos;
  /** `kvbench merge --workload FILE`: a workload file the run read. */
  workloadFile?: string;
}

/**
 * One workload as every command sees it: its own command (`kvbench NAME`),
 * the check `kvbench k8s` runs on the pods' arguments, and the figures
 * `kvbench merge` recomputes from merged records.
 */
export interface WorkloadCommand extends Command {
  /**
   * Refuse, with the usage error `kvbench NAME` would give, arguments it
   * would refuse; runs nothing.
   */
  checkArgs(args: string[]): void;
  /** The option syntax: `--flag value` (flags) or `key=value` (keys). */
  syntax: "flags" | "keys";
  /** Whether the parts of one run must share one seed (warned by merge). */
  sameSeed: boolean;
  /**
   * Print the figures of a merged run and resolve to its `summary.json`.
   */
  mergeFigures(run: MergedRun): Promise<Record<string, unknown>>;
}

/** What `cli.ts` gives every command. */
export interface CommandContext {
  /** Every workload (the registry, `workloads/mod.ts`). */
  workloads: readonly WorkloadCommand[];
}

/**
 * The workload called `name`, or undefined.
 *
 * @example Usage
 * ```ts
 * import { findWorkload, type WorkloadCommand } from "./workload.ts";
 * import assert from "node:assert/strict";
 *
 * const trie = { name: "trie" } as WorkloadCommand;
 * assert.equal(findWorkload([trie], "trie"), trie);
 * assert.equal(findWorkload([trie], "sim"), undefined);
 * ```
 */
export function findWorkload(
  workloads: readonly WorkloadCommand[],
  name: string | undefined,
): WorkloadCommand | undefined {
  return workloads.find((w) => w.name === name);
}

/**
 * What a workload describes of its command; {@linkcode defineWorkload}
 * makes the command.
 */
export interface WorkloadDescription<O> {
  /** Name on the command line. */
  name: string;
  /** One line for the top-level help. */
  summary: string;
  /** The option syntax: `--flag value` (flags) or `key=value` (keys). */
  syntax: "flags" | "keys";
  /** Whether the parts of one run must share one seed (warned by merge). */
  sameSeed: boolean;
  /** The help text. */
  usage: string;
  /** The parsed options, or undefined for `--help`; refusals throw. */
  parse(args: string[]): O | undefined;
  /** Refusals of parsed options beyond the parser's (usage errors). */
  check?(opts: O): void;
  /** Print the figures of a merged run and resolve to its summary. */
  mergeFigures(run: MergedRun): Promise<Record<string, unknown>>;
  /** Run with the parsed options. */
  run(
    opts: O,
    c: { args: string[]; signal: AbortSignal },
  ): Promise<number>;
}

/**
 * The command of a workload: `--help` prints its usage, `checkArgs` parses
 * and checks without running, `run` parses, checks and runs.
 *
 * @example Usage
 * ```ts
 * import { defineWorkload } from "./workload.ts";
 * import assert from "node:assert/strict";
 *
 * const echo = defineWorkload<{ n: number }>({
 *   name: "echo",
 *   summary: "says a number",
 *   syntax: "keys",
 *   sameSeed: false,
 *   usage: "usage: kvbench echo n=N\n",
 *   parse: (args) => args.includes("--help") ? undefined : { n: args.length },
 *   check: (opts) => {
 *     if (opts.n === 0) throw new TypeError("give n");
 *   },
 *   mergeFigures: () => Promise.resolve({}),
 *   run: (opts) => Promise.resolve(opts.n),
 * });
 * assert.equal(await echo.run(["a", "b"], new AbortController().signal, { workloads: [] }), 2);
 * assert.throws(() => echo.checkArgs([]), /give n/);
 * ```
 */
export function defineWorkload<O>(
  description: WorkloadDescription<O>,
): WorkloadCommand {
  const d = description;
  return {
    name: d.name,
    summary: d.summary,
    syntax: d.syntax,
    sameSeed: d.sameSeed,
    mergeFigures: d.mergeFigures,
    checkArgs(args: string[]): void {
      const opts = d.parse(args);
      if (opts !== undefined) d.check?.(opts);
    },
    async run(args: string[], signal: AbortSignal): Promise<number> {
      const opts = d.parse(args);
      if (opts === undefined) {
        out(d.usage);
        return 0;
      }
      d.check?.(opts);
      return await d.run(opts, { args, signal });
    },
  };
}
