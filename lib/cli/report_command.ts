/**
 * `kvbench report RUN...` (one self-contained HTML file of one run, or of
 * several overlaid) and `kvbench compare A B...` (runs side by side in the
 * terminal, and in one report), both from run directories or records files
 * alone; and the report every run writes into its directory.
 *
 * @module
 */
import { loadRun, readVerify, type RunData } from "../report/data.ts";
import { renderReport } from "../report/html.ts";
import {
  comparisonSection,
  comparisonWarnings,
  renderComparison,
} from "./compare_figures.ts";
import { dirname, resolve } from "node:path";
import {
  checkOutputPath,
  type Command,
  err,
  out,
  parseFlagsAndPaths,
  UsageError,
} from "./common.ts";

/** Options of {@linkcode writeRunReport}. */
export interface WriteRunReportOptions {
  /** Names of the runs in legends (default: their directories' names). */
  names?: string[];
  /** The report's title. */
  title?: string;
  /** Percentiles of the table (the run's own, when it chose them). */
  percentiles?: readonly number[];
  /** Put `kvbench compare`'s table (with its warnings) under the headlines. */
  comparison?: boolean;
}

const onWarning = (message: string): void => err(`[WARN] ${message}\n`);

/**
 * Read runs (directories, records files, or sweep directories whose levels
 * are `level-N/`) and write their report to `output`; resolves to the runs.
 */
export async function writeRunReport(
  paths: readonly string[],
  output: string,
  options: WriteRunReportOptions = {},
): Promise<RunData[]> {
  const expanded: { path: string; name?: string; sweep?: string }[] = [];
  for (const [i, path] of paths.entries()) {
    const levels = await sweepLevels(path);
    if (levels.length === 0) {
      expanded.push({ path, name: options.names?.[i] });
      continue;
    }
    for (const [k, level] of levels.entries()) {
      expanded.push({
        path: `${path}/${level}`,
        name: `${options.names?.[i] ?? baseName(path)} ${level}`,
        // A sweep's --verify ran after its last level: shown with it.
        sweep: k === levels.length - 1 ? path : undefined,
      });
    }
  }
  const runs = await Promise.all(
    expanded.map(async ({ path, name, sweep }) => {
      const run = await loadRun(path, {
        name,
        percentiles: options.percentiles,
        onWarning,
      });
      const verify = sweep === undefined ? undefined : await readVerify(sweep);
      return verify === undefined ? run : { ...run, verify };
    }),
  );
  await Deno.writeTextFile(
    output,
    renderReport(runs, {
      title: options.title,
      sections: options.comparison ? [comparisonSection(runs)] : undefined,
    }),
  );
  return runs;
}

/**
 * Write `DIR/report.html` of a run directory (a sweep's: its levels
 * overlaid) as a run ends; resolves to its path, or undefined (said on
 * stderr) when it could not be written: the run's files stay.
 */
export async function writeReport(
  dir: string,
  percentiles?: readonly number[],
): Promise<string | undefined> {
  const path = `${dir}/report.html`;
  try {
    await writeRunReport([dir], path, { percentiles });
    return path;
  } catch (error) {
    err(`[WARN] Cannot write the report: ${(error as Error).message}\n`);
    return undefined;
  }
}

function baseName(path: string): string {
  return path.replace(/\/+$/, "").split("/").pop()!;
}

/** The `level-N` folders of a sweep's directory (in order), or none. */
async function sweepLevels(path: string): Promise<string[]> {
  try {
    if (!(await Deno.stat(path)).isDirectory) return [];
    await Deno.stat(`${path}/records.jsonl`);
    return [];
  } catch {
    // no records here: a sweep, or nothing (loadRun says which)
  }
  const levels: string[] = [];
  try {
    for await (const entry of Deno.readDir(path)) {
      if (entry.isDirectory && /^level-\d+$/.test(entry.name)) {
        levels.push(entry.name);
      }
    }
  } catch {
    return [];
  }
  return levels.sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)));
}

const REPORT_USAGE = `usage: kvbench report RUN... [--output FILE] [options]

Write one self-contained HTML report (every byte inline: it opens offline) of
a run, or of several overlaid, from run directories (or records files) alone.

options:
  --output FILE   where to write it (default: RUN/report.html for one run
                  directory, FILE.html beside one records file, else
                  report-A-B.html beside the first run)
  --names A,B     the runs' names in the legends, in order (comma-separated or
                  repeatable; default: their directories' names; --name NAME
                  is the same, one name each)
  --title TEXT    the report's title
  -h, --help      show this help
`;

const COMPARE_USAGE =
  `usage: kvbench compare RUN RUN... [--output FILE] [options]

Runs side by side: a table in the terminal (throughput, TTFT, the TTFT of
reuses, cache hits, the offload tier's share) with a ratio column of each
later run over the first, and one HTML report with the same table and the
runs' CDFs and time series overlaid. A warning says when the runs differ in
command, model, engine, input length, report interval, working set (contexts,
offload size), duration, max in-flight or request rate: an A/B of one command
line against two servers gets none.

options:
  --output FILE   where the report goes (default: compare-A-vs-B.html beside
                  the first run, never the current directory)
  --names A,B     the runs' names in the legends, in order (comma-separated or
                  repeatable; default: their directories' names; --name NAME
                  is the same, one name each)
  --no-html       print the table only
  -h, --help      show this help
`;

/** The names options both commands take: `--names A,B` and its alias `--name NAME`. */
const NAME_OPTIONS = {
  names: { type: "string", multiple: true },
  name: { type: "string", multiple: true },
} as const;

/**
 * The runs' names from `--names` (comma-separated, repeatable) or `--name`
 * (one name each, repeatable: `kvbench report`'s spelling before, kept as
 * an alias); undefined when neither was given. One name per run, or a
 * usage error.
 *
 * @example Usage
 * ```ts
 * import { runNames } from "./report_command.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(runNames({ names: ["on,off"] }, 2, ""), ["on", "off"]);
 * assert.deepEqual(runNames({ names: ["on", "off"] }, 2, ""), ["on", "off"]);
 * assert.deepEqual(runNames({ name: ["on, warm", "off"] }, 2, ""), ["on, warm", "off"]);
 * assert.equal(runNames({}, 2, ""), undefined);
 * assert.throws(() => runNames({ names: ["x"] }, 2, ""), /--names gives 1 names for 2 runs/);
 * assert.throws(() => runNames({ names: ["x"], name: ["y"] }, 2, ""), /--names or --name, not both/);
 * ```
 */
export function runNames(
  values: { names?: string[]; name?: string[] },
  runs: number,
  usage: string,
): string[] | undefined {
  if (values.names !== undefined && values.name !== undefined) {
    throw new UsageError(
      "give the names with --names or --name, not both",
      usage,
    );
  }
  const names = values.names?.flatMap((n) => n.split(",")) ?? values.name;
  if (names === undefined) return undefined;
  if (names.length !== runs) {
    const flag = values.names !== undefined ? "--names" : "--name";
    throw new UsageError(
      `${flag} gives ${names.length} names for ${runs} runs`,
      usage,
    );
  }
  return names;
}

/**
 * A default output beside the runs, never in the current directory: in the
 * first run's parent folder (its directory's, or its records file's), or
 * the first run's directory when that parent is the current directory;
 * named after the runs.
 */
function besideRuns(
  firstIsDirectory: boolean,
  paths: readonly string[],
  prefix: string,
  joiner: string,
  names?: readonly string[],
): string {
  const first = paths[0].replace(/\/+$/, "");
  const parts = paths.map((p, i) =>
    (names?.[i] ?? baseName(p).replace(/\.jsonl$/, "")).replace(
      /[^-._a-zA-Z0-9]+/g,
      "_",
    ).slice(0, 40)
  );
  const name = `${prefix}-${parts.join(joiner)}.html`;
  // A run in the current directory: its own folder, not the current one.
  return resolve(dirname(first)) === Deno.cwd() && firstIsDirectory
    ? `${first}/${name}`
    : `${dirname(first)}/${name}`;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/** `kvbench report`. */
export const reportCommand: Command = {
  name: "report",
  summary: "one self-contained HTML report (plots) of runs, offline",
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parseFlagsAndPaths(args, {
      output: { type: "string" },
      ...NAME_OPTIONS,
      title: { type: "string" },
      help: { type: "boolean", short: "h" },
    }, REPORT_USAGE);
    if (values.help) {
      out(REPORT_USAGE);
      return 0;
    }
    if (positionals.length === 0) {
      throw new UsageError("give the runs to report", REPORT_USAGE);
    }
    const names = runNames(values, positionals.length, REPORT_USAGE);
    const output = values.output ??
      (positionals.length === 1 && await isDirectory(positionals[0])
        ? `${positionals[0].replace(/\/+$/, "")}/report.html`
        : positionals.length === 1
        ? `${positionals[0].replace(/\.jsonl$/, "")}.html`
        : besideRuns(
          await isDirectory(positionals[0]),
          positionals,
          "report",
          "-",
          names,
        ));
    await checkOutputPath(output, "--output");
    const runs = await writeRunReport(positionals, output, {
      names,
      title: values.title,
    });
    const size = (await Deno.stat(output)).size;
    out(
      `[INFO] Report of ${runs.length} run${runs.length > 1 ? "s" : ""} (${
        runs.reduce((n, r) => n + r.records.total, 0).toLocaleString("en-US")
      } records, ${(size / 1024).toFixed(0)} KiB) written to ${output}\n`,
    );
    return 0;
  },
};

/** `kvbench compare`. */
export const compareCommand: Command = {
  name: "compare",
  summary: "runs side by side: a table, and one HTML report overlaying them",
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parseFlagsAndPaths(args, {
      output: { type: "string" },
      ...NAME_OPTIONS,
      "no-html": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    }, COMPARE_USAGE);
    if (values.help) {
      out(COMPARE_USAGE);
      return 0;
    }
    if (positionals.length < 2) {
      throw new UsageError("give at least two runs to compare", COMPARE_USAGE);
    }
    const names = runNames(values, positionals.length, COMPARE_USAGE);
    let runs: RunData[];
    let output: string | undefined;
    if (values["no-html"]) {
      runs = await Promise.all(
        positionals.map((path, i) =>
          loadRun(path, { name: names?.[i], onWarning })
        ),
      );
    } else {
      output = values.output ??
        besideRuns(
          await isDirectory(positionals[0]),
          positionals,
          "compare",
          "-vs-",
          names,
        );
      await checkOutputPath(output, "--output");
      runs = await writeRunReport(positionals, output, {
        names,
        title: "kvbench comparison",
        comparison: true,
      });
    }
    for (const warning of comparisonWarnings(runs)) onWarning(warning);
    out(renderComparison(runs));
    if (output !== undefined) out(`[INFO] Report written to ${output}\n`);
    return 0;
  },
};
