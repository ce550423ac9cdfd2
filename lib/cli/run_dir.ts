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
  return (await openRunDir(command, explicit)).path;
}

/** A run directory opened by {@linkcode openRunDir}. */
export interface RunDir {
  /** Its path. */
  path: string;
  /**
   * Remove what the run left in it (all of it: the directory was empty or
   * new), then the directory and the parents the run created, when empty;
   * a directory that existed before is kept. For a run that ended before
   * it sent a request (refused, or failed to start).
   */
  discard(): Promise<void>;
}

/** `path` and the ancestors of it that do not exist yet, deepest first. */
async function missingDirs(path: string): Promise<string[]> {
  const missing: string[] = [];
  for (let p = path.replace(/(.)\/+$/, "$1"); p !== "" && p !== "/";) {
    try {
      await Deno.lstat(p);
      break;
    } catch {
      missing.push(p);
    }
    const slash = p.lastIndexOf("/");
    p = slash <= 0 ? "" : p.slice(0, slash);
  }
  return missing;
}

/**
 * {@linkcode createRunDir}, which can also be undone: a run refused before
 * its first request leaves nothing it created.
 *
 * @example A refused run leaves neither the run's directory nor its parents
 * ```ts
 * import { openRunDir } from "./run_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const tmp = await Deno.makeTempDir();
 * await Deno.mkdir(`${tmp}/mine`);
 * await Deno.writeTextFile(`${tmp}/mine/notes.txt`, "kept");
 * const run = await openRunDir("benchmark", `${tmp}/mine/runs/a`);
 * await Deno.writeTextFile(`${run.path}/records.jsonl`, "");
 * await run.discard();
 * assert.deepEqual(
 *   (await Array.fromAsync(Deno.readDir(`${tmp}/mine`))).map((e) => e.name),
 *   ["notes.txt"],
 * );
 * // An empty directory the user made is emptied, not removed.
 * await Deno.mkdir(`${tmp}/empty`);
 * const given = await openRunDir("benchmark", `${tmp}/empty`);
 * await Deno.mkdir(`${given.path}/worker-0`);
 * await Deno.writeTextFile(`${given.path}/worker-0/metrics.jsonl`, "");
 * await given.discard();
 * assert.deepEqual(await Array.fromAsync(Deno.readDir(`${tmp}/empty`)), []);
 * await Deno.remove(tmp, { recursive: true });
 * ```
 */
export async function openRunDir(
  command: string,
  explicit?: string,
): Promise<RunDir> {
  const created: string[] = [];
  const mkdirs = async (path: string): Promise<void> => {
    created.unshift(...await missingDirs(path));
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
  const opened = (path: string): RunDir => ({
    path,
    async discard(): Promise<void> {
      for await (const entry of Deno.readDir(path)) {
        await Deno.remove(`${path}/${entry.name}`, { recursive: true });
      }
      // Deepest first; one another run wrote into stays.
      for (const dir of created) {
        try {
          await Deno.remove(dir);
        } catch {
          break;
        }
      }
    },
  });
  if (explicit !== undefined) {
    await mkdirs(explicit);
    for await (const _ of Deno.readDir(explicit)) {
      throw new Error(
        `Cannot write the run into "${explicit}": the directory is not empty`,
      );
    }
    return opened(explicit);
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
      created.unshift(path);
      return opened(path);
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
