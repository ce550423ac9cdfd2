/**
 * What `kvbench replay` says before it sends anything: the trace's shape and
 * its theoretical hit rates.
 *
 * @module
 */
import { stepRequests } from "./trace.ts";
import type { ReplayTrace, TraceStep } from "./trace.ts";
import type { Theory } from "./theory.ts";

const int = (n: number): string => n.toLocaleString("en-US");
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const seconds = (ms: number): string => `${+(ms / 1000).toFixed(3)} s`;
const plural = (n: number, word: string): string =>
  `${int(n)} ${word}${n === 1 ? "" : "s"}`;

/**
 * Lines describing a trace and its theoretical reuse.
 *
 * @example Usage
 * ```ts
 * import { traceLines } from "./describe.ts";
 * import { parseTrace } from "./formats.ts";
 * import { theoreticalReuse } from "./theory.ts";
 * import assert from "node:assert/strict";
 *
 * const trace = parseTrace(
 *   '{"timestamp": 0, "input_length": 1024, "output_length": 8, "hash_ids": [1, 2]}\n' +
 *     '{"timestamp": 1500, "input_length": 1024, "output_length": 8, "hash_ids": [1, 3]}\n',
 *   { name: "two.jsonl" },
 * );
 * assert.deepEqual(traceLines(trace, theoreticalReuse(trace, { capacityTokens: 512 }), { speed: 2 }), [
 *   'Trace "two.jsonl": mooncake, 2 requests in 2 sessions, 2,048 prompt tokens, 16 output tokens, 512-token blocks',
 *   "Schedule: 1.5 s of trace, 0.75 s at speed 2",
 *   "Theoretical hit rate at 512-token blocks: 25.0% with an unbounded cache, 25.0% with an LRU cache of 512 tokens",
 * ]);
 * ```
 */
export function traceLines(
  trace: ReplayTrace,
  theory: Theory,
  options: { speed?: number } = {},
): string[] {
  const speed = options.speed ?? 1;
  const prompt = trace.requests.reduce((s, r) => s + r.inputLength, 0);
  const output = trace.requests.reduce((s, r) => s + r.outputLength, 0);
  const branches = trace.sessions.reduce(
    (n, s) => n + countBranches(s.steps),
    0,
  );
  const span = trace.requests.reduce((m, r) => Math.max(m, r.atMs), 0);
  const sessions = trace.sessions.length;
  const inSessions = trace.sessions.reduce(
    (n, s) => n + stepRequests(s.steps).length,
    0,
  );
  const lines = [
    `Trace "${trace.name}": ${trace.format}, ${
      plural(inSessions, "request")
    } in ${plural(sessions, "session")}${
      branches > 0 ? ` (${plural(branches, "subagent")})` : ""
    }, ${int(prompt)} prompt tokens, ${
      int(output)
    } output tokens, ${trace.blockSize}-token blocks`,
    `Schedule: ${seconds(span)} of trace, ${
      seconds(span / speed)
    } at speed ${speed}`,
    `Theoretical hit rate at ${trace.blockSize}-token blocks: ${
      pct(theory.unboundedHitRate)
    } with an unbounded cache${
      theory.lruHitRate === undefined
        ? ""
        : `, ${pct(theory.lruHitRate)} with an LRU cache of ${
          int(theory.lruTokens!)
        } tokens`
    }`,
  ];
  return lines;
}

function countBranches(steps: readonly TraceStep[]): number {
  return steps.reduce(
    (n, x) => x.kind === "branch" ? n + 1 + countBranches(x.steps) : n,
    0,
  );
}
