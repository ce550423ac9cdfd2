/**
 * A KV-cache trace as `kvbench replay` replays it, whatever its file format:
 * requests with their lengths and block hash ids, grouped into sessions whose
 * steps are requests and concurrent branches (subagents).
 *
 * @module
 */

/** The trace file formats read. */
export type TraceFormat = "mooncake" | "bailian" | "weka";

/**
 * Tokens per hash id block of each format, as its publishers document it.
 *
 * @example Usage
 * ```ts
 * import { DEFAULT_BLOCK_SIZES } from "./trace.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(DEFAULT_BLOCK_SIZES, { mooncake: 512, bailian: 16, weka: 64 });
 * ```
 */
export const DEFAULT_BLOCK_SIZES: Readonly<Record<TraceFormat, number>> = {
  mooncake: 512,
  bailian: 16,
  weka: 64,
};

/** One request of a trace. */
export interface TraceRequest {
  /** Position among the trace's requests, from 0 (in file order). */
  index: number;
  /** Where it is in the file (`line 3`, `line 1: requests[4]`), for messages. */
  where: string;
  /** When the trace sent it, ms after the trace's start. */
  atMs: number;
  /** The client's wait before it (WEKA `think_time`), ms; 0 when the format has none. */
  thinkMs: number;
  /** Prompt tokens (`input_length`). */
  inputLength: number;
  /** Generated tokens (`output_length`): the request's `max_tokens`. */
  outputLength: number;
  /**
   * Block ids, one per block of the prompt (the last may be partial),
   * renumbered from 0 over the whole trace so that equal ids in the file
   * (within one hash scope) are equal here and different ones different; a
   * row without `hash_ids` gets ids no other row has.
   */
  blocks: number[];
}

/** A step of a session: a request, or a branch running beside the session. */
export type TraceStep =
  | { kind: "request"; request: number }
  | TraceBranch;

/** A subagent: steps that start with the parent and run beside it. */
export interface TraceBranch {
  /** Discriminator. */
  kind: "branch";
  /** Whether the parent's next request waits for the branch to finish. */
  join: boolean;
  /** The branch's steps. */
  steps: TraceStep[];
}

/** A session: one chain of requests (a conversation, an agent run). */
export interface TraceSession {
  /** The session's name in the trace (a chat id, a trace id, a row number). */
  name: string;
  /** When its first request is due, ms after the trace's start. */
  startMs: number;
  /** Its steps, in order. */
  steps: TraceStep[];
}

/** A whole trace. */
export interface ReplayTrace {
  /** The file's name, for messages. */
  name: string;
  /** The format it was read as. */
  format: TraceFormat;
  /** Tokens per block. */
  blockSize: number;
  /** Every request, by index. */
  requests: TraceRequest[];
  /** Sessions, by start time (ties in file order). */
  sessions: TraceSession[];
}

/**
 * The requests of a session's steps, branches included, in step order.
 *
 * @example Usage
 * ```ts
 * import { stepRequests } from "./trace.ts";
 * import assert from "node:assert/strict";
 *
 * const steps = [
 *   { kind: "request" as const, request: 0 },
 *   { kind: "branch" as const, join: true, steps: [{ kind: "request" as const, request: 2 }] },
 *   { kind: "request" as const, request: 1 },
 * ];
 * assert.deepEqual(stepRequests(steps), [0, 2, 1]);
 * ```
 */
export function stepRequests(steps: readonly TraceStep[]): number[] {
  const out: number[] = [];
  for (const step of steps) {
    if (step.kind === "request") out.push(step.request);
    else out.push(...stepRequests(step.steps));
  }
  return out;
}
