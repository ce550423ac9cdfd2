/**
 * The benchmark's client process: one reader (kvbench over `http1` or
 * `fetch`, or the minimal raw-socket `floor`) against the bench server, at a
 * fixed concurrency, for a number of requests or a duration. It measures its
 * own CPU time and peak RSS over the measured phase and writes a JSON result.
 *
 * kvbench readers run the whole pipeline: the runner, `sendRequest` (SSE
 * parsing, timestamps, records), `BenchmarkMetrics` and a records file on disk.
 *
 * Usage: `deno run -A bench/client.ts '<ClientConfig JSON>'`
 *
 * @module
 */
import process from "node:process";
import { http1Transport } from "../../lib/transport/http1.ts";
import { closedLoop } from "../../lib/run/load.ts";
import { openRecordsFile } from "../../lib/run/records_file.ts";
import { run } from "../../lib/run/runner.ts";
import { BenchmarkMetrics } from "../../workloads/benchmark/metrics.ts";
import { LatencyDistributions } from "../../lib/metrics/distributions.ts";
import { fetchTransport } from "../../lib/transport/fetch.ts";
import type {
  HttpRequest,
  ResponseSink,
  SendOptions,
  Transport,
} from "../../lib/transport/transport.ts";
import type { RequestRecord, Session } from "../../lib/types.ts";

/** What the client does, the first command-line argument as JSON. */
export interface ClientConfig {
  /** `http1` / `fetch`: kvbench's pipeline on that transport; `floor`: a minimal raw-socket reader. */
  reader: "http1" | "fetch" | "floor";
  /** Server origin, `http://127.0.0.1:PORT`. */
  url: string;
  /** Streams in flight. */
  concurrency: number;
  /** Stop after this many requests were sent (all complete)... */
  requests?: number;
  /** ...or after this long (in-flight requests are cut; their events count). */
  durationMs?: number;
  /** `max_tokens`: events per response. */
  maxTokens: number;
  /** Prompt length, in "hi" tokens. */
  promptTokens: number;
  /** Keep every token event's arrival time (for the timing scenario). */
  timing?: boolean;
  /** Completed-request counts at which to sample RSS (long runs). */
  samples?: number[];
  /** Where to write the records file (kvbench readers; default: a temp file, deleted). */
  records?: string;
  /** Per-token timing on the records (kvbench readers; default true). */
  tokenTiming?: boolean;
  /** Where to write the JSON result. */
  out: string;
}

/** Token arrival times of one request, ms after it was sent. */
export interface TimedRequest {
  /** TTFT as the reader measured it. */
  ttft: number;
  /** Arrival time of every token event, ms after sending. */
  tokens: number[];
}

/** What the client measured. */
export interface ClientResult {
  reader: string;
  /** Wall time of the measured phase, ms. */
  wallMs: number;
  /** CPU time (user + system) of the measured phase, ms. */
  cpuMs: number;
  /** Of which user time, ms. */
  cpuUserMs: number;
  /** Peak RSS of the process (VmHWM), MB. */
  peakRssMb: number;
  /** Requests that completed. */
  completed: number;
  /** Requests that failed (aborted at the end of a timed run excluded). */
  failed: number;
  /** Failure kinds and counts, with one message each. */
  errors: Record<string, { count: number; message: string }>;
  /** Token events received. */
  events: number;
  /** Bytes the records file grew by in the measured phase (kvbench readers). */
  recordsBytes?: number;
  /** Records written in the measured phase (kvbench readers). */
  recordsWritten?: number;
  /** Per-request timings by `x-bench-id` (timing runs). */
  timing?: Record<string, TimedRequest>;
  /** RSS samples (long runs). */
  samples?: {
    completed: number;
    rssMb: number;
    heapMb: number;
    atMs: number;
  }[];
}

const LF = 10;
/** Tokens per warm-up request: enough to compile the hot path, cheap at 2048 streams. */
const WARM_UP_TOKENS = 8;

function procStatusMb(field: "VmHWM" | "VmRSS"): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  const kb = Number(new RegExp(`^${field}:\\s*(\\d+)`, "m").exec(status)?.[1]);
  return kb / 1024;
}

function prompt(tokens: number): string {
  return "0" + "hi".repeat(tokens);
}

/** Wraps a transport to note when each SSE event arrived (the same `at` kvbench times tokens with). */
function timingTransport(
  inner: Transport,
  timing: Map<string, number[]>,
): Transport {
  return {
    name: inner.name,
    send(
      request: HttpRequest,
      sink: ResponseSink,
      options?: SendOptions,
    ): Promise<void> {
      const times: number[] = [];
      timing.set(request.headers["x-bench-id"], times);
      let lastLf = false;
      return inner.send(request, {
        head: (status, headers) => sink.head(status, headers),
        data(chunk, at) {
          let i = lastLf && chunk[0] === LF ? 0 : chunk.indexOf(LF);
          if (lastLf && chunk[0] === LF) times.push(at);
          while (i !== -1) {
            if (chunk[i + 1] === LF) {
              times.push(at);
              i = chunk.indexOf(LF, i + 2);
            } else i = chunk.indexOf(LF, i + 1);
          }
          lastLf = chunk[chunk.length - 1] === LF &&
            chunk[chunk.length - 2] !== LF;
          sink.data(chunk, at);
        },
      }, options);
    },
    close: () => inner.close(),
  };
}

async function kvbenchReader(config: ClientConfig): Promise<ClientResult> {
  const base = config.reader === "http1" ? http1Transport() : fetchTransport();
  const eventTimes = new Map<string, number[]>();
  const transport = config.timing ? timingTransport(base, eventTimes) : base;
  const recordsPath = config.records ??
    await Deno.makeTempFile({ prefix: "kvbench-bench-records-" });
  const records = openRecordsFile(recordsPath);
  const metrics = new BenchmarkMetrics();
  const distributions = new LatencyDistributions();
  const text = prompt(config.promptTokens);
  const result = emptyResult(config.reader);
  const timing: Record<string, TimedRequest> = {};
  const samples = [...(config.samples ?? [])].sort((a, b) => a - b);
  result.samples = config.samples ? [] : undefined;
  let nextId = 0;
  let idPrefix = "w";
  let maxTokens = Math.min(config.maxTokens, WARM_UP_TOKENS);
  function* workload(): Generator<Session> {
    while (true) {
      const id = idPrefix + String(nextId++);
      yield async (ctx) => {
        await ctx.send({
          prompt: text,
          maxTokens,
          headers: { "x-bench-id": id },
          tags: { id },
        });
      };
    }
  }
  const onRecord = (record: RequestRecord): void => {
    metrics.add(record);
    distributions.add(record);
    records.write(record);
    result.events += record.chunks;
    if (record.ok) {
      result.completed++;
      if (config.timing) {
        const id = record.tags!.id as string;
        const times = eventTimes.get(id) ?? [];
        eventTimes.delete(id);
        timing[id] = {
          ttft: record.firstTokenAt! - record.sentAt,
          tokens: times.slice(0, config.maxTokens).map((t) =>
            t - record.sentAt
          ),
        };
      }
      if (samples.length > 0 && result.completed === samples[0]) {
        samples.shift();
        result.samples!.push({
          completed: result.completed,
          rssMb: procStatusMb("VmRSS"),
          heapMb: Deno.memoryUsage().heapUsed / 2 ** 20,
          atMs: performance.now() - started,
        });
      }
    } else if (record.error && record.error.kind !== "aborted") {
      result.failed++;
      const entry = result.errors[record.error.kind] ??= {
        count: 0,
        message: record.error.message,
      };
      entry.count++;
    }
  };
  const endpoint = {
    baseUrl: `${config.url}/v1/`,
    model: "bench-model",
    transport,
    tokenTiming: config.tokenTiming ?? true,
  };
  // Warm-up, not measured: one request per stream opens the connections and
  // lets the JIT compile the hot path.
  await run(workload(), {
    endpoint,
    load: closedLoop(config.concurrency),
    stop: { maxRequests: config.concurrency },
    onRecord: (record) => records.write(record),
  });
  eventTimes.clear();
  maxTokens = config.maxTokens;
  idPrefix = "";
  nextId = 0;
  const bytes0 = Deno.statSync(recordsPath).size;
  const count0 = records.count;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await run(workload(), {
    endpoint,
    load: closedLoop(config.concurrency),
    stop: { durationMs: config.durationMs, maxRequests: config.requests },
    onRecord,
  });
  distributions.summary(); // the end-of-run figures are part of the work
  finish(result, cpu0, started);
  result.recordsBytes = Deno.statSync(recordsPath).size - bytes0;
  result.recordsWritten = records.count - count0;
  transport.close();
  records.close();
  if (config.records === undefined) await Deno.remove(recordsPath);
  if (config.timing) result.timing = timing;
  return result;
}

function emptyResult(reader: string): ClientResult {
  return {
    reader,
    wallMs: 0,
    cpuMs: 0,
    cpuUserMs: 0,
    peakRssMb: 0,
    completed: 0,
    failed: 0,
    errors: {},
    events: 0,
  };
}

function finish(
  result: ClientResult,
  cpu0: { user: number; system: number },
  started: number,
): void {
  const cpu = process.cpuUsage(cpu0);
  result.wallMs = performance.now() - started;
  result.cpuMs = (cpu.user + cpu.system) / 1000;
  result.cpuUserMs = cpu.user / 1000;
  result.peakRssMb = procStatusMb("VmHWM");
}

/**
 * Read one streamed response on `conn`, counting `\n\n` without parsing,
 * until its events and the chunked terminator are in; the token arrival
 * times (ms after `sentAt`) when `timed`.
 */
async function readEvents(
  conn: Deno.Conn,
  buf: Uint8Array,
  request: { sentAt: number; timed: boolean; maxTokens: number },
): Promise<number[] | undefined> {
  const { sentAt, timed, maxTokens } = request;
  let events = 0;
  let lastLf = false;
  let tail = 0; // the last four bytes, for the chunked terminator
  const times: number[] | undefined = timed ? [] : undefined;
  while (true) {
    const n = await conn.read(buf);
    const at = performance.now();
    if (n === null) throw new Error("the server closed the connection");
    let i = lastLf && buf[0] === LF ? 0 : buf.indexOf(LF);
    if (lastLf && buf[0] === LF) {
      events++;
      if (times && events <= maxTokens) times.push(at - sentAt);
    }
    while (i !== -1 && i < n) {
      if (i + 1 < n && buf[i + 1] === LF) {
        events++;
        if (times && events <= maxTokens) times.push(at - sentAt);
        i = buf.indexOf(LF, i + 2);
      } else i = buf.indexOf(LF, i + 1);
    }
    lastLf = buf[n - 1] === LF && (n < 2 || buf[n - 2] !== LF);
    for (let j = Math.max(0, n - 4); j < n; j++) {
      tail = ((tail << 8) | buf[j]) >>> 0;
    }
    if (events >= maxTokens + 2 && tail === 0x0d0a0d0a) return times;
  }
}

/** The floor: a raw socket per stream, keep-alive, 64 KiB reads, counting `\n\n`, no parsing. */
async function floorReader(config: ClientConfig): Promise<ClientResult> {
  const url = new URL(config.url);
  const encoder = new TextEncoder();
  const body = JSON.stringify({
    model: "bench-model",
    prompt: prompt(config.promptTokens),
    max_tokens: config.maxTokens,
    stream: true,
    stream_options: { include_usage: true },
  });
  const bodyBytes = encoder.encode(body);
  const warmUpBytes = encoder.encode(
    body.replace(
      `"max_tokens":${config.maxTokens}`,
      `"max_tokens":${Math.min(config.maxTokens, WARM_UP_TOKENS)}`,
    ),
  );
  const result = emptyResult("floor");
  const timing: Record<string, TimedRequest> = {};
  const maxTokens = config.maxTokens;
  let sent = 0;
  let stopped = false;
  const open = new Set<Deno.Conn>();

  /** One request on `conn`; resolves to its token arrival times (ms after sending). */
  async function exchange(
    conn: Deno.Conn,
    buf: Uint8Array,
    id: string,
    timed: boolean,
    maxTokens: number,
  ): Promise<number[] | undefined> {
    const payload = maxTokens === config.maxTokens ? bodyBytes : warmUpBytes;
    const head = encoder.encode(
      `POST /v1/completions HTTP/1.1\r\nhost: ${url.host}\r\n` +
        `content-type: application/json\r\nx-bench-id: ${id}\r\n` +
        `content-length: ${payload.length}\r\n\r\n`,
    );
    const request = new Uint8Array(head.length + payload.length);
    request.set(head);
    request.set(payload, head.length);
    const sentAt = performance.now();
    let off = 0;
    while (off < request.length) {
      off += await conn.write(request.subarray(off));
    }
    return await readEvents(conn, buf, { sentAt, timed, maxTokens });
  }

  let warmed = 0;
  let go!: () => void;
  const started$ = new Promise<void>((resolve) => (go = resolve));
  let cpu0 = process.cpuUsage();
  let started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const begin = (): void => {
    cpu0 = process.cpuUsage();
    started = performance.now();
    if (config.durationMs !== undefined) {
      timer = setTimeout(() => {
        stopped = true;
        for (const conn of open) conn.close();
      }, config.durationMs);
    }
    go();
  };

  async function stream(): Promise<void> {
    const conn = await Deno.connect({
      hostname: url.hostname,
      port: Number(url.port),
    });
    open.add(conn);
    const buf = new Uint8Array(65536);
    let counted = false;
    try {
      // Warm-up, not measured (as for kvbench's readers).
      await exchange(
        conn,
        buf,
        `w${warmed}`,
        false,
        Math.min(config.maxTokens, WARM_UP_TOKENS),
      );
      counted = true;
      if (++warmed === config.concurrency) begin();
      await started$;
      while (!stopped) {
        if (config.requests !== undefined && sent >= config.requests) break;
        const id = String(sent++);
        const times = await exchange(
          conn,
          buf,
          id,
          config.timing ?? false,
          maxTokens,
        );
        result.events += maxTokens;
        result.completed++;
        if (times) timing[id] = { ttft: times[0], tokens: times };
      }
    } catch (error) {
      if (!counted && ++warmed === config.concurrency) begin();
      if (!stopped) {
        result.failed++;
        const entry = result.errors.floor ??= {
          count: 0,
          message: (error as Error).message,
        };
        entry.count++;
      }
    } finally {
      open.delete(conn);
      try {
        conn.close();
      } catch {
        // Closed at the deadline.
      }
    }
  }

  await Promise.all(
    Array.from({ length: config.concurrency }, () => stream()),
  );
  clearTimeout(timer);
  finish(result, cpu0, started);
  if (config.timing) result.timing = timing;
  return result;
}

if (import.meta.main) {
  const config: ClientConfig = JSON.parse(Deno.args[0]);
  const result = config.reader === "floor"
    ? await floorReader(config)
    : await kvbenchReader(config);
  await Deno.writeTextFile(config.out, JSON.stringify(result));
}
