/**
 * Long-document QA: `questions` questions about each of `documents` long
 * documents, asked in two orders. `tile` asks one question about every
 * document, then the next question about every document, so a document comes
 * back only after all the others: with more documents than the GPU KV cache
 * holds, every reuse must come from an offload tier or be prefilled again.
 * `interleave` asks all questions about a document in a row, the best case
 * for a GPU prefix cache. Each order gets its own documents, so the first run
 * cannot warm the cache for the second. Prints mean TTFT and the share of
 * prompt tokens the server reported as cached, per order.
 *
 * ```sh
 * deno run -A examples/long_doc_qa.ts --endpoint http://127.0.0.1:8000 \
 *   --documents 20 --questions 4 --doc-tokens 10000
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  closedLoop,
  discoverModels,
  interleave,
  mean,
  normalizeEndpoint,
  numberedQuestions,
  recordTotals,
  renderTable,
  repeatedWordContexts,
  type RequestRecord,
  run,
  type Session,
  singleRequest,
  tile,
} from "../mod.ts";

const { values } = parseArgs({
  options: {
    endpoint: { type: "string", default: "http://127.0.0.1:8000" },
    model: { type: "string" },
    documents: { type: "string", default: "20" },
    questions: { type: "string", default: "4" },
    "doc-tokens": { type: "string", default: "10000" },
    "answer-tokens": { type: "string", default: "16" },
    concurrency: { type: "string", default: "1" },
  },
});
const baseUrl = normalizeEndpoint(values.endpoint);
const model = values.model ?? (await discoverModels(baseUrl))[0];
const documents = Number(values.documents);
const questions = numberedQuestions(Number(values.questions), {
  text: ": what does the document say?\nAnswer:",
}).map((question) => `\nQuestion ${question}`);

/** One request per (document, question), documents visited in `order`. */
function* askAll(order: Iterable<number>, docs: string[]): Generator<Session> {
  const asked = new Array<number>(docs.length).fill(0);
  for (const doc of order) {
    yield singleRequest({
      prompt: docs[doc] + questions[asked[doc]++],
      maxTokens: Number(values["answer-tokens"]),
      ignoreEos: true,
    });
  }
}

const ids = Array.from({ length: documents }, (_, i) => i);
const orders = {
  tile: tile(ids, { rounds: questions.length }),
  interleave: interleave(ids, questions.length, { rounds: 1 }),
};
const rows: string[][] = [];
for (const [name, order] of Object.entries(orders)) {
  const docs = repeatedWordContexts(documents, {
    tokens: Number(values["doc-tokens"]),
    word: " hi",
  }).map((doc) => `Set ${rows.length}, document ${doc}`);
  const records: RequestRecord[] = [];
  await run(askAll(order, docs), {
    endpoint: { baseUrl, model },
    load: closedLoop(Number(values.concurrency)),
    onRecord: (record) => records.push(record),
  });
  const t = recordTotals(records);
  const ttft = t.ttftMs;
  rows.push([
    name,
    `${t.ok}/${t.sent}`,
    ttft.length ? mean(ttft).toFixed(1) : "-",
    String(t.promptTokens),
    String(t.cachedTokens),
    t.cacheHitRate?.toFixed(3) ?? "-",
  ]);
}
console.log(renderTable(
  [
    { header: "Order" },
    { header: "OK/sent" },
    { header: "Mean TTFT\n(ms)" },
    { header: "Prompt\ntokens" },
    { header: "Cached\ntokens" },
    { header: "Cached\nratio" },
  ],
  rows,
  {
    title:
      `Long-document QA: ${documents} documents x ${questions.length} questions on ${model}`,
  },
));
