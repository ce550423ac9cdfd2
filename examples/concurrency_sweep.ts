/**
 * Concurrency sweep: for each level of a list, keep that many single-request
 * sessions in flight (closed loop) until `requests` requests were sent, and
 * print TTFT p50/p99 and throughput (requests/s, output tokens/s) per level.
 * Every prompt starts with its own number, so no two share a cached prefix
 * and every request pays its full prefill.
 *
 * ```sh
 * deno run -A examples/concurrency_sweep.ts --endpoint http://127.0.0.1:8000 \
 *   --levels 1,2,4,8,16 --requests 64 --prompt-tokens 1024 --output-tokens 128
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  closedLoop,
  discoverModels,
  normalizeEndpoint,
  percentile,
  recordTotals,
  renderTable,
  type RequestRecord,
  run,
  type Session,
  singleRequest,
} from "../mod.ts";

const { values } = parseArgs({
  options: {
    endpoint: { type: "string", default: "http://127.0.0.1:8000" },
    model: { type: "string" },
    levels: { type: "string", default: "1,2,4,8,16" },
    requests: { type: "string", default: "64" },
    "prompt-tokens": { type: "string", default: "1024" },
    "output-tokens": { type: "string", default: "128" },
  },
});
const baseUrl = normalizeEndpoint(values.endpoint);
const model = values.model ?? (await discoverModels(baseUrl))[0];
const body = " hi".repeat(Number(values["prompt-tokens"]));
let sent = 0;

function* requests(): Generator<Session> {
  while (true) {
    yield singleRequest({
      prompt: `${sent++}${body}`,
      maxTokens: Number(values["output-tokens"]),
      ignoreEos: true,
    });
  }
}

const rows: string[][] = [];
for (const level of values.levels.split(",").map(Number)) {
  const records: RequestRecord[] = [];
  const summary = await run(requests(), {
    endpoint: { baseUrl, model },
    load: closedLoop(level),
    stop: { maxRequests: Number(values.requests) },
    onRecord: (record) => records.push(record),
  });
  const { ok, sent, ttftMs: ttft, completionTokens: output } = recordTotals(
    records,
  );
  const seconds = summary.wallTimeMs / 1000;
  rows.push([
    String(level),
    `${ok}/${sent}`,
    ttft.length ? percentile(ttft, 50).toFixed(1) : "-",
    ttft.length ? percentile(ttft, 99).toFixed(1) : "-",
    (ok / seconds).toFixed(2),
    (output / seconds).toFixed(1),
  ]);
}
console.log(renderTable(
  [
    { header: "Concurrency" },
    { header: "OK/sent" },
    { header: "TTFT p50\n(ms)" },
    { header: "TTFT p99\n(ms)" },
    { header: "Requests/s" },
    { header: "Output\ntokens/s" },
  ],
  rows,
  { title: `Concurrency sweep on ${model}` },
));
