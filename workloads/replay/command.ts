/**
 * `kvbench replay`: the command line of the public KV-cache trace replay
 * (Mooncake, Bailian, WEKA / AgentX), a description the run pipeline
 * (`lib/cli/pipeline.ts`) runs.
 *
 * @module
 */
import {
  discoverModels,
  normalizeEndpoint,
} from "../../lib/openai/endpoint.ts";
import { loadTokenizer } from "../../lib/text/tokenizer.ts";
import {
  chooseTransport,
  err,
  out,
  ReportedError,
} from "../../lib/cli/common.ts";
import { runPipeline } from "../../lib/cli/pipeline.ts";
import {
  defineWorkload,
  type WorkloadCommand,
} from "../../lib/cli/workload.ts";
import { loadTrace } from "./formats.ts";
import { modelKv, type ModelKvResult } from "../../lib/cli/model_kv.ts";
import {
  type Level,
  REPLAY_SWEEP,
  type ReplayRun,
  runReplayLevel,
} from "./level.ts";
import { mergeReplayFigures } from "./merge.ts";
import { checkEndpoint, type Options, parse, USAGE } from "./options.ts";
import { checkOutputFlags, FLAGS_VOICE } from "../../lib/cli/flags_workload.ts";
import { probeTokenIds } from "./probe.ts";
import { serverVocabulary } from "./server_vocabulary.ts";
import { rangeVocabulary, tokenizerVocabulary } from "./token_blocks.ts";
import { replayWorkers, runReplayWorker } from "./worker.ts";
import { ReplayVerify } from "./verify.ts";

function fail(message: string): never {
  err(`[ERROR] ${message}\n`);
  throw new ReportedError(message);
}

async function resolveModel(
  baseUrl: string,
  opts: Options,
  signal: AbortSignal,
): Promise<string> {
  if (opts.model !== undefined) return opts.model;
  try {
    const ids = await discoverModels(baseUrl, { apiKey: opts.apiKey, signal });
    out(`[INFO] found model: ${ids[0]}\n`);
    return ids[0];
  } catch (error) {
    return fail(
      `Cannot list the models of ${baseUrl}: ${(error as Error).message}`,
    );
  }
}

/**
 * `kvbench replay`.
 *
 * @example Usage
 * ```ts
 * import { replayCommand } from "./command.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(replayCommand.name, "replay");
 * replayCommand.checkArgs(["trace.jsonl", "--endpoint", "localhost:8000", "--speed", "2"]);
 * assert.throws(() => replayCommand.checkArgs(["--endpoint", "x"]), /give the trace file/);
 * ```
 */
export const replayCommand: WorkloadCommand = defineWorkload<Options>({
  name: "replay",
  summary:
    "replay public KV-cache traces (Mooncake, Bailian, WEKA/AgentX) token-exact, on schedule",
  syntax: "flags",
  sameSeed: true,
  usage: USAGE,
  parse,
  check: checkEndpoint,
  mergeFigures: mergeReplayFigures,
  async run(opts: Options, { args, signal }): Promise<number> {
    const baseUrl = normalizeEndpoint(opts.endpoint);
    await checkOutputFlags(opts);
    let trace;
    try {
      trace = await loadTrace(opts.trace, {
        format: opts.format,
        blockSize: opts.blockSize,
      });
    } catch (error) {
      return fail((error as Error).message);
    }
    const tokenizer = opts.tokenizer === undefined
      ? undefined
      : await loadTokenizer(opts.tokenizer, { progress: true, signal });
    const model = opts.worker
      ? opts.model!
      : await resolveModel(baseUrl, opts, signal);
    // The tokenizer's whole words, else the server's ids of common words,
    // else a range of ordinary ids.
    const vocabulary = tokenizer !== undefined
      ? tokenizerVocabulary(tokenizer)
      : await serverVocabulary(baseUrl, {
        model,
        apiKey: opts.apiKey,
        signal,
      }) ?? rangeVocabulary();
    // The model's KV size for the pre-flight (the parent's only).
    let kv: ModelKvResult | undefined;
    if (!opts.worker) {
      try {
        kv = await modelKv(model, { ...opts, baseUrl, signal });
      } catch (error) {
        return fail((error as Error).message);
      }
    }
    const { transport, label } = chooseTransport(opts.transport, baseUrl);
    try {
      const run: ReplayRun = {
        opts,
        trace,
        tokenizer,
        vocabulary,
        text: opts.text || opts.api === "chat",
        baseUrl,
        model,
        kv,
        transport,
        label,
        signal,
        argv: args,
      };
      if (opts.worker) return await runReplayWorker(run);
      if (!run.text) {
        const probe = await probeTokenIds(
          { baseUrl, model, apiKey: opts.apiKey, transport },
          vocabulary,
        );
        if (!probe.accepted) {
          if (tokenizer === undefined) {
            return fail(
              `${baseUrl} refuses token-id prompts (${probe.message}): give the model's tokenizer (--tokenizer NAME) to send text`,
            );
          }
          err(
            `[WARN] ${baseUrl} refuses token-id prompts (${probe.message}): sending text through the tokenizer\n`,
          );
          run.text = true;
        }
      }
      const verify = await ReplayVerify.setup(opts, {
        baseUrl,
        apiKey: opts.apiKey,
        info: out,
      });
      run.onRecord = (record, level) => verify.add(record, level);
      // run: fresh per run; none: the empty salt, the same prompts every run.
      const given = opts.contextSalt ?? "run";
      const salt = given === "run"
        ? crypto.randomUUID()
        : given === "none"
        ? ""
        : given;
      const levels: Level[] = opts.speeds.map((speed, i) => ({
        label: `--speed ${speed}`,
        speed,
        salt: opts.speeds.length === 1 ? salt : `${salt}#${i + 1}`,
      }));
      const { code } = await runPipeline<Level>({
        workload: {
          name: "replay",
          voice: FLAGS_VOICE,
          sweepColumns: REPLAY_SWEEP,
          runLevel: (c) => runReplayLevel(run, c),
          workers: (level) => replayWorkers(run, level),
          beforeLevel: (index, signal) => verify.beforeLevel(index, signal),
          afterLevels: (dir, signal) => verify.check(run, { dir, signal }),
        },
        levels,
        scale: opts,
        outputs: opts,
        signal,
      });
      return code;
    } finally {
      transport.close();
    }
  },
});
