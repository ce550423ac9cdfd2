/**
 * The runner: admits sessions under a load policy until a stop condition,
 * gives each a context to send requests through, and hands every record to
 * the run's sinks as it completes.
 *
 * @module
 */
import { MAX_TIMER_MS } from "../timer.ts";
import { closedLoop, type LoadPolicy } from "./load.ts";
import { type EndpointConfig, sendRequest } from "../openai/request.ts";
import {
  FailFast,
  type FailFastOptions,
  type FirstError,
} from "./fail_fast.ts";
import type {
  RequestRecord,
  RequestSpec,
  Session,
  SessionContext,
  Workload,
} from "../types.ts";

/** When a run stops. All are optional; without any, it runs until the workload ends. */
export interface StopOptions {
  /** Stop admitting at this many ms after the start, and abort what is in flight (unless `drain`). */
  durationMs?: number;
  /** Send at most this many requests, then let the sessions in flight finish. */
  maxRequests?: number;
  /** Admit at most this many sessions, then let them finish. */
  maxSessions?: number;
  /** Aborting it stops the run like the duration does (Ctrl+C, SIGTERM). */
  signal?: AbortSignal;
  /** At the duration, let in-flight sessions finish instead of aborting them. */
  drain?: boolean;
}

/** How a session ended. */
export type SessionOutcome = "completed" | "failed" | "cancelled";

/** Options of {@linkcode run}. */
export interface RunOptions {
  /** Where requests go. */
  endpoint: EndpointConfig;
  /** How sessions are admitted (default: one at a time). */
  load?: LoadPolicy;
  /**
   * A cap on requests in flight across all sessions; extra requests queue in
   * the client (the wait is `sentAt − scheduledAt`). While 10,000 wait, an
   * open loop admits no new session (its lag then shows the same way).
   */
  maxInFlight?: number;
  /** When to stop. */
  stop?: StopOptions;
  /** Called with every record as it completes, aborted ones included. A throw stops the run and is rethrown. */
  onRecord?: (record: RequestRecord) => void;
  /** Called when a request goes out (after any wait for a `maxInFlight` slot). */
  onSend?: (session: number, turn: number) => void;
  /** Called when a session ends. */
  onSessionEnd?: (id: number, outcome: SessionOutcome, error?: unknown) => void;
  /** `performance.now()` of the run's start (default: when `run` is called). */
  startedAt?: number;
  /**
   * This run is part `index` of `count` of one workload (a worker, a shard):
   * its sessions get the ids `index`, `index + count`, `index + 2·count`, …
   * of the whole workload, as its records show. The workload itself yields
   * only this part's sessions.
   */
  part?: RunPart;
  /**
   * Stop after a burst of permanent errors (HTTP 401, 403, 404, a model the
   * server does not serve) or when nearly every request fails in the first
   * seconds (see {@linkcode FailFast}); `false` runs on whatever fails.
   * Default: on, with its default thresholds.
   */
  failFast?: FailFastOptions | false;
  /**
   * Where the one warning about the first failed request goes (default:
   * `console.warn`); `false` for none (a caller that reports failures itself).
   */
  warn?: ((message: string) => void) | false;
}

/** One part of a workload split over several processes or hosts. */
export interface RunPart {
  /** Which part, from 0. */
  index: number;
  /** How many parts. */
  count: number;
}

/** What a {@linkcode RecordSource} reports to. */
export interface RecordHandlers {
  /** A record completed. */
  onRecord(record: RequestRecord): void;
  /** A request went out. */
  onSend(): void;
}

/**
 * Records made elsewhere (worker processes, a replay), handed to a workload's
 * run as if its own requests made them: it calls the handlers as records
 * arrive, on the caller's clock, and resolves with the run's summary.
 */
export type RecordSource = (handlers: RecordHandlers) => Promise<RunSummary>;

/** Why a run stopped. */
export type StopReason =
  | "duration"
  | "signal"
  | "max_requests"
  | "max_sessions"
  | "exhausted"
  | "error"
  | "fail_fast";

/** Counters of a finished run. */
export interface RunSummary {
  /** `performance.now()` at the start. */
  startedAt: number;
  /** `performance.now()` once every session had settled. */
  endedAt: number;
  /** `endedAt − startedAt`, in ms. */
  wallTimeMs: number;
  /** Why it stopped. */
  stopReason: StopReason;
  /** Sessions admitted, and how they ended. */
  sessions: {
    started: number;
    completed: number;
    failed: number;
    cancelled: number;
  };
  /** Requests sent, and how they ended. */
  requests: { sent: number; ok: number; failed: number; aborted: number };
  /** The first failure (aborted requests aside), when a request failed. */
  firstError?: FirstError;
  /** Why the run stopped early for its failures (stop reason `fail_fast`). */
  failFast?: string;
}

/**
 * Run a workload and resolve once every admitted session has settled.
 *
 * @example Usage
 * ```ts
 * import { run } from "./runner.ts";
 * import { closedLoop } from "./load.ts";
 * import type { Session } from "../types.ts";
 * import { startScriptedServer } from "../testing/scripted_server.ts";
 * import assert from "node:assert/strict";
 *
 * // An endless stream of two-turn sessions.
 * function* sessions(): Generator<Session> {
 *   while (true) {
 *     yield async (ctx) => {
 *       await ctx.send({ prompt: "Hi", maxTokens: 8 });
 *       await ctx.send({ prompt: "Hi again", maxTokens: 8 });
 *     };
 *   }
 * }
 *
 * const server = startScriptedServer();
 * try {
 *   const summary = await run(sessions(), {
 *     endpoint: { baseUrl: `${server.origin}/v1/`, model: "test-model" },
 *     load: closedLoop(4), // 4 sessions in flight
 *     stop: { maxSessions: 8 },
 *   });
 *   assert.equal(summary.stopReason, "max_sessions");
 *   assert.deepEqual(summary.sessions, { started: 8, completed: 8, failed: 0, cancelled: 0 });
 *   assert.deepEqual(summary.requests, { sent: 16, ok: 16, failed: 0, aborted: 0 });
 *   assert.ok(server.maxConcurrent() <= 4);
 * } finally {
 *   await server.close();
 * }
 * ```
 */
export async function run(
  workload: Workload,
  options: RunOptions,
): Promise<RunSummary> {
  const state = new RunState(options);
  try {
    await state.admit(workload);
  } finally {
    await state.settle();
  }
  if (state.sinkError !== undefined) throw state.sinkError;
  return state.summary();
}

/**
 * Requests waiting for an in-flight slot beyond which an open loop stops
 * admitting until some are sent (memory stays bounded at any arrival rate).
 */
const MAX_WAITING = 10_000;

/** How long admission may run without giving the event loop a turn. */
const YIELD_EVERY_MS = 25;

class RunState {
  readonly startedAt: number;
  readonly stopController = new AbortController();
  sinkError: unknown;
  #options: RunOptions;
  #admitting = true;
  #stopReason?: StopReason;
  #active = new Set<Promise<void>>();
  #slotFreed?: () => void;
  #admissionClosed: Promise<void>;
  #closeAdmission!: () => void;
  #timer?: ReturnType<typeof setTimeout>;
  #onOuterAbort = (): void => this.stop("signal");
  /** Abort controllers of the requests in flight. */
  #requestAborts = new Set<AbortController>();
  #sessions = { started: 0, completed: 0, failed: 0, cancelled: 0 };
  #requests = { sent: 0, ok: 0, failed: 0, aborted: 0 };
  #inFlight = 0;
  /** Requests waiting for a slot, first at `#queueHead` (no O(n) shift). */
  #queue: ((() => void) | undefined)[] = [];
  #queueHead = 0;
  #endedAt = 0;
  #failFast: FailFast;
  #failFastReason?: string;

  constructor(options: RunOptions) {
    this.#options = options;
    this.#failFast = new FailFast(options.failFast || {});
    this.startedAt = options.startedAt ?? performance.now();
    this.#admissionClosed = new Promise((
      resolve,
    ) => (this.#closeAdmission = resolve));
    const stop = options.stop ?? {};
    if (stop.signal?.aborted) this.stop("signal");
    stop.signal?.addEventListener("abort", this.#onOuterAbort, { once: true });
    if (stop.durationMs !== undefined) {
      const end = this.startedAt + stop.durationMs;
      // Re-armed in steps a timer can take: a longer delay would fire at once.
      const arm = (): void => {
        const left = end - performance.now();
        if (left > 0) {
          this.#timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
        } else if (stop.drain) this.closeAdmission("duration");
        else this.stop("duration");
      };
      arm();
    }
  }

  /** Close admission; in-flight sessions go on. */
  closeAdmission(reason: StopReason): void {
    this.#stopReason ??= reason;
    this.#admitting = false;
    this.#closeAdmission();
    this.#slotFreed?.();
  }

  /** Close admission and abort everything in flight. */
  stop(reason: StopReason): void {
    this.closeAdmission(reason);
    if (!this.stopController.signal.aborted) {
      this.stopController.abort(
        new DOMException(`run stopped (${reason})`, "AbortError"),
      );
      const why = this.stopController.signal.reason;
      for (const request of this.#requestAborts) request.abort(why);
      this.#requestAborts.clear();
    }
  }

  async admit(workload: Workload): Promise<void> {
    const load = this.#options.load ?? closedLoop(1);
    const maxSessions = this.#options.stop?.maxSessions;
    const iterator = Symbol.asyncIterator in workload
      ? workload[Symbol.asyncIterator]()
      : (workload as Iterable<Session>)[Symbol.iterator]();
    let index = 0;
    let nextArrival = this.startedAt +
      (load.kind === "open" ? load.startMs ?? 0 : 0);
    // Behind schedule (an arrival rate past what this process can send), the
    // loop below never waits on a timer: give the event loop a turn every
    // YIELD_EVERY_MS so the duration timer, signals and responses still run.
    let turnAt = performance.now();
    try {
      while (this.#admitting) {
        if (performance.now() - turnAt >= YIELD_EVERY_MS) {
          await new Promise((resolve) => setTimeout(resolve, 0));
          turnAt = performance.now();
          if (!this.#admitting) break;
        }
        if (
          maxSessions !== undefined && this.#sessions.started >= maxSessions
        ) {
          this.closeAdmission("max_sessions");
          break;
        }
        let scheduledAt: number;
        if (load.kind === "closed") {
          while (this.#admitting && this.#active.size >= load.concurrency) {
            await new Promise<void>((resolve) => (this.#slotFreed = resolve));
            this.#slotFreed = undefined;
            turnAt = performance.now(); // the event loop has had its turn
          }
          if (!this.#admitting) break;
          scheduledAt = performance.now();
        } else {
          // Past what the server takes, requests would queue here without
          // bound: admission waits while MAX_WAITING do, and the sessions it
          // admits late carry their due time, so the lag shows.
          while (this.#admitting && this.#waiting() >= MAX_WAITING) {
            await new Promise<void>((resolve) => (this.#slotFreed = resolve));
            this.#slotFreed = undefined;
            turnAt = performance.now();
          }
          if (!this.#admitting) break;
          scheduledAt = nextArrival;
          if (await this.#sleepUntil(nextArrival)) turnAt = performance.now();
          if (!this.#admitting) break;
          nextArrival += load.arrivals(index, nextArrival - this.startedAt);
        }
        const next = await iterator.next();
        if (next.done) {
          this.closeAdmission("exhausted");
          break;
        }
        if (!this.#admitting) break;
        const part = this.#options.part;
        const id = part === undefined ? index : part.index + index * part.count;
        index++;
        this.#launch(next.value, id, scheduledAt);
      }
    } catch (error) {
      this.stop("error");
      throw error;
    } finally {
      await iterator.return?.();
    }
  }

  /** Sleep until `at` (or admission closes); true if it waited on a timer. */
  async #sleepUntil(at: number): Promise<boolean> {
    // A timer may fire a fraction of a millisecond early: sleep again until
    // the arrival is due, so nothing is sent before its scheduled time.
    let slept = false;
    for (let delay = at - performance.now(); delay > 0 && this.#admitting;) {
      slept = true;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        new Promise<void>((resolve) =>
          timer = setTimeout(resolve, Math.min(Math.ceil(delay), MAX_TIMER_MS))
        ),
        this.#admissionClosed,
      ]);
      clearTimeout(timer);
      delay = at - performance.now();
    }
    return slept;
  }

  #launch(session: Session, id: number, scheduledAt: number): void {
    this.#sessions.started++;
    const ctx = this.#context(id, scheduledAt);
    const done: Promise<void> = Promise.resolve()
      .then(() => session(ctx))
      .then(
        (result) => this.#ended(id, result === false ? "failed" : "completed"),
        (error) => this.#ended(id, "failed", error),
      )
      .finally(() => {
        this.#active.delete(done);
        this.#slotFreed?.();
      });
    this.#active.add(done);
  }

  #ended(id: number, outcome: SessionOutcome, error?: unknown): void {
    // A session that did not complete before the run aborted was cancelled, not failed.
    if (outcome !== "completed" && this.stopController.signal.aborted) {
      outcome = "cancelled";
    }
    this.#sessions[outcome]++;
    this.#options.onSessionEnd?.(id, outcome, error);
  }

  #context(id: number, firstScheduledAt: number): SessionContext {
    const signal = this.stopController.signal;
    let turn = 0;
    const runStartedAt = this.startedAt;
    const sessionStartedAt = performance.now();
    // When the session means its next request to go out: the arrival for the
    // first, then the end of the previous answer plus the waits asked for
    // since (tool latency, think time). What the client adds on top (a late
    // timer, prompt synthesis, a queue) shows as sentAt − scheduledAt.
    let due = firstScheduledAt;
    const stamp = (record: RequestRecord): RequestRecord => {
      record.sessionStartedAt = sessionStartedAt;
      record.runStartedAt = runStartedAt;
      return record;
    };
    const send = async (spec: RequestSpec): Promise<RequestRecord> => {
      const scheduledAt = spec.dueMs === undefined
        ? due
        : runStartedAt + spec.dueMs;
      const thisTurn = turn++;
      const max = this.#options.stop?.maxRequests;
      if (max !== undefined && this.#requests.sent >= max) {
        this.closeAdmission("max_requests");
        return stamp(abortedRecord(
          id,
          thisTurn,
          scheduledAt,
          spec,
          "the run's request limit was reached",
        ));
      }
      if (signal.aborted) {
        return stamp(abortedRecord(
          id,
          thisTurn,
          scheduledAt,
          spec,
          "aborted by the run",
        ));
      }
      this.#requests.sent++;
      if (max !== undefined && this.#requests.sent >= max) {
        this.closeAdmission("max_requests");
      }
      await this.#acquire();
      // One signal per request, aborted by stop(): thousands of requests
      // listening on the run's signal would make each listen O(n).
      const abort = new AbortController();
      if (signal.aborted) abort.abort(signal.reason);
      else this.#requestAborts.add(abort);
      let record: RequestRecord;
      this.#options.onSend?.(id, thisTurn);
      try {
        record = await sendRequest(this.#options.endpoint, spec, {
          session: id,
          turn: thisTurn,
          scheduledAt,
          signal: abort.signal,
        });
      } finally {
        this.#requestAborts.delete(abort);
        this.#release();
      }
      stamp(record);
      due = record.endAt;
      if (record.ok) this.#requests.ok++;
      else if (record.error?.kind === "aborted") this.#requests.aborted++;
      else this.#requests.failed++;
      this.#watchFailures(record);
      try {
        this.#options.onRecord?.(record);
      } catch (error) {
        this.sinkError ??= error;
        this.stop("error");
      }
      return record;
    };
    return {
      id,
      signal,
      send,
      sleep: (ms: number) => {
        due += Math.max(0, ms);
        return abortableSleep(ms, signal);
      },
      now: () => performance.now() - runStartedAt,
      startedAt: sessionStartedAt,
    };
  }

  /** Warn once on the first failure; stop on a burst of them (fail fast). */
  #watchFailures(record: RequestRecord): void {
    const hadError = this.#failFast.firstError !== undefined;
    const why = this.#failFast.observe(record);
    const first = this.#failFast.firstError;
    const warn = this.#options.warn ??
      ((message: string) => console.warn(message));
    if (!hadError && first !== undefined && warn !== false) {
      warn(
        `kvbench: a request failed (${first.message}); the run summary counts the failures`,
      );
    }
    if (
      why !== undefined && this.#options.failFast !== false &&
      this.#failFastReason === undefined
    ) {
      this.#failFastReason = why;
      this.stop("fail_fast");
    }
  }

  async #acquire(): Promise<void> {
    const max = this.#options.maxInFlight;
    if (max === undefined) return;
    if (this.#inFlight < max) {
      this.#inFlight++;
      return;
    }
    await new Promise<void>((resolve) => this.#queue.push(resolve));
  }

  #release(): void {
    if (this.#options.maxInFlight === undefined) return;
    if (this.#queueHead === this.#queue.length) {
      this.#inFlight--;
      return;
    }
    const next = this.#queue[this.#queueHead]!;
    this.#queue[this.#queueHead++] = undefined;
    if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    } else if (
      this.#queueHead >= 1024 && this.#queueHead * 2 >= this.#queue.length
    ) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
    // Admission paused on a full backlog may go on.
    if (this.#waiting() === MAX_WAITING - 1) this.#slotFreed?.();
    next(); // the slot passes straight to the next waiter
  }

  /** Requests waiting for a slot. */
  #waiting(): number {
    return this.#queue.length - this.#queueHead;
  }

  async settle(): Promise<void> {
    while (this.#active.size > 0) await Promise.allSettled([...this.#active]);
    // A run stopped before its start time ends at its start.
    this.#endedAt = Math.max(performance.now(), this.startedAt);
    clearTimeout(this.#timer);
    this.#options.stop?.signal?.removeEventListener(
      "abort",
      this.#onOuterAbort,
    );
    this.closeAdmission(this.#stopReason ?? "exhausted");
  }

  summary(): RunSummary {
    return {
      startedAt: this.startedAt,
      endedAt: this.#endedAt,
      wallTimeMs: this.#endedAt - this.startedAt,
      stopReason: this.#stopReason ?? "exhausted",
      sessions: { ...this.#sessions },
      requests: { ...this.#requests },
      ...(this.#failFast.firstError === undefined
        ? {}
        : { firstError: { ...this.#failFast.firstError } }),
      ...(this.#failFastReason === undefined
        ? {}
        : { failFast: this.#failFastReason }),
    };
  }
}

function abortedRecord(
  session: number,
  turn: number,
  at: number,
  spec: RequestSpec,
  message: string,
): RequestRecord {
  const now = performance.now();
  return {
    session,
    turn,
    scheduledAt: at,
    sentAt: now,
    endAt: now,
    chunks: 0,
    promptChars: 0,
    outputChars: 0,
    maxTokens: spec.maxTokens,
    ok: false,
    retries: 0,
    error: { kind: "aborted", message },
  };
}

/**
 * Sleep `ms`, or reject with the signal's reason as soon as it aborts.
 *
 * @example Usage
 * ```ts
 * import { abortableSleep } from "./runner.ts";
 * import assert from "node:assert/strict";
 *
 * await abortableSleep(1); // resolves after 1 ms
 * const controller = new AbortController();
 * const sleeping = abortableSleep(60_000, controller.signal);
 * controller.abort(new Error("stopped"));
 * await assert.rejects(sleeping, { message: "stopped" }); // at once
 * ```
 */
export function abortableSleep(
  ms: number,
  signal?: AbortSignal,
): Promise<void> {
  const until = performance.now() + Math.max(0, ms);
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    let timer: ReturnType<typeof setTimeout>;
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    // A timer may fire a fraction of a millisecond early: never wake before `ms`.
    const arm = (): void => {
      const left = until - performance.now();
      if (left <= 0) {
        signal?.removeEventListener("abort", onAbort);
        resolve();
        return;
      }
      timer = setTimeout(arm, Math.min(Math.ceil(left), MAX_TIMER_MS));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    arm();
  });
}
