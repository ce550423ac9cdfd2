/**
 * The registry of workloads: every `kvbench` workload command, in the order
 * the top-level help lists them. A new workload is a folder beside
 * `benchmark/` and `trie/` whose `command.ts` exports a
 * {@linkcode WorkloadCommand}, and one line here.
 *
 * @example Usage
 * ```ts
 * import { WORKLOADS } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(WORKLOADS.map((w) => w.name), ["benchmark", "trie", "replay"]);
 * ```
 *
 * @module
 */
import type { WorkloadCommand } from "../lib/cli/workload.ts";
import { benchmarkCommand } from "./benchmark/command.ts";
import { trieCommand } from "./trie/command.ts";
import { replayCommand } from "./replay/command.ts";

/** `kvbench size`: a model's KV bytes per token and the benchmark it sizes. */
export { sizeCommand } from "./benchmark/size_command.ts";

/** Every workload command. */
export const WORKLOADS: readonly WorkloadCommand[] = [
  benchmarkCommand,
  trieCommand,
  replayCommand,
];
