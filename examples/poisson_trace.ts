/**
 * A custom JSONL trace (trie's format: one agentic conversation per line)
 * replayed with Poisson arrivals instead of `kvbench trie`'s closed loop or
 * evenly spaced arrivals: traces start at `rate` per second on average, rows
 * cycled in file order, until `traces` traces were admitted (and finished)
 * or `duration` seconds passed. Prompts are synthesized to the trace's exact
 * token lengths with the model's tokenizer (`--tokenizer`: a folder holding
 * `tokenizer.json`, or a Hugging Face id; default: the model). Prints trie's
 * report; `--records FILE` also writes every request as a JSON line.
 *
 * ```sh
 * deno run -A examples/poisson_trace.ts tests/testdata/traces_small.jsonl \
 *   --endpoint http://127.0.0.1:8000 --rate 2 --traces 20 --seed 1
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  createSynthesizer,
  discoverModels,
  loadTokenizer,
  normalizeEndpoint,
  openLoop,
  openRecordsFile,
  poisson,
} from "../mod.ts";
import {
  loadTraceFile,
  renderTrieReport,
  runTrie,
} from "../workloads/trie/mod.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    endpoint: { type: "string", default: "http://127.0.0.1:8000" },
    model: { type: "string" },
    tokenizer: { type: "string" },
    rate: { type: "string", default: "1" },
    traces: { type: "string", default: "20" },
    duration: { type: "string", default: "300" },
    seed: { type: "string", default: "0" },
    records: { type: "string" },
  },
});
if (positionals.length !== 1) {
  console.error("usage: poisson_trace.ts TRACE.jsonl [--endpoint URL] ...");
  Deno.exit(2);
}
const baseUrl = normalizeEndpoint(values.endpoint);
const model = values.model ?? (await discoverModels(baseUrl))[0];
const rows = await loadTraceFile(positionals[0]);
const seed = Number(values.seed), rate = Number(values.rate);
const tokenizer = await loadTokenizer(values.tokenizer ?? model);
const synthesizer = createSynthesizer(tokenizer, { seed });
const records = values.records ? openRecordsFile(values.records) : undefined;

const result = await runTrie(rows, {
  endpoint: { baseUrl, model },
  synthesizer,
  load: openLoop(poisson(rate, { seed })),
  maxTraces: Number(values.traces),
  duration: Number(values.duration),
  stream: true,
  onRecord: records ? (record) => records.write(record) : undefined,
});
records?.close();
console.log(
  `${positionals[0]}: ${result.completedTraces + result.failedTraces} traces ` +
    `at Poisson rate ${rate}/s (seed ${seed}) on ${model}`,
);
console.log(renderTrieReport(result));
