/**
 * A trace as runner sessions, on the trace's schedule: the run admits each
 * session at its first timestamp (an open loop whose arrivals are the
 * sessions' start times, divided by the speed), and every request is due at
 *
 *     max(timestamp / speed, end of the previous answer + think time / speed)
 *
 * in ms after the run's start: never before the trace sent it, never before
 * the answer it follows (and the subagents it waits for) came back. That due
 * time is the record's `scheduledAt` (`RequestSpec.dueMs`), so any lag the
 * client adds shows as `sentAt − scheduledAt`, as for every open loop.
 * A subagent branch starts when the parent reaches it and runs beside it.
 *
 * @module
 */
import { type LoadPolicy, openLoop } from "../../lib/run/load.ts";
import type { RunPart } from "../../lib/run/runner.ts";
import type {
  RequestRecord,
  RequestSpec,
  Session,
  SessionContext,
} from "../../lib/types.ts";
import type { ReplayTrace, TraceRequest, TraceStep } from "./trace.ts";

/** Options of {@linkcode replaySessions}. */
export interface ReplaySessionsOptions {
  /** The request of a trace request (its prompt, API, streaming, …), without timing. */
  spec: (request: TraceRequest) => RequestSpec;
  /** Schedule speed-up: 2 replays twice as fast (default 1). */
  speed?: number;
  /** Only this part of the sessions: `index`, `index + count`, … */
  part?: RunPart;
}

/**
 * The tag holding a record's trace request index.
 *
 * @example Usage
 * ```ts
 * import { REQUEST_TAG } from "./session.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(REQUEST_TAG, "trace_request");
 * ```
 */
export const REQUEST_TAG = "trace_request";

/**
 * The sessions of a trace, in start order (this part's only).
 *
 * @example Usage
 * ```ts
 * import { replaySessions } from "./session.ts";
 * import { parseTrace } from "./formats.ts";
 * import assert from "node:assert/strict";
 *
 * const trace = parseTrace(
 *   '{"timestamp": 0, "input_length": 8, "output_length": 1}\n{"timestamp": 5, "input_length": 8, "output_length": 1}\n',
 *   { name: "t.jsonl" },
 * );
 * const sessions = [...replaySessions(trace, { spec: (r) => ({ prompt: "x", maxTokens: r.outputLength }) })];
 * assert.equal(sessions.length, 2);
 * ```
 */
export function* replaySessions(
  trace: ReplayTrace,
  options: ReplaySessionsOptions,
): Generator<Session> {
  const speed = checkSpeed(options.speed);
  const part = options.part ?? { index: 0, count: 1 };
  for (let i = part.index; i < trace.sessions.length; i += part.count) {
    const steps = trace.sessions[i].steps;
    yield async (ctx) => {
      await runSteps(
        steps,
        ctx,
        { trace, speed, spec: options.spec },
        -Infinity,
      );
    };
  }
}

function checkSpeed(speed = 1): number {
  if (!(speed > 0) || !Number.isFinite(speed)) {
    throw new RangeError(
      `Cannot replay at speed ${speed}: it must be a positive number`,
    );
  }
  return speed;
}

/**
 * The open loop admitting a trace's sessions at their start times divided by
 * the speed.
 *
 * @example Sessions at 0, 1 s and 3 s, twice as fast
 * ```ts
 * import { replayLoad } from "./session.ts";
 * import { parseTrace } from "./formats.ts";
 * import assert from "node:assert/strict";
 *
 * const trace = parseTrace(
 *   [0, 1000, 3000].map((t) => `{"timestamp": ${t}, "input_length": 8, "output_length": 1}`).join("\n"),
 *   { name: "t.jsonl" },
 * );
 * const load = replayLoad(trace, 2);
 * assert.equal(load.kind, "open");
 * if (load.kind === "open") {
 *   assert.equal(load.startMs, 0);
 *   assert.deepEqual([0, 1, 2].map((i) => load.arrivals(i, 0)), [500, 1000, 0]);
 * }
 * ```
 */
export function replayLoad(trace: ReplayTrace, speed = 1): LoadPolicy {
  checkSpeed(speed);
  const starts = trace.sessions.map((s) => s.startMs / speed);
  return openLoop(
    (i) => i + 1 < starts.length ? starts[i + 1] - starts[i] : 0,
    { label: `trace schedule ×${speed}`, startMs: starts[0] ?? 0 },
  );
}

interface StepContext {
  trace: ReplayTrace;
  speed: number;
  spec: (request: TraceRequest) => RequestSpec;
}

/** Run steps; resolves with the end of the last answer (ms after the run's start). */
async function runSteps(
  steps: readonly TraceStep[],
  ctx: SessionContext,
  at: StepContext,
  previousEnd: number,
): Promise<number> {
  let end = previousEnd;
  const joins: Promise<number>[] = [];
  const background: Promise<number>[] = [];
  try {
    for (const step of steps) {
      if (ctx.signal.aborted) break;
      if (step.kind === "branch") {
        const branch = runSteps(step.steps, ctx, at, end);
        (step.join ? joins : background).push(branch);
        continue;
      }
      if (joins.length > 0) {
        for (const e of await Promise.all(joins.splice(0))) {
          end = Math.max(end, e);
        }
      }
      const request = at.trace.requests[step.request];
      const due = Math.max(
        request.atMs / at.speed,
        end + request.thinkMs / at.speed,
      );
      const wait = due - ctx.now();
      if (wait > 0) await ctx.sleep(wait);
      const spec = at.spec(request);
      const record: RequestRecord = await ctx.send({
        ...spec,
        dueMs: due,
        tags: { ...spec.tags, [REQUEST_TAG]: request.index },
      });
      end = record.endAt - (record.runStartedAt ?? 0);
      if (record.error?.kind === "aborted") break;
    }
  } finally {
    // A session ends with its branches, background ones included.
    for (const e of await Promise.all([...joins, ...background])) {
      end = Math.max(end, e);
    }
  }
  return end;
}
