/**
 * Runs bigger than one process: `--workers N` (worker processes on this
 * host, one run directory), `--shard K/N` and `JOB_COMPLETION_INDEX` (one
 * part of a run split over hosts, merged later), `--start-at` (parts that
 * start together).
 *
 * A worker is this same command line with `--worker`: it sets up, prints
 * `ready`, waits for `start WALL_MS TIME_ORIGIN` on stdin, runs its part
 * writing its records file on the parent's clock (`TIME_ORIGIN`), prints
 * `sent N` now and then, and stops on `stop` or when stdin closes. The
 * parent follows the workers' records files, feeds them to the same
 * reports a single process prints, and copies their lines verbatim into its
 * own records file (nothing is serialized twice).
 *
 * @module
 */
import { clockDelta, rebaseRecord } from "../run/align.ts";
import { parsePart } from "../run/part.ts";
import { abortableSleep } from "../run/runner.ts";
import { RecordsTail } from "../run/records_tail.ts";
import type {
  RecordHandlers,
  RunPart,
  RunSummary,
  StopReason,
} from "../run/runner.ts";
import type { RequestRecord } from "../types.ts";
import { type ClockOffset, estimateClockOffset } from "../run/clock_offset.ts";
import { out } from "./common.ts";
import { openRecordsFile } from "../run/records_file.ts";
import { writeRunInfo } from "./run_dir.ts";

/** `--workers`: a positive integer, or `auto` for the number of cores. */
export function parseWorkers(text: string): number {
  if (text === "auto") return navigator.hardwareConcurrency || 1;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    throw new TypeError(
      `workers must be a positive integer or auto, not "${text}"`,
    );
  }
  return n;
}

/**
 * The part this process runs: `--shard K/N`, or shard
 * `$JOB_COMPLETION_INDEX` of `--shards N` (a Kubernetes Indexed Job);
 * undefined when neither is given.
 */
export function resolveShard(
  shard: string | undefined,
  shards: string | undefined,
): RunPart | undefined {
  const env = Deno.env.get("JOB_COMPLETION_INDEX");
  if (shard !== undefined && shards !== undefined) {
    throw new TypeError("give --shard K/N or --shards N, not both");
  }
  if (shard !== undefined) {
    const part = parsePart(shard);
    if (env !== undefined && env !== "" && Number(env) !== part.index) {
      throw new TypeError(
        `--shard ${shard} disagrees with JOB_COMPLETION_INDEX=${env}`,
      );
    }
    return part;
  }
  if (shards === undefined) return undefined;
  if (env === undefined || env === "") {
    throw new TypeError(
      "--shards N takes the shard's index from JOB_COMPLETION_INDEX, which is not set: give --shard K/N",
    );
  }
  return parsePart(`${env}/${shards}`);
}

/**
 * `--start-at`: an ISO 8601 time (`2026-12-02T17:00:00Z`) or Unix seconds,
 * as wall-clock ms.
 */
export function parseStartAt(text: string): number {
  const ms = /^\d+(\.\d+)?$/.test(text)
    ? Number(text) * 1000
    : Date.parse(text);
  if (!Number.isFinite(ms) || !/^\d|^\d{4}-/.test(text)) {
    throw new TypeError(
      `Cannot read start time "${text}": expected an ISO 8601 time (2026-12-02T17:00:00Z) or Unix seconds`,
    );
  }
  return ms;
}

/** This host's wall clock in ms, from the monotonic clock. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Wait until the wall-clock time `wallMs` (or the signal) and return the
 * `performance.now()` of that time: the run's start, kept even when it has
 * passed (`lateMs` says by how much), so a late process keeps its schedule
 * and its lateness shows as client lag.
 */
export async function waitUntilWall(
  wallMs: number,
  signal: AbortSignal,
): Promise<{ startedAt: number; lateMs: number }> {
  const startedAt = wallMs - performance.timeOrigin;
  const wait = startedAt - performance.now();
  if (wait <= 0) return { startedAt, lateMs: -wait };
  // Never early, however long (it re-arms past a timer's longest delay);
  // an abort ends the wait and the run starts (and stops) at once.
  await abortableSleep(wait, signal).catch(() => {});
  return { startedAt, lateMs: 0 };
}

/** Options of {@linkcode prepareStart}. */
export interface PrepareStartOptions {
  /** The shard this process runs, when it is one. */
  part?: RunPart;
  /** Whether worker processes run the requests (they wait for the start themselves). */
  pooled: boolean;
  /** `--start-at`: the wall-clock start (ms) on the reference clock. */
  startAt?: number;
  /** The endpoint's base URL (its `models` answers the clock probes). */
  baseUrl: string;
  /** Bearer key of the probes. */
  apiKey?: string;
  /** Stop waiting. */
  signal: AbortSignal;
  /** Told the clock estimate of a shard. */
  onClock: (clock: ClockOffset) => void;
  /** Told the start has passed, and by how many ms. */
  onLate: (lateMs: number) => void;
  /** Told this process waits for the start, and how long (ms). */
  onWait?: (waitMs: number) => void;
}

/**
 * When this run starts (`performance.now()`), and its clock against the
 * reference: a shard measures its offset against the server's `Date`
 * header and starts at `--start-at` on the server's clock; workers of one
 * host share the parent's clock and get 100 ms to be told the start; a
 * start that has passed starts now.
 */
export async function prepareStart(
  options: PrepareStartOptions,
): Promise<{ startedAt: number; clock?: ClockOffset }> {
  let clock: ClockOffset | undefined;
  if (options.part !== undefined) {
    clock = await estimateClockOffset(`${options.baseUrl}models`, {
      headers: options.apiKey
        ? { authorization: `Bearer ${options.apiKey}` }
        : {},
      signal: options.signal,
    });
    options.onClock(clock);
  } else if (options.pooled) {
    clock = { method: "same-host", offsetMs: 0, uncertaintyMs: 0 };
  }
  const earliest = performance.now() + (options.pooled ? 100 : 0);
  if (options.startAt === undefined) return { startedAt: earliest, clock };
  // The reference clock's start, on this host's clock.
  const wall = options.startAt +
    (clock?.method === "server-date" ? clock.offsetMs : 0);
  const due = wall - performance.timeOrigin;
  if (due < earliest) {
    options.onLate(earliest - due);
    return { startedAt: earliest, clock };
  }
  options.onWait?.(due - performance.now());
  if (options.pooled) return { startedAt: due, clock };
  return {
    startedAt: (await waitUntilWall(wall, options.signal)).startedAt,
    clock,
  };
}

/** What a clock offset estimate says, in a line. */
export function describeClock(clock: ClockOffset): string {
  if (clock.method === "server-date") {
    return `clock offset ${clock.offsetMs.toFixed(1)} ms ± ${
      clock.uncertaintyMs!.toFixed(1)
    } ms against the server's Date header (${clock.probes} probes)`;
  }
  return `clock offset not measured: ${
    clock.note ?? clock.method
  }; the host's clock is taken as it is (NTP)`;
}

/**
 * How to start this program again (a worker): the compiled binary, or Deno
 * running the same `cli.ts` (the main module: local, or from JSR).
 */
export function selfCommand(): string[] {
  const exec = Deno.execPath();
  const name = exec.split(/[\\/]/).pop()!.replace(/\.exe$/, "");
  if (name !== "deno") return [exec];
  if (!/\/cli\.ts$/.test(Deno.mainModule)) {
    throw new Error(
      `Cannot start workers from ${Deno.mainModule}: they run kvbench's own cli.ts (or the compiled binary)`,
    );
  }
  return [exec, "run", "-A", "--quiet", Deno.mainModule];
}

/** What {@linkcode runAsWorker} writes into the worker's `run.json`. */
export interface WorkerRunInfo {
  /** The worker's directory (`--output-dir`). */
  dir: string;
  /** `benchmark` or `trie`. */
  command: string;
  /** Its command line. */
  argv: string[];
  /** Its parameters. */
  params: Record<string, unknown>;
  /** The sized workload. */
  workload?: unknown;
  /** Its part of the run. */
  part: RunPart;
  /** Ctrl+C, SIGTERM. */
  signal: AbortSignal;
}

/** What a worker's run gets from {@linkcode runAsWorker}. */
export interface WorkerRun {
  /** `performance.now()` of the start the parent gave. */
  startedAt: number;
  /** Aborts on a signal, on `stop`, or when the parent goes away. */
  signal: AbortSignal;
  /** A request went out. */
  sent(): void;
  /** A record completed. */
  record(record: RequestRecord): void;
}

/**
 * Be a worker (`--worker`): say ready, wait for the parent's start, run
 * `body` writing its records on the parent's clock into `DIR/records.jsonl`,
 * end the file with the run's line; resolves to the exit code.
 */
export async function runAsWorker(
  info: WorkerRunInfo,
  body: (run: WorkerRun) => Promise<{ elapsedMs: number; stopReason: string }>,
): Promise<number> {
  await Deno.mkdir(info.dir, { recursive: true });
  const controller = new AbortController();
  const onAbort = () => controller.abort(info.signal.reason);
  info.signal.addEventListener("abort", onAbort, { once: true });
  const { channel, startWallMs, parentOrigin } = await WorkerChannel.open(
    controller,
  );
  // Records go on the parent's clock, so it copies them as they are.
  const delta = performance.timeOrigin - parentOrigin;
  const file = openRecordsFile(`${info.dir}/records.jsonl`, {
    timeOrigin: parentOrigin,
  });
  try {
    const { startedAt } = await waitUntilWall(startWallMs, controller.signal);
    await writeRunInfo(info.dir, {
      command: info.command,
      argv: info.argv,
      params: info.params,
      workload: info.workload,
      startedAt: startedAt + delta,
      timeOrigin: parentOrigin,
      part: { worker: info.part },
      clock: { method: "same-host", offsetMs: 0, uncertaintyMs: 0 },
    });
    const end = await body({
      startedAt,
      signal: controller.signal,
      sent: () => channel.sent(),
      record: (record) => file.write(rebaseRecord(record, delta)),
    });
    file.end({ startedAt: startedAt + delta, ...end });
    return 0;
  } finally {
    channel.close();
    file.close();
    info.signal.removeEventListener("abort", onAbort);
  }
}

/** The worker side of the protocol. */
export class WorkerChannel {
  #sent = 0;
  #reported = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #lines: AsyncIterator<string>;

  private constructor(lines: AsyncIterator<string>) {
    this.#lines = lines;
  }

  /**
   * Say `ready`, wait for `start WALL_MS TIME_ORIGIN`, and return the
   * channel, the start time and the parent's clock origin; `stop` (or stdin
   * closing) later aborts `controller`.
   */
  static async open(
    controller: AbortController,
  ): Promise<
    { channel: WorkerChannel; startWallMs: number; parentOrigin: number }
  > {
    const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream())
      .pipeThrough(lineSplitter())[Symbol.asyncIterator]();
    out("ready\n");
    const first = await lines.next();
    const m = first.done
      ? null
      : /^start (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)$/.exec(first.value);
    if (m === null) {
      throw new Error(
        "Cannot run as a worker: the parent sent no start time",
      );
    }
    const channel = new WorkerChannel(lines);
    (async () => {
      while (true) {
        const next = await lines.next();
        if (next.done || next.value === "stop") break;
      }
      controller.abort(new DOMException("Stopped by the parent", "AbortError"));
    })();
    channel.#timer = setInterval(() => channel.#flush(), 200);
    return {
      channel,
      startWallMs: Number(m[1]),
      parentOrigin: Number(m[2]),
    };
  }

  /** A request went out. */
  sent(): void {
    this.#sent++;
  }

  #flush(): void {
    if (this.#sent === this.#reported) return;
    this.#reported = this.#sent;
    out(`sent ${this.#sent}\n`);
  }

  /** The run is over. */
  close(): void {
    clearInterval(this.#timer);
    this.#flush();
    this.#lines.return?.();
  }
}

function lineSplitter(): TransformStream<string, string> {
  let partial = "";
  return new TransformStream({
    transform(chunk, controller) {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop()!;
      for (const line of lines) controller.enqueue(line.trim());
    },
    flush(controller) {
      if (partial !== "") controller.enqueue(partial.trim());
    },
  });
}

/** Options of {@linkcode WorkerPool.spawn}. */
export interface WorkerPoolOptions {
  /** How many workers. */
  count: number;
  /** Worker k's arguments after the program (its part, its directory, `--worker`). */
  args: (k: number) => string[];
  /** Worker k's records file. */
  records: (k: number) => string;
  /** Where warnings go (a worker that died). */
  warn: (text: string) => void;
  /** Wait this long for every worker to be ready (default 120 s). */
  readyTimeoutMs?: number;
  /** Give up starting (Ctrl+C while the workers load). */
  signal?: AbortSignal;
}

interface Worker {
  index: number;
  process: Deno.ChildProcess;
  stdin: WritableStreamDefaultWriter<Uint8Array>;
  stderr: string;
  sent: number;
  exit: Promise<Deno.CommandStatus>;
  status?: Deno.CommandStatus;
  tail: RecordsTail;
  /** Resolves once the worker's stdout is read to its end (its last `sent`). */
  stdoutDone?: Promise<void>;
  records: number;
  stopReason?: string;
  endedAt?: number;
  lastEndAt?: number;
}

/** Options of {@linkcode WorkerPool.follow}. */
export interface FollowOptions {
  /** The run's start on this process's clock. */
  startedAt: number;
  /** Stop the workers. */
  signal: AbortSignal;
  /** How often the records files are read (default 200 ms). */
  pollMs?: number;
  /** The record lines as the workers wrote them, and how many (to copy into this run's records file). */
  onLines?: (text: string, count: number) => void;
}

/** A worker that ended badly: which, how, and what it said last. */
export interface WorkerFailure {
  /** The worker's index. */
  index: number;
  /** Its exit code (or the signal that ended it). */
  code: number | string;
  /** Its records kept. */
  records: number;
  /** The last lines it wrote to stderr. */
  stderr: string;
}

const encoder = new TextEncoder();

/** Options of {@linkcode withWorkers}. */
export interface WithWorkersOptions {
  /** The run's directory; undefined: a temporary one, removed at the end. */
  dir?: string;
  /** Start the workers, writing into `dir`. */
  spawn: (dir: string) => Promise<WorkerPool>;
  /** Told once they started. */
  onStarted: (pool: WorkerPool, dir: string) => void;
}

/**
 * Start a level's workers, run `body` with them, and stop them whatever
 * happens; a temporary directory is removed, also when they cannot start.
 */
export async function withWorkers<T>(
  body: (pool: WorkerPool) => Promise<T>,
  options: WithWorkersOptions,
): Promise<T> {
  const dir = options.dir ??
    await Deno.makeTempDir({ prefix: "kvbench-workers-" });
  const removeTemporary = async (): Promise<void> => {
    if (options.dir === undefined) await Deno.remove(dir, { recursive: true });
  };
  let pool: WorkerPool;
  try {
    pool = await options.spawn(dir);
  } catch (error) {
    await removeTemporary(); // nothing ran: leave no empty folder behind
    throw error;
  }
  options.onStarted(pool, dir);
  try {
    return await body(pool);
  } finally {
    await pool[Symbol.asyncDispose]();
    await removeTemporary();
  }
}

/** Worker processes of one run on this host, and the records they write. */
export class WorkerPool implements AsyncDisposable {
  readonly #workers: Worker[];
  readonly #options: WorkerPoolOptions;
  /** The workers that died, with their exit codes. */
  readonly failures: WorkerFailure[] = [];

  private constructor(workers: Worker[], options: WorkerPoolOptions) {
    this.#workers = workers;
    this.#options = options;
  }

  /**
   * Start the workers and wait until each has said `ready`; a worker that
   * exits before is an error carrying what it printed.
   */
  static async spawn(options: WorkerPoolOptions): Promise<WorkerPool> {
    const [program, ...base] = selfCommand();
    const workers: Worker[] = [];
    const ready: Promise<void>[] = [];
    for (let k = 0; k < options.count; k++) {
      const process = new Deno.Command(program, {
        args: [...base, ...options.args(k)],
        // The worker's part is on its command line, not the Job's index.
        env: { JOB_COMPLETION_INDEX: "" },
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const worker: Worker = {
        index: k,
        process,
        stdin: process.stdin.getWriter(),
        stderr: "",
        sent: 0,
        exit: process.status,
        tail: new RecordsTail(options.records(k)),
        records: 0,
      };
      worker.exit.then((status) => (worker.status = status));
      workers.push(worker);
      // stderr: kept (the last 4 KiB) for when the worker dies.
      (async () => {
        for await (
          const text of process.stderr.pipeThrough(new TextDecoderStream())
        ) {
          worker.stderr = (worker.stderr + text).slice(-4096);
        }
      })();
      ready.push(
        new Promise<void>((resolve, reject) => {
          worker.stdoutDone = (async () => {
            let isReady = false;
            const lines = process.stdout.pipeThrough(new TextDecoderStream())
              .pipeThrough(lineSplitter());
            for await (const line of lines) {
              if (line === "ready") {
                isReady = true;
                resolve();
              } else if (line.startsWith("sent ")) {
                worker.sent = Number(line.slice(5));
              }
            }
            if (!isReady) {
              const status = await worker.exit;
              reject(
                new Error(
                  `Cannot start worker ${k}: it exited with code ${status.code}${
                    worker.stderr.trim() === ""
                      ? ""
                      : `: ${worker.stderr.trim().split("\n").pop()}`
                  }`,
                ),
              );
            }
          })();
        }),
      );
    }
    const pool = new WorkerPool(workers, options);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await Promise.race([
        Promise.all(ready),
        new Promise((_, reject) => {
          onAbort = () =>
            reject(new Error("Interrupted while the workers were starting"));
          if (options.signal?.aborted) onAbort();
          options.signal?.addEventListener("abort", onAbort, { once: true });
        }),
        new Promise((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(
                  `Cannot start the workers: not all were ready after ${
                    (options.readyTimeoutMs ?? 120_000) / 1000
                  } s`,
                ),
              ),
            options.readyTimeoutMs ?? 120_000,
          );
        }),
      ]);
    } catch (error) {
      await pool.#kill();
      throw error;
    } finally {
      clearTimeout(timer);
      if (onAbort) options.signal?.removeEventListener("abort", onAbort);
    }
    return pool;
  }

  /** The workers' process ids. */
  get pids(): number[] {
    return this.#workers.map((w) => w.process.pid);
  }

  /**
   * Tell every worker to start at `performance.now()` = `startedAt` of this
   * process, and to write its records on this process's clock.
   */
  async start(startedAt: number): Promise<void> {
    const line = encoder.encode(
      `start ${performance.timeOrigin + startedAt} ${performance.timeOrigin}\n`,
    );
    await Promise.all(this.#workers.map((w) => w.stdin.write(line)));
  }

  /** Ask every worker to stop (they finish their reports and exit). */
  async stop(): Promise<void> {
    const line = encoder.encode("stop\n");
    await Promise.all(
      this.#workers.map((w) =>
        w.status === undefined ? w.stdin.write(line).catch(() => {}) : undefined
      ),
    );
  }

  /**
   * Feed the workers' records to `handlers` as they are written (every
   * `pollMs`, default 200), moved onto this process's clock, until every
   * worker has exited; then resolve with the run's summary. `startedAt` is
   * the run's start on this process's clock.
   */
  async follow(
    handlers: RecordHandlers,
    options: FollowOptions,
  ): Promise<RunSummary> {
    const pollMs = options.pollMs ?? 200;
    const onAbort = () => this.stop();
    if (options.signal.aborted) onAbort();
    options.signal.addEventListener("abort", onAbort, { once: true });
    const counts = { sent: 0, ok: 0, failed: 0, aborted: 0 };
    const sessions = new Map<number, "ok" | "failed" | "cancelled">();
    const read = async (worker: Worker): Promise<void> => {
      const { lines, recordsText } = await worker.tail.readChunk();
      let n = 0;
      for (const line of lines) {
        if (line.kind === "run") {
          worker.stopReason = line.run.stopReason;
          if (line.run.timeOrigin !== undefined) {
            worker.endedAt = line.run.startedAt + line.run.elapsedMs +
              clockDelta({ timeOrigin: line.run.timeOrigin }, {
                timeOrigin: performance.timeOrigin,
              });
          }
        }
        if (line.kind !== "record") continue;
        const record = onThisClock(line.record);
        worker.records++;
        worker.lastEndAt = Math.max(
          worker.lastEndAt ?? -Infinity,
          record.endAt,
        );
        n++;
        if (record.error?.kind === "aborted") {
          counts.aborted++;
          sessions.set(record.session, "cancelled");
        } else if (!record.ok) {
          counts.failed++;
          sessions.set(record.session, "failed");
        } else {
          counts.ok++;
          if (!sessions.has(record.session)) sessions.set(record.session, "ok");
        }
        handlers.onRecord(record);
      }
      options.onLines?.(recordsText, n);
    };
    try {
      while (true) {
        const exited = this.#workers.every((w) => w.status !== undefined);
        // After the exits, their last `sent` lines too.
        if (exited) await Promise.all(this.#workers.map((w) => w.stdoutDone));
        for (const worker of this.#workers) {
          await read(worker);
          while (counts.sent < this.#sentTotal()) {
            counts.sent++;
            handlers.onSend();
          }
        }
        if (exited) break;
        await Promise.race([
          new Promise((resolve) => setTimeout(resolve, pollMs)),
          Promise.all(this.#workers.map((w) => w.exit)),
        ]);
      }
    } finally {
      options.signal.removeEventListener("abort", onAbort);
      for (const worker of this.#workers) worker.tail.close();
    }
    for (const worker of this.#workers) {
      const status = worker.status!;
      if (status.code !== 0) {
        const failure: WorkerFailure = {
          index: worker.index,
          code: status.signal ?? status.code,
          records: worker.records,
          stderr: worker.stderr.trim().split("\n").slice(-3).join("\n"),
        };
        this.failures.push(failure);
        this.#options.warn(
          `[WARN] worker ${worker.index} (pid ${worker.process.pid}) died (${
            status.signal ?? `exit code ${status.code}`
          }): its ${worker.records} completed records are kept; its part of the workload stopped there${
            failure.stderr === "" ? "" : `\n${failure.stderr}`
          }\n`,
        );
      }
    }
    // The workers' own ends (a dead worker's: its last record's), not the
    // time it took them to exit and this process to read their files.
    const endedAt = Math.max(
      options.startedAt,
      ...this.#workers.map((w) =>
        w.endedAt ?? w.lastEndAt ?? options.startedAt
      ),
    );
    const reasons = this.#workers.map((w) => w.stopReason).filter((r) =>
      r !== undefined
    );
    const stopReason = (options.signal.aborted
      ? "signal"
      // A worker that stopped for its failures stopped the run early.
      : reasons.find((r) => r === "fail_fast") ?? reasons[0] ??
        "error") as StopReason;
    const outcome = [...sessions.values()];
    const failed = outcome.filter((o) => o === "failed").length;
    const cancelled = outcome.filter((o) => o === "cancelled").length;
    return {
      startedAt: options.startedAt,
      endedAt,
      wallTimeMs: endedAt - options.startedAt,
      stopReason,
      sessions: {
        started: sessions.size,
        completed: sessions.size - failed - cancelled,
        failed,
        cancelled,
      },
      requests: counts,
    };
  }

  #sentTotal(): number {
    let n = 0;
    for (const w of this.#workers) n += w.sent;
    return n;
  }

  async #kill(): Promise<void> {
    for (const w of this.#workers) {
      try {
        w.process.kill("SIGKILL");
      } catch { /* exited */ }
    }
    await Promise.all(this.#workers.map((w) => w.exit));
  }

  /** Kill any worker still running, and wait for all of them. */
  async [Symbol.asyncDispose](): Promise<void> {
    for (const w of this.#workers) await w.stdin.close().catch(() => {});
    const settled = await Promise.race([
      Promise.all(this.#workers.map((w) => w.exit)).then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 5000)),
    ]);
    if (!settled) await this.#kill();
  }
}

/** A worker's record on this process's clock. */
function onThisClock(record: RequestRecord): RequestRecord {
  if (
    record.timeOrigin === undefined ||
    record.timeOrigin === performance.timeOrigin
  ) return record;
  const delta = clockDelta({ timeOrigin: record.timeOrigin }, {
    timeOrigin: performance.timeOrigin,
  });
  return rebaseRecord(record, delta, { timeOrigin: performance.timeOrigin });
}
