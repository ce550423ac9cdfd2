/**
 * Run directories: every `benchmark` and `trie` run writes its artifacts into
 * one folder, named so runs sort by time: `run.json` (the command line,
 * versions, parameters, the engine, the machine), `records.jsonl`,
 * `metrics.jsonl`, `summary.json` and `report.html`. Reports, comparisons and
 * merges read only these files.
 *
 * @module
 */
import { hostname } from "node:os";
import { redactSecrets } from "../format/redact.ts";
import type { ClockOffset } from "../run/clock_offset.ts";
import { out } from "./common.ts";
import { VERSION } from "./version.ts";

/** Where runs go when no `--output-dir` is given: `$KVBENCH_RUNS_DIR`, else `./kvbench-runs`. */
export function runsParent(): string {
  return Deno.env.get("KVBENCH_RUNS_DIR") || "kvbench-runs";
}

/**
 * Create the directory of a new run: `DIR` when given (it must be empty or
 * new), else `<runs parent>/<UTC time>-<command>` (a suffix keeps two runs
 * of the same second apart).
 */
export async function createRunDir(
  command: string,
  explicit?: string,
): Promise<string> {
  const mkdirs = async (path: string): Promise<void> => {
    try {
      await Deno.mkdir(path, { recursive: true });
    } catch (error) {
      throw new Error(
        `Cannot write the run into "${path}": ${
          error instanceof Deno.errors.AlreadyExists
            ? "a file of that name exists"
            : (error as Error).message
        }`,
      );
    }
  };
  if (explicit !== undefined) {
    await mkdirs(explicit);
    for await (const _ of Deno.readDir(explicit)) {
      throw new Error(
        `Cannot write the run into "${explicit}": the directory is not empty`,
      );
    }
    return explicit;
  }
  const stamp = new Date().toISOString().replace(/\.\d+Z$/, "Z").replaceAll(
    ":",
    "-",
  );
  const parent = runsParent();
  await mkdirs(parent);
  for (let n = 0;; n++) {
    const path = `${parent}/${stamp}-${command}${n ? `-${n}` : ""}`;
    try {
      await Deno.mkdir(path);
      return path;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
  }
}

/** What `run.json` says of a run. */
export interface RunInfo {
  /** `benchmark` or `trie`. */
  command: string;
  /** The command line, credentials left out. */
  argv: string[];
  /** The run's parameters, credentials left out. */
  params: Record<string, unknown>;
  /** The sized workload (`benchmark`). */
  workload?: unknown;
  /** The engine and its version, as the server said. */
  server?: unknown;
  /** `performance.now()` of the run's start, on the records' clock. */
  startedAt: number;
  /** The shard or worker this run is, when it is one of several. */
  part?: unknown;
  /** `performance.timeOrigin` of the records' clock (default this process's). */
  timeOrigin?: number;
  /** This host's clock against the reference clock, for merging shards. */
  clock?: ClockOffset;
}

/** Mask the values of credential flags in a command line. */
function redactArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (/^--api-key$/.test(a) && i + 1 < argv.length) {
      out.push(a, "***");
      i++;
    } else if (/^(--)?api[_-]key=/.test(a)) {
      out.push(a.replace(/=.*/, "=***"));
    } else out.push(a);
  }
  return out;
}

/** Write `run.json` into a run directory. */
export async function writeRunInfo(dir: string, info: RunInfo): Promise<void> {
  const timeOrigin = info.timeOrigin ?? performance.timeOrigin;
  const doc = {
    command: info.command,
    argv: redactArgv(info.argv),
    kvbench: VERSION,
    deno: Deno.version.deno,
    startedAt: new Date(timeOrigin + info.startedAt).toISOString(),
    timeOrigin,
    runStartedAt: info.startedAt,
    params: redactSecrets(info.params),
    workload: info.workload ?? null,
    server: info.server ?? null,
    part: info.part ?? null,
    clock: info.clock ?? null,
    machine: {
      hostname: hostname(),
      os: Deno.build.os,
      arch: Deno.build.arch,
      cpus: navigator.hardwareConcurrency,
    },
  };
  await Deno.writeTextFile(
    `${dir}/run.json`,
    JSON.stringify(doc, null, 2) + "\n",
  );
}

/**
 * Begin level `index` of `levels` of a sweep: its header when there are
 * several, and its directory (`DIR/level-N`, or the run's own when there is
 * one level; undefined without a run directory), created.
 */
export async function startLevel(
  dir: string | undefined,
  level: { index: number; levels: number; label: string },
): Promise<string | undefined> {
  const { index, levels, label } = level;
  if (levels > 1) out(`\n=== level ${index + 1}/${levels}: ${label} ===\n`);
  if (dir === undefined) return undefined;
  const path = levels > 1 ? `${dir}/level-${index + 1}` : dir;
  await Deno.mkdir(path, { recursive: true });
  return path;
}
