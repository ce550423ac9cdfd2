/**
 * `kvbench merge DIR...`: the run directories of shards (or workers) of one
 * run, put on one clock and merged into one run directory whose figures are
 * recomputed from the union of the records (never averaged percentiles).
 *
 * @module
 */
import { clockDelta, rebaseRecord } from "../run/align.ts";
import type { ClockOffset } from "../run/clock_offset.ts";
import {
  parsePercentiles,
  parseSlos,
  type Slos,
} from "../metrics/distributions.ts";
import {
  openRecordsFile,
  readRecordsFile,
  type RunEnd,
} from "../run/records_file.ts";
import type { RunSummary, StopReason } from "../run/runner.ts";
import { promptSplit } from "../server/attribution.ts";
import type { RequestRecord } from "../types.ts";
import type { EngineName } from "../server/engines.ts";
import {
  type Command,
  err,
  numberFlag,
  out,
  parseFlagsAndPaths,
  UsageError,
} from "./common.ts";
import { createRunDir, writeRunInfo } from "./run_dir.ts";
import { writeReport } from "./report_command.ts";
import { type CommandContext, findWorkload } from "./workload.ts";

const USAGE = `usage: kvbench merge DIR... [--output-dir DIR] [options]

Merge the run directories of the shards (--shard, --shards) or workers of one
run into one run directory: the records put on one clock (each shard's
wall-clock origin corrected by its measured clock offset), every figure
recomputed from the union of the records, and a report.

options:
  --output-dir DIR   where the merged run goes (default: kvbench-runs/<time>-merged)
  --precision MS     warn when the clocks are known less precisely than this, or
                     the shards started further apart (default 10)
  --workload FILE    trie: the trace file, when run.json's path is not readable here
  -h, --help         show this help
`;

/** One run directory to merge. */
interface Part {
  dir: string;
  info: RunJson;
  records: RequestRecord[];
  run?: RunEnd;
  /** ms to add to this part's times to put them on the reference's clock. */
  delta: number;
}

/** The fields of `run.json` a merge reads. */
interface RunJson {
  command: string;
  timeOrigin: number;
  runStartedAt: number;
  params: Record<string, unknown>;
  workload?: unknown;
  server?: unknown;
  part?: {
    shard?: { index: number; count: number } | null;
    worker?: { index: number; count: number } | null;
  } | null;
  clock?: ClockOffset | null;
}

async function readPart(dir: string): Promise<Omit<Part, "delta">> {
  let info: RunJson;
  try {
    info = JSON.parse(await Deno.readTextFile(`${dir}/run.json`));
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no run.json (is it a run directory?)"
      : `run.json: ${(error as Error).message}`;
    throw new Error(`Cannot merge "${dir}": ${reason}`);
  }
  if (
    typeof info.timeOrigin !== "number" || typeof info.runStartedAt !== "number"
  ) {
    throw new Error(
      `Cannot merge "${dir}": run.json has no timeOrigin and runStartedAt`,
    );
  }
  const { records, run, cutLine } = await readRecordsFile(
    `${dir}/records.jsonl`,
  );
  if (cutLine !== undefined) {
    err(
      `[WARN] ${dir}/records.jsonl: line ${cutLine} was cut short (the run was killed while writing it): skipped\n`,
    );
  }
  return { dir, info, records, run };
}

/** The part's index among the shards or workers, for ordering. */
function partIndex(part: Omit<Part, "delta">): number {
  return part.info.part?.shard?.index ?? part.info.part?.worker?.index ?? 0;
}

/** `kvbench merge`. */
export const mergeCommand: Command = {
  name: "merge",
  summary: "merge shard or worker run directories into one run and report",
  async run(
    args: string[],
    _signal: AbortSignal,
    context: CommandContext,
  ): Promise<number> {
    const { values, positionals } = parseFlagsAndPaths(args, {
      "output-dir": { type: "string" },
      precision: { type: "string" },
      workload: { type: "string" },
      help: { type: "boolean", short: "h" },
    }, USAGE);
    if (values.help) {
      out(USAGE);
      return 0;
    }
    if (positionals.length === 0) {
      throw new UsageError("give the run directories to merge", USAGE);
    }
    const precision = numberFlag(values.precision, "--precision", {
      check: (n) => n > 0,
      usage: USAGE,
    }) ?? 10;
    const { read, command, workload } = await readParts(positionals, context);
    const {
      parts,
      ref,
      measured,
      sameHost,
      uncertainty,
      start,
      spread,
    } = alignParts(read, precision);
    const ends = parts.map((p) =>
      p.run === undefined
        ? Math.max(start, ...p.records.map((r) => r.endAt + p.delta))
        : p.run.startedAt + p.run.elapsedMs + p.delta
    );
    const elapsedMs = Math.max(...ends) - start;
    const records = parts.flatMap((p) =>
      p.records.map((r) => ({
        ...rebaseRecord(r, p.delta, { timeOrigin: ref.info.timeOrigin }),
        runStartedAt: start,
      }))
    ).sort((a, b) => a.endAt - b.endAt);
    for (const p of parts) {
      if (p.run === undefined) {
        err(
          `[WARN] "${p.dir}" has no run end line: the part did not finish (its ${p.records.length} records are merged)\n`,
        );
      }
    }
    const dir = await createRunDir("merged", values["output-dir"]);
    const stopReason = (parts.find((p) => p.run)?.run?.stopReason ??
      "error") as StopReason;
    const file = openRecordsFile(`${dir}/records.jsonl`, {
      timeOrigin: ref.info.timeOrigin,
    });
    for (const record of records) file.write(record);
    file.end({ startedAt: start, elapsedMs, stopReason });
    file.close();
    const metricsFrom = await mergeMetrics(parts, dir, start);
    const shard = ref.info.part?.shard ?? ref.info.part?.worker;
    await writeRunInfo(dir, {
      command,
      argv: ["merge", ...args],
      params: ref.info.params,
      workload: ref.info.workload,
      server: ref.info.server,
      startedAt: start,
      timeOrigin: ref.info.timeOrigin,
      part: {
        merged: parts.map((p) => ({
          dir: p.dir,
          part: p.info.part ?? null,
          clock: p.info.clock ?? null,
          delta_ms: p.delta,
          records: p.records.length,
        })),
        of: shard?.count ?? parts.length,
        metrics_from: metricsFrom ?? null,
        clock_uncertainty_ms: uncertainty ?? null,
        start_spread_ms: spread,
      },
      clock: ref.info.clock ?? undefined,
    });
    const summary = mergedSummary(records, { start, elapsedMs, stopReason });
    const split = metricsFrom === undefined
      ? undefined
      : await lastSplit(`${dir}/metrics.jsonl`);
    const json = await workload.mergeFigures({
      records,
      params: ref.info.params,
      workload: ref.info.workload,
      server: ref.info.server,
      elapsedMs,
      summary,
      split,
      ...reporting(ref.info.params),
      workloadFile: values.workload,
    });
    await Deno.writeTextFile(
      `${dir}/summary.json`,
      JSON.stringify(json, null, 2) + "\n",
    );
    const report = await writeReport(
      dir,
      reporting(ref.info.params).percentiles,
    );
    out(
      `[INFO] Merged ${parts.length} runs (${records.length} records, clocks ${
        measured
          ? `aligned to ±${
            uncertainty!.toFixed(1)
          } ms by the server's Date header`
          : sameHost
          ? "of one host"
          : "taken as they are"
      }) into ${dir}${report ? ` (report: ${report})` : ""}\n`,
    );
    return 0;
  },
};

/** The parts, sorted by index, of one command that kvbench has a workload for. */
async function readParts(
  dirs: string[],
  context: CommandContext,
): Promise<{
  read: Omit<Part, "delta">[];
  command: string;
  workload: NonNullable<ReturnType<typeof findWorkload>>;
}> {
  const read = (await Promise.all(dirs.map(readPart))).sort((a, b) =>
    partIndex(a) - partIndex(b)
  );
  const command = read[0].info.command;
  const other = read.find((p) => p.info.command !== command);
  if (other !== undefined) {
    throw new Error(
      `Cannot merge a ${command} run with a ${other.info.command} run ("${other.dir}")`,
    );
  }
  const workload = findWorkload(context.workloads, command);
  if (workload === undefined) {
    throw new Error(
      `Cannot merge "${read[0].dir}": kvbench has no workload "${command}"`,
    );
  }
  checkShards(read);
  const seeds = new Set(read.map((p) => JSON.stringify(p.info.params.seed)));
  if (workload.sameSeed && seeds.size > 1) {
    err(
      `[WARN] the parts ran with different seeds (${
        [...seeds].join(", ")
      }): they drew different questions and arrivals, not one workload\n`,
    );
  }
  return { read, command, workload };
}

/** How the parts' clocks were put on the reference's (the first part's). */
interface Alignment {
  /** The parts, each with its delta to the reference's clock. */
  parts: Part[];
  /** The reference: the first part. */
  ref: Omit<Part, "delta">;
  /** Every part measured its offset against the server's Date header. */
  measured: boolean;
  /** Every part ran on one host. */
  sameHost: boolean;
  /** ms the clocks are known to, when measured. */
  uncertainty: number | undefined;
  /** The earliest part's start, on the reference's clock. */
  start: number;
  /** ms between the first and the last part's start. */
  spread: number;
}

/**
 * Clocks: each part's origin, corrected by its offset when every part
 * measured one against the same server; warnings when they are uncertain by
 * more than `precision` ms or the parts started further apart.
 */
function alignParts(
  read: Omit<Part, "delta">[],
  precision: number,
): Alignment {
  const measured = read.every((p) => p.info.clock?.method === "server-date");
  const sameHost = read.every((p) => p.info.clock?.method === "same-host");
  const ref = read[0];
  const clockOf = (p: Omit<Part, "delta">) => ({
    timeOrigin: p.info.timeOrigin,
    offsetMs: measured ? p.info.clock!.offsetMs : 0,
  });
  const parts: Part[] = read.map((p) => ({
    ...p,
    delta: clockDelta(clockOf(p), clockOf(ref)),
  }));
  const uncertainty = measured
    ? Math.max(
      0,
      ...parts.map((p) =>
        (p.info.clock!.uncertaintyMs ?? 0) +
        (ref.info.clock!.uncertaintyMs ?? 0)
      ),
    )
    : undefined;
  if (!measured && !sameHost && parts.length > 1) {
    err(
      `[WARN] not every part measured its clock offset against the server: the hosts' clocks are taken as they are (as good as their NTP)\n`,
    );
  } else if (uncertainty !== undefined && uncertainty > precision) {
    err(
      `[WARN] the clocks are aligned to ±${
        uncertainty.toFixed(1)
      } ms only, more than --precision ${precision} ms: times across parts are uncertain by that much\n`,
    );
  }
  const starts = parts.map((p) => p.info.runStartedAt + p.delta);
  const start = Math.min(...starts);
  const spread = Math.max(...starts) - start;
  if (spread > precision + (uncertainty ?? 0)) {
    err(
      `[WARN] the parts started ${
        spread.toFixed(1)
      } ms apart (more than --precision ${precision} ms): give them one --start-at\n`,
    );
  }
  return { parts, ref, measured, sameHost, uncertainty, start, spread };
}

/** The run summary of the merged records. */
function mergedSummary(
  records: readonly RequestRecord[],
  run: { start: number; elapsedMs: number; stopReason: StopReason },
): RunSummary {
  const { start, elapsedMs, stopReason } = run;
  const counts = {
    sent: records.length,
    ok: records.filter((r) => r.ok).length,
    failed: records.filter((r) => !r.ok && r.error?.kind !== "aborted")
      .length,
    aborted: records.filter((r) => r.error?.kind === "aborted").length,
  };
  const summary: RunSummary = {
    startedAt: start,
    endedAt: start + elapsedMs,
    wallTimeMs: elapsedMs,
    stopReason,
    sessions: {
      started: new Set(records.map((r) => r.session)).size,
      completed: 0,
      failed: 0,
      cancelled: 0,
    },
    requests: counts,
  };
  return summary;
}

/**
 * The run's percentiles, SLOs, report interval and transport, as either
 * command wrote them in `params` (the transport when it names the one used).
 */
function reporting(
  params: Record<string, unknown>,
): {
  percentiles?: number[];
  slos?: Slos;
  intervalS?: number;
  transport?: string;
} {
  const p = params.percentiles, g = params.goodput ?? params.slos;
  const t = params.transport;
  return {
    intervalS: typeof params.interval_s === "number"
      ? params.interval_s
      : undefined,
    transport: t === "http1" || t === "fetch" ? t : undefined,
    percentiles: Array.isArray(p)
      ? p
      : typeof p === "string"
      ? parsePercentiles(p)
      : undefined,
    slos: typeof g === "string"
      ? parseSlos(g)
      : g !== null && typeof g === "object"
      ? g as Slos
      : undefined,
  };
}

/**
 * Parts of one run: no run twice, no whole run among shards, the same count,
 * no index twice; a missing one is said.
 */
function checkShards(parts: Omit<Part, "delta">[]): void {
  const same = new Map<string, string>();
  for (const p of parts) {
    // Workers of one run share its clock and start: their part tells them apart.
    const key = `${p.info.timeOrigin} ${p.info.runStartedAt} ${
      JSON.stringify(p.info.part ?? null)
    }`;
    const first = same.get(key);
    if (first !== undefined) {
      throw new Error(
        first === p.dir
          ? `Cannot merge "${p.dir}" twice`
          : `Cannot merge "${first}" with "${p.dir}": they are the same run`,
      );
    }
    same.set(key, p.dir);
  }
  const shards = parts.map((p) => p.info.part?.shard ?? p.info.part?.worker)
    .filter((s) => s != null);
  if (shards.length === 0) return;
  const whole = parts.find((p) => !(p.info.part?.shard ?? p.info.part?.worker));
  if (whole !== undefined) {
    throw new Error(
      `Cannot merge "${whole.dir}" with shards: it is a whole run, not a part of one`,
    );
  }
  const count = shards[0]!.count;
  if (shards.some((s) => s!.count !== count)) {
    throw new Error(
      `Cannot merge parts of different splits: ${
        shards.map((s) => `${s!.index}/${s!.count}`).join(", ")
      }`,
    );
  }
  const seen = new Set<number>();
  for (const s of shards) {
    if (seen.has(s!.index)) {
      throw new Error(
        `Cannot merge shard ${s!.index}/${count} twice`,
      );
    }
    seen.add(s!.index);
  }
  const missing = [...Array(count).keys()].filter((i) => !seen.has(i));
  if (missing.length > 0) {
    err(
      `[WARN] shard${missing.length > 1 ? "s" : ""} ${
        missing.join(", ")
      } of ${count} missing: the merged run is partial\n`,
    );
  }
}

/**
 * The server's scrapes of one part, moved onto the merged clock: every part
 * scraped the same server, whose counters count every part's traffic, so
 * the part whose scrapes span the whole run (its first before the merged
 * start, its last the latest) has the run's split. Returns that part's
 * directory, or undefined when no part has scrapes.
 */
async function mergeMetrics(
  parts: Part[],
  dir: string,
  start: number,
): Promise<string | undefined> {
  let best:
    | {
      part: Part;
      lines: Record<string, unknown>[];
      last: number;
      covers: boolean;
    }
    | undefined;
  for (const part of parts) {
    let text: string;
    try {
      text = await Deno.readTextFile(`${part.dir}/metrics.jsonl`);
    } catch {
      continue;
    }
    const lines = text.split("\n").filter((l) => l.trim() !== "").map((l) =>
      JSON.parse(l) as Record<string, unknown>
    );
    const times = lines.filter((l) => typeof l.at === "number").map((l) =>
      (l.at as number) + part.delta
    );
    if (times.length === 0) continue;
    const covers = Math.min(...times) <= start;
    const last = Math.max(...times);
    if (
      best === undefined || (covers && (!best.covers || last > best.last))
    ) {
      best = { part, lines, last, covers };
    }
  }
  if (best === undefined) return undefined;
  const { part, lines } = best;
  const moved = lines.map((l) => {
    if (typeof l.at === "number") {
      const at = l.at + part.delta;
      return { ...l, at, elapsedMs: at - start };
    }
    return { ...l, timeOrigin: parts[0].info.timeOrigin, startedAt: start };
  });
  await Deno.writeTextFile(
    `${dir}/metrics.jsonl`,
    moved.map((l) => JSON.stringify(l)).join("\n") + "\n",
  );
  return part.dir;
}

async function lastSplit(path: string) {
  const lines = (await Deno.readTextFile(path)).split("\n").filter((l) =>
    l.trim() !== ""
  ).map((l) => JSON.parse(l));
  const last = lines.filter((l) => l.counters !== undefined).pop();
  return last === undefined ? undefined : {
    split: promptSplit(last.counters),
    engines: last.engines as EngineName[] | undefined,
  };
}
