/**
 * `kvbench trie`: the command line of the multi-turn agentic trace replay,
 * with trie's `key=value` arguments; a description the run pipeline
 * (`lib/cli/pipeline.ts`) runs.
 *
 * @module
 */
import { resolveWorkloadPath } from "./dataset.ts";
import { logLine } from "./log_line.ts";
import { createSynthesizer } from "../../lib/text/synth.ts";
import { trieModelKv, trieTokenizer } from "./preflight.ts";
import { loadTraceFile } from "./trace_file.ts";
import {
  checkOutputPath,
  chooseTransport,
  err,
  out,
} from "../../lib/cli/common.ts";
import { runPipeline } from "../../lib/cli/pipeline.ts";
import {
  defineWorkload,
  type WorkloadCommand,
} from "../../lib/cli/workload.ts";
import { mergeTrieFigures } from "./merge.ts";
import { parse, type TrieLevel, type TrieOptions, USAGE } from "./options.ts";
import { triePipeline, type TrieRun } from "./level.ts";
import { runTrieWorker } from "./worker.ts";
import { TrieVerify } from "./verify.ts";

/** `kvbench trie`. */
export const trieCommand: WorkloadCommand = defineWorkload<TrieOptions>({
  name: "trie",
  summary:
    "multi-turn agentic trace replay (successor of trie / tokenspeed-trie)",
  syntax: "keys",
  sameSeed: false,
  usage: USAGE,
  parse,
  mergeFigures: mergeTrieFigures,
  async run(parsed: TrieOptions, { args, signal }): Promise<number> {
    const { v, baseUrl, shaping, levels, scale } = parsed;
    for (const key of ["output_json", "records", "metrics_out"]) {
      if (v[key] !== null) await checkOutputPath(v[key] as string, key);
    }
    const { transport, label } = chooseTransport(shaping.transport, baseUrl);
    try {
      const path = await resolveWorkloadPath(v.workload_path as string, {
        progress: true,
        signal,
      });
      const rows = await loadTraceFile(path);
      // The endpoint, key, model and tokenizer, checked before anything is
      // sent (lib/openai/preflight_request.ts, lib/openai/server_tokenizer.ts).
      const { tokenizer, tokenizerName } = await trieTokenizer(
        v,
        baseUrl,
        signal,
      );
      // The model's KV size for the pre-flight (the parent's only).
      const kv = v.worker
        ? undefined
        : await trieModelKv(v, { baseUrl, signal });
      // Every part draws its own text (the same seed would make the parts'
      // traces share prefixes one process never sends).
      const seed = (v.seed as number | null) ??
        crypto.getRandomValues(new Uint32Array(1))[0];
      const synthesizer = createSynthesizer(tokenizer, {
        seed: seed + (scale.part?.index ?? 0),
        method: v.synthesis as "pool" | "random",
        onWarning: (w) => err(logLine("warning", w.message) + "\n"),
      });
      const run: TrieRun = {
        v,
        baseUrl,
        shaping,
        rows,
        synthesizer,
        // One shared prefix for every part of the run: the run's own seed.
        prefixSynthesizer: v.shared_prefix_tokens
          ? createSynthesizer(tokenizer, {
            seed,
            method: v.synthesis as "pool" | "random",
          })
          : undefined,
        tokenizerName,
        kv,
        workloadPath: path,
        seed,
        scale,
        transport,
        label,
        signal,
        argv: args,
        verify: v.worker ? undefined : await TrieVerify.setup(v, {
          baseUrl,
          apiKey: (v.api_key as string | null) ??
            Deno.env.get("OPENAI_API_KEY"),
          info: out,
        }),
      };
      if (v.worker) {
        return await runTrieWorker(run, {
          level: levels[0],
          part: scale.part!,
        });
      }
      const { code } = await runPipeline<TrieLevel>({
        workload: triePipeline(run),
        levels,
        scale,
        outputs: {
          artifacts: v.artifacts as boolean,
          outputDir: (v.output_dir as string | null) ?? undefined,
          percentiles: shaping.percentiles,
        },
        signal,
      });
      // A worker that died leaves a partial run, a level where every trace
      // failed measured nothing: said above, and exit 1.
      return code;
    } finally {
      transport.close();
    }
  },
});
