/**
 * Replaying a KV-cache trace from a script: token-exact prompts on the
 * trace's schedule, then fidelity request by request.
 *
 * @module
 */
import type { EndpointConfig } from "../../lib/openai/request.ts";
import { partLoad } from "../../lib/run/part.ts";
import {
  type RecordSource,
  run,
  type RunPart,
  type RunSummary,
} from "../../lib/run/runner.ts";
import type { Tokenizer } from "../../lib/text/tokenizer.ts";
import type { RequestRecord, RequestSpec } from "../../lib/types.ts";
import {
  type FidelitySummary,
  type RequestFidelity,
  requestFidelity,
  summarizeFidelity,
} from "./fidelity.ts";
import { replayLoad, replaySessions } from "./session.ts";
import { theoreticalReuse, type Theory } from "./theory.ts";
import {
  BlockPrompts,
  rangeVocabulary,
  tokenizerVocabulary,
  type Vocabulary,
} from "./token_blocks.ts";
import type { ReplayTrace, TraceRequest } from "./trace.ts";

/** Options of {@linkcode replayTrace}. */
export interface ReplayOptions {
  /** Where requests go. */
  endpoint: EndpointConfig;
  /**
   * The served model's tokenizer: prompts use its whole-word ids, and text
   * prompts need it. Without one, token ids come from `DEFAULT_ID_RANGE`.
   */
  tokenizer?: Tokenizer;
  /** The token ids to draw from (default: the tokenizer's whole-word ids, or `DEFAULT_ID_RANGE`). */
  vocabulary?: Vocabulary;
  /** `completions` (default: token ids) or `chat` (text through the tokenizer). */
  api?: "completions" | "chat";
  /** Send text (decoded by the tokenizer) on `completions` too (default: only for chat). */
  text?: boolean;
  /** Schedule speed-up: 2 replays twice as fast (default 1). */
  speed?: number;
  /** Salt of the prompts' tokens: a new one misses every earlier run's cache (default: a fresh random one). */
  salt?: string;
  /** Stream the responses (default true). */
  stream?: boolean;
  /** Send `ignore_eos` so every answer is `output_length` long (default true). */
  ignoreEos?: boolean;
  /** The server's KV capacity in tokens: adds the LRU theory, which the fidelity then compares with. */
  capacityTokens?: number;
  /** A cap on requests in flight (default none). */
  maxInFlight?: number;
  /** Stop admitting and abort after this many ms (default: the whole trace). */
  durationMs?: number;
  /** Admit at most this many sessions. */
  maxSessions?: number;
  /** Stops the run (Ctrl+C). */
  signal?: AbortSignal;
  /** `performance.now()` of the run's start (default: now). */
  startedAt?: number;
  /** Only this part of the sessions (a worker, a shard): the schedule split, not thinned. */
  part?: RunPart;
  /** Take records from here instead of sending (a parent of workers). */
  source?: RecordSource;
  /** Called with every record as it completes. */
  onRecord?: (record: RequestRecord) => void;
}

/** What a replay found. */
export interface ReplayResult {
  /** Every record, in completion order. */
  records: RequestRecord[];
  /** The runner's counts. */
  summary: RunSummary;
  /** The trace's theoretical reuse. */
  theory: Theory;
  /** Per completed request: intended vs reported. */
  fidelity: RequestFidelity[];
  /** The mismatches. */
  fidelitySummary: FidelitySummary;
  /** Where the prompts' token ids come from (one line). */
  vocabularySource: string;
  /** The salt used. */
  salt: string;
  /** `token ids` or `text`. */
  prompts: "token ids" | "text";
}

/**
 * The request specs of a trace's requests (prompt, lengths, API).
 *
 * @example Token ids, exactly input_length of them
 * ```ts
 * import { replaySpecs } from "./run.ts";
 * import { parseTrace } from "./formats.ts";
 * import assert from "node:assert/strict";
 *
 * const trace = parseTrace('{"timestamp": 0, "input_length": 700, "output_length": 3, "hash_ids": [1, 2]}', { name: "t.jsonl" });
 * const { spec, prompts } = replaySpecs(trace, { salt: "s" });
 * const request = spec(trace.requests[0]);
 * assert.equal(prompts, "token ids");
 * assert.equal((request.prompt as number[]).length, 700);
 * assert.equal(request.maxTokens, 3);
 * assert.equal(request.expectedPromptTokens, 700);
 * ```
 */
export function replaySpecs(
  trace: ReplayTrace,
  options: Pick<
    ReplayOptions,
    | "tokenizer"
    | "vocabulary"
    | "api"
    | "text"
    | "salt"
    | "stream"
    | "ignoreEos"
  >,
): {
  spec: (request: TraceRequest) => RequestSpec;
  vocabulary: Vocabulary;
  prompts: "token ids" | "text";
  salt: string;
} {
  const api = options.api ?? "completions";
  const text = options.text ?? api === "chat";
  const tokenizer = options.tokenizer;
  if (text && tokenizer === undefined) {
    throw new TypeError(
      `Cannot replay "${trace.name}" as text: text prompts need the model's tokenizer`,
    );
  }
  const vocabulary = options.vocabulary ??
    (tokenizer === undefined
      ? rangeVocabulary()
      : tokenizerVocabulary(tokenizer));
  const salt = options.salt ?? crypto.randomUUID();
  const blocks = new BlockPrompts({
    blockSize: trace.blockSize,
    vocabulary,
    salt,
  });
  const spec = (request: TraceRequest): RequestSpec => {
    const ids = blocks.ids(request);
    return {
      prompt: text ? tokenizer!.decode(ids) : ids,
      maxTokens: request.outputLength,
      ignoreEos: options.ignoreEos ?? true,
      api,
      stream: options.stream ?? true,
      expectedPromptTokens: request.inputLength,
    };
  };
  return { spec, vocabulary, prompts: text ? "text" : "token ids", salt };
}

/**
 * Replay a trace and compare what the server reported with the trace.
 *
 * @example Two Mooncake rows sharing a block, against the simulator
 * ```ts
 * import { replayTrace } from "./run.ts";
 * import { parseTrace } from "./formats.ts";
 * import { startSimulator } from "../../lib/sim/server.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * const trace = parseTrace(
 *   '{"timestamp": 0, "input_length": 600, "output_length": 4, "hash_ids": [7, 8]}\n' +
 *     '{"timestamp": 300, "input_length": 530, "output_length": 4, "hash_ids": [7, 9]}\n',
 *   { name: "two.jsonl" },
 * );
 * const result = await replayTrace(trace, {
 *   endpoint: { baseUrl: sim.url, model: sim.model },
 *   speed: 10, // the second row 30 ms after the first
 * });
 * assert.deepEqual(result.fidelity.map((f) => f.promptTokens), [600, 530]);
 * assert.deepEqual(result.theory.unbounded, [0, 512]);
 * assert.deepEqual(result.fidelity.map((f) => f.cachedTokens), [0, 512]);
 * assert.equal(result.fidelitySummary.cachedMismatches, 0);
 * const second = result.records.find((r) => r.tags?.trace_request === 1)!;
 * assert.equal(second.scheduledAt, second.runStartedAt! + 30); // on schedule
 * ```
 */
export async function replayTrace(
  trace: ReplayTrace,
  options: ReplayOptions,
): Promise<ReplayResult> {
  const { spec, vocabulary, prompts, salt } = replaySpecs(trace, options);
  const theory = theoreticalReuse(trace, {
    capacityTokens: options.capacityTokens,
  });
  const records: RequestRecord[] = [];
  const onRecord = (record: RequestRecord): void => {
    records.push(record);
    options.onRecord?.(record);
  };
  const whole = replayLoad(trace, options.speed);
  const part = options.part;
  const summary = options.source !== undefined
    ? await options.source({ onRecord, onSend: () => {} })
    : await run(
      replaySessions(trace, { spec, speed: options.speed, part }),
      {
        endpoint: options.endpoint,
        load: part === undefined ? whole : partLoad(whole, part),
        maxInFlight: options.maxInFlight,
        startedAt: options.startedAt,
        part,
        stop: {
          durationMs: options.durationMs,
          maxSessions: options.maxSessions,
          signal: options.signal,
        },
        onRecord,
      },
    );
  const fidelity = requestFidelity(
    trace,
    theory.lru ?? theory.unbounded,
    records,
  );
  return {
    records,
    summary,
    theory,
    fidelity,
    fidelitySummary: summarizeFidelity(fidelity),
    vocabularySource: vocabulary.source,
    salt,
    prompts,
  };
}
